//! The catalog routes under `/api/catalog`: each handler parses the request as Backstage's router does,
//! calls the [`Portal`], and maps the result to Backstage's JSON.

use std::collections::HashSet;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use stagedoor_core::portal::{Portal, RefreshRequest};
use stagedoor_core::store::{
    EntityPredicate, EntityQuery, FieldMatch, FullTextFilter, LocationRecord, OrderField, SortOrder,
};
use stagedoor_core::{Entity, EntityRef, PortalError};

use super::body;
use super::errors::{ApiError, Preformed};
use super::ApiSettings;
use crate::locations::LocationQueryRequest;

type ApiResult<T> = Result<T, ApiError>;

#[derive(Clone)]
struct AppState {
    portal: Arc<dyn Portal>,
    settings: Arc<ApiSettings>,
}

pub fn routes(portal: Arc<dyn Portal>, settings: Arc<ApiSettings>) -> Router {
    Router::new()
        .route("/entities", get(get_entities))
        .route("/entities/by-query", get(get_by_query).post(post_by_query))
        .route(
            "/entities/by-uid/{uid}",
            get(get_by_uid).delete(delete_by_uid),
        )
        .route(
            "/entities/by-name/{kind}/{namespace}/{name}",
            get(get_by_name),
        )
        .route(
            "/entities/by-name/{kind}/{namespace}/{name}/ancestry",
            get(get_ancestry),
        )
        .route("/entities/by-refs", post(post_by_refs))
        .route("/entity-facets", get(get_facets).post(post_facets))
        .route("/refresh", post(post_refresh))
        .route("/locations", get(get_locations).post(post_location))
        .route(
            "/locations/by-query",
            post(post_locations_by_query)
                .get(|s: State<AppState>| get_location(s, Path(BY_QUERY.into())))
                .put(|s: State<AppState>, h: HeaderMap, b: Bytes| {
                    put_location(s, Path(BY_QUERY.into()), h, b)
                })
                .delete(|s: State<AppState>| delete_location(s, Path(BY_QUERY.into()))),
        )
        .route(
            "/locations/{id}",
            get(get_location).put(put_location).delete(delete_location),
        )
        .route(
            "/locations/by-entity/{kind}/{namespace}/{name}",
            get(get_location_by_entity),
        )
        .route("/analyze-location", post(post_analyze_location))
        .route("/validate-entity", post(post_validate_entity))
        .with_state(AppState { portal, settings })
}

/// Query parameters in order, repeated keys kept.
struct Params(Vec<(String, String)>);

