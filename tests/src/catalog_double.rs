//! A test double of Backstage's catalog REST API: real HTTP (axum on 127.0.0.1:0) over any [`Portal`], with
//! Backstage's routes, bodies, status codes and error bodies, so `HttpPortal` can be contract-tested before
//! (and independently of) stagedoor's own server.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use stagedoor_core::portal::RefreshRequest;
use stagedoor_core::store::{EntityPredicate, EntityQuery, FullTextFilter, OrderField};
use stagedoor_core::{EntityRef, Portal, PortalError};

type Shared = Arc<dyn Portal>;

/// A `PortalError` rendered as Backstage's error middleware renders it.
struct ApiError(PortalError);

impl From<PortalError> for ApiError {
    fn from(e: PortalError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({
            "error": {"name": self.0.name(), "message": self.0.message()},
            "request": {},
            "response": {"statusCode": status.as_u16()},
        });
        (status, Json(body)).into_response()
    }
}

type ApiResult = Result<Response, ApiError>;

fn input(message: impl Into<String>) -> ApiError {
    ApiError(PortalError::Input(message.into()))
}

fn params(query: &Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn parse_ref(kind: &str, namespace: &str, name: &str) -> EntityRef {
    EntityRef::new(kind, namespace, name)
}

fn string_list(v: Option<&Value>) -> Result<Vec<String>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| input("Expected a list of strings"))
            })
            .collect(),
        Some(_) => Err(input("Expected a list of strings")),
    }
}

fn predicate(v: Option<&Value>) -> Result<Option<EntityPredicate>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => Ok(Some(
            EntityPredicate::from_json(v).map_err(|e| ApiError(e.into()))?,
        )),
    }
}

/// The POST `/entities/by-query` body, as Backstage's router reads it.
fn query_from_body(body: &Value) -> Result<EntityQuery, ApiError> {
    let number = |key: &str| -> Result<Option<usize>, ApiError> {
        match body.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(|n| Some(n as usize))
                .ok_or_else(|| input(format!("Invalid {key}"))),
        }
    };
    let order_fields: Vec<OrderField> = match body.get("orderBy") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(_)) => serde_json::from_value(body["orderBy"].clone())
            .map_err(|e| input(format!("Invalid orderBy: {e}")))?,
        Some(one) => vec![serde_json::from_value(one.clone())
            .map_err(|e| input(format!("Invalid orderBy: {e}")))?],
    };
    let full_text: Option<FullTextFilter> = match body.get("fullTextFilter") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            serde_json::from_value(v.clone())
                .map_err(|e| input(format!("Invalid fullTextFilter: {e}")))?,
        ),
    };
    Ok(EntityQuery {
        filter: predicate(body.get("query"))?,
        order_fields,
        full_text,
        limit: number("limit")?,
        offset: number("offset")?,
        cursor: body
            .get("cursor")
            .and_then(Value::as_str)
            .map(str::to_string),
        fields: string_list(body.get("fields"))?,
        skip_total_items: body.get("totalItems").and_then(Value::as_str) == Some("exclude"),
    })
}

