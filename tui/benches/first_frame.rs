//! Time to the first frame of the terminal UI on a 10,000-entity embedded catalog: a generated catalog is
//! ingested once into a SQLite file, then each run opens the portal on that file, builds the app state and
//! goes through the loop's start-up (`ui::run::settle`: the embedded import probe, the first page of the
//! Components table and its facet counts, every reply through `update`, a draw after each) until the first
//! complete frame is on a 120x40 `TestBackend`.
//!
//! - `first_frame/10k/open_to_frame`: opening the portal (the SQLite file) + app state + first frame;
//! - `first_frame/10k/frame`: the same on a portal opened once (the UI's share alone).
//!
//! `cargo bench -p stagedoor --bench first_frame`

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use stagedoor::ui::keymap::Keymap;
use stagedoor::ui::msg::Effect;
use stagedoor::ui::run::settle;
use stagedoor::ui::state::{App, Load};
use stagedoor::ui::theme::{ColorMode, Theme, DEFAULT_THEME};
use stagedoor::ui::update::{load_catalog, start};
use stagedoor_core::config::Config;
use stagedoor_core::devgen::{catalog_config, generate_catalog};
use stagedoor_core::portal::RefreshRequest;
use stagedoor_core::{LocalPortal, Portal};
use tokio::runtime::Runtime;

// The binary's allocator, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ENTITIES: usize = 10_000;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Generates the catalog under `dir` and ingests it into `dir/db`; returns the configuration to reopen it.
fn ingested(rt: &Runtime, dir: &Path) -> Config {
    let summary = generate_catalog(ENTITIES, &dir.join("catalog")).expect("generate catalog");
    let config = catalog_config(&summary.root, &dir.join("db"));
    let portal = LocalPortal::from_config(config.clone()).expect("open portal");
    let started = Instant::now();
    let report = rt
        .block_on(portal.refresh(RefreshRequest::default()))
        .expect("ingest");
    assert!(report.problems.is_empty() && report.entities >= ENTITIES);
    eprintln!(
        "ingested {} entities in {:.1?}",
        report.entities,
        started.elapsed()
    );
    config
}

/// The app state as `stagedoor` builds it for the embedded catalog.
fn app() -> App {
    let theme = Theme::built_in(DEFAULT_THEME, ColorMode::TrueColor).expect("theme");
    App::new(
        theme,
        Keymap::default(),
        "embedded app-config.yaml".into(),
        true,
    )
}

/// From the app state to the first complete frame; returns the terminal to check what it drew.
async fn first_frame(portal: Arc<dyn Portal>) -> Terminal<TestBackend> {
    let mut app = app();
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    let effects = start(&mut app);
    settle(&mut terminal, portal, &mut app, effects)
        .await
        .expect("settle");
    let c = app.catalog().expect("the Components table");
    assert!(
        c.load == Load::Ready && !c.rows.is_empty() && c.facets_request.is_none(),
        "not a complete frame"
    );
    terminal
}

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = ingested(&rt, dir.path());

    // One run to show what is measured.
    let portal: Arc<dyn Portal> =
        Arc::new(LocalPortal::from_config(config.clone()).expect("open portal"));
    let terminal = rt.block_on(first_frame(portal.clone()));
    let frame = terminal.backend().to_string();
    let title = frame
        .lines()
        .find(|l| l.contains("┌ Components"))
        .unwrap_or_default();
    eprintln!("first frame table title: {}", title.trim_matches('"'));
    // Where the time goes: the two portal calls of the first frame, alone.
    let mut probe = app();
    for effect in load_catalog(&mut probe) {
        let started = Instant::now();
        let what = match effect {
            Effect::LoadPage { query, .. } => {
                let page = rt.block_on(portal.query_entities(query)).expect("page");
                format!(
                    "first page ({} rows, total {})",
                    page.items.len(),
                    page.total_items
                )
            }
            Effect::LoadFacets { facets, filter, .. } => {
                rt.block_on(portal.facets(&facets, filter)).expect("facets");
                format!("facet counts ({} facets)", facets.len())
            }
            other => format!("{other:?}"),
        };
        eprintln!("  {what}: {:.1?}", started.elapsed());
    }

    let mut group = c.benchmark_group("first_frame/10k");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("open_to_frame", |b| {
        b.iter(|| {
            rt.block_on(async {
                let portal: Arc<dyn Portal> =
                    Arc::new(LocalPortal::from_config(config.clone()).expect("open portal"));
                first_frame(portal).await
            })
        })
    });
    group.bench_function("frame", |b| {
        b.iter(|| rt.block_on(first_frame(portal.clone())))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
