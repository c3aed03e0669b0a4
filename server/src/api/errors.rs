//! Backstage's error body, `{"error":{"name","message"},"request":{"method","url"},"response":{"statusCode"}}`,
//! for every failure: handler errors carry their name and message to [`shape_errors`], which adds the
//! request part; bare error responses from axum and tower (404, 405, 413, timeouts) are given the same shape.
//! The one exception is the scaffolder's refusal of submitted values ([`PortalError::Validation`]), which
//! Backstage answers as a bare 400 `{"errors": [...]}` (the JSON Schema validator's errors).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use stagedoor_core::PortalError;

/// An error a handler returns: a status and Backstage's error name and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub name: String,
    pub message: String,
    /// Schema validation failures: sent as the whole body, `{"errors": [...]}`, instead of the error shape.
    pub errors: Option<Vec<Value>>,
}

impl ApiError {
    pub fn new(status: StatusCode, name: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            name: name.to_string(),
            message: message.into(),
            errors: None,
        }
    }

    pub fn input(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "InputError", message)
    }
}

impl From<PortalError> for ApiError {
    fn from(e: PortalError) -> Self {
        let status =
            StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(error = %e, "request failed");
        }
        let mut error = ApiError::new(status, e.name(), e.message());
        if let PortalError::Validation(errors) = e {
            error.errors = Some(errors);
        }
        error
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// Marks an error response whose body is already what the route must send.
#[derive(Debug, Clone, Copy)]
pub struct Preformed;

/// Backstage's name for a status that reached us without one.
fn name_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "InputError",
        401 => "AuthenticationError",
        403 => "NotAllowedError",
        404 => "NotFoundError",
        409 => "ConflictError",
        413 => "PayloadTooLargeError",
        414 => "URITooLongError",
        501 => "NotImplementedError",
        503 => "ServiceUnavailableError",
        _ => "Error",
    }
}

fn message_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "request entity too large",
        503 => "Request timed out",
        _ => status.canonical_reason().unwrap_or("Error"),
    }
}

/// Middleware: gives every 4xx/5xx response the Backstage error body.
pub async fn shape_errors(request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let url = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| request.uri().path().to_string());
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.extensions().get::<Preformed>().is_some()
    {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let error = parts
        .extensions
        .remove::<ApiError>()
        .unwrap_or_else(|| ApiError::new(status, name_for(status), message_for(status)));
    let body = match error.errors {
        Some(errors) => json!({ "errors": errors }),
        None => json!({
        "error": {"name": error.name, "message": error.message},
        "request": {"method": method, "url": url},
        "response": {"statusCode": status.as_u16()},
        }),
    };
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body.to_string()))
}

/// The fallback for unknown routes.
pub async fn not_found(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NotFoundError",
        format!("No route for {} {}", request.method(), request.uri().path()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt as _;

    async fn answer(error: PortalError) -> (StatusCode, Value) {
        let app = axum::Router::new()
            .route(
                "/x",
                axum::routing::post(move || {
                    let error = error.clone();
                    async move { ApiError::from(error) }
                }),
            )
            .layer(axum::middleware::from_fn(shape_errors));
        let request = Request::builder()
            .method("POST")
            .uri("/x")
            .body(Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn validation_errors_are_a_bare_errors_body() {
        let errors = vec![json!({"name": "required", "message": "requires property \"name\""})];
        let (status, body) = answer(PortalError::Validation(errors.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body, json!({ "errors": errors }));
        let (status, body) = answer(PortalError::NotAllowed("escape".into())).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["error"]["name"], "NotAllowedError");
        assert_eq!(body["request"]["url"], "/x");
    }
}
