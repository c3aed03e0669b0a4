//! `debug:log` (a message, extra data, and optionally the workspace's files) and `debug:wait` (sleeps, bounded
//! by `scaffolder.debugWaitMaxSeconds`, stopping early when the task is cancelled).
//!
//! Listing never follows a symlink, and `with-contents` shows a link's contents only when it resolves inside
//! the workspace (GHSA-rq6q-wr2q-7pgp: Backstage's `debug:log` printed host files through links).

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};

use super::{input_str, Action, ActionContext, ActionError};
use crate::scaffolder::types::ActionExample;

/// `debug:log`.
pub struct DebugLog;

#[async_trait]
impl Action for DebugLog {
    fn id(&self) -> &'static str {
        "debug:log"
    }
    fn description(&self) -> &'static str {
        "Writes a message into the log and/or lists all files in the workspace."
    }
    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "message": {"type": "string", "title": "Message to output."},
                "listWorkspace": {
                    "title": "List all files in the workspace, if true.",
                    "description": "true or \"with-filenames\" lists the file names; \"with-contents\" also prints each file",
                    "oneOf": [{"type": "boolean"}, {"type": "string", "enum": ["with-filenames", "with-contents"]}]
                },
                "extra": {"title": "Extra info"}
            }
        })
    }
    fn examples(&self) -> Vec<ActionExample> {
        vec![ActionExample {
            description: "Write a debug message".into(),
            example: "steps:\n  - action: debug:log\n    id: write-debug-line\n    name: Write \"Hello Backstage!\" log line\n    input:\n      message: Hello Backstage!\n".into(),
        }]
    }
    async fn run(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        if let Some(message) = input_str(&ctx.input, "message") {
            ctx.log(message.to_string());
        }
        if let Some(extra) = ctx.input.get("extra") {
            ctx.log(serde_json::to_string_pretty(extra).unwrap_or_default());
        }
        let (list, contents) = match ctx.input.get("listWorkspace") {
            Some(Value::Bool(true)) => (true, false),
            Some(Value::String(s)) if s == "with-filenames" => (true, false),
            Some(Value::String(s)) if s == "with-contents" => (true, true),
            _ => (false, false),
        };
        if list {
            let files = ctx.workspace.list_files()?;
            let mut lines = Vec::new();
            for file in files {
                if !contents {
                    lines.push(format!("  - {file}"));
                    continue;
                }
                let shown = match ctx.workspace.read(&file) {
                    Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                    // A link out of the workspace (or a dangling one): named, never read.
                    Err(ActionError::NotAllowed(_)) => {
                        "(not shown: a link outside the workspace)".into()
                    }
                    Err(e) => format!("(not shown: {e})"),
                };
                lines.push(format!("  - {file}:\n\n  {shown}"));
            }
            ctx.log(format!("Workspace:\n{}", lines.join("\n")));
        }
        Ok(())
    }
}

/// `debug:wait`.
pub struct DebugWait;

#[async_trait]
impl Action for DebugWait {
    fn id(&self) -> &'static str {
        "debug:wait"
    }
    fn description(&self) -> &'static str {
        "Waits for a certain period of time."
    }
    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "minutes": {"type": "number", "title": "Waiting period in minutes.", "minimum": 0},
                "seconds": {"type": "number", "title": "Waiting period in seconds.", "minimum": 0},
                "milliseconds": {"type": "number", "title": "Waiting period in milliseconds.", "minimum": 0}
            }
        })
    }
    fn examples(&self) -> Vec<ActionExample> {
        vec![ActionExample {
            description: "Waiting for 5 seconds".into(),
            example: "steps:\n  - action: debug:wait\n    id: wait-5sec\n    name: Waiting for 5 seconds\n    input:\n      seconds: 5\n".into(),
        }]
    }
    async fn run(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        let number = |k: &str| ctx.input.get(k).and_then(Value::as_f64).unwrap_or(0.0);
        let secs = number("minutes") * 60.0 + number("seconds") + number("milliseconds") / 1000.0;
        let max = ctx.settings.debug_wait_max;
        if !secs.is_finite() || secs < 0.0 || secs > max.as_secs_f64() {
            return Err(ActionError::Input(format!(
                "Waiting duration is longer than the maximum threshold of {} seconds",
                max.as_secs_f64()
            )));
        }
        let mut cancelled = ctx.cancelled.clone();
        if *cancelled.borrow() {
            return Err(ActionError::Cancelled);
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs_f64(secs)) => Ok(()),
            _ = cancelled.wait_for(|c| *c) => Err(ActionError::Cancelled),
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::super::test_support::Harness;
    use super::*;
    use std::os::unix::fs::symlink;

    #[tokio::test]
    async fn log_lists_without_following_links_out() {
        let mut h = Harness::new();
        std::fs::create_dir_all(h.workspace.join("src")).unwrap();
        std::fs::write(h.workspace.join("src/a.txt"), "inside").unwrap();
        symlink(h.outside.join("secret.txt"), h.workspace.join("leak")).unwrap();
        symlink(&h.outside, h.workspace.join("leakdir")).unwrap();
        symlink(h.workspace.join("src/a.txt"), h.workspace.join("ok-link")).unwrap();
        h.run(
            "debug:log",
            json!({"message": "hello", "extra": {"k": 1}, "listWorkspace": "with-contents"}),
        )
        .await
        .unwrap();
        let logs = h.drain_logs().join("\n");
        assert!(logs.contains("hello"));
        assert!(logs.contains("\"k\": 1"));
        assert!(logs.contains("src/a.txt"));
        assert!(logs.contains("leak"));
        assert!(
            !logs.contains("secret\n") && !logs.contains("  secret"),
            "{logs}"
        );
        assert!(!logs.contains("leakdir/secret.txt"), "{logs}");
        assert_eq!(logs.matches("inside").count(), 2, "{logs}");
        h.run("debug:log", json!({"listWorkspace": true}))
            .await
            .unwrap();
        let logs = h.drain_logs().join("\n");
        assert!(
            logs.contains("  - src/a.txt") && !logs.contains("inside"),
            "{logs}"
        );
        let e = h
            .run("debug:log", json!({"listWorkspace": "everything"}))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("input.listWorkspace"), "{e}");
    }

    #[tokio::test]
    async fn wait_is_bounded_and_stops_on_cancel() {
        let mut h = Harness::new();
        h.settings.debug_wait_max = Duration::from_secs(2);
        let e = h
            .run("debug:wait", json!({"seconds": 3}))
            .await
            .unwrap_err();
        assert!(matches!(e, ActionError::Input(_)), "{e:?}");
        let e = h
            .run("debug:wait", json!({"minutes": 1}))
            .await
            .unwrap_err();
        assert!(matches!(e, ActionError::Input(_)), "{e:?}");
        h.run("debug:wait", json!({"milliseconds": 20}))
            .await
            .unwrap();

        let mut ctx = h.ctx(json!({"seconds": 2}));
        let started = std::time::Instant::now();
        let (result, _) = tokio::join!(h.run_ctx("debug:wait", &mut ctx), async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let _ = h.cancel.send(true);
        });
        let e = result.unwrap_err();
        assert!(matches!(e, ActionError::Cancelled), "{e:?}");
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
