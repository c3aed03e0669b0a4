//! Backstage's health routes, open without credentials.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

async fn ok() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub fn routes() -> Router {
    Router::new()
        .route("/.backstage/health/v1/readiness", get(ok))
        .route("/.backstage/health/v1/liveness", get(ok))
}
