//! The `stagedoor` binary end to end: each test runs it in its own temporary directory with its own
//! app-config.yaml and SQLite file, and checks exit codes, stdout and stderr.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn stagedoor(dir: &Path, args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_stagedoor"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("STAGEDOOR_BACKTRACE")
        .env_remove("STAGEDOOR_SERVER")
        .env_remove("STAGEDOOR_TOKEN")
        .env("NO_COLOR", "1")
        .output()
        .expect("run stagedoor");
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked") && !run.stderr.contains("internal error"),
        "stagedoor {args:?} panicked: {}",
        run.stderr
    );
    run
}

/// One `error: ...` line on stderr and nothing on stdout.
fn assert_one_error_line(run: &Run) {
    assert!(run.stdout.is_empty(), "stdout: {}", run.stdout);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "stderr: {}", run.stderr);
    assert!(lines[0].starts_with("error: "), "stderr: {}", run.stderr);
}

const CONFIG: &str = "\
backend:
  database:
    client: better-sqlite3
    connection:
      directory: ./data
catalog:
  rules:
    - allow: [Component, System, API, Resource, Location, Domain, Group, User]
  locations:
    - type: file
      target: ./catalog/all.yaml
  processingInterval: false
";

const ALL: &str = "\
apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: test-catalog
spec:
  targets:
    - ./org.yaml
    - ./software.yaml
";

const ORG: &str = "\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: jane
spec:
  memberOf: [team-a]
";

const SOFTWARE: &str = "\
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: audio
spec:
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: playback
  description: Plays tracks
spec:
  type: service
  lifecycle: production
  owner: team-a
  system: audio
  providesApis: [playback-api]
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: artist-web
spec:
  type: website
  lifecycle: experimental
  owner: group:default/team-a
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: playback-api
spec:
  type: openapi
  lifecycle: production
  owner: team-a
  definition: |
    openapi: 3.0.0
    info: {title: Playback, version: 1.0.0}
    paths: {}
";

/// A directory with app-config.yaml and a catalog of 7 entities (1 Location, 1 Group, 1 User, 1 System,
/// 2 Components, 1 API); ingesting it adds the Location generated for the configured root.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("app-config.yaml"), CONFIG).unwrap();
    fs::create_dir(dir.path().join("catalog")).unwrap();
    fs::write(dir.path().join("catalog/all.yaml"), ALL).unwrap();
    fs::write(dir.path().join("catalog/org.yaml"), ORG).unwrap();
    fs::write(dir.path().join("catalog/software.yaml"), SOFTWARE).unwrap();
    dir
}

fn json(run: &Run) -> Value {
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| e["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn help_and_version() {
    let dir = tempfile::tempdir().unwrap();
    let run = stagedoor(dir.path(), &["--version"]);
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stdout.trim(),
        format!("stagedoor {}", env!("CARGO_PKG_VERSION"))
    );
    for args in [
        &["--help"][..],
        &["catalog", "--help"],
        &["catalog", "list", "--help"],
        &["catalog", "get", "--help"],
        &["catalog", "validate", "--help"],
        &["catalog", "import", "--help"],
        &["dev", "gen-catalog", "--help"],
        &["docs", "--help"],
        &["docs", "build", "--help"],
        &["docs", "show", "--help"],
        &["search", "--help"],
    ] {
        let run = stagedoor(dir.path(), args);
        assert_eq!(run.code, 0, "{args:?}");
        assert!(run.stdout.contains("Usage: stagedoor"), "{args:?}");
    }
    let run = stagedoor(dir.path(), &["catalog", "list", "--help"]);
    assert!(run.stdout.contains("--filter"));
}

#[test]
fn a_bad_flag_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let run = stagedoor(dir.path(), &["catalog", "list", "--nope"]);
    assert_eq!(run.code, 2);
    assert_one_error_line(&run);
    assert!(run.stderr.contains("--nope"));

    let run = stagedoor(dir.path(), &["catalog", "list", "-o", "xml"]);
    assert_eq!(run.code, 2);
    assert_one_error_line(&run);

    let run = stagedoor(dir.path(), &["dev", "gen-catalog", "--entities", "10"]);
    assert_eq!(run.code, 2);
    assert_one_error_line(&run);
    assert!(run.stderr.contains("--out"));
}

