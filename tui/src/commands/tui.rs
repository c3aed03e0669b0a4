//! `stagedoor` with no subcommand on a terminal: the terminal UI, on the embedded catalog of the
//! configuration or, with `--server`, on a backend over HTTP.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use stagedoor::ui::keymap::Keymap;
use stagedoor::ui::state::App;
use stagedoor::ui::theme::{ColorMode, Theme, DEFAULT_THEME};
use stagedoor_core::config::Config;
use stagedoor_core::Portal;
use stagedoor_server::client::HttpPortal;

use crate::setup::{self, Source};

pub async fn run(
    source: &Source,
    theme: Option<&str>,
    as_user: Option<&str>,
) -> anyhow::Result<ExitCode> {
    // The embedded catalog needs its configuration; a remote one only reads keys and theme from it, when
    // there is one.
    let config = match &source.server {
        None => Some(setup::load_config(&source.config)?),
        Some(_) if !source.config.is_empty() => Some(setup::load_config(&source.config)?),
        Some(_) if std::path::Path::new("app-config.yaml").is_file() => {
            setup::load_config(&[]).ok()
        }
        Some(_) => None,
    };
    let (theme, keymap) = look_and_keys(config.as_ref(), theme)?;
    let identity = setup::identity(as_user, config.as_ref())?;
    let (portal, label, embedded): (Arc<dyn Portal>, String, bool) = match &source.server {
        Some(server) => {
            let portal = HttpPortal::new(server, source.token.clone())
                .with_context(|| format!("cannot use --server {server}"))?;
            (Arc::new(portal), server.clone(), false)
        }
        None => {
            let config = config.expect("the embedded catalog loaded its configuration");
            let label = match config.files.first() {
                Some(file) => format!(
                    "embedded {}",
                    file.file_name().map_or_else(
                        || file.display().to_string(),
                        |n| n.to_string_lossy().into_owned()
                    )
                ),
                None => "embedded".to_string(),
            };
            let portal = Arc::new(setup::open_portal(config)?);
            // Templates run in this process when the catalog is embedded.
            portal.start_task_workers();
            (portal, label, true)
        }
    };
    tracing::info!(source = %label, "terminal UI started");
    let app = App::new(theme, keymap, label, embedded)
        .with_identity(identity)
        .with_state_dir(stagedoor::ui::run::state_dir());
    stagedoor::ui::run::run(portal, app).await?;
    Ok(ExitCode::SUCCESS)
}

/// The theme (`--theme`, else `stagedoor.theme`, else dark) and the keymap (`stagedoor.keys`).
fn look_and_keys(config: Option<&Config>, flag: Option<&str>) -> anyhow::Result<(Theme, Keymap)> {
    let from_config = config
        .and_then(|c| c.get("stagedoor.theme"))
        .and_then(|v| v.as_str());
    let name = flag.or(from_config).unwrap_or(DEFAULT_THEME);
    let theme = Theme::load(name, ColorMode::detect())?;
    let keymap = Keymap::from_config(config.and_then(|c| c.get("stagedoor.keys")))
        .context("invalid configuration")?;
    Ok((theme, keymap))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setup::{identity_from_config, parse_identity};

    #[test]
    fn identities_are_user_refs() {
        assert_eq!(
            parse_identity("user:default/jane").unwrap().canonical(),
            "user:default/jane"
        );
        assert_eq!(
            parse_identity("jane").unwrap().canonical(),
            "user:default/jane"
        );
        assert!(parse_identity("group:default/team-a")
            .unwrap_err()
            .contains("not a user entity ref"));
        assert!(parse_identity("user:").is_err());
    }

    #[test]
    fn a_bad_identity_names_the_key() {
        let dir = std::env::temp_dir().join(format!("stagedoor-identity-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("app-config.yaml");
        std::fs::write(&file, "stagedoor:\n  identity: group:default/team-a\n").unwrap();
        let config = Config::load(&[file], &dir).unwrap();
        let err = identity_from_config(Some(&config)).unwrap_err().to_string();
        assert!(err.contains("stagedoor.identity"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
