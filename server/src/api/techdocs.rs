//! Backstage's TechDocs routes under `/api/techdocs`, over the [`Portal`]'s stored docs sites:
//!
//! - `GET /metadata/techdocs/:namespace/:kind/:name`: the stored `techdocs_metadata.json`;
//! - `GET /metadata/entity/:namespace/:kind/:name`: the entity plus `locationMetadata: {type, target}`;
//! - `GET /static/docs/:namespace/:kind/:name/<path>`: one stored file of the site;
//! - `GET /sync/:namespace/:kind/:name`: a server-sent event stream of `log` lines, then `finish`
//!   (`{"updated": bool}`) or `error` (the message), as Backstage's `createEventStream` writes them.
//!
//! Every route answers 404 when the entity does not exist; they sit behind the same credential check as
//! the catalog's entity reads (see [`super::auth`]), so reading an entity's docs takes what reading the
//! entity takes.
//!
//! **Serving untrusted HTML.** A site's pages are built from whatever markdown a repository holds. Backstage
//! answers `.html`, `.htm`, `.xml` and `.svg` as `text/plain` so a browser never renders them (after
//! CVE-2021-32660, pages served same-origin ran script). We serve them as what they are instead, with
//! `Content-Security-Policy: default-src 'none'; img-src 'self'; style-src 'self' 'unsafe-inline'; sandbox`
//! and `X-Content-Type-Options: nosniff` on every response: `default-src 'none'` leaves no source a script
//! may come from (inline ones included), and `sandbox` without `allow-scripts` disables script entirely and
//! gives the document an opaque origin, so even a sanitizer miss can neither run nor reach this origin's
//! cookies or storage. That keeps the site browsable (the pages link to each other relatively, which is why
//! a page directory named without its slash is redirected to it), while Backstage's frontend, which fetches
//! pages as text and sanitizes them itself, reads them the same either way.
//!
//! **Paths.** Files are looked up by exact key in the store, so nothing on disk is ever read here; still,
//! any path that tries to leave the site is refused with a 400 before any lookup, so no form of traversal
//! depends on the store for safety: `..` and `.` segments raw or percent-encoded, encoded slashes and
//! backslashes (`%2f`, `%5c`), double encoding (`%252e`), absolute paths (an empty first segment), empty
//! segments, NUL and other control characters. Mixed-case triplets on the static route get a 301 to the
//! lower-cased path (sites are stored lower-cased, as Backstage publishes them); the metadata and sync routes
//! look entities up case-insensitively.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{OriginalUri, Path, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use stagedoor_core::entity::ANNOTATION_LOCATION;
use stagedoor_core::portal::Portal;
use stagedoor_core::techdocs::service::{DocsSync, ANNOTATION_TECHDOCS_REF};
use stagedoor_core::{Entity, EntityRef, PortalError};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::errors::ApiError;

type ApiResult<T> = Result<T, ApiError>;

/// Sent with every static docs file, whatever its type (see the module docs).
pub const DOCS_CSP: &str =
    "default-src 'none'; img-src 'self'; style-src 'self' 'unsafe-inline'; sandbox";

/// The metadata file of a built site.
const METADATA_FILE: &str = "techdocs_metadata.json";

#[derive(Clone)]
struct AppState {
    portal: Arc<dyn Portal>,
}

pub fn routes(portal: Arc<dyn Portal>) -> Router {
    Router::new()
        .route(
            "/metadata/techdocs/{namespace}/{kind}/{name}",
            get(get_techdocs_metadata),
        )
        .route(
            "/metadata/entity/{namespace}/{kind}/{name}",
            get(get_entity_metadata),
        )
        .route("/sync/{namespace}/{kind}/{name}", get(get_sync))
        // The site root with and without its slash, and any path under it; all parsed from the raw URI.
        .route("/static/docs/{namespace}/{kind}/{name}", get(get_static))
        .route("/static/docs/{namespace}/{kind}/{name}/", get(get_static))
        .route(
            "/static/docs/{namespace}/{kind}/{name}/{*path}",
            get(get_static),
        )
        .layer(axum::middleware::map_response(nosniff))
        .with_state(AppState { portal })
}

/// Every answer of these routes, errors included, tells browsers not to guess a type.
async fn nosniff(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn bad_path(what: &str) -> ApiError {
    ApiError::input(format!("Invalid docs path: {what}"))
}

/// Decodes `%XX` escapes once; a `%` not followed by two hex digits, or bytes that are not UTF-8, are
/// refused.
fn percent_decode(raw: &str) -> ApiResult<String> {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let pair = bytes
                .get(i + 1)
                .and_then(|&h| hex(h))
                .zip(bytes.get(i + 2).and_then(|&l| hex(l)));
            let Some((h, l)) = pair else {
                return Err(bad_path("malformed percent-encoding"));
            };
            out.push(h * 16 + l);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad_path("not UTF-8"))
}