#[test]
fn a_missing_config_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let run = stagedoor(
        dir.path(),
        &["--config", "nowhere/my-config.yaml", "catalog", "import"],
    );
    assert_eq!(run.code, 1);
    assert_one_error_line(&run);
    assert!(
        run.stderr.contains("nowhere/my-config.yaml"),
        "{}",
        run.stderr
    );

    // No --config and no app-config.yaml in the directory.
    let run = stagedoor(dir.path(), &["catalog", "list"]);
    assert_eq!(run.code, 1);
    assert_one_error_line(&run);
    assert!(run.stderr.contains("app-config.yaml"), "{}", run.stderr);
}

#[test]
fn a_malformed_ref_is_a_usage_error() {
    let dir = project();
    let run = stagedoor(dir.path(), &["catalog", "get", "playback"]);
    assert_eq!(run.code, 2);
    assert_one_error_line(&run);
    assert!(
        run.stderr
            .contains("Entity reference \"playback\" had missing or empty kind"),
        "{}",
        run.stderr
    );
    let run = stagedoor(dir.path(), &["catalog", "get", "component:/x"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("was not on the form"), "{}", run.stderr);
}

#[test]
fn a_bad_filter_is_a_usage_error() {
    let dir = project();
    let run = stagedoor(dir.path(), &["catalog", "list", "--filter", "=component"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_one_error_line(&run);
    assert!(run.stderr.contains("filter"), "{}", run.stderr);
}

#[test]
fn validate_reports_ok_and_problems() {
    let dir = project();
    let catalog = dir.path().join("catalog");
    let run = stagedoor(dir.path(), &["catalog", "validate", "catalog"]);
    assert_eq!(run.code, 0, "{} {}", run.stdout, run.stderr);
    assert_eq!(run.stdout, "ok: 7 entities in 3 files\n");

    let run = stagedoor(dir.path(), &["catalog", "validate", "catalog/org.yaml"]);
    assert_eq!(run.code, 0);
    assert_eq!(run.stdout, "ok: 2 entities in 1 files\n");

    // The second document has a name Backstage refuses.
    let bad = catalog.join("bad.yaml");
    fs::write(
        &bad,
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: ok-group\nspec:\n  type: team\n  children: []\n---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: not a name!\nspec:\n  type: service\n  lifecycle: production\n  owner: ok-group\n",
    )
    .unwrap();
    let bad_arg = bad.display().to_string();
    let run = stagedoor(dir.path(), &["catalog", "validate", &bad_arg]);
    assert_eq!(run.code, 1, "{} {}", run.stdout, run.stderr);
    let problems: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(problems.len(), 1, "{}", run.stdout);
    let (place, message) = problems[0]
        .split_once(": ")
        .unwrap_or_else(|| panic!("{}", problems[0]));
    let (path, line) = place.rsplit_once(':').unwrap();
    assert!(path.ends_with("bad.yaml"), "{}", problems[0]);
    let line: usize = line.parse().unwrap_or_else(|_| panic!("{}", problems[0]));
    assert!((8..=12).contains(&line), "line {line}: {}", problems[0]);
    assert!(message.contains("metadata.name"), "{}", problems[0]);

    // Unparseable YAML is a problem with a line too.
    fs::write(&bad, "kind: Component\nmetadata: [unclosed\n").unwrap();
    let run = stagedoor(dir.path(), &["catalog", "validate", &bad_arg]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.starts_with(&format!("{}:", bad.display())),
        "{}",
        run.stdout
    );
}

#[test]
fn import_then_list_and_get() {
    let dir = project();
    let run = stagedoor(dir.path(), &["catalog", "import"]);
    assert_eq!(run.code, 0, "{} {}", run.stdout, run.stderr);
    assert!(
        run.stdout.starts_with(
            "imported 8 entities (2 locations) from 1 root locations: 8 new, 0 updated, 0 unchanged, 0 orphaned, 0 deleted; 0 errors\n"
        ),
        "{}",
        run.stdout
    );
    assert!(
        dir.path().join("data").is_dir(),
        "the SQLite file lives under ./data"
    );

    // Everything, by name, with the Location Backstage generates for each configured root location.
    let all = json(&stagedoor(dir.path(), &["catalog", "list", "-o", "json"]));
    let all = names(&all);
    assert_eq!(all.len(), 8, "{all:?}");
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted, "ordered by name");
    let written: Vec<&String> = all
        .iter()
        .filter(|n| !n.starts_with("generated-"))
        .collect();
    assert_eq!(
        written,
        vec![
            "artist-web",
            "audio",
            "jane",
            "playback",
            "playback-api",
            "team-a",
            "test-catalog"
        ]
    );

    let components = json(&stagedoor(
        dir.path(),
        &["catalog", "list", "--kind", "component", "-o", "json"],
    ));
    assert_eq!(names(&components), vec!["artist-web", "playback"]);

    let services = json(&stagedoor(
        dir.path(),
        &[
            "catalog",
            "list",
            "--kind",
            "Component",
            "--filter",
            "spec.type=service",
            "-o",
            "json",
        ],
    ));
    assert_eq!(names(&services), vec!["playback"]);

    // Two filter sets: either may match.
    let either = json(&stagedoor(
        dir.path(),
        &[
            "catalog",
            "list",
            "-f",
            "kind=api",
            "-f",
            "kind=system",
            "-o",
            "json",
        ],
    ));
    assert_eq!(names(&either), vec!["audio", "playback-api"]);

    let yaml = stagedoor(
        dir.path(),
        &["catalog", "list", "-k", "group", "-o", "yaml"],
    );
    assert_eq!(yaml.code, 0);
    let parsed: Value = serde_yaml::from_str(&yaml.stdout).unwrap();
    assert_eq!(names(&parsed), vec!["team-a"]);

    let table = stagedoor(
        dir.path(),
        &["catalog", "list", "--kind", "component", "--limit", "1"],
    );
    assert_eq!(table.code, 0);
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", table.stdout);
    assert!(lines[0].starts_with("KIND"));
    for column in [
        "NAMESPACE",
        "NAME",
        "TYPE",
        "OWNER",
        "LIFECYCLE",
        "DESCRIPTION",
    ] {
        assert!(lines[0].contains(column), "{column}");
    }
    let cells: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        cells,
        vec![
            "Component",
            "default",
            "artist-web",
            "website",
            "group:default/team-a",
            "experimental",
            "-"
        ]
    );
    assert_eq!(lines[2], "1 of 2 entities");

    // One entity, JSON and YAML.
    let entity = json(&stagedoor(
        dir.path(),
        &["catalog", "get", "component:default/playback", "-o", "json"],
    ));
    assert_eq!(entity["metadata"]["name"], "playback");
    assert_eq!(entity["spec"]["owner"], "team-a");
    assert!(entity["metadata"]["uid"].is_string());
    let relations: Vec<String> = entity["relations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["type"].as_str().unwrap(),
                r["targetRef"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        relations.contains(&"ownedBy group:default/team-a".to_string()),
        "{relations:?}"
    );
    assert!(
        relations.contains(&"providesApi api:default/playback-api".to_string()),
        "{relations:?}"
    );

    let yaml = stagedoor(dir.path(), &["catalog", "get", "API:default/Playback-API"]);
    assert_eq!(yaml.code, 0, "{}", yaml.stderr);
    let api: Value = serde_yaml::from_str(&yaml.stdout).unwrap();
    assert_eq!(api["kind"], "API");
    assert!(api["spec"]["definition"]
        .as_str()
        .unwrap()
        .contains("openapi"));

    // A second import changes nothing.
    let run = stagedoor(dir.path(), &["catalog", "import"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout
            .contains("0 new, 0 updated, 8 unchanged, 0 orphaned, 0 deleted; 0 errors"),
        "{}",
        run.stdout
    );
}

#[test]
fn get_of_a_missing_entity_exits_1() {
    let dir = project();
    assert_eq!(stagedoor(dir.path(), &["catalog", "import"]).code, 0);
    let run = stagedoor(dir.path(), &["catalog", "get", "component:default/x"]);
    assert_eq!(run.code, 1);
    assert_one_error_line(&run);
    assert_eq!(run.stderr, "error: no entity named 'component:default/x'\n");
}

#[test]
fn import_reports_problems_and_still_succeeds() {
    let dir = project();
    fs::write(
        dir.path().join("catalog/software.yaml"),
        format!("{SOFTWARE}---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: bad name\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n"),
    )
    .unwrap();
    let run = stagedoor(dir.path(), &["catalog", "import"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut lines = run.stdout.lines();
    let summary = lines.next().unwrap();
    assert!(summary.starts_with("imported 8 entities"), "{summary}");
    assert!(summary.ends_with("; 1 errors"), "{summary}");
    let problem = lines.next().unwrap();
    assert!(problem.contains("software.yaml:"), "{problem}");
    assert!(problem.contains("metadata.name"), "{problem}");
}

#[test]
fn import_lists_relations_to_missing_entities() {
    let dir = project();
    fs::write(
        dir.path().join("catalog/software.yaml"),
        SOFTWARE.replace(
            "  system: audio\n",
            "  system: audio\n  dependsOn: [resource:default/ghost-db]\n",
        ),
    )
    .unwrap();
    let run = stagedoor(dir.path(), &["catalog", "import"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.ends_with("; 0 errors\nmissing entity: component:default/playback dependsOn resource:default/ghost-db\n"), "{}", run.stdout);
}

#[test]
fn bare_stagedoor_refreshes_and_summarises() {
    let dir = project();
    let run = stagedoor(dir.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .starts_with("stagedoor: 8 entities in the catalog, refreshed from 1 root locations\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("  Component  2\n"), "{}", run.stdout);
    assert!(run.stdout.contains("  Location   2\n"), "{}", run.stdout);
    assert!(
        run.stdout.contains("stagedoor catalog list"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_generated_catalog_validates_imports_and_pages() {
    let dir = tempfile::tempdir().unwrap();
    let run = stagedoor(
        dir.path(),
        &["dev", "gen-catalog", "--entities", "450", "--out", "gen"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .starts_with("generated 450 entities in 2 files under gen"),
        "{}",
        run.stdout
    );

    let run = stagedoor(dir.path(), &["catalog", "validate", "gen"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.stdout, "ok: 450 entities in 2 files\n");

    fs::write(
        dir.path().join("app-config.yaml"),
        CONFIG.replace("./catalog/all.yaml", "./gen/all.yaml"),
    )
    .unwrap();
    let run = stagedoor(dir.path(), &["catalog", "import"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .starts_with("imported 451 entities (2 locations) from 1 root locations: 451 new,"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("; 0 errors\n"), "{}", run.stdout);
    assert!(
        !run.stdout.contains("missing entity"),
        "every generated reference resolves: {}",
        run.stdout
    );

    // More than one page: the CLI follows cursors.
    let list = json(&stagedoor(
        dir.path(),
        &["catalog", "list", "--limit", "300", "-o", "json"],
    ));
    let got = names(&list);
    assert_eq!(got.len(), 300);
    let mut sorted = got.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    sorted.dedup();
    assert_eq!(got, sorted, "ordered by name, no duplicates");

    let table = stagedoor(dir.path(), &["catalog", "list", "--kind", "group"]);
    assert!(
        table.stdout.trim_end().ends_with("of 13 entities"),
        "{}",
        table.stdout
    );
}

#[test]
fn reading_a_never_imported_catalog_imports_it_first() {
    let dir = project();
    let list = json(&stagedoor(dir.path(), &["catalog", "list", "-o", "json"]));
    assert!(!names(&list).is_empty(), "{list}");
    // The second read finds the stored catalog.
    let again = json(&stagedoor(dir.path(), &["catalog", "list", "-o", "json"]));
    assert_eq!(names(&again), names(&list));
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
fn catalog_reads_go_to_a_server_with_its_token() {
    let dir = project();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // A second config file merges the server's settings over the project's.
    let server_config = format!(
        "backend:\n  listen: 127.0.0.1:{port}\n  auth:\n    externalAccess:\n      - type: static\n        options:\n          token: cli-test-token-0123456789\n          subject: cli\n"
    );
    fs::write(dir.path().join("server.yaml"), server_config).unwrap();
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
    let list = |token: &str| {
        stagedoor(
            dir.path(),
            &[
                "--server", &url, "--token", token, "catalog", "list", "-o", "json",
            ],
        )
    };
    // The server imports at start; wait until it answers (bounded, not a timing assertion).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let run = loop {
        let run = list("cli-test-token-0123456789");
        if run.code == 0 && run.stdout.contains("metadata") {
            break run;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "server never answered: {}",
            run.stderr
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let local = json(&stagedoor(dir.path(), &["catalog", "list", "-o", "json"]));
    assert_eq!(names(&json(&run)), names(&local));

    // Search goes to the server too, and answers as the embedded portal does over the same catalog.
    let search = |extra: &[&str]| {
        let mut args = vec![
            "--server",
            &url,
            "--token",
            "cli-test-token-0123456789",
            "search",
        ];
        args.extend_from_slice(extra);
        stagedoor(dir.path(), &args)
    };
    let remote = json(&search(&["playback", "-o", "json"]));
    let local = json(&stagedoor(
        dir.path(),
        &["search", "playback", "-o", "json"],
    ));
    // Highlight tags are chosen per index (as Backstage's Lunr engine does), and the two processes hold
    // separate indexes: compare the results with each highlight's tags mapped back to plain markers.
    let plain = |answer: &serde_json::Value| {
        let mut results = answer["results"].as_array().cloned().unwrap_or_default();
        for r in &mut results {
            let pre = r["highlight"]["preTag"].as_str().unwrap_or("").to_string();
            let post = r["highlight"]["postTag"].as_str().unwrap_or("").to_string();
            assert!(!pre.is_empty(), "{r}");
            let text = r["highlight"]
                .to_string()
                .replace(&post, "</>")
                .replace(&pre, "<>");
            r["highlight"] = serde_json::from_str(&text).unwrap();
        }
        results
    };
    assert!(!plain(&remote).is_empty());
    assert_eq!(plain(&remote), plain(&local));
    let too_long = search(&[&"x".repeat(101)]);
    assert_eq!(too_long.code, 2, "{}", too_long.stderr);
    assert_one_error_line(&too_long);
    assert!(too_long.stderr.contains("\"100\""), "{}", too_long.stderr);

    let denied = list("wrong-token");
    assert_eq!(denied.code, 1);
    assert_one_error_line(&denied);
    assert!(denied.stderr.contains("Illegal token"), "{}", denied.stderr);

    let import = stagedoor(dir.path(), &["--server", &url, "catalog", "import"]);
    assert_eq!(import.code, 2);
    assert!(
        import.stderr.contains("cannot run against --server"),
        "{}",
        import.stderr
    );
}

/// The TechDocs fixture beside the repository (`shared/fixtures`), as the core tests find it.
fn documented_fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/techdocs/backstage-documented-component")
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

const DOCS_ALL: &str = "\
apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: test-catalog
spec:
  targets:
    - ./org.yaml
    - ./software.yaml
    - ./documented/catalog-info.yaml
    - ./broken-docs.yaml
";

/// Its docs point outside its own directory tree, which a build refuses.
const BROKEN_DOCS: &str = "\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: broken-docs
  annotations:
    backstage.io/techdocs-ref: dir:../../../../..
spec:
  type: service
  lifecycle: production
  owner: team-a
";

/// [`project`] plus a copy of the documented-component fixture (its sources change in some tests) and an
/// entity whose docs cannot be built.
fn docs_project(with_broken: bool) -> tempfile::TempDir {
    let dir = project();
    let catalog = dir.path().join("catalog");
    copy_dir(&documented_fixture(), &catalog.join("documented"));
    let all = if with_broken {
        fs::write(catalog.join("broken-docs.yaml"), BROKEN_DOCS).unwrap();
        DOCS_ALL.to_string()
    } else {
        DOCS_ALL.replace("    - ./broken-docs.yaml\n", "")
    };
    fs::write(catalog.join("all.yaml"), all).unwrap();
    dir
}

const DOCUMENTED: &str = "component:default/documented-component";

#[test]
fn docs_build_reports_updated_only_when_sources_change() {
    let dir = docs_project(false);
    // Reading a never-imported catalog imports it, and an import builds the docs it finds.
    let run = stagedoor(dir.path(), &["docs", "build", "documented-component"]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert_eq!(run.stdout, format!("{DOCUMENTED}: up to date\n"));
    assert!(run.stderr.contains("Preparing docs"), "{}", run.stderr);

    let index = dir.path().join("catalog/documented/docs/index.md");
    let mut source = fs::read_to_string(&index).unwrap();
    source.push_str("\n## Added later\n\nNew text.\n");
    fs::write(&index, source).unwrap();
    let run = stagedoor(dir.path(), &["docs", "build", DOCUMENTED]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert_eq!(run.stdout, format!("{DOCUMENTED}: updated\n"));
    assert!(run.stderr.contains("Built 5 pages"), "{}", run.stderr);
    let run = stagedoor(dir.path(), &["docs", "build", "documented-component"]);
    assert_eq!(run.stdout, format!("{DOCUMENTED}: up to date\n"));
    let run = stagedoor(dir.path(), &["docs", "show", "documented-component"]);
    assert!(run.stdout.contains("Added later"), "{}", run.stdout);

    // Without REF: every documented entity, a line each and a summary.
    let run = stagedoor(dir.path(), &["docs", "build"]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert_eq!(
        run.stdout,
        format!("{DOCUMENTED}: up to date\n1 sites: 0 updated, 1 up to date, 0 failed\n")
    );
}

#[test]
fn docs_build_of_everything_reports_each_failure_and_exits_1() {
    let dir = docs_project(true);
    let run = stagedoor(dir.path(), &["docs", "build"]);
    assert_eq!(
        run.code, 1,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert!(
        lines[0].starts_with("component:default/broken-docs: failed: "),
        "{}",
        run.stdout
    );
    assert_eq!(lines[1], format!("{DOCUMENTED}: up to date"));
    assert_eq!(lines[2], "2 sites: 0 updated, 1 up to date, 1 failed");
}

#[test]
fn docs_build_of_an_entity_without_docs_names_the_annotation() {
    let dir = docs_project(false);
    let run = stagedoor(dir.path(), &["docs", "build", "playback"]);
    assert_eq!(run.code, 1);
    assert_one_error_line(&run);
    assert!(
        run.stderr.contains("backstage.io/techdocs-ref"),
        "{}",
        run.stderr
    );
    let run = stagedoor(dir.path(), &["docs", "show", "component:default/nope"]);
    assert_eq!(run.code, 1);
    assert_one_error_line(&run);
    assert!(run.stderr.contains("nope"), "{}", run.stderr);
}

#[test]
fn docs_show_prints_the_home_page_as_plain_text_when_piped() {
    let dir = docs_project(false);
    let run = stagedoor(dir.path(), &["docs", "show", "documented-component"]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    for text in ["Welcome!", "Basic Markdown", "Table Example", "Item one"] {
        assert!(run.stdout.contains(text), "{text}: {}", run.stdout);
    }
    assert!(!run.stdout.contains("## Basic Markdown"), "{}", run.stdout);
    assert!(!run.stdout.contains('\u{1b}'), "{:?}", run.stdout);
    // Lines fit the default width of a pipe.
    for line in run.stdout.lines() {
        assert!(line.chars().count() <= 80, "{line:?}");
    }
    let narrow = stagedoor(
        dir.path(),
        &["docs", "show", "documented-component", "--width", "40"],
    );
    for line in narrow.stdout.lines() {
        assert!(line.chars().count() <= 40, "{line:?}");
    }

    // Admonitions read as titled quotes.
    let run = stagedoor(
        dir.path(),
        &["docs", "show", "documented-component", "extensions/"],
    );
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert!(
        run.stdout.contains("Plugins & Extensions"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("▐ Tip"), "{}", run.stdout);
    assert!(!run.stdout.contains('\u{1b}'));

    // Colour on request, even into a pipe.
    let run = stagedoor(
        dir.path(),
        &["docs", "show", "documented-component", "--color", "always"],
    );
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert!(run.stdout.contains('\u{1b}'), "{}", run.stdout);
}

#[test]
fn docs_show_finds_pages_by_title_and_prints_raw_sources_byte_for_byte() {
    let dir = docs_project(false);
    let raw = Command::new(env!("CARGO_BIN_EXE_stagedoor"))
        .args([
            "docs",
            "show",
            "documented-component",
            "sub-page.md",
            "--raw",
        ])
        .current_dir(dir.path())
        .env_remove("STAGEDOOR_SERVER")
        .output()
        .unwrap();
    assert!(
        raw.status.success(),
        "{}",
        String::from_utf8_lossy(&raw.stderr)
    );
    assert_eq!(
        raw.stdout,
        fs::read(documented_fixture().join("docs/sub-page.md")).unwrap()
    );
    let by_title = stagedoor(
        dir.path(),
        &["docs", "show", "documented-component", "sample CODE"],
    );
    assert_eq!(by_title.code, 0, "stderr: {}", by_title.stderr);
    assert!(
        by_title.stdout.contains("Sample Code"),
        "{}",
        by_title.stdout
    );
}

#[test]
fn docs_show_of_an_unknown_page_lists_the_pages() {
    let dir = docs_project(false);
    let run = stagedoor(
        dir.path(),
        &["docs", "show", "documented-component", "nope.md"],
    );
    assert_eq!(run.code, 1);
    assert_one_error_line(&run);
    for page in ["nope.md", "index.md", "sub-page.md", "code/code-sample.md"] {
        assert!(run.stderr.contains(page), "{page}: {}", run.stderr);
    }
}

#[test]
fn docs_commands_refuse_a_malformed_ref() {
    let dir = docs_project(false);
    for args in [
        &["docs", "show", "component:"][..],
        &["docs", "build", "/name"],
    ] {
        let run = stagedoor(dir.path(), args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert_one_error_line(&run);
        assert!(
            run.stderr.contains("invalid entity reference"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn docs_show_builds_a_site_that_was_never_built() {
    let dir = docs_project(false);
    // The import cannot build the docs while their sources are missing...
    let docs = dir.path().join("catalog/documented/docs");
    let aside = dir.path().join("docs-aside");
    fs::rename(&docs, &aside).unwrap();
    let run = stagedoor(dir.path(), &["catalog", "import"]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert!(run.stdout.contains("does not exist"), "{}", run.stdout);
    // ...so show builds them first once they are back.
    fs::rename(&aside, &docs).unwrap();
    let run = stagedoor(
        dir.path(),
        &["docs", "show", "documented-component", "sub-page/"],
    );
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert!(
        run.stdout.starts_with("Another page in our documentation"),
        "{}",
        run.stdout
    );
}

// ---- search ----

fn search_results(run: &Run) -> Vec<Value> {
    let answer = json(run);
    answer["results"].as_array().expect("results").clone()
}

#[test]
fn search_prints_a_table_or_the_json_answer() {
    let dir = project();
    let results = search_results(&stagedoor(
        dir.path(),
        &["search", "playback", "-o", "json"],
    ));
    let hit = results
        .iter()
        .find(|r| r["document"]["location"] == "/catalog/default/Component/playback")
        .unwrap_or_else(|| panic!("playback not found: {results:?}"));
    assert_eq!(hit["type"], "software-catalog");
    assert_eq!(hit["document"]["title"], "playback");

    let run = stagedoor(dir.path(), &["search", "playback"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("RANK  TYPE") && lines[0].contains("SNIPPET"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.lines().any(
        |l| l.contains("software-catalog") && l.contains("/catalog/default/Component/playback")
    ));
    // Piped output carries no escape codes, highlighted or not.
    assert!(!run.stdout.contains('\u{1b}'), "{}", run.stdout);
    assert!(lines.last().unwrap().contains("results"), "{}", run.stdout);

    let none = stagedoor(dir.path(), &["search", "no-such-thing-anywhere"]);
    assert_eq!(none.code, 0, "{}", none.stderr);
    assert_eq!(none.stdout, "No results\n");
}

#[test]
fn search_takes_types_filters_and_a_limit() {
    let dir = project();
    for args in [
        &["search", "playback", "--type", "techdocs", "-o", "json"][..],
        &[
            "search",
            "playback",
            "-t",
            "software-catalog",
            "-t",
            "techdocs",
            "-o",
            "json",
        ],
        &[
            "search",
            "playback",
            "--filter",
            "kind=api",
            "-f",
            "kind=component",
            "-o",
            "json",
        ],
    ] {
        search_results(&stagedoor(dir.path(), args));
    }
    let one = search_results(&stagedoor(
        dir.path(),
        &["search", "playback", "--limit", "1", "-o", "json"],
    ));
    assert_eq!(one.len(), 1, "{one:?}");
    let ok = stagedoor(dir.path(), &["search", &"x".repeat(100)]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
}

#[test]
fn search_types_and_filters_narrow_the_answer() {
    let dir = project();
    let docs = search_results(&stagedoor(
        dir.path(),
        &["search", "playback", "--type", "techdocs", "-o", "json"],
    ));
    assert!(docs.iter().all(|r| r["type"] == "techdocs"), "{docs:?}");
    let catalog = search_results(&stagedoor(
        dir.path(),
        &["search", "playback", "-t", "software-catalog", "-o", "json"],
    ));
    assert!(!catalog.is_empty());
    assert!(catalog.iter().all(|r| r["type"] == "software-catalog"));
    let apis = search_results(&stagedoor(
        dir.path(),
        &["search", "playback", "--filter", "kind=api", "-o", "json"],
    ));
    assert!(!apis.is_empty());
    assert!(
        apis.iter().all(|r| r["document"]["kind"]
            .as_str()
            .unwrap_or("")
            .eq_ignore_ascii_case("api")),
        "{apis:?}"
    );
}

#[test]
fn search_usage_errors_are_one_line_and_exit_2() {
    let dir = project();
    for (args, says) in [
        (vec!["search"], "TERM"),
        (vec!["search", "x", "--type", "tools"], "tools"),
        (vec!["search", "x", "--limit", "0"], "--limit"),
        (vec!["search", "x", "--limit", "many"], "--limit"),
        (vec!["search", "x", "--limit", "101"], "\"100\""),
        (vec!["search", "x", "--filter", "kind"], "FIELD=VALUE"),
        (vec!["search", "x", "-o", "yaml"], "yaml"),
    ] {
        let run = stagedoor(dir.path(), &args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert_one_error_line(&run);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
    }
    let long = "x".repeat(101);
    let run = stagedoor(dir.path(), &["search", &long]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_one_error_line(&run);
    assert!(
        run.stderr.contains("\"101\"") && run.stderr.contains("\"100\""),
        "{}",
        run.stderr
    );
}
