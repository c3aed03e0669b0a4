//! One `/` filter keystroke over 100,000 rows: the app refilters every loaded row on each keystroke
//! (`CatalogState::refilter`), so a keystroke is one full match-and-rank pass. Side by side:
//!
//! - `nucleo`: `ui::fuzzy::FuzzyFilter`, what the app uses (nucleo-matcher, smart case and normalisation);
//! - `skim`: fuzzy-matcher's SkimMatcherV2 (smart case), the design card's choice, ranked the same way
//!   (score, then shorter text, then input order).
//!
//! A cold keystroke is measured: typing on from a previous query only searches its matches in the app.
//!
//! for queries of 1, 3 and 6 characters, over two texts per row: `haystack`, what the app matches (name,
//! title, description and tags, built by `Row::from_entity` from a devgen catalog), and `name` alone.
//! The budget is 16 ms per keystroke (one frame at 60 Hz); no assertion, the figures are reported.
//!
//! `cargo bench -p stagedoor --bench filter`

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use fuzzy_matcher::skim::SkimMatcherV2;
use fuzzy_matcher::FuzzyMatcher;
use stagedoor::ui::fuzzy::FuzzyFilter;
use stagedoor::ui::state::{KindView, Row};
use stagedoor_core::devgen::generate_catalog;
use stagedoor_core::Entity;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROWS: usize = 100_000;

/// Queries a user types for `billing-tracker-…` components: 1, 3 and 6 characters.
const QUERIES: [&str; 3] = ["b", "bil", "biltrk"];

/// The rows of a generated catalog of `ROWS` entities, as the app builds them.
fn rows(dir: &Path) -> Vec<Row> {
    generate_catalog(ROWS, dir).expect("generate catalog");
    let columns = KindView::All.columns();
    let mut rows = Vec::with_capacity(ROWS);
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("read catalog")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read file");
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let value: serde_json::Value = serde::Deserialize::deserialize(doc).expect("yaml");
            if let Some(e) = Entity::from_value(value) {
                rows.push(Row::from_entity(&e, columns));
            }
        }
    }
    rows
}

/// fuzzy-matcher's skim algorithm over `haystacks`, ranked as `FuzzyFilter::filter` ranks.
struct Skim {
    matcher: SkimMatcherV2,
}

impl Skim {
    fn new() -> Skim {
        Skim {
            matcher: SkimMatcherV2::default().smart_case(),
        }
    }

    fn filter<'a>(&self, query: &str, haystacks: impl IntoIterator<Item = &'a str>) -> Vec<usize> {
        let mut scored: Vec<(i64, usize, usize)> = haystacks
            .into_iter()
            .enumerate()
            .filter_map(|(i, h)| self.matcher.fuzzy_match(h, query).map(|s| (s, h.len(), i)))
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        scored.into_iter().map(|(_, _, i)| i).collect()
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let rows = rows(dir.path());
    eprintln!("{} rows", rows.len());
    let texts: [(&str, Vec<&str>); 2] = [
        (
            "haystack",
            rows.iter().map(|r| r.haystack.as_str()).collect(),
        ),
        ("name", rows.iter().map(|r| r.name.as_str()).collect()),
    ];
    let skim = Skim::new();
    let nucleo = FuzzyFilter::default();
    for (label, texts) in &texts {
        for q in QUERIES {
            eprintln!(
                "{label} {q:?}: skim matches {}, nucleo matches {}",
                skim.filter(q, texts.iter().copied()).len(),
                nucleo.filter(q, texts.iter().copied()).len()
            );
        }
    }

    for (label, texts) in &texts {
        let mut group = c.benchmark_group(format!("filter_100k/{label}"));
        group.sample_size(20);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(4));
        for q in QUERIES {
            let chars = q.chars().count();
            group.bench_with_input(BenchmarkId::new("skim", chars), &q, |b, q| {
                b.iter(|| black_box(skim.filter(q, texts.iter().copied())))
            });
            group.bench_with_input(BenchmarkId::new("nucleo", chars), &q, |b, q| {
                b.iter(|| black_box(nucleo.filter(q, texts.iter().copied())))
            });
        }
        group.finish();
    }

    // Typing `biltrk` one key at a time as the app does: each keystroke after the first searches only the
    // previous matches (`CatalogState::refilter`). Reported per keystroke (the total over 6 keys / 6).
    let typed = &texts[0].1;
    let mut group = c.benchmark_group("filter_100k/haystack_typed");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("nucleo/6_keystrokes", |b| {
        b.iter(|| {
            let query = QUERIES[2];
            let mut previous = String::new();
            let mut visible: Vec<usize> = Vec::new();
            for end in 1..=query.len() {
                let q = &query[..end];
                visible = if FuzzyFilter::narrows(&previous, q) {
                    nucleo.filter_indexed(q, visible.iter().map(|&i| (i, typed[i])))
                } else {
                    nucleo.filter(q, typed.iter().copied())
                };
                previous = q.to_string();
            }
            black_box(visible)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
