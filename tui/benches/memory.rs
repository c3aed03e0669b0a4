//! Resident memory of the terminal UI with 100,000 entities loaded: a generated catalog is ingested into a
//! SQLite file by a child process (this bench run again with `STAGEDOOR_MEM_INGEST=DIR`, so the
//! ingestion's own peak is not counted), then this process opens the portal on that file, reaches the
//! first frame of the Components table and loads the All entities table the way the app does: `G` (last
//! row) again and again, each asking for the next page of projected rows through `update` and the
//! effects, until every row is loaded. VmRSS and VmHWM come from /proc/self/status (Linux).
//!
//! Budget: under 150 MB at 100,000 entities. No assertion; the figures are printed.
//!
//! `cargo bench -p stagedoor --bench memory` (`STAGEDOOR_BENCH_ENTITIES=N` for another size)

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use stagedoor::ui::keymap::Keymap;
use stagedoor::ui::msg::Msg;
use stagedoor::ui::run::settle;
use stagedoor::ui::state::{App, KindView};
use stagedoor::ui::theme::{ColorMode, Theme, DEFAULT_THEME};
use stagedoor::ui::update::{open_view, start, update};
use stagedoor_core::devgen::{catalog_config, generate_catalog};
use stagedoor_core::portal::RefreshRequest;
use stagedoor_core::{LocalPortal, Portal};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const INGEST_ENV: &str = "STAGEDOOR_MEM_INGEST";

fn entities() -> usize {
    std::env::var("STAGEDOOR_BENCH_ENTITIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

/// `VmRSS` and `VmHWM` of this process, in MB.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn paths(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join("catalog"), dir.join("db"))
}

/// The child: generate and ingest into `dir`.
fn ingest(dir: &Path) {
    let (catalog, db) = paths(dir);
    let started = Instant::now();
    let summary = generate_catalog(entities(), &catalog).expect("generate catalog");
    let portal = LocalPortal::from_config(catalog_config(&summary.root, &db)).expect("open portal");
    let report = runtime()
        .block_on(portal.refresh(RefreshRequest::default()))
        .expect("ingest");
    assert!(report.problems.is_empty(), "{:?}", report.problems.first());
    let (rss, hwm) = memory();
    println!(
        "ingest: {} entities in {:.1?} (ingesting process: VmRSS {rss:.1} MB, VmHWM {hwm:.1} MB)",
        report.entities,
        started.elapsed()
    );
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn main() {
    if let Some(dir) = std::env::var_os(INGEST_ENV) {
        ingest(Path::new(&dir));
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let status = Command::new(std::env::current_exe().expect("this bench"))
        .env(INGEST_ENV, dir.path())
        .status()
        .expect("run the ingest");
    assert!(status.success(), "the ingest failed");

    let (baseline_rss, _) = memory();
    let rt = runtime();
    let (catalog, db) = paths(dir.path());
    let config = catalog_config(&catalog.join("all.yaml"), &db);
    let started = Instant::now();
    let portal: Arc<dyn Portal> = Arc::new(LocalPortal::from_config(config).expect("open portal"));
    let theme = Theme::built_in(DEFAULT_THEME, ColorMode::TrueColor).expect("theme");
    let mut app = App::new(theme, Keymap::default(), "embedded".into(), true);
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    let effects = start(&mut app);
    rt.block_on(settle(&mut terminal, portal.clone(), &mut app, effects))
        .expect("first frame");
    let first_frame = started.elapsed();
    let (rss, hwm) = memory();
    println!(
        "first frame (Components, {} rows of {}) after {first_frame:.1?}: VmRSS {rss:.1} MB, VmHWM {hwm:.1} MB",
        app.catalog().map_or(0, |c| c.rows.len()),
        app.catalog().map_or(0, |c| c.total),
    );

    // `:all`, then G until the last page is in.
    let started = Instant::now();
    let effects = open_view(&mut app, KindView::All);
    rt.block_on(settle(&mut terminal, portal.clone(), &mut app, effects))
        .expect("the All table");
    let mut pages = 1;
    while app.catalog().is_some_and(|c| c.next_cursor.is_some()) {
        let effects = update(&mut app, key('G'));
        assert!(!effects.is_empty(), "G asks for the next page");
        rt.block_on(settle(&mut terminal, portal.clone(), &mut app, effects))
            .expect("a page");
        pages += 1;
    }
    let c = app.catalog().expect("the All table");
    let (rss, hwm) = memory();
    println!(
        "all rows loaded: {} of {} in {pages} pages, {:.1?}: VmRSS {rss:.1} MB, VmHWM {hwm:.1} MB \
         (before opening the portal: VmRSS {baseline_rss:.1} MB); budget 150 MB",
        c.rows.len(),
        c.total,
        started.elapsed()
    );
    // A keystroke of the filter on all of them, as a check that the rows are usable.
    let started = Instant::now();
    for ch in ['/', 'b', 'i', 'l'] {
        let _ = update(&mut app, key(ch));
    }
    println!(
        "/bil typed over them in {:.1?} ({} visible)",
        started.elapsed(),
        app.catalog().map_or(0, |c| c.visible.len())
    );
}
