//! `publish:git`: commits the workspace (or its `sourcePath`) and pushes it to a git remote from
//! `scaffolder.publish.git.remotes`, chosen by the host of `repoUrl` (`host?owner=o&repo=r`, as
//! `publish:github` takes it), with `{owner}` and `{repo}` filled in.
//!
//! The `git` CLI runs with arguments only (never a shell), with system and global git config ignored and
//! hooks disabled, and with its repository directory in a temp dir outside the workspace, so nothing a template
//! put into the workspace (a `.git/hooks` or `.git/config` of its own) is ever consulted (CVE-2024-53983 was
//! template input reaching git config). `owner`, `repo` and `defaultBranch` are checked against a strict
//! character set before they reach a URL or an argument. git's output is logged with any credentials in URLs
//! redacted.

use std::path::Path;
use std::process::Stdio;
use std::sync::OnceLock;

use async_trait::async_trait;
use regex::Regex;
use serde_json::{json, Value};

use super::{input_str, required_str, Action, ActionContext, ActionError};
use crate::scaffolder::types::ActionExample;
use crate::scaffolder::workspace::Workspace;

/// `publish:git`.
pub struct PublishGit;

#[async_trait]
impl Action for PublishGit {
    fn id(&self) -> &'static str {
        "publish:git"
    }
    fn description(&self) -> &'static str {
        "Initializes a git repository with the content of the workspace and pushes it to a remote listed in scaffolder.publish.git.remotes."
    }
    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["repoUrl"],
            "properties": {
                "repoUrl": {"type": "string", "title": "Repository Location", "description": "Accepts the format 'git.example.com?repo=reponame&owner=owner' where 'reponame' is the repository name and 'owner' is an organization or username; the host selects the remote"},
                "description": {"type": "string", "title": "Repository Description"},
                "defaultBranch": {"type": "string", "title": "Default Branch", "description": "Sets the default branch on the repository. The default value is 'master'", "default": "master"},
                "gitCommitMessage": {"type": "string", "title": "Git Commit Message", "description": "Sets the commit message on the repository. The default value is 'initial commit'", "default": "initial commit"},
                "gitAuthorName": {"type": "string", "title": "Default Author Name", "description": "Sets the default author name for the commit. The default value is 'Scaffolder'"},
                "gitAuthorEmail": {"type": "string", "title": "Default Author Email", "description": "Sets the default author email for the commit."},
                "sourcePath": {"type": "string", "title": "Source Path", "description": "Path within the workspace that will be used as the repository root. If omitted, the entire workspace will be published as the repository."}
            }
        })
    }
    fn output_schema(&self) -> Option<Value> {
        Some(json!({
            "type": "object",
            "properties": {
                "remoteUrl": {"type": "string", "title": "A URL to the repository with the provider"},
                "repoContentsUrl": {"type": "string", "title": "A URL to the root of the repository"},
                "commitHash": {"type": "string", "title": "The git commit hash of the initial commit"}
            }
        }))
    }
    fn examples(&self) -> Vec<ActionExample> {
        vec![ActionExample {
            description: "Initializes a git repository with the workspace and pushes it.".into(),
            example: "steps:\n  - action: publish:git\n    id: publish\n    name: Publish\n    input:\n      repoUrl: git.example.com?owner=team&repo=service\n      defaultBranch: main\n".into(),
        }]
    }
    fn supports_dry_run(&self) -> bool {
        false
    }
    async fn run(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        let repo_url = required_str(&ctx.input, "repoUrl")?.to_string();
        let target = RepoTarget::parse(&repo_url)?;
        let branch = input_str(&ctx.input, "defaultBranch")
            .unwrap_or("master")
            .to_string();
        if !valid_branch(&branch) {
            return Err(ActionError::Input(format!(
                "input.defaultBranch {branch:?} is not a valid branch name"
            )));
        }
        let remote = ctx
            .settings
            .git_remotes
            .iter()
            .find(|r| r.host.eq_ignore_ascii_case(&target.host))
            .cloned()
            .ok_or_else(|| {
                ActionError::NotAllowed(format!(
                    "No git remote is configured for host {}: add it to scaffolder.publish.git.remotes",
                    target.host
                ))
            })?;
        let fill = |template: &str| {
            template
                .replace("{owner}", &target.owner)
                .replace("{repo}", &target.repo)
                .replace("{branch}", &branch)
        };
        let remote_url = fill(&remote.url);
        let contents_url = remote
            .contents_url
            .as_deref()
            .map(fill)
            .unwrap_or_else(|| remote_url.clone());
        let message = input_str(&ctx.input, "gitCommitMessage")
            .unwrap_or("initial commit")
            .to_string();
        let author_name = input_str(&ctx.input, "gitAuthorName")
            .unwrap_or("Scaffolder")
            .to_string();
        let author_email = input_str(&ctx.input, "gitAuthorEmail")
            .unwrap_or("scaffolder@backstage.io")
            .to_string();
        let source = match input_str(&ctx.input, "sourcePath") {
            Some(rel) => Workspace::new(ctx.workspace.resolve_for_read(rel)?),
            None => ctx.workspace.clone(),
        };
        let work_tree = source
            .root()
            .canonicalize()
            .map_err(|e| ActionError::Failed(format!("the workspace is not usable: {e}")))?;
        let git_dir = tempfile::tempdir()
            .map_err(|e| ActionError::Failed(format!("could not create a temp directory: {e}")))?;
        let git = Git {
            git_dir: git_dir.path(),
            work_tree: &work_tree,
            author: (&author_name, &author_email),
        };
        git.run(ctx, &["init", "--quiet", "-b", &branch]).await?;
        git.run(ctx, &["add", "--all"]).await?;
        git.run(ctx, &["commit", "--quiet", "--allow-empty", "-m", &message])
            .await?;
        let hash = git
            .run(ctx, &["rev-parse", "HEAD"])
            .await?
            .trim()
            .to_string();
        ctx.log(format!("Pushing to {}", redact(&remote_url)));
        let refspec = format!("HEAD:refs/heads/{branch}");
        git.run(ctx, &["push", "--porcelain", &remote_url, &refspec])
            .await?;
        // Outputs are stored and shown: a token in the configured URL stays in the config.
        ctx.output("remoteUrl", Value::String(without_credentials(&remote_url)));
        ctx.output(
            "repoContentsUrl",
            Value::String(without_credentials(&contents_url)),
        );
        ctx.output("commitHash", Value::String(hash));
        Ok(())
    }
}

