//! A bounded load test of the HTTP API on loopback, against the budgets in DESIGN.md (a filtered by-query
//! page of 50 at 100k entities: p50 < 5 ms over HTTP; get by ref: >= 15,000 requests/s).
//!
//! For 10,000 and 100,000 generated entities and each backend: ingest into a fresh database, serve
//! `router(...)` with auth disabled on 127.0.0.1:0 in this process (its own multi-thread runtime), then
//! drive it from a second runtime with N keep-alive connections for a fixed time per scenario, and print
//! requests/s, latency percentiles and errors (non-2xx responses and transport failures).
//!
//! Backends: SQLite (a new file in a temp directory) always; PostgreSQL too when `STAGEDOOR_BENCH_POSTGRES`
//! names a server (`postgres://postgres@127.0.0.1:5432/test`): each server gets a new database
//! `stagedoor_bench_<pid>_<n>` there, which the store creates and the benchmark drops afterwards.
//!
//! `cargo bench -p stagedoor-server --bench http_load`. Environment: `STAGEDOOR_BENCH_SMALL=1` skips 100k;
//! `STAGEDOOR_BENCH_SECS` (default 5) seconds per scenario; `STAGEDOOR_BENCH_CONNECTIONS` (default 32);
//! `STAGEDOOR_BENCH_MAX_REQUESTS` (default 1,000,000) caps each scenario's request count.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use stagedoor_core::devgen::{generate_catalog, BenchBackend};
use stagedoor_core::portal::{Portal, RefreshRequest};
use stagedoor_core::store::scratch::ScratchDatabase;
use stagedoor_core::store::{EntityPredicate, EntityQuery, OrderField, SortOrder};
use stagedoor_core::LocalPortal;
use stagedoor_server::api::{router, ApiSettings, AuthPolicy};
use tokio::runtime::Runtime;

// The same allocator as the `stagedoor` binary, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

fn runtime(name: &str) -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name(name)
        .build()
        .expect("tokio runtime")
}

/// What a run's database needs kept until its portal is gone: the SQLite file's directory, and the scratch
/// PostgreSQL database (dropped with any connections still open).
struct BenchDatabase {
    _dir: tempfile::TempDir,
    _pg: Option<ScratchDatabase>,
}

/// A portal over a new database on `backend` that allows every kind and reads the generated catalog.
fn portal(backend: &BenchBackend, catalog_root: &std::path::Path) -> (LocalPortal, BenchDatabase) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, pg) = backend.config(catalog_root, dir.path());
    let db = BenchDatabase { _dir: dir, _pg: pg };
    let portal = LocalPortal::from_config(config).expect("open portal");
    (portal, db)
}

/// A running server; dropping it shuts the server down, then removes its database.
struct Server {
    addr: SocketAddr,
    backend: &'static str,
    component_names: Vec<String>,
    entities: usize,
    ingest: Duration,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    rt: Option<Runtime>,
    // Dropped after `drop` below has shut the runtime (and with it the portal) down.
    _db: BenchDatabase,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

fn start_server(backend: &BenchBackend, catalog_root: &std::path::Path, entities: usize) -> Server {
    let rt = runtime("server");
    let (portal, db) = portal(backend, catalog_root);
    let portal = Arc::new(portal);
    let started = Instant::now();
    let report = rt
        .block_on(portal.refresh(RefreshRequest::default()))
        .expect("refresh");
    let ingest = started.elapsed();
    assert!(
        report.problems.is_empty() && report.entities > entities,
        "ingested {} of {entities} entities; first problem: {:?}",
        report.entities,
        report.problems.first()
    );
    // Existing component names for the get-by-ref scenario, read straight from the store.
    let names_page = rt
        .block_on(
            portal.query_entities(EntityQuery {
                filter: EntityPredicate::from_filter_params(&["kind=component".to_string()])
                    .expect("filter"),
                order_fields: vec![OrderField {
                    field: "metadata.name".to_string(),
                    order: SortOrder::Asc,
                }],
                limit: Some(1000),
                skip_total_items: true,
                ..EntityQuery::default()
            }),
        )
        .expect("component names");
    let component_names: Vec<String> = names_page
        .items
        .iter()
        .filter(|e| e.namespace() == "default")
        .map(|e| e.name().to_string())
        .collect();
    assert!(!component_names.is_empty(), "no components generated");

    let settings = ApiSettings {
        auth: AuthPolicy {
            disabled: true,
            ..AuthPolicy::default()
        },
        ..ApiSettings::default()
    };
    let app = router(portal, settings);
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    assert!(addr.ip().is_loopback());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    rt.spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
            .expect("server");
    });
    Server {
        addr,
        backend: backend.label(),
        component_names,
        entities,
        ingest,
        shutdown: Some(tx),
        rt: Some(rt),
        _db: db,
    }
}

