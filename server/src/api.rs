//! The HTTP API: Backstage's catalog, TechDocs, search and scaffolder routes over a [`Portal`](stagedoor_core::portal::Portal), with
//! Backstage's error shape, default-deny auth and request limits. [`router`] builds the axum app (no
//! socket, for tests); [`serve`] opens the portal from config, binds `backend.listen` and runs it.

mod auth;
mod body;
mod catalog;
mod errors;
mod external;
mod health;
mod jwks;
mod limits;
mod listen;
mod scaffolder;
mod search;
mod serve;
mod techdocs;

use std::sync::Arc;

use axum::Router;
use stagedoor_core::portal::Portal;

pub use auth::{AccessRestriction, AuthPolicy, StaticToken};
pub use errors::ApiError;
pub use external::ExternalAccess;
pub use jwks::JwksError;
pub use limits::Limits;
pub use listen::{listen_address, DEFAULT_PORT};
pub use search::{parse_search_query, SearchSettings, SEARCH_TYPES};
pub use serve::{serve, serve_on, shutdown_signal};
pub use techdocs::DOCS_CSP;

/// Everything [`router`] needs besides the portal.
#[derive(Debug, Clone, Default)]
pub struct ApiSettings {
    pub auth: AuthPolicy,
    /// The `legacy` and `jwks` callers of `backend.auth`.
    pub external: ExternalAccess,
    pub limits: Limits,
    /// `search.maxTermLength` and `search.maxPageLimit`.
    pub search: SearchSettings,
}

impl ApiSettings {
    /// Reads `backend.auth` and `search.*` from the configuration; limits keep their defaults.
    pub fn from_config(
        config: &stagedoor_core::config::Config,
    ) -> Result<ApiSettings, stagedoor_core::PortalError> {
        Ok(ApiSettings {
            auth: AuthPolicy::from_config(config)?,
            external: ExternalAccess::from_config(config)?,
            limits: Limits::default(),
            search: SearchSettings::from_config(config)?,
        })
    }
}

/// The whole app: health routes, `/api/catalog/*`, `/api/techdocs/*`, `/api/search/*` and `/api/scaffolder/*` behind auth, limits, error shaping
/// and request tracing.
pub fn router(portal: Arc<dyn Portal>, settings: ApiSettings) -> Router {
    let settings = Arc::new(settings);
    let api = Router::new()
        .nest(
            "/api/catalog",
            catalog::routes(portal.clone(), settings.clone()),
        )
        .nest("/api/techdocs", techdocs::routes(portal.clone()))
        .nest(
            "/api/scaffolder",
            scaffolder::routes(portal.clone(), settings.clone()),
        )
        .nest("/api/search", search::routes(portal, settings.search))
        .layer(axum::middleware::from_fn_with_state(
            settings.clone(),
            auth::require_credentials,
        ));
    Router::new()
        .merge(health::routes())
        .merge(api)
        .fallback(errors::not_found)
        .layer(axum::middleware::from_fn_with_state(
            settings.clone(),
            limits::check_query_length,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(
            settings.limits.max_body_bytes,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            settings.limits.request_timeout,
        ))
        .layer(axum::middleware::from_fn(errors::shape_errors))
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                // Method and path only: no headers (the bearer token) and no query string in the logs.
                .make_span_with(|req: &axum::http::Request<axum::body::Body>| {
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
                })
                .on_response(
                    tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO),
                ),
        )
}
