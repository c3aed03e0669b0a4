//! A real context for action tests: a temp dir holding the workspace, a template directory and an
//! `outside/secret.txt` that no action may touch, over an in-memory [`LocalPortal`].

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::{mpsc, watch};

use super::{ActionContext, ActionRegistry, TemplateBase};
use crate::config::Config;
use crate::ingest::LocationReader;
use crate::portal::LocalPortal;
use crate::scaffolder::settings::ScaffolderSettings;
use crate::scaffolder::templating::Templater;
use crate::scaffolder::workspace::Workspace;

/// What a successful run left behind.
#[derive(Debug)]
pub struct Ran {
    pub outputs: Map<String, Value>,
}

pub struct Harness {
    pub tmp: tempfile::TempDir,
    pub workspace: PathBuf,
    pub template: PathBuf,
    pub outside: PathBuf,
    pub portal: Arc<LocalPortal>,
    pub settings: ScaffolderSettings,
    pub logs: mpsc::UnboundedReceiver<String>,
    log_tx: mpsc::UnboundedSender<String>,
    pub cancel: watch::Sender<bool>,
}

impl Harness {
    pub fn new() -> Harness {
        let tmp = tempfile::tempdir().unwrap();
        let workspace = tmp.path().join("workspace");
        let template = tmp.path().join("template");
        let outside = tmp.path().join("outside");
        for dir in [&workspace, &template, &outside] {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(outside.join("secret.txt"), "secret").unwrap();
        let config = Config::from_value(
            serde_yaml::from_str(
                r#"
backend:
  database: {client: better-sqlite3, connection: ':memory:'}
catalog:
  allowedLocationTypes: [url, file]
"#,
            )
            .unwrap(),
            tmp.path().to_path_buf(),
        );
        let portal = Arc::new(LocalPortal::from_config(config).unwrap());
        let (log_tx, logs) = mpsc::unbounded_channel();
        let (cancel, _) = watch::channel(false);
        Harness {
            tmp,
            workspace,
            template,
            outside,
            portal,
            settings: ScaffolderSettings::default(),
            logs,
            log_tx,
            cancel,
        }
    }

    pub fn ctx(&self, input: Value) -> ActionContext {
        let reader = LocationReader::new(
            Config::from_value(Value::Object(Map::new()), self.tmp.path().to_path_buf())
                .read_policy()
                .unwrap(),
        )
        .unwrap();
        ActionContext {
            task_id: "task-1".into(),
            input,
            workspace: Workspace::new(self.workspace.clone()),
            template_base: TemplateBase::Dir(self.template.clone()),
            templater: Arc::new(Templater::new()),
            catalog: self.portal.clone(),
            settings: Arc::new(self.settings.clone()),
            reader,
            log: self.log_tx.clone(),
            cancelled: self.cancel.subscribe(),
            dry_run: false,
            user: None,
            outputs: Map::new(),
        }
    }

    /// Validates `input` like the runner does, then runs the action.
    pub async fn run(&self, id: &str, input: Value) -> Result<Ran, super::ActionError> {
        let mut ctx = self.ctx(input);
        self.run_ctx(id, &mut ctx).await?;
        Ok(Ran {
            outputs: ctx.outputs,
        })
    }

    pub async fn run_ctx(
        &self,
        id: &str,
        ctx: &mut ActionContext,
    ) -> Result<(), super::ActionError> {
        let registry = ActionRegistry::builtin();
        registry.validate_input(id, &ctx.input)?;
        registry.get(id).unwrap().run(ctx).await
    }

    pub fn drain_logs(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(line) = self.logs.try_recv() {
            out.push(line);
        }
        out
    }

    /// The outside file is intact and nothing new appeared next to it.
    pub fn assert_outside_intact(&self) {
        assert_eq!(
            std::fs::read_to_string(self.outside.join("secret.txt")).unwrap(),
            "secret"
        );
        let names: Vec<_> = std::fs::read_dir(&self.outside)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("secret.txt")]);
    }
}

/// Asserts Backstage's NotAllowed message.
pub fn assert_not_allowed<T: std::fmt::Debug>(r: Result<T, super::ActionError>) {
    match r {
        Err(super::ActionError::NotAllowed(m)) => {
            assert_eq!(m, crate::scaffolder::workspace::OUTSIDE_PARENT)
        }
        other => panic!("expected NotAllowed, got {other:?}"),
    }
}

pub use crate::test_http::serve;

/// A reader that may read `http://127.0.0.1:<port>/` only.
pub fn local_reader(port: u16) -> LocationReader {
    let config = Config::from_value(
        serde_json::json!({"backend": {"reading": {"allow": [{"host": format!("127.0.0.1:{port}")}]}}}),
        PathBuf::from("/"),
    );
    LocationReader::new(config.read_policy().unwrap()).unwrap()
}