/// The GET `/entities/by-query` parameters, as Backstage's router reads them.
fn query_from_params(params: &[(String, String)]) -> Result<EntityQuery, ApiError> {
    let all = |key: &str| -> Vec<String> {
        params
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let one = |key: &str| all(key).into_iter().next();
    let list = |key: &str| -> Vec<String> {
        all(key)
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect()
    };
    let number = |key: &str| -> Result<Option<usize>, ApiError> {
        one(key)
            .map(|v| v.parse().map_err(|_| input(format!("Invalid {key}"))))
            .transpose()
    };
    let mut order_fields = Vec::new();
    for spec in all("orderField") {
        let (field, order) = spec.split_once(',').unwrap_or((spec.as_str(), "asc"));
        order_fields.push(OrderField {
            field: field.to_string(),
            order: serde_json::from_value(json!(order))
                .map_err(|_| input(format!("Invalid order field order, got {order}")))?,
        });
    }
    let full_text = one("fullTextFilterTerm").map(|term| FullTextFilter {
        term,
        fields: list("fullTextFilterFields"),
    });
    Ok(EntityQuery {
        filter: EntityPredicate::from_filter_params(&all("filter"))
            .map_err(|e| ApiError(e.into()))?,
        order_fields,
        full_text,
        limit: number("limit")?,
        offset: number("offset")?,
        cursor: one("cursor"),
        fields: list("fields"),
        skip_total_items: one("totalItems").as_deref() == Some("exclude"),
    })
}

async fn by_query_get(State(p): State<Shared>, RawQuery(q): RawQuery) -> ApiResult {
    let page = p.query_entities(query_from_params(&params(&q))?).await?;
    Ok(Json(page).into_response())
}

async fn by_query(State(p): State<Shared>, Json(body): Json<Value>) -> ApiResult {
    let page = p.query_entities(query_from_body(&body)?).await?;
    Ok(Json(page).into_response())
}

async fn by_name(
    State(p): State<Shared>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> ApiResult {
    match p
        .entity_by_ref(&parse_ref(&kind, &namespace, &name))
        .await?
    {
        Some(e) => Ok(Json(e).into_response()),
        None => Err(ApiError(PortalError::NotFound(format!(
            "No entity named '{name}' found, with kind '{kind}' in namespace '{namespace}'"
        )))),
    }
}

async fn ancestry(
    State(p): State<Shared>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> ApiResult {
    let a = p.ancestry(&parse_ref(&kind, &namespace, &name)).await?;
    Ok(Json(a).into_response())
}

async fn by_uid(State(p): State<Shared>, Path(uid): Path<String>) -> ApiResult {
    match p.entity_by_uid(&uid).await? {
        Some(e) => Ok(Json(e).into_response()),
        None => Err(ApiError(PortalError::NotFound(format!(
            "No entity with uid {uid}"
        )))),
    }
}

async fn delete_by_uid(State(p): State<Shared>, Path(uid): Path<String>) -> ApiResult {
    p.delete_entity_by_uid(&uid).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn by_refs(State(p): State<Shared>, Json(body): Json<Value>) -> ApiResult {
    let refs = string_list(body.get("entityRefs"))?
        .iter()
        .map(|r| EntityRef::parse(r).map_err(|e| input(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let fields = string_list(body.get("fields"))?;
    let items = p.entities_by_refs(&refs, &fields).await?;
    Ok(Json(json!({ "items": items })).into_response())
}

async fn facets_get(State(p): State<Shared>, RawQuery(q): RawQuery) -> ApiResult {
    let params = params(&q);
    let facets: Vec<String> = params
        .iter()
        .filter(|(k, _)| k == "facet")
        .map(|(_, v)| v.clone())
        .collect();
    let filters: Vec<String> = params
        .iter()
        .filter(|(k, _)| k == "filter")
        .map(|(_, v)| v.clone())
        .collect();
    let filter = EntityPredicate::from_filter_params(&filters).map_err(|e| ApiError(e.into()))?;
    let facets = p.facets(&facets, filter).await?;
    Ok(Json(json!({ "facets": facets })).into_response())
}

async fn facets_post(State(p): State<Shared>, Json(body): Json<Value>) -> ApiResult {
    let facets = string_list(body.get("facets"))?;
    let facets = p.facets(&facets, predicate(body.get("query"))?).await?;
    Ok(Json(json!({ "facets": facets })).into_response())
}

async fn refresh(State(p): State<Shared>, Json(body): Json<Value>) -> ApiResult {
    let text = body
        .get("entityRef")
        .and_then(Value::as_str)
        .ok_or_else(|| input("Missing entityRef"))?;
    let entity_ref = EntityRef::parse(text).map_err(|e| input(e.to_string()))?;
    p.refresh(RefreshRequest {
        entity_ref: Some(entity_ref),
        progress: None,
    })
    .await?;
    Ok(StatusCode::OK.into_response())
}

async fn locations(State(p): State<Shared>) -> ApiResult {
    let items: Vec<Value> = p
        .locations()
        .await?
        .into_iter()
        .map(|l| json!({ "data": l }))
        .collect();
    Ok(Json(items).into_response())
}

async fn add_location(
    State(p): State<Shared>,
    RawQuery(q): RawQuery,
    Json(body): Json<Value>,
) -> ApiResult {
    let dry_run = params(&q).iter().any(|(k, v)| k == "dryRun" && v == "true");
    let field = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| input(format!("Malformed request: missing {k}")))
    };
    let result = p
        .add_location(&field("type")?, &field("target")?, dry_run)
        .await?;
    Ok((StatusCode::CREATED, Json(result)).into_response())
}

async fn location(State(p): State<Shared>, Path(id): Path<String>) -> ApiResult {
    Ok(Json(p.location(&id).await?).into_response())
}

async fn delete_location(State(p): State<Shared>, Path(id): Path<String>) -> ApiResult {
    p.delete_location(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn validate(State(p): State<Shared>, Json(body): Json<Value>) -> ApiResult {
    let location = body.get("location").and_then(Value::as_str).unwrap_or("");
    if !location.starts_with("url:") {
        return Err(input("Invalid location ref, only url: is supported"));
    }
    let entity = body.get("entity").cloned().unwrap_or(Value::Null);
    match p.validate_entity(entity).await {
        Ok(()) => Ok(StatusCode::OK.into_response()),
        Err(e) => Ok((
            StatusCode::BAD_REQUEST,
            Json(json!({"errors": [{"name": e.name(), "message": e.message()}]})),
        )
            .into_response()),
    }
}

/// Backstage's catalog routes under `/api/catalog`, served by `portal`.
pub fn router(portal: Arc<dyn Portal>) -> Router {
    let catalog = Router::new()
        .route("/entities/by-query", get(by_query_get).post(by_query))
        .route("/entities/by-name/{kind}/{namespace}/{name}", get(by_name))
        .route(
            "/entities/by-name/{kind}/{namespace}/{name}/ancestry",
            get(ancestry),
        )
        .route("/entities/by-uid/{uid}", get(by_uid).delete(delete_by_uid))
        .route("/entities/by-refs", post(by_refs))
        .route("/entity-facets", get(facets_get).post(facets_post))
        .route("/refresh", post(refresh))
        .route("/locations", get(locations).post(add_location))
        .route("/locations/{id}", get(location).delete(delete_location))
        .route("/validate-entity", post(validate))
        .with_state(portal);
    Router::new().nest("/api/catalog", catalog)
}

/// Serves `router` on 127.0.0.1 at a free port; returns the base URL (`http://127.0.0.1:<port>`).
pub async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}
