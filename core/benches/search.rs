//! Search benchmarks: a generated catalog of 100,000 entities (`STAGEDOOR_BENCH_SMALL=1`: 10,000) plus one
//! generated TechDocs site of 5,000 pages stored for one of them, on SQLite.
//!
//! - Printed once: the full index build from the store (`LocalPortal::rebuild_search`, a fresh generation
//!   swapped in), its size on disk and document count, and query latency percentiles (p50/p95/max over
//!   every query of the mix, each run 50 times, after a warm-up) against the 15 ms budget.
//! - Criterion: `search/<n>/<query>` for each query of the mix, and `search/<n>/sync_unchanged`, the
//!   incremental sync every refresh runs when nothing changed (listing the store's etags and diffing).
//!
//! `cargo bench -p stagedoor-core --bench search`.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use stagedoor_core::devgen::{catalog_config, generate_catalog, generate_docs_site};
use stagedoor_core::portal::RefreshRequest;
use stagedoor_core::search::SearchQuery;
use stagedoor_core::store::{EntityPredicate, EntityQuery, StoredDocs};
use stagedoor_core::techdocs::build::build_site;
use stagedoor_core::techdocs::publish::site_files;
use stagedoor_core::{LocalPortal, Portal};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DOCS_PAGES: usize = 5_000;
const BUDGET: Duration = Duration::from_millis(15);

fn entities() -> usize {
    if std::env::var("STAGEDOOR_BENCH_SMALL").is_ok_and(|v| !v.is_empty() && v != "0") {
        10_000
    } else {
        100_000
    }
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

fn query(term: &str) -> SearchQuery {
    SearchQuery {
        term: term.to_string(),
        ..SearchQuery::default()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn search(c: &mut Criterion) {
    let n = entities();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let work = tempfile::tempdir().expect("temp dir");
    let catalog = generate_catalog(n, &work.path().join("catalog")).expect("generate catalog");
    let db_dir = work.path().join("db");
    std::fs::create_dir_all(&db_dir).expect("db dir");
    let portal = LocalPortal::from_config(catalog_config(&catalog.root, &db_dir)).expect("portal");
    let started = Instant::now();
    rt.block_on(portal.refresh(RefreshRequest::default()))
        .expect("refresh");
    eprintln!(
        "ingested {n} entities in {:.1} s (including the first index build)",
        started.elapsed().as_secs_f64()
    );

    // 5,000 docs pages, stored as the site of the first component.
    let site_dir = work.path().join("site");
    generate_docs_site(DOCS_PAGES, &site_dir).expect("generate docs");
    let site = build_site(&site_dir, "generated", 0).expect("build docs");
    let component = rt
        .block_on(
            portal.query_entities(EntityQuery {
                filter: EntityPredicate::from_filter_params(&["kind=component".to_string()])
                    .expect("filter"),
                limit: Some(1),
                ..EntityQuery::default()
            }),
        )
        .expect("a component")
        .items
        .remove(0);
    let component_ref = component.entity_ref().canonical();
    rt.block_on(portal.store().put_docs(StoredDocs {
        entity_ref: component_ref.clone(),
        etag: site.etag.clone(),
        built_at: 0,
        files: site_files(&site),
    }))
    .expect("store docs");

    let started = Instant::now();
    let report = rt.block_on(portal.rebuild_search()).expect("rebuild");
    let build = started.elapsed();
    let generation = portal
        .search_index()
        .generation_dir()
        .expect("on-disk index");
    eprintln!(
        "full index build: {} entities + {} docs site(s) ({} pages) in {:.2} s; {:.1} MB on disk",
        report.entities,
        report.sites,
        DOCS_PAGES,
        build.as_secs_f64(),
        dir_size(&generation) as f64 / 1e6
    );

    // The query mix: an exact name, a prefix being typed, a typo, two words, a description word, a filtered
    // empty term, docs only, and a deep page.
    let name = component.name().to_string();
    let mut typo: Vec<char> = name.chars().collect();
    if typo.len() > 4 {
        typo.swap(1, 2);
    }
    let typo: String = typo.into_iter().collect();
    let prefix: String = name.chars().take(5).collect();
    let word = component
        .description()
        .and_then(|d| d.split_whitespace().find(|w| w.len() > 5))
        .unwrap_or("service")
        .to_string();
    let mut filtered = query("");
    filtered
        .filters
        .insert("kind".into(), vec!["component".into()]);
    filtered
        .filters
        .insert("lifecycle".into(), vec!["production".into()]);
    let mut docs = query("configuration");
    docs.types = vec!["techdocs".into()];
    let mut deep = query("service");
    deep.page_cursor = Some(stagedoor_core::search::searcher::encode_cursor(20));
    let mix: Vec<(&str, SearchQuery)> = vec![
        ("exact_name", query(&name)),
        ("prefix", query(&prefix)),
        ("typo", query(&typo)),
        ("two_words", query(&format!("{word} service"))),
        ("description_word", query(&word)),
        ("filtered_empty", filtered),
        ("techdocs", docs),
        ("page_21", deep),
    ];

    let mut all = Vec::new();
    for (label, q) in &mix {
        let set = rt.block_on(portal.search(q.clone())).expect("search");
        let mut times = Vec::new();
        for _ in 0..50 {
            let started = Instant::now();
            black_box(rt.block_on(portal.search(q.clone())).expect("search"));
            times.push(started.elapsed());
        }
        times.sort();
        eprintln!(
            "{label:>16} ({:?}): {} hits, first {}, p50 {:.2} ms, p95 {:.2} ms",
            q.term,
            set.number_of_results.unwrap_or(0),
            set.results
                .first()
                .and_then(|r| r.field("location"))
                .unwrap_or("-"),
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.95).as_secs_f64() * 1e3,
        );
        all.extend(times);
    }
    all.sort();
    let p95 = percentile(&all, 0.95);
    eprintln!(
        "all queries at {n} entities + {DOCS_PAGES} pages: p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms (budget {} ms: {})",
        percentile(&all, 0.5).as_secs_f64() * 1e3,
        p95.as_secs_f64() * 1e3,
        all.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        BUDGET.as_millis(),
        if p95 <= BUDGET { "met" } else { "MISSED" }
    );

    let label = if n >= 100_000 { "100k" } else { "10k" };
    let mut group = c.benchmark_group(format!("search/{label}"));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(20);
    for (name, q) in &mix {
        group.bench_function(*name, |b| {
            b.iter(|| black_box(rt.block_on(portal.search(q.clone())).expect("search")))
        });
    }
    group.sample_size(10);
    group.bench_function("sync_unchanged", |b| {
        b.iter(|| black_box(rt.block_on(portal.sync_search()).expect("sync")))
    });
    group.finish();
    drop(portal);
}

criterion_group!(benches, search);
criterion_main!(benches);
