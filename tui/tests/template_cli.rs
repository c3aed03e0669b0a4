//! `stagedoor template run` end to end: the binary in a temporary directory whose app-config.yaml reads the
//! repository's sample catalog (its `runbook-page` template runs offline) into its own SQLite file.
//!
//! `unknown_template_*` and `bad_values_file_*` need only the catalog; the others run the engine.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Path::new(env!("CARGO_MANIFEST_DIR")).join("../catalog/all.yaml");
    let config = format!(
        "backend:\n  database:\n    client: better-sqlite3\n    connection:\n      directory: ./data\n\
         catalog:\n  rules:\n    - allow: [Component, System, API, Resource, Location, Domain, Group, User, Template]\n  \
         locations:\n    - type: file\n      target: {}\n\
         scaffolder:\n  workingDirectory: ./work\n",
        catalog.display()
    );
    fs::write(dir.path().join("app-config.yaml"), config).unwrap();
    fs::create_dir_all(dir.path().join("work")).unwrap();
    dir
}

/// Writes a template file into the project and adds it to the catalog's locations; the config's path.
fn add_template(dir: &Path, file: &str, yaml: &str) -> std::path::PathBuf {
    fs::write(dir.join(file), yaml).unwrap();
    let config = dir.join("app-config.yaml");
    let text = fs::read_to_string(&config).unwrap().replace(
        "  locations:\n",
        &format!(
            "  locations:\n    - type: file\n      target: {}\n",
            dir.join(file).display()
        ),
    );
    fs::write(&config, text).unwrap();
    config
}

fn stagedoor(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_stagedoor"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("STAGEDOOR_SERVER")
        .env_remove("STAGEDOOR_TOKEN")
        .env("NO_COLOR", "1")
        .output()
        .expect("run stagedoor");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "stagedoor {args:?} panicked: {}",
        run.stderr
    );
    run
}

const GOOD: [&str; 4] = [
    "--set",
    "service=depot-scanner",
    "--set",
    "owner=group:default/infra-team",
];

fn run_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["template", "run", "runbook-page"];
    args.extend(extra);
    args
}

