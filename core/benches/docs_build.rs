//! TechDocs build benchmarks on a generated 1,000-page site (`devgen::generate_docs_site`: nested
//! directories, ~3.5 KB pages of headings, lists, code, tables and admonitions):
//!
//! - `docs_build/full_1000`: [`build_site`], every page read, hashed, rendered, indexed.
//! - `docs_build/unchanged_1000`: [`build_site_if_changed`] with the current etag, the cost of a sync that
//!   finds nothing to do (the sources are read and hashed, nothing is rendered); every refresh pays it.
//! - `docs_build/site_files_1000`: [`site_files`], turning a built site into the files stored and served.
//!
//! `cargo bench -p stagedoor-core --bench docs_build`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use stagedoor_core::devgen::generate_docs_site;
use stagedoor_core::techdocs::build::{build_site, build_site_if_changed};
use stagedoor_core::techdocs::publish::site_files;

// The same allocator as the `stagedoor` binary, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PAGES: usize = 1_000;

fn docs_build(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let summary = generate_docs_site(PAGES, dir.path()).expect("generate docs site");
    eprintln!(
        "generated {} pages, {} bytes ({} bytes a page)",
        summary.pages,
        summary.bytes,
        summary.bytes / summary.pages
    );
    let site = build_site(dir.path(), "generated", 0).expect("build site");
    assert_eq!(site.pages.len(), PAGES);
    let files = site_files(&site);
    eprintln!(
        "publishing stores {} files, {} bytes (every page's HTML carries the whole nav, as MkDocs' does)",
        files.len(),
        files.iter().map(|f| f.body.len()).sum::<usize>()
    );

    let mut group = c.benchmark_group("docs_build");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(PAGES as u64));
    group.bench_function("full_1000", |b| {
        b.iter(|| black_box(build_site(dir.path(), "generated", 0).expect("build")))
    });
    group.bench_function("unchanged_1000", |b| {
        b.iter(|| {
            let built =
                build_site_if_changed(dir.path(), "generated", 0, Some(&site.etag)).expect("hash");
            assert!(built.is_none());
        })
    });
    group.bench_function("site_files_1000", |b| {
        b.iter(|| black_box(site_files(&site)))
    });
    group.finish();
}

criterion_group!(benches, docs_build);
criterion_main!(benches);