impl Params {
    fn new(raw: Option<String>) -> Params {
        Params(
            url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn first(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Comma-separated values over every occurrence (`fields=a,b&fields=c`).
    fn list(&self, key: &str) -> Vec<String> {
        self.all(key)
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
}

fn input(e: impl std::fmt::Display) -> ApiError {
    ApiError::input(e.to_string())
}

/// An integer parameter written exactly as its number (`parseInt(x) == x` in Backstage: no `+`, no
/// leading zeros, no spaces).
fn integer_param(text: &str, name: &str) -> ApiResult<i64> {
    match text.parse::<i64>() {
        Ok(n) if n.to_string() == text => Ok(n),
        _ => Err(ApiError::input(format!("Invalid {name}, not an integer"))),
    }
}

fn parse_limit(text: &str) -> ApiResult<usize> {
    match integer_param(text, "limit")? {
        n if n > 0 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        _ => Err(ApiError::input("Invalid limit, must be greater than zero")),
    }
}

fn parse_offset(text: &str) -> ApiResult<usize> {
    match integer_param(text, "offset")? {
        n if n >= 0 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        _ => Err(ApiError::input("Invalid offset, must be zero or greater")),
    }
}

fn sort_order(text: &str) -> ApiResult<SortOrder> {
    match text.trim().to_ascii_lowercase().as_str() {
        "asc" => Ok(SortOrder::Asc),
        "desc" => Ok(SortOrder::Desc),
        other => Err(ApiError::input(format!(
            "Invalid sort order '{other}', must be asc or desc"
        ))),
    }
}

fn filter_param(params: &Params) -> ApiResult<Option<EntityPredicate>> {
    EntityPredicate::from_filter_params(&params.all("filter")).map_err(input)
}

fn clamp(settings: &ApiSettings, limit: Option<usize>) -> Option<usize> {
    limit.map(|l| l.min(settings.limits.max_page_limit))
}

fn portal_err(e: PortalError) -> ApiError {
    e.into()
}

fn entity_ref(kind: &str, namespace: &str, name: &str) -> EntityRef {
    EntityRef::new(kind, namespace, name)
}

fn not_found(r: &EntityRef) -> ApiError {
    PortalError::entity_not_found(r).into()
}

// ---- entities ----

/// Page size of the unpaged legacy listing, which Backstage also reads in chunks.
const LEGACY_CHUNK: usize = 10_000;

async fn get_entities(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let params = Params::new(raw);
    let filter = filter_param(&params)?;
    let mut order_fields = Vec::new();
    for order in params.all("order") {
        let (dir, field) = order.split_once(':').ok_or_else(|| {
            ApiError::input(format!(
                "Invalid order field '{order}', expected <asc|desc>:<field>"
            ))
        })?;
        order_fields.push(OrderField {
            field: field.to_string(),
            order: sort_order(dir)?,
        });
    }
    let limit = params.first("limit").map(parse_limit).transpose()?;
    let offset = params.first("offset").map(parse_offset).transpose()?;
    let after = params.first("after").map(str::to_string);
    if after.as_deref() == Some("") {
        return Err(ApiError::input("Invalid after, must not be empty"));
    }
    let mut query = EntityQuery {
        filter,
        order_fields,
        fields: params.list("fields"),
        skip_total_items: true,
        ..EntityQuery::default()
    };
    let paged = limit.is_some() || offset.is_some() || after.is_some();
    if paged {
        query.limit = clamp(&state.settings, limit);
        query.offset = offset;
        query.cursor = after;
        let page = state
            .portal
            .query_entities(query)
            .await
            .map_err(portal_err)?;
        let mut response = Json(page.items).into_response();
        if let Some(next) = page.page_info.next_cursor {
            if let Ok(value) = HeaderValue::from_str(&next_link(&params, &next)) {
                response.headers_mut().insert(header::LINK, value);
            }
        }
        return Ok(response);
    }
    query.limit = Some(LEGACY_CHUNK);
    let mut items: Vec<Entity> = Vec::new();
    loop {
        let page = state
            .portal
            .query_entities(query.clone())
            .await
            .map_err(portal_err)?;
        items.extend(page.items);
        match page.page_info.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    Ok(Json(items).into_response())
}

/// The `Link` header of a paged `GET /entities`, exactly as Backstage's router writes it: from `req.url`,
/// which Express gives relative to where the catalog router is mounted (so `/entities?…`, without
/// `/api/catalog`), with `offset` deleted and `after` set through `URLSearchParams` (which replaces the
/// first `after` in place, drops any others, or appends one) and the query re-serialised form-encoded.
fn next_link(params: &Params, next: &str) -> String {
    let mut pairs: Vec<(String, String)> = Vec::with_capacity(params.0.len() + 1);
    let mut set = false;
    for (k, v) in &params.0 {
        match k.as_str() {
            "offset" => {}
            "after" if set => {}
            "after" => {
                pairs.push((k.clone(), next.to_string()));
                set = true;
            }
            _ => pairs.push((k.clone(), v.clone())),
        }
    }
    if !set {
        pairs.push(("after".into(), next.to_string()));
    }
    let qs = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("</entities?{qs}>; rel=\"next\"")
}

fn total_items(value: Option<&str>) -> ApiResult<bool> {
    match value {
        None | Some("include") => Ok(false),
        Some("exclude") => Ok(true),
        Some(other) => Err(ApiError::input(format!(
            "Invalid totalItems '{other}', must be include or exclude"
        ))),
    }
}

async fn get_by_query(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let params = Params::new(raw);
    let mut order_fields = Vec::new();
    if let Some(order) = params.first("orderField") {
        let (field, dir) = order.split_once(',').unwrap_or((order, "asc"));
        order_fields.push(OrderField {
            field: field.to_string(),
            order: sort_order(dir)?,
        });
    }
    let full_text = params
        .first("fullTextFilterTerm")
        .filter(|t| !t.trim().is_empty())
        .map(|term| FullTextFilter {
            term: term.to_string(),
            fields: params.list("fullTextFilterFields"),
        });
    let query = EntityQuery {
        filter: filter_param(&params)?,
        order_fields,
        full_text,
        limit: clamp(
            &state.settings,
            params.first("limit").map(parse_limit).transpose()?,
        ),
        offset: params.first("offset").map(parse_offset).transpose()?,
        cursor: params.first("cursor").map(str::to_string),
        fields: params.list("fields"),
        skip_total_items: total_items(params.first("totalItems"))?,
    };
    let page = state
        .portal
        .query_entities(query)
        .await
        .map_err(portal_err)?;
    Ok(Json(page).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderBy {
    field: String,
    #[serde(default)]
    order: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FullTextBody {
    #[serde(default)]
    term: String,
    #[serde(default)]
    fields: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ByQueryBody {
    #[serde(default)]
    query: Option<Value>,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    offset: Option<i64>,
    #[serde(default)]
    order_by: Option<Vec<OrderBy>>,
    #[serde(default)]
    full_text_filter: Option<FullTextBody>,
    #[serde(default)]
    fields: Option<Vec<String>>,
    #[serde(default)]
    total_items: Option<Value>,
}

fn predicate(value: Option<&Value>) -> ApiResult<Option<EntityPredicate>> {
    value
        .map(|v| EntityPredicate::from_json(v).map_err(input))
        .transpose()
}

async fn post_by_query(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    let b: ByQueryBody = body::parse(&headers, &bytes, true)?;
    let limit = b.limit.map(|l| parse_limit(&l.to_string())).transpose()?;
    let offset = b.offset.map(|o| parse_offset(&o.to_string())).transpose()?;
    let mut order_fields = Vec::new();
    for o in b.order_by.unwrap_or_default() {
        order_fields.push(OrderField {
            field: o.field,
            order: sort_order(o.order.as_deref().unwrap_or("asc"))?,
        });
    }
    let skip_total_items = match &b.total_items {
        None => false,
        Some(Value::Bool(b)) => !b,
        Some(Value::String(s)) => total_items(Some(s))?,
        Some(_) => return Err(ApiError::input("Invalid totalItems")),
    };
    let query = EntityQuery {
        filter: predicate(b.query.as_ref())?,
        order_fields,
        full_text: b
            .full_text_filter
            .filter(|f| !f.term.trim().is_empty())
            .map(|f| FullTextFilter {
                term: f.term,
                fields: f.fields,
            }),
        limit: clamp(&state.settings, limit),
        offset,
        cursor: b.cursor,
        fields: b.fields.unwrap_or_default(),
        skip_total_items,
    };
    let page = state
        .portal
        .query_entities(query)
        .await
        .map_err(portal_err)?;
    Ok(Json(page).into_response())
}

async fn get_by_uid(State(state): State<AppState>, Path(uid): Path<String>) -> ApiResult<Response> {
    match state.portal.entity_by_uid(&uid).await.map_err(portal_err)? {
        Some(entity) => Ok(Json(entity).into_response()),
        None => Err(PortalError::NotFound(format!("No entity with uid {uid}")).into()),
    }
}

async fn delete_by_uid(
    State(state): State<AppState>,
    Path(uid): Path<String>,
) -> ApiResult<Response> {
    state
        .portal
        .delete_entity_by_uid(&uid)
        .await
        .map_err(portal_err)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn get_by_name(
    State(state): State<AppState>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let r = entity_ref(&kind, &namespace, &name);
    match state.portal.entity_by_ref(&r).await.map_err(portal_err)? {
        Some(entity) => Ok(Json(entity).into_response()),
        None => Err(not_found(&r)),
    }
}

async fn get_ancestry(
    State(state): State<AppState>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let r = entity_ref(&kind, &namespace, &name);
    let ancestry = state.portal.ancestry(&r).await.map_err(portal_err)?;
    Ok(Json(ancestry).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ByRefsBody {
    entity_refs: Vec<String>,
    #[serde(default)]
    fields: Option<Vec<String>>,
    #[serde(default)]
    query: Option<Value>,
}

async fn post_by_refs(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    let params = Params::new(raw);
    let b: ByRefsBody = body::parse_batch(&headers, &bytes)?;
    let refs = b
        .entity_refs
        .iter()
        .map(|r| EntityRef::parse(r).map_err(input))
        .collect::<ApiResult<Vec<_>>>()?;
    let mut fields = b.fields.unwrap_or_default();
    fields.extend(params.list("fields"));
    let filter = match (predicate(b.query.as_ref())?, filter_param(&params)?) {
        (Some(a), Some(b)) => Some(EntityPredicate::All(vec![a, b])),
        (a, b) => a.or(b),
    };
    // The filter is applied to whole entities first, so projection cannot hide the uid it needs.
    let mut items = state
        .portal
        .entities_by_refs(&refs, &fields)
        .await
        .map_err(portal_err)?;
    if let Some(filter) = filter {
        let whole = state
            .portal
            .entities_by_refs(&refs, &[])
            .await
            .map_err(portal_err)?;
        let uids: Vec<String> = whole
            .iter()
            .flatten()
            .filter_map(|e| e.uid().map(str::to_string))
            .collect();
        let matching: HashSet<String> = if uids.is_empty() {
            HashSet::new()
        } else {
            let page = state
                .portal
                .query_entities(EntityQuery {
                    filter: Some(EntityPredicate::All(vec![
                        filter,
                        EntityPredicate::Field {
                            key: "metadata.uid".into(),
                            matcher: FieldMatch::In(uids.clone()),
                        },
                    ])),
                    limit: Some(uids.len()),
                    fields: vec!["metadata.uid".into()],
                    skip_total_items: true,
                    ..EntityQuery::default()
                })
                .await
                .map_err(portal_err)?;
            page.items
                .iter()
                .filter_map(|e| e.uid().map(str::to_string))
                .collect()
        };
        for (item, w) in items.iter_mut().zip(whole.iter()) {
            let keep = w
                .as_ref()
                .and_then(|e| e.uid())
                .is_some_and(|u| matching.contains(u));
            if !keep {
                *item = None;
            }
        }
    }
    Ok(Json(json!({ "items": items })).into_response())
}

// ---- facets ----

async fn get_facets(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let params = Params::new(raw);
    let facets = params.all("facet");
    let filter = filter_param(&params)?;
    let result = state
        .portal
        .facets(&facets, filter)
        .await
        .map_err(portal_err)?;
    Ok(Json(json!({ "facets": result })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FacetsBody {
    #[serde(default)]
    facets: Vec<String>,
    #[serde(default)]
    query: Option<Value>,
}

async fn post_facets(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    let b: FacetsBody = body::parse(&headers, &bytes, false)?;
    let filter = predicate(b.query.as_ref())?;
    let result = state
        .portal
        .facets(&b.facets, filter)
        .await
        .map_err(portal_err)?;
    Ok(Json(json!({ "facets": result })).into_response())
}

// ---- refresh ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RefreshBody {
    entity_ref: String,
    // Accepted for compatibility; our own credential check already ran.
    #[serde(default)]
    #[allow(dead_code)]
    authorization_token: Option<String>,
}

async fn post_refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    let b: RefreshBody = body::parse(&headers, &bytes, false)?;
    let r = EntityRef::parse(&b.entity_ref).map_err(input)?;
    state
        .portal
        .refresh(RefreshRequest {
            entity_ref: Some(r),
            progress: None,
            periodic: false,
        })
        .await
        .map_err(portal_err)?;
    Ok(StatusCode::OK.into_response())
}

// ---- locations ----

fn location_json(l: &LocationRecord) -> Value {
    json!({"id": l.id, "type": l.location_type, "target": l.target})
}

async fn get_locations(State(state): State<AppState>) -> ApiResult<Response> {
    let items: Vec<Value> = state
        .portal
        .locations()
        .await
        .map_err(portal_err)?
        .iter()
        .map(|l| json!({ "data": location_json(l) }))
        .collect();
    Ok(Json(items).into_response())
}

/// The static segment of `/locations/by-query`. Backstage's router reaches `/locations/:id` with this id for
/// the other methods; axum would answer 405 instead, so those methods are routed to the id handlers.
const BY_QUERY: &str = "by-query";

/// `POST /locations/by-query`: the registered locations, filtered and paged in memory (see
/// [`crate::locations`]).
async fn post_locations_by_query(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    let request: LocationQueryRequest = body::parse(&headers, &bytes, true)?;
    let parsed = request.parse().map_err(input)?;
    let locations = state.portal.locations().await.map_err(portal_err)?;
    let page = parsed.page(locations, state.settings.limits.max_page_limit);
    Ok(Json(page).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LocationBody {
    #[serde(rename = "type", default = "default_type")]
    location_type: String,
    target: String,
    /// `required` or `optional`; stored locations are always read, so it only needs to be valid.
    #[serde(default)]
    #[allow(dead_code)]
    presence: Option<Presence>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Presence {
    Required,
    Optional,
}

fn default_type() -> String {
    "url".into()
}

fn flag(params: &Params, key: &str) -> bool {
    params
        .first(key)
        .is_some_and(|v| v.is_empty() || v.eq_ignore_ascii_case("true"))
}

async fn post_location(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    let params = Params::new(raw);
    let dry_run = flag(&params, "dryRun");
    let on_conflict = params.first("onConflict").unwrap_or("reject");
    if on_conflict != "reject" && on_conflict != "refresh" {
        return Err(ApiError::input(format!(
            "Invalid onConflict '{on_conflict}', must be reject or refresh"
        )));
    }
    let b: LocationBody = body::parse_required(&headers, &bytes)?;
    let result = match state
        .portal
        .add_location(&b.location_type, &b.target, dry_run)
        .await
    {
        Err(PortalError::Conflict(_)) if on_conflict == "refresh" => {
            // Re-read the location, then report it as a dry run would.
            refresh_location(state.portal.as_ref(), &b.location_type, &b.target).await?;
            let mut result = state
                .portal
                .add_location(&b.location_type, &b.target, true)
                .await
                .map_err(portal_err)?;
            result.exists = Some(true);
            result
        }
        other => other.map_err(portal_err)?,
    };
    let mut out = json!({
        "location": location_json(&result.location),
        "entities": result.entities,
    });
    if let Some(exists) = result.exists {
        out["exists"] = json!(exists);
    }
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// Refreshes the registered root `type:target`: through one of its entities (a targeted refresh), or
/// everything when it holds none yet.
async fn refresh_location(portal: &dyn Portal, location_type: &str, target: &str) -> ApiResult<()> {
    let key = portal
        .locations()
        .await
        .map_err(portal_err)?
        .into_iter()
        .find(|l| l.location_type == location_type && l.target == target)
        .map(|l| l.key())
        .unwrap_or_else(|| format!("{location_type}:{target}"));
    let page = portal
        .query_entities(EntityQuery {
            filter: Some(EntityPredicate::Field {
                key: "metadata.annotations.backstage.io/managed-by-origin-location".into(),
                matcher: FieldMatch::In(vec![key]),
            }),
            limit: Some(1),
            skip_total_items: true,
            ..EntityQuery::default()
        })
        .await
        .map_err(portal_err)?;
    let entity_ref = page.items.first().map(Entity::entity_ref);
    portal
        .refresh(RefreshRequest {
            entity_ref,
            progress: None,
            periodic: false,
        })
        .await
        .map_err(portal_err)?;
    Ok(())
}

async fn get_location(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let l = state.portal.location(&id).await.map_err(portal_err)?;
    Ok(Json(location_json(&l)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PutLocationBody {
    #[serde(rename = "type")]
    location_type: String,
    target: String,
}

/// Replaces a registered location: same type and target answer the stored one; otherwise the old one is
/// removed (its entities with it) and the new one registered.
async fn put_location(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    let b: PutLocationBody = body::parse_required(&headers, &bytes)?;
    let existing = state.portal.location(&id).await.map_err(portal_err)?;
    if existing.location_type == b.location_type && existing.target == b.target {
        return Ok(Json(location_json(&existing)).into_response());
    }
    // Validate the new one before dropping the old.
    state
        .portal
        .add_location(&b.location_type, &b.target, true)
        .await
        .map_err(portal_err)?;
    state
        .portal
        .delete_location(&id)
        .await
        .map_err(portal_err)?;
    let result = state
        .portal
        .add_location(&b.location_type, &b.target, false)
        .await
        .map_err(portal_err)?;
    Ok(Json(location_json(&result.location)).into_response())
}

async fn delete_location(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    state
        .portal
        .delete_location(&id)
        .await
        .map_err(portal_err)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn get_location_by_entity(
    State(state): State<AppState>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let r = entity_ref(&kind, &namespace, &name);
    let entity = state
        .portal
        .entity_by_ref(&r)
        .await
        .map_err(portal_err)?
        .ok_or_else(|| not_found(&r))?;
    let origin = entity
        .annotation("backstage.io/managed-by-origin-location")
        .map(str::to_string);
    let locations = state.portal.locations().await.map_err(portal_err)?;
    let found = origin
        .as_deref()
        .and_then(|o| locations.iter().find(|l| l.key() == o));
    match (found, origin) {
        (Some(l), _) => Ok(Json(location_json(l)).into_response()),
        // A location from `catalog.locations` has no registered record; answer its key as Backstage's
        // config locations do (a stable id derived from the key).
        (None, Some(origin)) => {
            let (t, target) = origin.split_once(':').unwrap_or(("url", origin.as_str()));
            Ok(Json(json!({"id": origin, "type": t, "target": target})).into_response())
        }
        (None, None) => Err(PortalError::NotFound(format!(
            "Found no location for entity {}",
            r.canonical()
        ))
        .into()),
    }
}

// ---- analyze / validate ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LocationSpec {
    #[serde(rename = "type", default = "default_type")]
    location_type: String,
    target: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AnalyzeBody {
    location: LocationSpec,
    #[serde(default, alias = "catalogFileName")]
    #[allow(dead_code)]
    catalog_filename: Option<String>,
}

async fn post_analyze_location(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    let b: AnalyzeBody = body::parse_required(&headers, &bytes)?;
    let result = state
        .portal
        .add_location(&b.location.location_type, &b.location.target, true)
        .await
        .map_err(portal_err)?;
    let registered = result.exists.unwrap_or(false);
    // The Location entity generated for the root is ours, not something in the file.
    let files: Vec<Value> = result
        .entities
        .iter()
        .filter(|e| !(e.kind().eq_ignore_ascii_case("location") && e.name().starts_with("generated-")))
        .map(|e| {
            json!({
                "entity": e,
                "isRegistered": registered,
                "location": {"type": result.location.location_type, "target": result.location.target},
            })
        })
        .collect();
    Ok(Json(json!({"existingEntityFiles": files, "generateEntities": []})).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidateBody {
    entity: Value,
    location: String,
}

fn validation_errors(errors: Vec<(String, String)>) -> Response {
    let items: Vec<Value> = errors
        .into_iter()
        .map(|(name, message)| json!({"name": name, "message": message}))
        .collect();
    let mut response = (StatusCode::BAD_REQUEST, Json(json!({ "errors": items }))).into_response();
    // This route's 400 has its own body shape.
    response.extensions_mut().insert(Preformed);
    response
}

/// Every refusal, the body's included, is a 400 `{errors: [{name, message}]}` as Backstage answers here.
async fn post_validate_entity(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    let b: ValidateBody = match body::parse_required(&headers, &bytes) {
        Ok(b) => b,
        Err(e) => return Ok(validation_errors(vec![(e.name, e.message)])),
    };
    if !b.location.starts_with("url:") {
        return Ok(validation_errors(vec![(
            "TypeError".into(),
            format!(
                "Invalid location ref {}, only 'url:<target>' is supported, e.g. url:https://host/path",
                b.location
            ),
        )]));
    }
    match state.portal.validate_entity(b.entity).await {
        Ok(()) => Ok(StatusCode::OK.into_response()),
        Err(PortalError::Input(message)) => {
            Ok(validation_errors(vec![("InputError".into(), message)]))
        }
        Err(e) => Err(e.into()),
    }
}