#[derive(Clone, Copy)]
enum Scenario {
    ByName,
    ByQuery,
    Facets,
}

impl Scenario {
    fn label(self) -> &'static str {
        match self {
            Scenario::ByName => "get by ref (by-name)",
            Scenario::ByQuery => "by-query kind=component, 50",
            Scenario::Facets => "entity-facets facet=kind",
        }
    }

    fn url(self, base: &str, names: &[String], i: usize) -> String {
        match self {
            Scenario::ByName => format!(
                "{base}/api/catalog/entities/by-name/component/default/{}",
                names[i % names.len()]
            ),
            Scenario::ByQuery => format!(
                "{base}/api/catalog/entities/by-query?filter=kind=component&limit=50&orderField=metadata.name,asc"
            ),
            Scenario::Facets => format!("{base}/api/catalog/entity-facets?facet=kind"),
        }
    }
}

struct Outcome {
    requests: u64,
    errors: u64,
    first_error: Option<String>,
    elapsed: Duration,
    latencies_us: Vec<u64>,
}

struct Load {
    connections: usize,
    duration: Duration,
    max_requests: u64,
}

fn drive(
    rt: &Runtime,
    server: &Server,
    scenario: Scenario,
    load: &Load,
    warm_up: Duration,
) -> Outcome {
    let base = format!("http://{}", server.addr);
    let names = Arc::new(server.component_names.clone());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(load.connections)
        .tcp_nodelay(true)
        .no_proxy()
        .build()
        .expect("http client");
    rt.block_on(async move {
        // Warm-up: opens the connections and the server's caches; not counted.
        let warm_deadline = Instant::now() + warm_up;
        let stride = load.connections;
        let mut warm = Vec::new();
        for t in 0..load.connections {
            let (client, base, names) = (client.clone(), base.clone(), names.clone());
            warm.push(tokio::spawn(async move {
                let mut i = t;
                while Instant::now() < warm_deadline {
                    if let Ok(r) = client.get(scenario.url(&base, &names, i)).send().await {
                        let _ = r.bytes().await;
                    }
                    i += stride;
                }
            }));
        }
        for w in warm {
            let _ = w.await;
        }

        let issued = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(AtomicU64::new(0));
        let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
        let next_name = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let deadline = started + load.duration;
        let mut tasks = Vec::new();
        for _ in 0..load.connections {
            let (client, base, names) = (client.clone(), base.clone(), names.clone());
            let (issued, errors, first_error, next_name) = (
                issued.clone(),
                errors.clone(),
                first_error.clone(),
                next_name.clone(),
            );
            let max_requests = load.max_requests;
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(1 << 16);
                while Instant::now() < deadline
                    && issued.fetch_add(1, Ordering::Relaxed) < max_requests
                {
                    let url =
                        scenario.url(&base, &names, next_name.fetch_add(1, Ordering::Relaxed));
                    let sent = Instant::now();
                    let failure = match client.get(url).send().await {
                        Ok(r) => {
                            let status = r.status();
                            match r.bytes().await {
                                Ok(_) if status.is_success() => None,
                                Ok(body) => Some(format!(
                                    "HTTP {status}: {}",
                                    String::from_utf8_lossy(&body[..body.len().min(200)])
                                )),
                                Err(e) => Some(format!("reading body: {e}")),
                            }
                        }
                        Err(e) => Some(format!("request: {e}")),
                    };
                    latencies.push(sent.elapsed().as_micros() as u64);
                    if let Some(f) = failure {
                        errors.fetch_add(1, Ordering::Relaxed);
                        let mut slot = first_error.lock().expect("lock");
                        slot.get_or_insert(f);
                    }
                }
                latencies
            }));
        }
        let mut latencies_us = Vec::new();
        for t in tasks {
            latencies_us.extend(t.await.expect("client task"));
        }
        let elapsed = started.elapsed();
        latencies_us.sort_unstable();
        let first_error = first_error.lock().expect("lock").take();
        Outcome {
            requests: latencies_us.len() as u64,
            errors: errors.load(Ordering::Relaxed),
            first_error,
            elapsed,
            latencies_us,
        }
    })
}

