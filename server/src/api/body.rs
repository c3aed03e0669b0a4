//! Reading JSON request bodies with Backstage's checks and messages: `Content-Type missing`,
//! `Illegal Content-Type`, `Empty request body`, `Malformed request: ...`, `Expected body to be a JSON object`,
//! and unknown fields refused by the strict request types.

use axum::body::Bytes;
use axum::http::{header, HeaderMap};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::errors::ApiError;

/// The body as a JSON object. `allow_empty` accepts a missing or empty body as `{}` (routes whose body is
/// optional, like `POST /refresh` from older clients).
pub fn json_object(
    headers: &HeaderMap,
    body: &Bytes,
    allow_empty: bool,
) -> Result<serde_json::Map<String, Value>, ApiError> {
    if body.is_empty() && allow_empty {
        return Ok(serde_json::Map::new());
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .ok_or_else(|| ApiError::input("Content-Type missing"))?
        .to_str()
        .map_err(|_| ApiError::input("Illegal Content-Type"))?;
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    // Backstage matches `^application/json($|;)`.
    if essence != "application/json" {
        return Err(ApiError::input("Illegal Content-Type"));
    }
    if body.is_empty() {
        return Err(ApiError::input("Empty request body"));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::input(format!("Malformed request: {e}")))?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::input("Expected body to be a JSON object")),
    }
}

/// The body as a request type (which should `deny_unknown_fields`).
pub fn parse<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
    allow_empty: bool,
) -> Result<T, ApiError> {
    let map = json_object(headers, body, allow_empty)?;
    serde_json::from_value(Value::Object(map))
        .map_err(|e| ApiError::input(format!("Malformed request: {e}")))
}

/// As Backstage's `validateRequestBody` (locations, analyze-location, validate-entity): an empty object is
/// refused with `Empty request body` before the shape is checked.
pub fn parse_required<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, ApiError> {
    let map = json_object(headers, body, false)?;
    if map.is_empty() {
        return Err(ApiError::input("Empty request body"));
    }
    serde_json::from_value(Value::Object(map))
        .map_err(|e| ApiError::input(format!("Malformed request: {e}")))
}

/// The by-refs body, with the message Backstage's `entitiesBatchRequest` gives a wrong shape.
pub fn parse_batch<T: DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, ApiError> {
    let map = json_object(headers, body, false)?;
    serde_json::from_value(Value::Object(map)).map_err(|e| {
        ApiError::input(format!(
            "Malformed request body (did you remember to specify an application/json content type?), {e}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(ct: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(ct) = ct {
            h.insert(header::CONTENT_TYPE, ct.parse().unwrap());
        }
        h
    }

    fn msg(r: Result<serde_json::Map<String, Value>, ApiError>) -> String {
        r.unwrap_err().message
    }

    #[test]
    fn backstage_messages() {
        let b = Bytes::from_static(b"{}");
        assert_eq!(
            msg(json_object(&headers(None), &b, false)),
            "Content-Type missing"
        );
        assert_eq!(
            msg(json_object(&headers(Some("text/plain")), &b, false)),
            "Illegal Content-Type"
        );
        assert_eq!(
            msg(json_object(
                &headers(Some("application/vnd+json")),
                &b,
                false
            )),
            "Illegal Content-Type"
        );
        assert_eq!(
            msg(json_object(
                &headers(Some("application/json")),
                &Bytes::new(),
                false
            )),
            "Empty request body"
        );
        assert!(msg(json_object(
            &headers(Some("application/json")),
            &Bytes::from_static(b"{"),
            false
        ))
        .starts_with("Malformed request: "));
        assert_eq!(
            msg(json_object(
                &headers(Some("application/json; charset=utf-8")),
                &Bytes::from_static(b"[1]"),
                false
            )),
            "Expected body to be a JSON object"
        );
        assert!(json_object(&headers(None), &Bytes::new(), true)
            .unwrap()
            .is_empty());
    }
}
