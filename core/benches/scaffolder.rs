//! Scaffolder benchmarks, in memory (a SQLite `:memory:` [`LocalPortal`] with its task workers started, a
//! template catalog and a generated skeleton in a temp dir):
//!
//! - `scaffolder/templating/step_input`: one typical step input (a `values:` object of 10 `${{ }}` strings,
//!   type-preserving) rendered with [`Templater::render_value`].
//! - `scaffolder/templating/skeleton_200`: 200 skeleton files (~2 KB each, `${{ values.name }}` and a
//!   `{% if %}`) and their paths rendered from memory, as `fetch:template` does (one engine and one context
//!   for the whole tree, [`Templater::render_str_in`]); the disk side is in the task below.
//! - `scaffolder/task/fetch_template_200/{tmpfs,disk}`: a whole task, `fetch:template` of that skeleton from
//!   disk plus `debug:log`, from `create_task` until its completion event arrives (`task_events` with a
//!   wait). This includes the worker's wake-up and the event wait's latency; the first event's latency is
//!   printed. The task workspace (`scaffolder.workingDirectory`) is on `/dev/shm` (tmpfs, when there is one)
//!   and on the temp dir's disk: on ext4 creating the files dominates and grows as the disk is reused.
//! - `scaffolder/dry_run/fetch_template_200`: `dry_run` of the same template (nothing stored, the produced
//!   files read back and returned), in the tmpfs working directory.
//! - `scaffolder/events/each_500`: a task whose `each` step logs 500 lines with `debug:log` (throughput in
//!   events stored), and `scaffolder/events/task_events_all`: `task_events(after=0)` returning them all.
//!
//! `cargo bench -p stagedoor-core --bench scaffolder` (`STAGEDOOR_BENCH_SMALL=1`: 50 files, 100 items); about
//! 40 s in all.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use serde_json::{json, Value};
use stagedoor_core::config::Config;
use stagedoor_core::portal::RefreshRequest;
use stagedoor_core::scaffolder::templating::Templater;
use stagedoor_core::scaffolder::{DryRunRequest, TaskEventType, TaskRequest};
use stagedoor_core::{LocalPortal, Portal};

// The same allocator as the `stagedoor` binary, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long one task may take before the bench gives up on it.
const TASK_TIMEOUT: Duration = Duration::from_secs(60);

fn small() -> bool {
    std::env::var("STAGEDOOR_BENCH_SMALL").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Skeleton files and `each` items.
fn sizes() -> (usize, usize) {
    if small() {
        (50, 100)
    } else {
        (200, 500)
    }
}

/// One ~2 KB skeleton file: the name in a few places, a conditional block, and plain text around them.
fn skeleton_file(i: usize) -> String {
    let mut out = format!(
        "# ${{{{ values.name }}}} module {i}\n\nOwned by ${{{{ values.owner }}}}.\n\n\
         {{% if values.withDocs %}}\nDocumentation for ${{{{ values.name }}}} lives in docs/.\n{{% endif %}}\n"
    );
    let line =
        "pub fn handler() -> Result<(), Error> { let cfg = load_config(\"service\")?; run(cfg) }\n";
    while out.len() < 1_900 {
        out.push_str(line);
    }
    out.push_str("// end of ${{ values.name }}\n");
    out
}

/// The skeleton's relative paths (some with the name in them, as real skeletons do) and contents.
fn skeleton(files: usize) -> Vec<(String, String)> {
    (0..files)
        .map(|i| {
            let path = match i % 4 {
                0 => format!("src/${{{{ values.name }}}}/module_{i}.rs"),
                1 => format!("docs/page_{i}.md"),
                2 => format!("config/${{{{ values.name }}}}_{i}.yaml"),
                _ => format!("lib/nested/deeper/file_{i}.txt"),
            };
            (path, skeleton_file(i))
        })
        .collect()
}

fn write_skeleton(dir: &Path, files: &[(String, String)]) {
    for (path, body) in files {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).expect("skeleton dir");
        }
        std::fs::write(&target, body).expect("skeleton file");
    }
}

fn templates() -> String {
    let scaffold = json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": "scaffold", "title": "Scaffold"},
        "spec": {
            "owner": "team-a", "type": "service",
            "parameters": [{"required": ["name"], "properties": {
                "name": {"type": "string"},
                "owner": {"type": "string"},
                "withDocs": {"type": "boolean"}
            }}],
            "steps": [
                {"id": "fetch", "name": "Fetch skeleton", "action": "fetch:template",
                 "input": {"url": "./skeleton", "values": {
                     "name": "${{ parameters.name }}",
                     "owner": "${{ parameters.owner }}",
                     "withDocs": "${{ parameters.withDocs }}"
                 }}},
                {"id": "log", "name": "Log", "action": "debug:log",
                 "input": {"message": "scaffolded ${{ parameters.name }}"}}
            ],
            "output": {"name": "${{ parameters.name }}"}
        }
    });
    let chatty = json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": "chatty"},
        "spec": {
            "owner": "team-a", "type": "service",
            "parameters": [{"properties": {"items": {"type": "array"}}}],
            "steps": [
                {"id": "many", "name": "Many", "action": "debug:log", "each": "${{ parameters.items }}",
                 "input": {"message": "item ${{ each.key }}: ${{ each.value }}"}}
            ]
        }
    });
    format!("{scaffold}\n---\n{chatty}\n")
}

