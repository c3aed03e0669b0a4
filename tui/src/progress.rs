//! A refresh with a progress bar on stderr, drawn only when stderr is a terminal.

use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use stagedoor_core::portal::{RefreshProgress, RefreshReport, RefreshRequest};
use stagedoor_core::{Portal, PortalError};
use tokio::sync::mpsc;

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner())
}

/// A spinner until the number of root locations is known, then a count.
fn progress_bar() -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(style("{spinner} refreshing locations {wide_msg}"));
    bar.enable_steady_tick(Duration::from_millis(100));
    Some(bar)
}

/// Refreshes every root location, reporting progress as it goes.
pub async fn refresh(portal: &dyn Portal) -> Result<RefreshReport, PortalError> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let bar = progress_bar();
    let shown = bar.clone();
    let listener = tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            match event {
                RefreshProgress::Started { roots } => {
                    tracing::info!(roots, "refresh started");
                    if let Some(bar) = &shown {
                        bar.set_length(roots as u64);
                        bar.set_style(style(
                            "{spinner} refreshing {pos}/{len} locations {wide_msg}",
                        ));
                    }
                }
                RefreshProgress::RootDone { origin, entities } => {
                    tracing::info!(%origin, entities, "location refreshed");
                    if let Some(bar) = &shown {
                        bar.inc(1);
                        bar.set_message(origin);
                    }
                }
            }
        }
    });
    let result = portal
        .refresh(RefreshRequest {
            entity_ref: None,
            progress: Some(tx),
            periodic: false,
        })
        .await;
    // The portal may hold on to a sender; the bar has nothing left to show once the refresh returned.
    listener.abort();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    result
}
