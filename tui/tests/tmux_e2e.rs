//! End to end: the real `stagedoor` binary in a tmux pane (120x40, its own tmux server), on a copy of the
//! repository's sample catalog in a temp directory (so its SQLite file goes there too). Keys go in with
//! `send-keys`; assertions read `capture-pane -p`. Every wait polls the screen with a deadline, never a
//! fixed sleep. Without tmux the test says it was skipped and passes.
//!
//! The binary runs under a small `sh` wrapper that records the terminal settings before and after and
//! prints the exit status, so after `q` the pane stays alive to be inspected: raw mode, the alternate
//! screen, mouse reporting and the hidden cursor must all be undone.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// How long any one screen may take to appear (the first one includes the import of the sample catalog).
const DEADLINE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(40);

/// A tmux server of our own (`tmux -L <socket>`), killed when dropped, whatever the test did.
struct Tmux {
    socket: String,
    target: String,
    /// The socket file, removed with the server (tmux leaves it behind).
    socket_path: Option<PathBuf>,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("run tmux")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args);
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.ok(&["capture-pane", "-p", "-t", &self.target])
    }

    /// A tmux format of the pane, e.g. `#{alternate_on}`.
    fn format(&self, format: &str) -> String {
        self.ok(&["display-message", "-p", "-t", &self.target, format])
            .trim()
            .to_string()
    }

    /// Text typed as is.
    fn type_text(&self, text: &str) {
        self.ok(&["send-keys", "-t", &self.target, "-l", text]);
    }

    /// A named key: `Enter`, `Escape`, `Tab`, `q`, ...
    fn key(&self, name: &str) {
        self.ok(&["send-keys", "-t", &self.target, name]);
    }

    /// Polls the pane until `ready` holds for its text; panics with the last screen after the deadline.
    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            if start.elapsed() > DEADLINE {
                panic!(
                    "timed out after {:?} waiting for {what}; the screen:\n{screen}",
                    DEADLINE
                );
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
        if let Some(path) = &self.socket_path {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn tmux_installed() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// `'text'` for sh.
fn quoted(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// The line of the screen holding `needle`, for messages.
fn line_with<'a>(screen: &'a str, needle: &str) -> Option<&'a str> {
    screen.lines().find(|l| l.contains(needle))
}

/// `[shown/total]` in the catalog table's title.
fn counts(screen: &str) -> Option<(usize, usize)> {
    let line = line_with(screen, "┌ Components")?;
    let open = line.find('[')?;
    let close = open + line[open..].find(']')?;
    let (shown, total) = line[open + 1..close].split_once('/')?;
    Some((shown.trim().parse().ok()?, total.trim().parse().ok()?))
}

/// The header line under the entity title: `kind:namespace/name · type · owner ...`.
fn entity_ref_line(screen: &str) -> Option<&str> {
    screen.lines().nth(3)
}

fn showing_entity(screen: &str, entity_ref: &str) -> bool {
    entity_ref_line(screen).is_some_and(|l| l.starts_with(&format!("{entity_ref} ")))
}

/// The binary in a fresh tmux server (120x40) on a copy of the sample catalog in a temp directory, under
/// the wrapper script; returns the directory (kept alive for the run), the portal's working directory and
/// the server.
fn launch() -> (tempfile::TempDir, PathBuf, Tmux) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().unwrap();
    let work: PathBuf = dir.path().join("portal");
    copy_dir(&repo.join("catalog"), &work.join("catalog"));
    std::fs::copy(repo.join("app-config.yaml"), work.join("app-config.yaml")).unwrap();
    // The wrapper: terminal settings before and after, then the exit status; the shell then waits so the
    // pane (and its modes) can still be read. The log goes into the temp directory.
    let script = format!(
        "export TERM=xterm-256color NO_COLOR=1 XDG_STATE_HOME={state}\n\
         before=$(stty -g)\n\
         {bin}\n\
         status=$?\n\
         if [ \"$(stty -g)\" = \"$before\" ]; then echo 'tty: restored'; else echo 'tty: NOT restored'; fi\n\
         echo \"stagedoor exited with $status\"\n\
         exec sleep 600\n",
        state = quoted(&dir.path().join("state")),
        bin = quoted(Path::new(env!("CARGO_BIN_EXE_stagedoor"))),
    );
    let script_path = dir.path().join("run.sh");
    std::fs::write(&script_path, script).unwrap();

    let mut tmux = Tmux {
        socket: format!(
            "stagedoor-e2e-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ),
        target: "e2e:0.0".to_string(),
        socket_path: None,
    };
    let work_dir = work.display().to_string();
    let command = format!("sh {}", quoted(&script_path));
    tmux.ok(&[
        "new-session",
        "-d",
        "-s",
        "e2e",
        "-x",
        "120",
        "-y",
        "40",
        "-c",
        &work_dir,
        &command,
    ]);
    tmux.socket_path = Some(PathBuf::from(tmux.format("#{socket_path}")));
    assert_eq!(tmux.format("#{pane_width}x#{pane_height}"), "120x40");

    (dir, work, tmux)
}

#[test]
fn the_binary_browses_the_sample_catalog_in_tmux() {
    if !tmux_installed() {
        println!("skipped: tmux is not installed");
        return;
    }
    let started = Instant::now();
    let (_dir, work, tmux) = launch();
    // 1. The Components table of the sample organisation, imported on first start.
    let screen = tmux.wait_for("the Components table", |s| {
        counts(s) == Some((11, 11)) && s.contains("shipment-tracker") && s.contains("NAME")
    });
    assert!(screen.contains("carrier-gateway"), "{screen}");
    assert!(
        work.join(".stagedoor").is_dir(),
        "the SQLite data goes to the working directory"
    );
    let first_frame = started.elapsed();

    // 2. `/` and a query narrow the table live; Enter keeps the filter.
    tmux.key("/");
    tmux.wait_for("filter mode", |s| s.contains("enter keeps, esc clears"));
    tmux.type_text("shipment-tracker");
    let screen = tmux.wait_for("the filtered table", |s| {
        s.contains("/shipment-tracker [") && counts(s).is_some_and(|(n, total)| n < total)
    });
    let (shown, _) = counts(&screen).unwrap();
    assert!(shown >= 1, "{screen}");
    assert!(!screen.contains("larkspur-ui-kit"), "{screen}");
    tmux.key("Enter");
    tmux.wait_for("normal mode with the filter kept", |s| {
        !s.contains("enter keeps, esc clears") && s.contains("/shipment-tracker [")
    });

    // 3. Enter opens the best match's page: its title and ref.
    tmux.key("Enter");
    let screen = tmux.wait_for("the shipment-tracker page", |s| {
        showing_entity(s, "component:default/shipment-tracker")
    });
    assert!(screen.contains("Shipment Tracker"), "{screen}");
    assert!(screen.contains("▸Overview"), "{screen}");
    assert!(
        screen
            .lines()
            .nth(1)
            .is_some_and(|l| l.contains("Components › component:default/shipment-tracker")),
        "breadcrumbs: {screen}"
    );

    // 4. Tab to Relations, move to the system it is part of (the preview follows), Enter follows it.
    tmux.key("Tab");
    tmux.wait_for("the Relations tab", |s| {
        s.contains("▸Relations") && s.contains("Part of (1)")
    });
    let on_system = |s: &str| {
        line_with(s, "▶").is_some_and(|l| l.contains(" system ") && l.contains("shipment-tracking"))
    };
    let mut screen = tmux.screen();
    for _ in 0..12 {
        if on_system(&screen) {
            break;
        }
        let before = screen.clone();
        tmux.key("j");
        screen = tmux.wait_for("the cursor to move", |s| s != before);
    }
    assert!(on_system(&screen), "the cursor is on the system: {screen}");
    assert!(
        line_with(&screen, "│system:default/shipment-tracking").is_some(),
        "the preview shows it: {screen}"
    );
    tmux.key("Enter");
    let screen = tmux.wait_for("the shipment-tracking system page", |s| {
        showing_entity(s, "system:default/shipment-tracking")
    });
    assert!(
        line_with(&screen, " System ").is_some(),
        "the kind badge: {screen}"
    );
    assert!(
        screen.lines().nth(1).is_some_and(|l| l.contains(
            "Components › component:default/shipment-tracker › system:default/shipment-tracking"
        )),
        "breadcrumbs: {screen}"
    );

    // 5. Esc comes back to the component, on the tab it was left on.
    tmux.key("Escape");
    let screen = tmux.wait_for("the shipment-tracker page again", |s| {
        showing_entity(s, "component:default/shipment-tracker")
    });
    assert!(screen.contains("▸Relations"), "{screen}");

    // 6. `?` opens help over the page; `?` closes it.
    tmux.key("?");
    let screen = tmux.wait_for("the help overlay", |s| {
        s.contains("Help:") && s.contains("this help")
    });
    assert!(
        screen.contains("dependency tree around the entity"),
        "{screen}"
    );
    assert!(screen.contains(":components"), "{screen}");
    tmux.key("?");
    tmux.wait_for("help to close", |s| {
        !s.contains("Help:") && showing_entity(s, "component:default/shipment-tracker")
    });

    // 7. `q` quits: the process exits 0 and the terminal is as it was.
    tmux.key("q");
    let screen = tmux.wait_for("the process to exit", |s| s.contains("stagedoor exited"));
    assert!(screen.contains("stagedoor exited with 0"), "{screen}");
    assert!(
        screen.contains("tty: restored"),
        "raw mode left on: {screen}"
    );
    assert!(
        !screen.contains("stagedoor │"),
        "the UI is gone from the screen: {screen}"
    );
    assert_eq!(
        tmux.format("#{alternate_on} #{mouse_any_flag} #{mouse_sgr_flag} #{cursor_flag}"),
        "0 0 0 1",
        "alternate screen off, mouse reporting off, cursor shown"
    );
    println!(
        "e2e: first frame after {:.1?}, whole run {:.1?}",
        first_frame,
        started.elapsed()
    );
}

/// The docs reader in the real binary: `:docs` opens shipment-tracker's TechDocs (built at import), the nav
/// opens a page of a nested section, search finds text, Esc walks back; the pane is printed for the report.
#[test]
fn the_binary_reads_techdocs_in_tmux() {
    if !tmux_installed() {
        println!("skipped: tmux is not installed");
        return;
    }
    let (_dir, _work, tmux) = launch();
    tmux.wait_for("the Components table", |s| counts(s) == Some((11, 11)));

    // 1. `:docs REF` opens the reader on the home page, the nav tree beside it.
    tmux.type_text(":docs component:default/shipment-tracker");
    tmux.key("Enter");
    let screen = tmux.wait_for("the reader", |s| {
        s.contains("docs: Shipment Tracker")
            && s.contains("● Overview")
            && s.contains("Getting started")
    });
    assert!(screen.contains("▾ Operations"), "{screen}");
    assert!(
        screen.contains("The shipment tracker is the source of truth"),
        "{screen}"
    );

    // 2. The nav: focus it, down to Runbook (inside Operations), Enter opens it.
    tmux.key("h");
    tmux.wait_for("the nav cursor", |s| s.contains("▶● Overview"));
    for _ in 0..4 {
        let before = tmux.screen();
        tmux.key("j");
        tmux.wait_for("the nav cursor to move", |s| s != before);
    }
    tmux.key("Enter");
    let screen = tmux.wait_for("the runbook", |s| {
        s.contains("● Runbook")
            && line_with(s, "┌ Shipment Tracker").is_some_and(|l| l.contains("┐┌ Runbook"))
    });
    println!("the runbook:\n{screen}");

    // 3. Tab focuses the first link, its target on the status line; Enter follows it, Esc comes back.
    //    (A renderer that finds no links says so; then there is nothing to follow.)
    tmux.key("Tab");
    let screen = tmux.wait_for("a link, or word of none", |s| {
        s.contains(" → ") || s.contains("no links on this page")
    });
    if screen.contains(" → ") {
        assert!(
            line_with(&screen, " → ").is_some_and(|l| l.contains("operations/alerts.md")),
            "{screen}"
        );
        tmux.key("Enter");
        let screen = tmux.wait_for("the alerts page", |s| s.contains("● Alerts"));
        println!("followed a link:\n{screen}");
        tmux.key("Escape");
        tmux.wait_for("the runbook again", |s| s.contains("● Runbook"));
    }

    // 4. `/` searches the page: a counter, `n` moves on.
    tmux.type_text("/the");
    let screen = tmux.wait_for("the search counter", |s| s.contains("/the█   1/"));
    assert!(
        screen.contains("enter keeps (n / N), esc closes"),
        "{screen}"
    );
    tmux.key("Enter");
    tmux.key("n");
    tmux.wait_for("the second match", |s| s.contains("/the 2/"));

    // 5. Esc closes the search, then goes back to the home page, then leaves the reader.
    tmux.key("Escape");
    tmux.wait_for("the search to close", |s| !s.contains("/the 2/"));
    tmux.key("Escape");
    tmux.wait_for("the home page again", |s| {
        s.contains("● Overview") && s.contains("The shipment tracker is the source of truth")
    });
    tmux.key("Escape");
    tmux.wait_for("the table again", |s| counts(s) == Some((11, 11)));
    tmux.key("q");
    let screen = tmux.wait_for("the process to exit", |s| s.contains("stagedoor exited"));
    assert!(screen.contains("stagedoor exited with 0"), "{screen}");
}

/// The search overlay in the real binary: Ctrl-K opens it over the table, typing narrows the fuzzy names,
/// Enter opens the entity, and the term is kept under `XDG_STATE_HOME` for the next run.
#[test]
fn the_binary_searches_with_ctrl_k_in_tmux() {
    if !tmux_installed() {
        println!("skipped: tmux is not installed");
        return;
    }
    let (dir, _work, tmux) = launch();
    tmux.wait_for("the Components table", |s| counts(s) == Some((11, 11)));

    tmux.key("C-k");
    tmux.wait_for("the overlay", |s| s.contains("Search · names"));
    tmux.type_text("shiptrk");
    let screen = tmux.wait_for("the fuzzy results", |s| {
        s.contains("› shiptrk█")
            && line_with(s, "› shiptrk").is_some()
            && s.contains("component:default/shipment-tracker")
    });
    println!("the overlay:\n{screen}");
    tmux.key("Enter");
    let screen = tmux.wait_for("the entity page", |s| {
        showing_entity(s, "component:default/shipment-tracker")
    });
    assert!(!screen.contains("Search · names"), "{screen}");

    let recent = dir
        .path()
        .join("state")
        .join("stagedoor")
        .join("recent_searches.json");
    let deadline = Instant::now() + DEADLINE;
    while !recent.exists() && Instant::now() < deadline {
        std::thread::sleep(POLL);
    }
    let terms: Vec<String> = serde_json::from_slice(&std::fs::read(&recent).unwrap()).unwrap();
    assert_eq!(terms, ["shiptrk"]);

    tmux.key("q");
    let screen = tmux.wait_for("the process to exit", |s| s.contains("stagedoor exited"));
    assert!(screen.contains("stagedoor exited with 0"), "{screen}");
}

#[test]
fn the_binary_runs_a_template_in_tmux() {
    if !tmux_installed() {
        println!("skipped: tmux is not installed");
        return;
    }
    let (_dir, _work, tmux) = launch();
    tmux.wait_for("the Components table", |s| counts(s) == Some((11, 11)));

    tmux.type_text(":templates");
    tmux.key("Enter");
    tmux.wait_for("the template list", |s| {
        s.contains("Templates (2)") && s.contains("Runbook page")
    });
    tmux.type_text("/runbook");
    tmux.key("Enter");
    tmux.key("Enter");
    tmux.wait_for("the first page", |s| {
        s.contains("Step 1 of 2 · About the runbook")
    });
    tmux.type_text("depot-scanner");
    tmux.key("Enter");
    // The owner picker: open its list, narrow it, pick.
    tmux.key("Enter");
    tmux.type_text("infra");
    tmux.wait_for("the picker's choices", |s| s.contains("infra-team"));
    tmux.key("Enter");
    tmux.key("C-n");
    tmux.wait_for("the second page", |s| s.contains("Step 2 of 2 · Options"));
    tmux.key("C-n");
    tmux.wait_for("the review", |s| {
        s.contains("Review") && s.contains("group:default/infra-team")
    });
    tmux.key("Enter");
    let screen = tmux.wait_for("the task to complete", |s| {
        s.contains("completed") && s.contains("Owning team")
    });
    assert!(
        screen.contains("Runbook for depot-scanner written"),
        "{screen}"
    );
    println!("the task:\n{screen}");

    tmux.key("q");
    let screen = tmux.wait_for("the process to exit", |s| s.contains("stagedoor exited"));
    assert!(screen.contains("stagedoor exited with 0"), "{screen}");
}