/// A portal on `:memory:` whose catalog is the two templates in `root` and whose tasks run in `work`.
fn memory_portal(root: &Path, work: &Path) -> Arc<LocalPortal> {
    let file = root.join("templates.yaml");
    std::fs::write(&file, templates()).expect("templates");
    let config = Config::from_value(
        json!({
            "backend": {"database": {"client": "better-sqlite3", "connection": ":memory:"}},
            "catalog": {
                "rules": [{"allow": ["Template"]}],
                "locations": [{"type": "file", "target": file.display().to_string()}],
                "processingInterval": false
            },
            "scaffolder": {"workingDirectory": work.display().to_string()}
        }),
        root.to_path_buf(),
    );
    Arc::new(LocalPortal::from_config(config).expect("portal"))
}

fn scaffold_values() -> Value {
    json!({"name": "payments", "owner": "team-a", "withDocs": true})
}

fn request(template: &str, values: Value) -> TaskRequest {
    TaskRequest {
        template_ref: format!("template:default/{template}"),
        values,
        secrets: None,
        user: None,
    }
}

/// What one task run cost: until the first event arrived, until the completion, and how many events.
struct TaskRun {
    id: String,
    first_event: Duration,
    total: Duration,
    events: usize,
}

/// Creates a task and follows its events (as the TUI and `GET /v2/tasks/:id/events` do) until it completes.
async fn run_task(portal: &LocalPortal, template: &str, values: Value) -> TaskRun {
    let started = Instant::now();
    let id = portal
        .create_task(request(template, values))
        .await
        .expect("create task");
    let mut after = None;
    let mut first_event = None;
    let mut events = 0;
    loop {
        assert!(started.elapsed() < TASK_TIMEOUT, "task {id} did not finish");
        let batch = portal
            .task_events(&id, after, Duration::from_secs(5))
            .await
            .expect("task events");
        if batch.is_empty() {
            continue;
        }
        first_event.get_or_insert_with(|| started.elapsed());
        events += batch.len();
        after = batch.last().map(|e| e.id);
        if let Some(done) = batch
            .iter()
            .find(|e| e.event_type == TaskEventType::Completion)
        {
            assert_eq!(
                done.message(),
                "Run completed with status: completed",
                "task {id} failed: {}",
                done.body
            );
            return TaskRun {
                id,
                first_event: first_event.unwrap_or_default(),
                total: started.elapsed(),
                events,
            };
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn templating(c: &mut Criterion) {
    let (files, _) = sizes();
    let templater = Templater::new();
    let context = json!({"parameters": {
        "name": "payments", "owner": "group:default/team-a", "system": "billing", "port": 8080,
        "replicas": 3, "public": false, "tags": ["rust", "grpc"], "description": "Takes payments",
        "repoUrl": "github.com?owner=acme&repo=payments", "env": {"LOG": "info"}
    }});
    let input = json!({"values": {
        "name": "${{ parameters.name }}",
        "owner": "${{ parameters.owner }}",
        "system": "${{ parameters.system }}",
        "port": "${{ parameters.port }}",
        "replicas": "${{ parameters.replicas }}",
        "public": "${{ parameters.public }}",
        "tags": "${{ parameters.tags }}",
        "description": "${{ parameters.description }} for ${{ parameters.system }}",
        "destination": "${{ parameters.repoUrl | parseRepoUrl }}",
        "env": "${{ parameters.env }}"
    }});
    let rendered = templater
        .render_value(&input, &context)
        .expect("render step input")
        .expect("a value");
    assert_eq!(rendered["values"]["port"], 8080, "{rendered}");
    assert_eq!(rendered["values"]["tags"], json!(["rust", "grpc"]));

    let tree = skeleton(files);
    let values = json!({"values": scaffold_values()});
    let render_tree = || {
        // As `fetch:template`: one engine and one converted context for the whole tree.
        let templater = Templater::new();
        let ctx = templater.context(&values);
        let mut bytes = 0;
        for (path, body) in &tree {
            let path = templater.render_str_in(path, &ctx).expect("render path");
            let body = templater.render_str_in(body, &ctx).expect("render file");
            bytes += path.len() + body.len();
        }
        bytes
    };
    let bytes = render_tree();
    eprintln!(
        "skeleton: {files} files, {} bytes in, {bytes} bytes rendered",
        tree.iter().map(|(_, b)| b.len()).sum::<usize>()
    );

    let mut group = c.benchmark_group("scaffolder/templating");
    group.sample_size(50);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("step_input", |b| {
        b.iter(|| black_box(templater.render_value(&input, &context).expect("render")))
    });
    group.throughput(Throughput::Elements(files as u64));
    group.bench_function(format!("skeleton_{files}"), |b| {
        b.iter(|| black_box(render_tree()))
    });
    group.finish();
}

fn tasks(c: &mut Criterion) {
    let (files, items) = sizes();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    write_skeleton(&dir.path().join("skeleton"), &skeleton(files));
    // Creating 200 files in a directory tree just deleted is mostly ext4's inode allocator (`ext4_create` →
    // `recently_deleted` in a profile), which grows as a disk is reused; tasks on tmpfs measure stagedoor.
    let disk_work = dir.path().join("work");
    std::fs::create_dir_all(&disk_work).expect("work dir");
    let shm = tempfile::tempdir_in("/dev/shm").ok();
    let work = shm.as_ref().map_or(disk_work.as_path(), |d| d.path());
    let portal = memory_portal(dir.path(), work);
    let disk_portal = memory_portal(dir.path(), &disk_work);
    for p in [&portal, &disk_portal] {
        rt.block_on(p.refresh(RefreshRequest::default()))
            .expect("refresh");
        let _guard = rt.enter();
        p.start_task_workers();
    }
    let where_ = if shm.is_some() { "tmpfs" } else { "disk" };
    eprintln!(
        "task workspaces: {where_} ({}), and disk ({})",
        work.display(),
        disk_work.display()
    );

    // Ten of each, printed: where a task's time goes.
    for (label, p) in [(where_, &portal), ("disk", &disk_portal)] {
        let first = rt.block_on(run_task(p, "scaffold", scaffold_values()));
        let mut runs = Vec::new();
        for _ in 0..10 {
            runs.push(rt.block_on(run_task(p, "scaffold", scaffold_values())));
        }
        runs.sort_by_key(|r| r.total);
        let median = &runs[runs.len() / 2];
        eprintln!(
            "task fetch:template {files} files + debug:log on {label}: first run {:.1} ms; of 10 more: \
             min {:.1} ms, median {:.1} ms, max {:.1} ms (first event after {:.2} ms: create + worker \
             wake-up + event wait), {} events",
            ms(first.total),
            ms(runs[0].total),
            ms(median.total),
            ms(runs[runs.len() - 1].total),
            ms(median.first_event),
            median.events
        );
    }

    let entity = rt
        .block_on(portal.entity_by_ref(&"template:default/scaffold".parse().expect("ref")))
        .expect("lookup")
        .expect("the template is in the catalog");
    let dry = DryRunRequest {
        template: entity.into_value(),
        values: scaffold_values(),
        secrets: None,
        directory_contents: vec![],
        user: None,
    };
    let result = rt.block_on(portal.dry_run(dry.clone())).expect("dry run");
    assert_eq!(result.directory_contents.len(), files, "dry run files");
    eprintln!(
        "dry run: {} files returned, {} log entries",
        result.directory_contents.len(),
        result.log.len()
    );

    let chatty = json!({"items": (0..items).map(|i| format!("value-{i}")).collect::<Vec<_>>()});
    let run = rt.block_on(run_task(&portal, "chatty", chatty.clone()));
    let fetch_started = Instant::now();
    let all = rt
        .block_on(portal.task_events(&run.id, Some(0), Duration::ZERO))
        .expect("events");
    let fetch = fetch_started.elapsed();
    assert_eq!(all.len(), run.events);
    eprintln!(
        "events: each over {items} items stored {} events in {:.1} ms ({:.0} events/s, worker wake-up \
         included); task_events(after=0) returned them in {:.2} ms",
        run.events,
        ms(run.total),
        run.events as f64 / run.total.as_secs_f64(),
        ms(fetch)
    );

    let mut group = c.benchmark_group("scaffolder/task");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function(format!("fetch_template_{files}/{where_}"), |b| {
        b.iter(|| black_box(rt.block_on(run_task(&portal, "scaffold", scaffold_values()))))
    });
    if shm.is_some() {
        group.bench_function(format!("fetch_template_{files}/disk"), |b| {
            b.iter(|| black_box(rt.block_on(run_task(&disk_portal, "scaffold", scaffold_values()))))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("scaffolder/dry_run");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function(format!("fetch_template_{files}"), |b| {
        b.iter(|| black_box(rt.block_on(portal.dry_run(dry.clone())).expect("dry run")))
    });
    group.finish();

    let mut group = c.benchmark_group("scaffolder/events");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(run.events as u64));
    group.bench_function(format!("each_{items}"), |b| {
        b.iter(|| black_box(rt.block_on(run_task(&portal, "chatty", chatty.clone()))))
    });
    group.bench_function("task_events_all", |b| {
        b.iter(|| {
            black_box(
                rt.block_on(portal.task_events(&run.id, Some(0), Duration::ZERO))
                    .expect("events"),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, templating, tasks);
criterion_main!(benches);