/// The parts of a `repoUrl` (`host?owner=o&repo=r`).
#[derive(Debug, PartialEq, Eq)]
struct RepoTarget {
    host: String,
    owner: String,
    repo: String,
}

impl RepoTarget {
    fn parse(repo_url: &str) -> Result<RepoTarget, ActionError> {
        let invalid = |why: &str| {
            ActionError::Input(format!(
                "Invalid repo URL passed to publisher: {repo_url}, {why}"
            ))
        };
        let url = url::Url::parse(&format!("https://{repo_url}"))
            .map_err(|_| invalid("not host?owner=o&repo=r"))?;
        let host = url
            .host_str()
            .ok_or_else(|| invalid("missing host"))?
            .to_string();
        let query = |key: &str| {
            url.query_pairs()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.into_owned())
        };
        let owner = query("owner").ok_or_else(|| invalid("missing owner"))?;
        let repo = query("repo").ok_or_else(|| invalid("missing repo"))?;
        for (name, value) in [("owner", &owner), ("repo", &repo)] {
            if !valid_name(value) {
                return Err(invalid(&format!(
                    "the {name} may only hold letters, digits, '.', '_' and '-'"
                )));
            }
        }
        Ok(RepoTarget { host, owner, repo })
    }
}

/// A path segment of a remote URL: no separators, no `..`, no leading `-` or `.`.
fn valid_name(s: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$").expect("a valid pattern"))
        .is_match(s)
        && !s.contains("..")
}