fn percentile_ms(sorted_us: &[u64], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted_us.len() as f64).ceil() as usize;
    sorted_us[rank.clamp(1, sorted_us.len()) - 1] as f64 / 1000.0
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing special: one short run then.
    let args: Vec<String> = std::env::args().collect();
    let quick = !args.iter().any(|a| a == "--bench");
    let small_only = quick || env_flag("STAGEDOOR_BENCH_SMALL");
    let load = Load {
        connections: env_number("STAGEDOOR_BENCH_CONNECTIONS", 32) as usize,
        duration: if quick {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(env_number("STAGEDOOR_BENCH_SECS", 5))
        },
        max_requests: env_number("STAGEDOOR_BENCH_MAX_REQUESTS", 1_000_000),
    };
    let warm_up = if quick {
        Duration::from_millis(50)
    } else {
        Duration::from_millis(500)
    };
    let sizes: &[usize] = if small_only {
        &[10_000]
    } else {
        &[10_000, 100_000]
    };
    let backends = BenchBackend::configured();
    let client_rt = runtime("load");
    let mut rows = Vec::new();
    let mut failed = false;
    for &size in sizes {
        // One generated catalog per size, served from a fresh database on each backend in turn.
        let catalog = tempfile::tempdir().expect("temp dir");
        let summary = generate_catalog(size, catalog.path()).expect("generate catalog");
        for backend in &backends {
            let server = start_server(backend, &summary.root, size);
            eprintln!(
                "{}: {} entities ingested in {:.1} s; serving on {}; {} connections, {:?} per scenario",
                server.backend,
                server.entities,
                server.ingest.as_secs_f64(),
                server.addr,
                load.connections,
                load.duration
            );
            for scenario in [Scenario::ByName, Scenario::ByQuery, Scenario::Facets] {
                let o = drive(&client_rt, &server, scenario, &load, warm_up);
                if o.errors > 0 {
                    failed = true;
                    eprintln!(
                        "!!! {} at {size} on {}: {} ERRORS of {} requests; first: {}",
                        scenario.label(),
                        server.backend,
                        o.errors,
                        o.requests,
                        o.first_error.as_deref().unwrap_or("?")
                    );
                }
                rows.push((size, server.backend, scenario, o));
            }
        }
    }
    println!();
    println!(
        "HTTP load on loopback, {} keep-alive connections, {:?} per scenario (auth disabled)",
        load.connections, load.duration
    );
    println!(
        "| entities | backend  | scenario                     | requests | req/s    | p50 ms | p95 ms | p99 ms | errors |"
    );
    println!(
        "|---------:|----------|------------------------------|---------:|---------:|-------:|-------:|-------:|-------:|"
    );
    for (size, backend, scenario, o) in &rows {
        println!(
            "| {:>8} | {:<8} | {:<28} | {:>8} | {:>8.0} | {:>6.2} | {:>6.2} | {:>6.2} | {:>6} |",
            size,
            backend,
            scenario.label(),
            o.requests,
            o.requests as f64 / o.elapsed.as_secs_f64(),
            percentile_ms(&o.latencies_us, 50.0),
            percentile_ms(&o.latencies_us, 95.0),
            percentile_ms(&o.latencies_us, 99.0),
            o.errors
        );
    }
    if failed {
        println!();
        println!("!!! THIS RUN HAD ERRORS: the figures above include failed requests !!!");
        std::process::exit(1);
    }
}
