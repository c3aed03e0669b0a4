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

pub async fn run(source: &Source, theme: Option<&str>) -> anyhow::Result<ExitCode> {
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
            (Arc::new(setup::open_portal(config)?), label, true)
        }
    };
    tracing::info!(source = %label, "terminal UI started");
    let app = App::new(theme, keymap, label, embedded);
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
