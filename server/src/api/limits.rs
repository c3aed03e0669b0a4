//! Request limits: body size, page size, query-string length and time per request.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::errors::ApiError;
use super::ApiSettings;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Larger bodies get 413.
    pub max_body_bytes: usize,
    /// Page sizes above this are clamped to it.
    pub max_page_limit: usize,
    /// Longer query strings get 414.
    pub max_query_bytes: usize,
    /// Requests taking longer get 503.
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1024 * 1024,
            max_page_limit: 10_000,
            max_query_bytes: 16 * 1024,
            request_timeout: Duration::from_secs(60),
        }
    }
}

pub async fn check_query_length(
    State(settings): State<Arc<ApiSettings>>,
    request: Request,
    next: Next,
) -> Response {
    let length = request.uri().query().map_or(0, str::len);
    if length > settings.limits.max_query_bytes {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            "URITooLongError",
            format!(
                "Query string too long, {length} bytes (at most {})",
                settings.limits.max_query_bytes
            ),
        )
        .into_response();
    }
    next.run(request).await
}