fn valid_branch(s: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[A-Za-z0-9_][A-Za-z0-9._/-]*$").expect("a valid pattern"))
        .is_match(s)
        && !s.contains("..")
        && !s.contains("//")
        && !s.ends_with('/')
        && !s.ends_with(".lock")
}

/// `scheme://user:secret@host` → `scheme://***@host`.
pub(crate) fn redact(line: &str) -> String {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@").expect("a valid pattern")
    })
    .replace_all(line, "${1}***@")
    .into_owned()
}

/// `url` without its user name and password (unchanged when it does not parse as a URL).
fn without_credentials(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

struct Git<'a> {
    git_dir: &'a Path,
    work_tree: &'a Path,
    author: (&'a str, &'a str),
}

impl Git<'_> {
    /// Runs one git command; its output lines are logged (redacted) and its stdout returned.
    async fn run(&self, ctx: &ActionContext, args: &[&str]) -> Result<String, ActionError> {
        let mut command = tokio::process::Command::new("git");
        command
            .arg("--git-dir")
            .arg(self.git_dir)
            .arg("--work-tree")
            .arg(self.work_tree)
            .args([
                "-c",
                "core.hooksPath=/dev/null",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(self.work_tree)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_AUTHOR_NAME", self.author.0)
            .env("GIT_AUTHOR_EMAIL", self.author.1)
            .env("GIT_COMMITTER_NAME", self.author.0)
            .env("GIT_COMMITTER_EMAIL", self.author.1)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = command
            .spawn()
            .map_err(|e| ActionError::Failed(format!("could not run git: {e}")))?;
        let mut cancelled = ctx.cancelled.clone();
        let output = tokio::select! {
            out = child.wait_with_output() => out.map_err(|e| ActionError::Failed(format!("git {} failed: {e}", args[0])))?,
            _ = cancelled.wait_for(|c| *c) => return Err(ActionError::Cancelled),
        };
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        for line in stdout
            .lines()
            .chain(stderr.lines())
            .filter(|l| !l.trim().is_empty())
        {
            ctx.log(format!("git {}: {}", args[0], redact(line)));
        }
        if !output.status.success() {
            let detail = stderr
                .lines()
                .rfind(|l| !l.trim().is_empty())
                .unwrap_or("")
                .to_string();
            return Err(ActionError::Failed(format!(
                "git {} failed ({}): {}",
                args[0],
                output.status,
                redact(&detail)
            )));
        }
        Ok(stdout)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::super::test_support::{assert_not_allowed, Harness};
    use super::*;
    use crate::scaffolder::settings::GitRemote;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    fn git_available() -> bool {
        std::process::Command::new("git")
            .arg("--version")
            .output()
            .is_ok()
    }

    fn harness() -> (Harness, PathBuf) {
        let mut h = Harness::new();
        let remotes = h.tmp.path().join("remotes");
        let bare = remotes.join("team/svc.git");
        std::fs::create_dir_all(&bare).unwrap();
        let status = std::process::Command::new("git")
            .args(["init", "--bare", "--quiet"])
            .arg(&bare)
            .status()
            .unwrap();
        assert!(status.success());
        h.settings.git_remotes = vec![GitRemote {
            host: "git.local".into(),
            url: format!("file://{}/{{owner}}/{{repo}}.git", remotes.display()),
            contents_url: Some("https://git.local/{owner}/{repo}/tree/{branch}".into()),
        }];
        std::fs::create_dir_all(h.workspace.join("src")).unwrap();
        std::fs::write(h.workspace.join("src/main.rs"), "fn main() {}").unwrap();
        std::fs::write(h.workspace.join("run.sh"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(
            h.workspace.join("run.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        // A hook smuggled into the workspace must never run.
        std::fs::create_dir_all(h.workspace.join(".git/hooks")).unwrap();
        let marker = h.tmp.path().join("hook-ran");
        let hook = h.workspace.join(".git/hooks/pre-commit");
        std::fs::write(&hook, format!("#!/bin/sh\ntouch {}\n", marker.display())).unwrap();
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
        (h, bare)
    }

    fn git_out(bare: &Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .arg("--git-dir")
            .arg(bare)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    #[tokio::test]
    async fn pushes_the_workspace_to_a_bare_repository() {
        if !git_available() {
            eprintln!("skipped: git is not installed");
            return;
        }
        let (mut h, bare) = harness();
        let ctx = h
            .run(
                "publish:git",
                json!({"repoUrl": "git.local?owner=team&repo=svc", "defaultBranch": "main", "gitCommitMessage": "first", "gitAuthorName": "Ada", "gitAuthorEmail": "ada@example.com"}),
            )
            .await
            .unwrap();
        let tree = git_out(&bare, &["ls-tree", "-r", "main"]);
        assert!(tree.contains("src/main.rs"), "{tree}");
        assert!(
            tree.contains("100755 blob") && tree.contains("run.sh"),
            "{tree}"
        );
        assert!(!tree.contains(".git/"), "{tree}");
        let log = git_out(&bare, &["log", "-1", "--format=%H %an <%ae> %s", "main"]);
        assert_eq!(
            log.trim(),
            format!(
                "{} Ada <ada@example.com> first",
                ctx.outputs["commitHash"].as_str().unwrap()
            )
        );
        assert_eq!(
            ctx.outputs["repoContentsUrl"],
            "https://git.local/team/svc/tree/main"
        );
        assert!(ctx.outputs["remoteUrl"]
            .as_str()
            .unwrap()
            .ends_with("/team/svc.git"));
        assert!(!h.tmp.path().join("hook-ran").exists());
        assert!(!PublishGit.supports_dry_run());
        assert!(!h.drain_logs().is_empty());
    }

    #[tokio::test]
    async fn refuses_unknown_hosts_bad_names_and_escaping_sources() {
        let (h, _) = harness();
        let e = h
            .run(
                "publish:git",
                json!({"repoUrl": "github.com?owner=a&repo=b"}),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(e, ActionError::NotAllowed(ref m) if m.contains("scaffolder.publish.git.remotes")),
            "{e:?}"
        );
        for url in [
            "git.local?owner=..&repo=b",
            "git.local?owner=a&repo=../../x",
            "git.local?owner=-x&repo=b",
            "git.local?repo=b",
        ] {
            let e = h
                .run("publish:git", json!({"repoUrl": url}))
                .await
                .unwrap_err();
            assert!(matches!(e, ActionError::Input(_)), "{url}: {e:?}");
        }
        let e = h
            .run("publish:git", json!({"repoUrl": "git.local?owner=team&repo=svc", "defaultBranch": "--upload-pack=x"}))
            .await
            .unwrap_err();
        assert!(matches!(e, ActionError::Input(_)), "{e:?}");
        if git_available() {
            // A remote that does not exist: git's failure comes back as the step's error.
            let e = h
                .run(
                    "publish:git",
                    json!({"repoUrl": "git.local?owner=team&repo=missing"}),
                )
                .await
                .unwrap_err();
            assert!(
                matches!(e, ActionError::Failed(ref m) if m.starts_with("git push failed")),
                "{e:?}"
            );
        }
        assert_not_allowed(
            h.run(
                "publish:git",
                json!({"repoUrl": "git.local?owner=team&repo=svc", "sourcePath": "../outside"}),
            )
            .await,
        );
    }

    #[test]
    fn redacts_credentials() {
        assert_eq!(
            redact("pushing to https://user:tok3n@git.example.com/a.git"),
            "pushing to https://***@git.example.com/a.git"
        );
        assert_eq!(redact("file:///srv/a.git"), "file:///srv/a.git");
        assert_eq!(
            without_credentials("https://user:tok3n@git.example.com/a.git"),
            "https://git.example.com/a.git"
        );
        assert_eq!(
            without_credentials("file:///srv/a.git"),
            "file:///srv/a.git"
        );
    }
}
