//! One keystroke in the search overlay's fuzzy mode over 100,000 entity names (a devgen catalog, entries
//! built as the overlay builds them: name, title and ref), through the overlay's own key handling
//! (`search::update::key`), so the figure is what a user waits between a key and its results.
//!
//! - `cold/N`: a query of N characters matched against every name (the first key, or one after a
//!   backspace);
//! - `typed/6`: the sixth key of `biltrk`, typed on from `biltr`: only the previous hits are searched.
//!
//! The budget is 16 ms per keystroke (one frame at 60 Hz); no assertion, the figures are reported.
//!
//! `cargo bench -p stagedoor --bench search_overlay`

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use crossterm::event::KeyCode;
use stagedoor::ui::keymap::{Key, Keymap};
use stagedoor::ui::search::state::NameEntry;
use stagedoor::ui::search::update::key;
use stagedoor::ui::state::App;
use stagedoor::ui::theme::{ColorMode, Theme};
use stagedoor_core::devgen::generate_catalog;
use stagedoor_core::Entity;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const NAMES: usize = 100_000;

/// The overlay's name list for a generated catalog of `NAMES` entities.
fn entries(dir: &Path) -> Vec<NameEntry> {
    generate_catalog(NAMES, dir).expect("generate catalog");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("read catalog")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let mut out = Vec::with_capacity(NAMES);
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read file");
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let value: serde_json::Value = serde::Deserialize::deserialize(doc).expect("yaml");
            if let Some(e) = Entity::from_value(value) {
                out.push(NameEntry::from_entity(&e));
            }
        }
    }
    out
}

/// The app with the overlay open on `entries`, `typed` already in its input.
fn app(entries: &[NameEntry], typed: &str) -> App {
    let theme = Theme::built_in("dark", ColorMode::Ansi16).expect("theme");
    let mut app = App::new(theme, Keymap::default(), "bench".into(), false);
    app.search.open = true;
    app.search.names.entries = entries.to_vec();
    for c in typed.chars() {
        let _ = key(&mut app, Key::char(c));
    }
    app
}

/// Times one key (`last`) after `typed`, over `iters` fresh overlays (preparing them is not timed).
fn one_key(entries: &[NameEntry], typed: &str, last: Key, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut a = app(entries, typed);
    for _ in 0..iters {
        let start = Instant::now();
        black_box(key(&mut a, last));
        total += start.elapsed();
        // Back to `typed` for the next round (a backspace re-matches everything), not timed.
        let _ = key(&mut a, Key::plain(KeyCode::Backspace));
    }
    total
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let entries = entries(dir.path());
    eprintln!("{} names", entries.len());
    let check = app(&entries, "biltrk");
    eprintln!("biltrk matches {}", check.search.fuzzy_hits.len());

    let mut group = c.benchmark_group("search_overlay_100k");
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));
    for q in ["b", "bil", "biltrk"] {
        let chars = q.chars().count();
        let (typed, last) = q.split_at(q.len() - 1);
        let last = Key::char(last.chars().next().expect("a character"));
        // Cold: the state forgets what it matched before, so the whole list is searched.
        group.bench_with_input(BenchmarkId::new("cold", chars), &q, |b, _| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut a = app(&entries, typed);
                for _ in 0..iters {
                    a.search.names.entries.push(entries[0].clone());
                    let start = Instant::now();
                    black_box(key(&mut a, last));
                    total += start.elapsed();
                    let _ = key(&mut a, Key::plain(KeyCode::Backspace));
                    a.search.names.entries.pop();
                }
                total
            })
        });
    }
    group.bench_function(BenchmarkId::new("typed", 6), |b| {
        b.iter_custom(|iters| one_key(&entries, "biltr", Key::char('k'), iters))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