#[test]
fn unknown_template_is_bad_input() {
    let dir = project();
    let run = stagedoor(dir.path(), &["template", "run", "no-such-template"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("unknown template template:default/no-such-template"),
        "{}",
        run.stderr
    );
    // A ref to another kind is no template either.
    let run = stagedoor(dir.path(), &["template", "run", "group:default/infra-team"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn bad_values_file_is_named() {
    let dir = project();
    fs::write(dir.path().join("values.yaml"), "- not\n- a mapping\n").unwrap();
    let run = stagedoor(dir.path(), &run_args(&["--values", "values.yaml"]));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("values.yaml"), "{}", run.stderr);
    let run = stagedoor(dir.path(), &run_args(&["--values", "missing.json"]));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("missing.json"), "{}", run.stderr);
    let run = stagedoor(dir.path(), &run_args(&["--set", "=x"]));
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn a_run_prints_its_log_and_output_and_exits_0() {
    let dir = project();
    let run = stagedoor(dir.path(), &run_args(&GOOD));
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    for text in [
        "[log] Runbook for depot-scanner written for group:default/infra-team",
        "Owning team: group:default/infra-team",
        "Next steps:",
        "completed",
    ] {
        assert!(run.stdout.contains(text), "{text}: {}", run.stdout);
    }
    // Values from a file, --set on top, and JSON output.
    fs::write(
        dir.path().join("values.json"),
        r#"{"service": "other", "owner": "group:default/infra-team", "pager": false}"#,
    )
    .unwrap();
    let run = stagedoor(
        dir.path(),
        &run_args(&[
            "--values",
            "values.json",
            "--set",
            "service=route-api",
            "-o",
            "json",
        ]),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["status"], "completed");
    assert_eq!(
        doc["output"]["links"][0]["entityRef"],
        "group:default/infra-team"
    );
    assert!(doc["log"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["body"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Runbook for route-api"))));
}

#[test]
fn a_dry_run_prints_the_files_and_the_log() {
    let dir = project();
    let run = stagedoor(dir.path(), &run_args(&[&GOOD[..], &["--dry-run"]].concat()));
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(run.stdout.contains("docs/runbook.md"), "{}", run.stdout);
    assert!(run.stdout.contains("Log:"), "{}", run.stdout);
}

#[test]
fn invalid_values_name_their_fields_and_exit_2() {
    let dir = project();
    let run = stagedoor(dir.path(), &run_args(&["--set", "service=Not_Valid"]));
    assert_eq!(
        run.code, 2,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(run.stderr.contains("service"), "{}", run.stderr);
    assert!(
        run.stderr.contains("owner"),
        "the missing field too: {}",
        run.stderr
    );
}

#[test]
fn a_failed_task_exits_1_with_its_error() {
    let dir = project();
    // python-service publishes with publish:file, and this project's config opens no directory to it;
    // schema defaults fill its lifecycle and port.
    let run = stagedoor(
        dir.path(),
        &[
            "template",
            "run",
            "template:default/python-service",
            "--set",
            "name=svc",
            "--set",
            "owner=group:default/infra-team",
        ],
    );
    assert_eq!(
        run.code, 1,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(
        run.stdout
            .contains("[template] Finished step Fetch skeleton"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.trim_end().ends_with("failed"), "{}", run.stdout);
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
}

#[test]
fn a_service_is_scaffolded_published_and_registered() {
    let dir = project();
    let config = dir.path().join("app-config.yaml");
    let mut text = fs::read_to_string(&config).unwrap();
    text.push_str("  publish:\n    file:\n      allowedDirectories: [./scaffolded]\n");
    fs::write(&config, text).unwrap();
    let run = stagedoor(
        dir.path(),
        &[
            "template",
            "run",
            "python-service",
            "--set",
            "name=depot-scanner",
            "--set",
            "owner=group:default/infra-team",
            "--set",
            "description=Scans depots",
        ],
    );
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    for step in ["Fetch skeleton", "Publish", "Register"] {
        assert!(
            run.stdout.contains(&format!("Finished step {step}")),
            "{}",
            run.stdout
        );
    }
    assert!(
        run.stdout.contains("component:default/depot-scanner"),
        "{}",
        run.stdout
    );
    let published = dir.path().join("scaffolded/depot-scanner");
    let info = fs::read_to_string(published.join("catalog-info.yaml")).unwrap();
    assert!(info.contains("name: \"depot-scanner\""), "{info}");
    assert!(info.contains("description: \"Scans depots\""), "{info}");
    assert!(info.contains("backstage.io/techdocs-ref: dir:."), "{info}");
    assert!(published.join("src/app.py").is_file());
    // Registered: the next command finds the new component in the catalog.
    let get = stagedoor(
        dir.path(),
        &[
            "catalog",
            "get",
            "component:default/depot-scanner",
            "-o",
            "json",
        ],
    );
    assert_eq!(get.code, 0, "{}", get.stderr);
    assert!(
        get.stdout
            .contains("\"owner\": \"group:default/infra-team\""),
        "{}",
        get.stdout
    );
}

/// Stops the `stagedoor serve` child when the test ends, even on failure.
struct ServerProcess(std::process::Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_run_on_a_server_streams_its_log_too() {
    let dir = project();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let token = "template-cli-token-0123456789";
    fs::write(
        dir.path().join("server.yaml"),
        format!(
            "backend:\n  listen: 127.0.0.1:{port}\n  auth:\n    externalAccess:\n      - type: static\n        options:\n          token: {token}\n          subject: cli\n"
        ),
    )
    .unwrap();
    let _server = ServerProcess(
        Command::new(env!("CARGO_BIN_EXE_stagedoor"))
            .args([
                "--config",
                "app-config.yaml",
                "--config",
                "server.yaml",
                "serve",
            ])
            .current_dir(dir.path())
            .env_remove("RUST_LOG")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start stagedoor serve"),
    );
    let url = format!("http://127.0.0.1:{port}");
    let mut args = vec!["--server", &url, "--token", token];
    args.extend(run_args(&GOOD));
    // The server imports at start; retry until it knows the template (bounded, not a timing assertion).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let run = loop {
        let run = stagedoor(dir.path(), &args);
        if run.code == 0 || std::time::Instant::now() > deadline {
            break run;
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    };
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(
        run.stdout
            .contains("[log] Runbook for depot-scanner written for group:default/infra-team"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.trim_end().ends_with("completed"),
        "{}",
        run.stdout
    );
}

/// A `stagedoor template run` killed mid-task (SIGKILL: no chance to clean up) leaves its task
/// `processing`; the next portal to start on the same database marks it failed, saying why.
#[test]
fn a_task_whose_process_was_killed_fails_at_the_next_start() {
    use stagedoor_core::portal::Portal;
    use stagedoor_core::scaffolder::{TaskEventType, TaskQuery, TaskStatus};
    use std::io::{BufRead, BufReader};
    use std::sync::Arc;

    let dir = project();
    let config = add_template(
        dir.path(),
        "wait.yaml",
        "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: long-wait}\n\
         spec:\n  type: service\n  owner: group:default/infra-team\n  parameters: []\n  steps:\n\
         \x20   - {id: wait, name: Wait, action: debug:wait, input: {seconds: 25}}\n",
    );

    let mut child = Command::new(env!("CARGO_BIN_EXE_stagedoor"))
        .args(["template", "run", "long-wait"])
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .env_remove("STAGEDOOR_SERVER")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run stagedoor");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let started = lines.any(|l| l.is_ok_and(|l| l.contains("Beginning step Wait")));
    assert!(started, "the task never started");
    child.kill().expect("kill");
    child.wait().expect("reap");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let loaded =
            stagedoor_core::config::Config::load(std::slice::from_ref(&config), dir.path())
                .expect("config");
        let portal = Arc::new(stagedoor_core::LocalPortal::from_config(loaded).expect("portal"));
        let before = portal.list_tasks(TaskQuery::default()).await.unwrap();
        assert_eq!(before.tasks.len(), 1);
        assert_eq!(before.tasks[0].status, TaskStatus::Processing);
        portal.start_task_workers();
        let id = before.tasks[0].id.clone();
        let mut status = TaskStatus::Processing;
        for _ in 0..100 {
            status = portal.task(&id).await.unwrap().expect("task").status;
            if status.is_final() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(status, TaskStatus::Failed);
        let events = portal
            .task_events(&id, None, std::time::Duration::ZERO)
            .await
            .unwrap();
        let completion = events
            .iter()
            .find(|e| e.event_type == TaskEventType::Completion)
            .expect("a completion event");
        let message = completion.body["error"]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains("no longer running"), "{}", completion.body);
    });
}

/// Embedded, a task runs for `--as` (else `stagedoor.identity`): templates see `user.ref` and the User
/// entity from the catalog, and the task records who created it.
#[test]
fn a_task_runs_for_the_user_given_with_as() {
    let dir = project();
    add_template(
        dir.path(),
        "whoami.yaml",
        "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: whoami}\n\
         spec:\n  type: service\n  owner: group:default/infra-team\n  parameters: []\n  steps:\n\
         \x20   - id: say\n      name: Say\n      action: debug:log\n\
         \x20     input: {message: 'ref=${{ user.ref }} name=${{ user.entity.metadata.name }}'}\n",
    );
    let run = stagedoor(
        dir.path(),
        &[
            "--as",
            "lena.fischer",
            "template",
            "run",
            "whoami",
            "-o",
            "json",
        ],
    );
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(
        run.stdout
            .contains("ref=user:default/lena.fischer name=lena.fischer"),
        "{}",
        run.stdout
    );
    let bad = stagedoor(
        dir.path(),
        &["--as", "group:default/x", "template", "run", "whoami"],
    );
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("--as"), "{}", bad.stderr);
}
