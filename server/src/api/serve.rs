//! Running the server: open the portal from config, refresh, bind `backend.listen`, serve until a signal.

use std::sync::Arc;

use anyhow::Context as _;
use stagedoor_core::config::Config;
use stagedoor_core::portal::{Portal, RefreshRequest};
use stagedoor_core::LocalPortal;
use tokio::net::TcpListener;

use super::{listen_address, router, ApiSettings};

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

/// Opens the portal `config` describes, refreshes it once, starts the refresh loop, binds `backend.listen`
/// and serves until `shutdown` resolves, finishing in-flight requests.
pub async fn serve(
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let address = listen_address(&config)?;
    let listener = TcpListener::bind(&address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    serve_on(listener, config, shutdown).await
}

/// [`serve`] on a listener the caller bound (tests bind `127.0.0.1:0`).
pub async fn serve_on(
    listener: TcpListener,
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let settings = ApiSettings::from_config(&config)?;
    if settings.auth.disabled {
        tracing::warn!(
            "backend.auth.dangerouslyDisableDefaultAuthPolicy is set: /api needs no credentials"
        );
    }
    // Unreachable key sets are reported now rather than at the first token they should verify.
    settings.external.prefetch().await;
    let portal = Arc::new(LocalPortal::from_config(config)?);
    match portal.refresh(RefreshRequest::default()).await {
        Ok(report) => tracing::info!(
            entities = report.entities,
            problems = report.problems.len(),
            "initial refresh"
        ),
        // A broken location must not keep the API down; it shows in the entities' status.
        Err(e) => tracing::warn!(error = %e, "initial refresh failed"),
    }
    portal.start_refresh_loop();
    // Runs scaffolder tasks (and fails those a previous process left running).
    portal.start_task_workers();
    let app = router(portal, settings);
    let local = listener
        .local_addr()
        .context("cannot read the bound address")?;
    tracing::info!(address = %local, "listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("server failed")?;
    Ok(())
}