/// Encodes a path segment: everything but RFC 3986's unreserved characters.
fn percent_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Checks one decoded path segment: nothing that could step out of its directory or be read twice over.
fn check_segment(segment: &str) -> ApiResult<()> {
    if segment == "." || segment == ".." {
        return Err(bad_path("'.' and '..' segments are not allowed"));
    }
    if segment.contains(['/', '\\']) {
        return Err(bad_path("encoded slashes and backslashes are not allowed"));
    }
    if segment.chars().any(char::is_control) {
        return Err(bad_path("control characters are not allowed"));
    }
    // A `%` surviving one decoding is a second layer of encoding (`%252e%252e`).
    if segment.contains('%') {
        return Err(bad_path("double percent-encoding is not allowed"));
    }
    Ok(())
}

/// The decoded file path under the site root from the raw (still encoded) rest of the URL.
fn site_path(raw: &str) -> ApiResult<String> {
    let segments: Vec<&str> = raw.split('/').collect();
    let last = segments.len() - 1;
    let mut decoded = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        // An empty segment anywhere but at the end (`//etc`, `a//b`) would make the path absolute or
        // ambiguous; a trailing one is the directory form (`sub-page/`).
        if segment.is_empty() && i != last {
            return Err(bad_path(
                "absolute paths and empty segments are not allowed",
            ));
        }
        let text = percent_decode(segment)?;
        check_segment(&text)?;
        decoded.push(text);
    }
    Ok(decoded.join("/"))
}

/// A triplet segment from a route parameter (already decoded by the router).
fn check_triplet(namespace: &str, kind: &str, name: &str) -> ApiResult<EntityRef> {
    for segment in [namespace, kind, name] {
        if segment.is_empty() {
            return Err(bad_path("empty entity name"));
        }
        check_segment(segment)?;
    }
    Ok(EntityRef::new(kind, namespace, name))
}

async fn entity(portal: &dyn Portal, r: &EntityRef) -> ApiResult<Option<Entity>> {
    Ok(portal.entity_by_ref(r).await?)
}

fn not_found(message: String) -> ApiError {
    PortalError::NotFound(message).into()
}

// ---- metadata ----

