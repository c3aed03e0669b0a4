//! The `scaffolder:` section of `app-config.yaml`: where task workspaces live, how long a worker may be silent
//! before its task counts as dead, and what the publishing actions may write to.
//!
//! ```yaml
//! scaffolder:
//!   workingDirectory: /var/tmp/stagedoor-tasks   # Backstage's key; default: the system temp directory
//!   taskHeartbeatTimeoutSeconds: 30               # a processing task silent this long is failed
//!   debugWaitMaxSeconds: 30                       # debug:wait's upper bound
//!   publish:
//!     file:
//!       allowedDirectories: [./scaffolded]        # publish:file may only write below these
//!     git:
//!       remotes:
//!         - host: git.example.com                 # the repoUrl host this remote serves
//!           url: file:///srv/git/{owner}/{repo}.git
//!           contentsUrl: https://git.example.com/{owner}/{repo}/tree/{branch}
//! ```

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::config::{Config, ConfigError};

/// One git remote the git publisher may push to, chosen by the host of the step's `repoUrl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitRemote {
    pub host: String,
    /// Clone URL with `{owner}` and `{repo}` placeholders.
    pub url: String,
    /// Browse URL with `{owner}`, `{repo}` and `{branch}`; the clone URL when absent.
    pub contents_url: Option<String>,
}

/// Parsed `scaffolder:` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaffolderSettings {
    /// Parent of each task's workspace directory.
    pub working_directory: PathBuf,
    pub heartbeat_timeout: Duration,
    pub debug_wait_max: Duration,
    /// Absolute, lexically normalised directories `publish:file` may write into.
    pub publish_file_dirs: Vec<PathBuf>,
    pub git_remotes: Vec<GitRemote>,
}

impl Default for ScaffolderSettings {
    fn default() -> Self {
        ScaffolderSettings {
            working_directory: std::env::temp_dir(),
            heartbeat_timeout: Duration::from_secs(30),
            debug_wait_max: Duration::from_secs(30),
            publish_file_dirs: Vec::new(),
            git_remotes: Vec::new(),
        }
    }
}

impl ScaffolderSettings {
    /// Reads `scaffolder.*`; relative directories resolve against the config file's directory.
    pub fn from_config(config: &Config) -> Result<ScaffolderSettings, ConfigError> {
        let mut settings = ScaffolderSettings::default();
        let base = &config.base_dir;
        if let Some(dir) = string_at(config, "scaffolder.workingDirectory")? {
            settings.working_directory = base.join(dir);
        }
        if let Some(secs) = seconds_at(config, "scaffolder.taskHeartbeatTimeoutSeconds")? {
            settings.heartbeat_timeout = secs;
        }
        if let Some(secs) = seconds_at(config, "scaffolder.debugWaitMaxSeconds")? {
            settings.debug_wait_max = secs;
        }
        if let Some(dirs) = config.get("scaffolder.publish.file.allowedDirectories") {
            let Value::Array(items) = dirs else {
                return Err(ConfigError::new(
                    "scaffolder.publish.file.allowedDirectories must be a list of directories",
                ));
            };
            for item in items {
                let dir = item.as_str().ok_or_else(|| {
                    ConfigError::new(
                        "scaffolder.publish.file.allowedDirectories must be a list of directories",
                    )
                })?;
                settings.publish_file_dirs.push(normalize(&base.join(dir)));
            }
        }
        if let Some(remotes) = config.get("scaffolder.publish.git.remotes") {
            let Value::Array(items) = remotes else {
                return Err(ConfigError::new(
                    "scaffolder.publish.git.remotes must be a list of {host, url}",
                ));
            };
            for (i, item) in items.iter().enumerate() {
                let field = |name: &str| item.get(name).and_then(Value::as_str).map(str::to_string);
                let (Some(host), Some(url)) = (field("host"), field("url")) else {
                    return Err(ConfigError::new(format!(
                        "scaffolder.publish.git.remotes[{i}] needs a host and a url"
                    )));
                };
                settings.git_remotes.push(GitRemote {
                    host,
                    url,
                    contents_url: field("contentsUrl"),
                });
            }
        }
        Ok(settings)
    }
}

fn string_at(config: &Config, key: &str) -> Result<Option<String>, ConfigError> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ConfigError::new(format!("{key} must be a string"))),
    }
}

fn seconds_at(config: &Config, key: &str) -> Result<Option<Duration>, ConfigError> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| Some(Duration::from_secs_f64(s)))
            .ok_or_else(|| ConfigError::new(format!("{key} must be a number of seconds"))),
    }
}

/// Removes `.` and resolves `..` without touching the file system (the directory may not exist yet).
fn normalize(path: &std::path::Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> Config {
        Config::from_value(
            serde_yaml::from_str(yaml).unwrap(),
            PathBuf::from("/srv/portal"),
        )
    }

    #[test]
    fn defaults_when_absent() {
        let s = ScaffolderSettings::from_config(&config("app: {}")).unwrap();
        assert_eq!(s, ScaffolderSettings::default());
    }

    #[test]
    fn reads_every_key() {
        let s = ScaffolderSettings::from_config(&config(
            r#"
scaffolder:
  workingDirectory: work
  taskHeartbeatTimeoutSeconds: 5
  debugWaitMaxSeconds: 2
  publish:
    file: {allowedDirectories: [./out, ../shared/out]}
    git: {remotes: [{host: git.local, url: "file:///git/{owner}/{repo}.git"}]}
"#,
        ))
        .unwrap();
        assert_eq!(s.working_directory, PathBuf::from("/srv/portal/work"));
        assert_eq!(s.heartbeat_timeout, Duration::from_secs(5));
        assert_eq!(s.debug_wait_max, Duration::from_secs(2));
        assert_eq!(
            s.publish_file_dirs,
            vec![
                PathBuf::from("/srv/portal/out"),
                PathBuf::from("/srv/shared/out")
            ]
        );
        assert_eq!(s.git_remotes[0].host, "git.local");
    }

    #[test]
    fn bad_values_name_the_key() {
        let e = ScaffolderSettings::from_config(&config(
            "scaffolder: {publish: {git: {remotes: [{host: x}]}}}",
        ))
        .unwrap_err();
        assert!(
            e.to_string().contains("scaffolder.publish.git.remotes[0]"),
            "{e}"
        );
        let e = ScaffolderSettings::from_config(&config("scaffolder: {debugWaitMaxSeconds: soon}"))
            .unwrap_err();
        assert!(e.to_string().contains("debugWaitMaxSeconds"), "{e}");
    }
}
