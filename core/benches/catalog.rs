//! Catalog benchmarks against the budgets in DESIGN.md: ingesting generated catalogs of 10,000 and 100,000
//! entities into a fresh database, and, at 100,000 entities, a filtered by-query page, a get by ref and
//! facets. Every benchmark runs on SQLite (a new file in a temp directory) and, when
//! `STAGEDOOR_BENCH_POSTGRES` names a server (`postgres://postgres@127.0.0.1:5432/test`), on PostgreSQL too:
//! each run gets a new database `stagedoor_bench_<pid>_<n>` on that server, which the store creates and the
//! benchmark drops afterwards. Benchmark ids carry the backend (`ingest/sqlite/10k`,
//! `read_10k/postgres/entity_by_ref`).
//!
//! `cargo bench -p stagedoor-core --bench catalog`; `STAGEDOOR_BENCH_SMALL=1` skips the 100,000-entity
//! ingest and runs the read benchmarks at 10,000 entities, for quick runs.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkGroup, Criterion, SamplingMode,
};
use stagedoor_core::devgen::{generate_catalog, BenchBackend};
use stagedoor_core::portal::RefreshRequest;
use stagedoor_core::store::scratch::ScratchDatabase;
use stagedoor_core::store::{EntityPredicate, EntityQuery, OrderField, SortOrder};
use stagedoor_core::{LocalPortal, Portal};
use tempfile::TempDir;
use tokio::runtime::Runtime;

// The same allocator as the `stagedoor` binary, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A generated catalog on disk; the directory lives as long as this.
struct Generated {
    _dir: TempDir,
    root: PathBuf,
    entities: usize,
}

fn generated(entities: usize) -> Generated {
    let dir = tempfile::tempdir().expect("temp dir");
    let summary = generate_catalog(entities, dir.path()).expect("generate catalog");
    Generated {
        root: summary.root,
        _dir: dir,
        entities,
    }
}

fn small_only() -> bool {
    std::env::var("STAGEDOOR_BENCH_SMALL").is_ok_and(|v| !v.is_empty() && v != "0")
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// What a run's database needs kept until its portal is gone: the SQLite file's directory, and the scratch
/// PostgreSQL database (dropped with any connections still open).
struct BenchDatabase {
    _dir: TempDir,
    _pg: Option<ScratchDatabase>,
}

/// A portal over a fresh database; the portal is dropped (its connections closed) before the database.
struct Opened {
    portal: LocalPortal,
    _db: BenchDatabase,
}

/// A portal over a new database on `backend` that allows every kind and reads the generated catalog.
fn open(backend: &BenchBackend, catalog_root: &Path) -> Opened {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, pg) = backend.config(catalog_root, dir.path());
    let db = BenchDatabase { _dir: dir, _pg: pg };
    let portal = LocalPortal::from_config(config).expect("open portal");
    Opened { portal, _db: db }
}

/// A portal with the catalog ingested, checked to hold every generated entity without problems.
fn ingested(rt: &Runtime, backend: &BenchBackend, catalog: &Generated) -> Opened {
    let opened = open(backend, &catalog.root);
    let report = rt
        .block_on(opened.portal.refresh(RefreshRequest::default()))
        .expect("refresh");
    // The refresh also emits the Location Backstage generates for the configured root.
    assert!(
        report.problems.is_empty() && report.entities > catalog.entities,
        "ingested {} of {} entities; first problem: {:?}",
        report.entities,
        catalog.entities,
        report.problems.first()
    );
    opened
}

fn bench_ingest(
    c: &mut Criterion,
    rt: &Runtime,
    backends: &[BenchBackend],
    catalog: &Generated,
    label: &str,
    secs: u64,
) {
    let mut group = c.benchmark_group("ingest");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(secs));
    for backend in backends {
        // Opening (creating the database and its schema) is set-up, not timed.
        group.bench_function(format!("{}/{label}", backend.label()), |b| {
            b.iter_batched(
                || open(backend, &catalog.root),
                |opened| {
                    let report = rt
                        .block_on(opened.portal.refresh(RefreshRequest::default()))
                        .expect("refresh");
                    black_box(report.entities);
                    // Returned so that closing and dropping the database are not timed.
                    opened
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

fn bench_reads(
    c: &mut Criterion,
    rt: &Runtime,
    backends: &[BenchBackend],
    catalog: &Generated,
    label: &str,
) {
    let mut group = c.benchmark_group(format!("read_{label}"));
    for backend in backends {
        bench_reads_on(&mut group, rt, backend, catalog);
    }
    group.finish();
}

fn bench_reads_on(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    backend: &BenchBackend,
    catalog: &Generated,
) {
    let opened = ingested(rt, backend, catalog);
    let portal = &opened.portal;
    let b_label = backend.label();
    let query = EntityQuery {
        filter: EntityPredicate::from_filter_params(&["kind=component".to_string()])
            .expect("filter"),
        order_fields: vec![OrderField {
            field: "metadata.name".to_string(),
            order: SortOrder::Asc,
        }],
        limit: Some(50),
        ..EntityQuery::default()
    };
    let first = rt
        .block_on(portal.query_entities(query.clone()))
        .expect("query");
    assert_eq!(first.items.len(), 50, "a page of 50 components");
    let entity_ref = first.items[25].entity_ref();

    group.bench_function(format!("{b_label}/by_query_kind_component_page_50"), |b| {
        b.iter(|| {
            rt.block_on(portal.query_entities(black_box(query.clone())))
                .expect("query")
        })
    });
    group.bench_function(format!("{b_label}/entity_by_ref"), |b| {
        b.iter(|| {
            rt.block_on(portal.entity_by_ref(black_box(&entity_ref)))
                .expect("get")
                .expect("present")
        })
    });
    let kind = vec!["kind".to_string()];
    group.bench_function(format!("{b_label}/facets_kind"), |b| {
        b.iter(|| {
            rt.block_on(portal.facets(black_box(&kind), None))
                .expect("facets")
        })
    });
    let spec_type = vec!["spec.type".to_string()];
    group.bench_function(format!("{b_label}/facets_spec_type"), |b| {
        b.iter(|| {
            rt.block_on(portal.facets(black_box(&spec_type), None))
                .expect("facets")
        })
    });
}

fn catalog_benches(c: &mut Criterion) {
    let rt = runtime();
    let backends = BenchBackend::configured();
    let small = generated(10_000);
    // Measurement times are ten samples of one ingest at the budget (2 s and 15 s); when an ingest is slower,
    // criterion warns and still takes one ingest per sample.
    bench_ingest(c, &rt, &backends, &small, "10k", 25);
    if small_only() {
        bench_reads(c, &rt, &backends, &small, "10k");
        return;
    }
    drop(small);
    let large = generated(100_000);
    bench_ingest(c, &rt, &backends, &large, "100k", 160);
    bench_reads(c, &rt, &backends, &large, "100k");
}

criterion_group!(benches, catalog_benches);
criterion_main!(benches);