async fn get_techdocs_metadata(
    State(state): State<AppState>,
    Path((namespace, kind, name)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let r = check_triplet(&namespace, &kind, &name)?;
    let missing = || not_found(format!("Unable to get metadata for '{}'", r.canonical()));
    if entity(state.portal.as_ref(), &r).await?.is_none() {
        return Err(missing());
    }
    let file = state
        .portal
        .docs_file(&r, METADATA_FILE)
        .await?
        .ok_or_else(missing)?;
    let metadata: Value = serde_json::from_slice(&file.body).map_err(|e| {
        ApiError::from(PortalError::Internal(format!(
            "The stored {METADATA_FILE} of {} is unreadable: {e}",
            r.canonical()
        )))
    })?;
    Ok(Json(metadata).into_response())
}

/// Where the docs sources are, as Backstage's `getLocationForEntity` says: a `dir:` techdocs-ref resolved
/// against the entity's own location (`dir` of a local path, or the resolved `url`), a `url:` one as
/// written; an entity without the annotation gets its managed-by location.
fn location_metadata(entity: &Entity) -> Option<Value> {
    let split = |text: &str| {
        text.split_once(':')
            .map(|(t, target)| (t.to_string(), target.to_string()))
    };
    let managed = entity.annotation(ANNOTATION_LOCATION).and_then(split);
    let Some((ref_type, ref_target)) = entity.annotation(ANNOTATION_TECHDOCS_REF).and_then(split)
    else {
        return managed.map(|(t, target)| json!({"type": t, "target": target}));
    };
    if ref_type != "dir" {
        return Some(json!({"type": ref_type, "target": ref_target}));
    }
    let (location_type, location_target) = managed?;
    match location_type.as_str() {
        "file" => {
            // Like Node's `path.resolve`: the directory of the file joined with the ref, normalized
            // lexically (nothing on disk is consulted).
            let base = std::path::Path::new(&location_target)
                .parent()
                .map(std::path::Path::to_path_buf)
                .unwrap_or_default();
            let mut resolved = std::path::PathBuf::new();
            for part in base.join(&ref_target).components() {
                match part {
                    std::path::Component::CurDir => {}
                    std::path::Component::ParentDir => {
                        resolved.pop();
                    }
                    other => resolved.push(other.as_os_str()),
                }
            }
            Some(json!({"type": "dir", "target": resolved.display().to_string()}))
        }
        _ => {
            let target = url::Url::parse(&location_target)
                .and_then(|base| base.join(&ref_target))
                .map(String::from)
                .unwrap_or(location_target);
            Some(json!({"type": "url", "target": target}))
        }
    }
}

async fn get_entity_metadata(
    State(state): State<AppState>,
    Path((namespace, kind, name)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let r = check_triplet(&namespace, &kind, &name)?;
    let missing = || not_found(format!("Unable to get metadata for '{}'", r.canonical()));
    let found = entity(state.portal.as_ref(), &r)
        .await?
        .ok_or_else(missing)?;
    let location = location_metadata(&found).ok_or_else(missing)?;
    let mut body = serde_json::to_value(&found).map_err(|e| {
        ApiError::from(PortalError::Internal(format!(
            "Could not encode {}: {e}",
            r.canonical()
        )))
    })?;
    match body.as_object_mut() {
        Some(map) => {
            map.insert("locationMetadata".into(), location);
        }
        None => return Err(missing()),
    }
    Ok(Json(body).into_response())
}

// ---- static files ----

/// The raw pieces of `/static/docs/<ns>/<kind>/<name>[/<rest>]`, still percent-encoded.
struct RawStatic<'a> {
    triplet: [&'a str; 3],
    /// `None` for the root without a slash; `Some("")` for the root with one.
    rest: Option<&'a str>,
}

fn split_static(path: &str) -> ApiResult<RawStatic<'_>> {
    let tail = path
        .strip_prefix("/static/docs/")
        .ok_or_else(|| bad_path("not a docs path"))?;
    let parts: Vec<&str> = tail.splitn(4, '/').collect();
    let part = |i: usize| parts.get(i).copied().unwrap_or("");
    Ok(RawStatic {
        triplet: [part(0), part(1), part(2)],
        rest: parts.get(3).copied(),
    })
}

fn redirect(location: &str) -> ApiResult<Response> {
    let value = HeaderValue::from_str(location).map_err(|_| bad_path("unusable redirect"))?;
    Ok((StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, value)]).into_response())
}

async fn get_static(
    State(state): State<AppState>,
    OriginalUri(original): OriginalUri,
    uri: Uri,
) -> ApiResult<Response> {
    let raw = split_static(uri.path())?;
    let mut decoded = Vec::with_capacity(3);
    for segment in raw.triplet {
        let text = percent_decode(segment)?;
        decoded.push(text);
    }
    let r = check_triplet(&decoded[0], &decoded[1], &decoded[2])?;
    let path = raw.rest.map(site_path).transpose()?;
    let query = original
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();

    // Sites are stored under the lower-cased triplet; Backstage redirects rather than guessing. Case is
    // judged on the decoded names (`%C3%A9` is not upper case, `%C3%89` is).
    if decoded.iter().any(|s| *s != s.to_lowercase()) {
        let prefix = original.path().strip_suffix(uri.path()).unwrap_or_default();
        let mut location = format!(
            "{prefix}/static/docs/{}/{}/{}",
            percent_encode(&decoded[0].to_lowercase()),
            percent_encode(&decoded[1].to_lowercase()),
            percent_encode(&decoded[2].to_lowercase())
        );
        if let Some(rest) = raw.rest {
            location.push('/');
            location.push_str(rest);
        }
        location.push_str(&query);
        return redirect(&location);
    }

    if entity(state.portal.as_ref(), &r).await?.is_none() {
        return Err(not_found(format!("Entity not found for {}", r.canonical())));
    }
    let Some(path) = path else {
        // The root without its slash: relative links in its index.html need the slash.
        return redirect(&format!("{}/{query}", raw.triplet[2]));
    };
    let key = if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.clone()
    };
    if let Some(file) = state.portal.docs_file(&r, &key).await? {
        let content_type = HeaderValue::from_str(&file.content_type)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
        return Ok((
            [
                (header::CONTENT_TYPE, content_type),
                (
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(DOCS_CSP),
                ),
            ],
            file.body,
        )
            .into_response());
    }
    // A page directory named without its slash (`sub-page`): redirect so its relative links resolve.
    let last = path.rsplit('/').next().unwrap_or_default();
    if !path.ends_with('/') && !last.contains('.') {
        let index = format!("{path}/index.html");
        if state.portal.docs_file(&r, &index).await?.is_some() {
            let raw_last = raw
                .rest
                .and_then(|rest| rest.rsplit('/').next())
                .unwrap_or(last);
            return redirect(&format!("{raw_last}/{query}"));
        }
    }
    Err(not_found(format!(
        "File not found: {path} in the docs of {}",
        r.canonical()
    )))
}

