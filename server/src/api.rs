//! The HTTP API: axum routes, error mapping, auth and limits.