// ---- sync ----

type SyncResult = Result<DocsSync, PortalError>;

fn joined(result: Result<SyncResult, tokio::task::JoinError>) -> SyncResult {
    result.unwrap_or_else(|e| Err(PortalError::Internal(format!("The docs sync failed: {e}"))))
}

/// Where the event stream stands.
enum Stream {
    Running {
        first: Option<String>,
        lines: mpsc::UnboundedReceiver<String>,
        result: Option<SyncResult>,
        task: Option<JoinHandle<SyncResult>>,
    },
    Closed,
}

fn log_event(line: String) -> Event {
    Event::default()
        .event("log")
        .data(Value::String(line).to_string())
}

fn end_event(result: SyncResult) -> Event {
    match result {
        Ok(sync) => Event::default()
            .event("finish")
            .data(json!({ "updated": sync.updated }).to_string()),
        Err(e) => Event::default()
            .event("error")
            .data(Value::String(e.message().to_string()).to_string()),
    }
}

async fn next_event(state: Stream) -> Option<(Result<Event, Infallible>, Stream)> {
    let Stream::Running {
        first,
        mut lines,
        result,
        task,
    } = state
    else {
        return None;
    };
    // The lines end when the sync drops its sender, that is when it is done.
    let line = match first {
        Some(line) => Some(line),
        None => lines.recv().await,
    };
    if let Some(line) = line {
        let state = Stream::Running {
            first: None,
            lines,
            result,
            task,
        };
        return Some((Ok(log_event(line)), state));
    }
    let result = match (result, task) {
        (Some(result), _) => result,
        (None, Some(task)) => joined(task.await),
        (None, None) => Err(PortalError::Internal("The docs sync was lost".into())),
    };
    Some((Ok(end_event(result)), Stream::Closed))
}

/// Starts the sync and answers an error that comes before any progress (a missing entity, one without
/// docs) as an ordinary error response, as Backstage does for what it checks before opening the stream;
/// after that, everything goes down the stream.
async fn get_sync(
    State(state): State<AppState>,
    Path((namespace, kind, name)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let r = check_triplet(&namespace, &kind, &name)?;
    let (sender, mut lines) = mpsc::unbounded_channel();
    let portal = state.portal.clone();
    // Spawned so a client going away does not abandon a build half stored.
    let mut task = tokio::spawn(async move { portal.sync_docs(&r, Some(sender)).await });
    let (first, done) = tokio::select! {
        line = lines.recv() => (line, None),
        done = &mut task => (None, Some(joined(done))),
    };
    let (first, result, task) = match (first, done) {
        (Some(line), done) => (Some(line), done, Some(task)),
        (None, done) => {
            // The sync is over (it returned, or dropped its sender on returning); any line it sent is
            // still queued. `task` is awaited only if the select did not already finish it.
            let done = match done {
                Some(done) => done,
                None => joined(task.await),
            };
            match (lines.try_recv(), done) {
                (Ok(line), done) => (Some(line), Some(done), None),
                (Err(_), Err(e)) => return Err(e.into()),
                (Err(_), done) => (None, Some(done), None),
            }
        }
    };
    let stream = futures_util::stream::unfold(
        Stream::Running {
            first,
            lines,
            result,
            task,
        },
        next_event,
    );
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_paths_decode_once_and_refuse_escapes() {
        assert_eq!(
            site_path("sub-page/index.html").unwrap(),
            "sub-page/index.html"
        );
        assert_eq!(site_path("a%20b/").unwrap(), "a b/");
        assert_eq!(site_path("").unwrap(), "");
        assert_eq!(percent_encode("é b~"), "%C3%A9%20b~");
        for bad in [
            "..",
            "a/../b",
            "%2e%2e",
            "%2E%2e/x",
            "a%2fb",
            "a%5cb",
            "a\\b",
            "%252e%252e",
            "/etc",
            "a//b",
            "%00",
            "a%0ab",
            "%",
            "%g0",
            "%c3%28",
        ] {
            let e = site_path(bad).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{bad}");
        }
    }
}
