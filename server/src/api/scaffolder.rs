//! Backstage's scaffolder routes under `/api/scaffolder`, over the [`Portal`]'s templates and tasks:
//!
//! - `GET /v2/templates/:namespace/:kind/:name/parameter-schema`: the template's form pages;
//! - `GET /v2/actions`: the actions templates may use;
//! - `POST /v2/tasks` (`{templateRef, values, secrets?}`): 201 `{id}`, or 400 `{errors}` when the values fail
//!   the template's parameter schemas;
//! - `GET /v2/tasks?createdBy=&status=&limit=&offset=&order=`: `{tasks, totalTasks}`;
//! - `GET /v2/tasks/:id`, `POST /v2/tasks/:id/cancel` (`{status}`);
//! - `GET /v2/tasks/:id/eventstream?after=N` (server-sent events) and `GET /v2/tasks/:id/events?after=N`
//!   (long poll), see [`events`];
//! - `POST /v2/dry-run` (`{template, values, secrets?, directoryContents}`).
//!
//! The caller recorded on a task (`spec.user`, `createdBy`) is the authenticated subject when it names a
//! user entity (`user:default/jane`), never anything the body says; the caller's token is not stored (Backstage
//! keeps it as the `backstageToken` secret for actions that call back into the backend; none of ours do).
//! Bodies are checked field by field so a wrong one is refused with a 400 naming the field.

mod events;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use base64::Engine as _;
use serde_json::{json, Map, Value};
use stagedoor_core::portal::Portal;
use stagedoor_core::scaffolder::{
    DryRunInputFile, DryRunRequest, TaskQuery, TaskRequest, TaskStatus, TaskUser,
};
use stagedoor_core::{EntityRef, PortalError};

use super::auth::Caller;
use super::body;
use super::errors::ApiError;
use super::ApiSettings;

type ApiResult<T> = Result<T, ApiError>;

#[derive(Clone)]
struct AppState {
    portal: Arc<dyn Portal>,
    settings: Arc<ApiSettings>,
}

pub fn routes(portal: Arc<dyn Portal>, settings: Arc<ApiSettings>) -> Router {
    Router::new()
        .route(
            "/v2/templates/{namespace}/{kind}/{name}/parameter-schema",
            get(get_parameter_schema),
        )
        .route("/v2/actions", get(get_actions))
        .route("/v2/tasks", post(post_task).get(get_tasks))
        .route("/v2/tasks/{id}", get(get_task))
        .route("/v2/tasks/{id}/cancel", post(post_cancel))
        .route("/v2/tasks/{id}/eventstream", get(events::get_eventstream))
        .route("/v2/tasks/{id}/events", get(events::get_events))
        .route("/v2/dry-run", post(post_dry_run))
        .with_state(AppState { portal, settings })
}

/// Backstage's answer for a task id that names no task.
fn task_not_found(id: &str) -> ApiError {
    PortalError::NotFound(format!("Task with id {id} does not exist")).into()
}

/// 404 unless the task exists (checked before streaming or cancelling, so the answer is a plain 404).
async fn require_task(portal: &dyn Portal, id: &str) -> ApiResult<()> {
    match portal.task(id).await? {
        Some(_) => Ok(()),
        None => Err(task_not_found(id)),
    }
}

// ---- templates and actions ----

async fn get_parameter_schema(
    State(state): State<AppState>,
    Path((namespace, kind, name)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let template = EntityRef::new(&kind, &namespace, &name);
    Ok(Json(state.portal.parameter_schema(&template).await?).into_response())
}

async fn get_actions(State(state): State<AppState>) -> ApiResult<Response> {
    Ok(Json(state.portal.scaffolder_actions().await?).into_response())
}

// ---- bodies ----

fn field_error(field: &str, why: &str) -> ApiError {
    ApiError::input(format!("Invalid request body: {field} {why}"))
}

/// `secrets`: absent, null, or an object of strings.
fn secrets_field(map: &Map<String, Value>) -> ApiResult<Option<BTreeMap<String, String>>> {
    match map.get("secrets") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(items)) => items
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(field_error(&format!("secrets.{k}"), "must be a string")),
            })
            .collect::<ApiResult<BTreeMap<_, _>>>()
            .map(Some),
        Some(_) => Err(field_error("secrets", "must be an object of strings")),
    }
}

/// `values`: an object; absent or null is `{}` (a template without parameters).
fn values_field(map: &Map<String, Value>) -> ApiResult<Value> {
    match map.get("values") {
        None | Some(Value::Null) => Ok(Value::Object(Map::new())),
        Some(v @ Value::Object(_)) => Ok(v.clone()),
        Some(_) => Err(field_error("values", "must be an object")),
    }
}

/// `templateRef`, as Backstage reads it: `parseEntityRef(ref, {defaultKind: 'template'})`, and it must name
/// a Template.
fn template_ref_field(map: &Map<String, Value>) -> ApiResult<String> {
    let text = match map.get("templateRef") {
        Some(Value::String(s)) => s,
        None | Some(Value::Null) => return Err(field_error("templateRef", "is required")),
        Some(_) => return Err(field_error("templateRef", "must be a string")),
    };
    let parsed = EntityRef::parse_with_defaults(text, Some("template"), "default")
        .map_err(|e| ApiError::input(format!("Invalid templateRef: {e}")))?;
    if !parsed.kind.eq_ignore_ascii_case("template") {
        return Err(ApiError::input(format!(
            "Invalid templateRef: {text} is not a Template (kind '{}')",
            parsed.kind
        )));
    }
    Ok(parsed.canonical())
}

/// Backstage refuses a dry-run file whose path would leave the workspace with `NotAllowedError`; the engine
/// checks again where it writes, this refuses the request before anything runs.
fn check_dry_run_path(index: usize, path: &str) -> ApiResult<()> {
    let escapes = path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path.contains('\0')
        || (path.len() > 1 && path.as_bytes()[1] == b':')
        || path.split('/').any(|s| s == "..");
    if escapes {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "NotAllowedError",
            format!(
                "directoryContents[{index}].path: Relative path is not allowed to refer to a directory outside its parent: {path}"
            ),
        ));
    }
    Ok(())
}

fn directory_contents_field(map: &Map<String, Value>) -> ApiResult<Vec<DryRunInputFile>> {
    let items = match map.get("directoryContents") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(field_error("directoryContents", "must be a list")),
    };
    let mut files = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("directoryContents[{i}]");
        let text = |key: &str| -> ApiResult<String> {
            item.get(key)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| field_error(&format!("{at}.{key}"), "must be a string"))
        };
        let path = text("path")?;
        let content = text("base64Content")?;
        check_dry_run_path(i, &path)?;
        if base64::engine::general_purpose::STANDARD
            .decode(&content)
            .is_err()
        {
            return Err(field_error(&format!("{at}.base64Content"), "is not base64"));
        }
        files.push(DryRunInputFile {
            path,
            base64_content: content,
        });
    }
    Ok(files)
}

// ---- the caller ----

/// The user a task runs for: the subject when it is a user entity ref (the portal adds its entity).
fn task_user(caller: Option<&Caller>) -> Option<TaskUser> {
    let subject = caller.and_then(|c| c.subject.as_deref())?;
    match EntityRef::parse(subject) {
        Ok(r) if r.kind.eq_ignore_ascii_case("user") => Some(TaskUser {
            entity: None,
            user_ref: Some(r.canonical()),
        }),
        _ => None,
    }
}

// ---- tasks ----

async fn post_task(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    let map = body::json_object(&headers, &bytes, false)?;
    let request = TaskRequest {
        template_ref: template_ref_field(&map)?,
        values: values_field(&map)?,
        secrets: secrets_field(&map)?,
        user: task_user(caller.as_deref()),
    };
    let id = state.portal.create_task(request).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

fn invalid_param(param: &str, why: &str) -> ApiError {
    ApiError::input(format!("Invalid query string: {param} {why}"))
}

/// A non-negative integer written exactly as its number.
fn count_param(param: &str, text: &str) -> ApiResult<u64> {
    match text.parse::<u64>() {
        Ok(n) if n.to_string() == text => Ok(n),
        _ => Err(invalid_param(param, "must be a non-negative integer")),
    }
}

/// `GET /v2/tasks`'s query: `createdBy` and `status` may repeat in Backstage's client (`status` is a list
/// here; `createdBy` one user), `limit` is clamped to the server's page limit.
pub(crate) fn parse_task_query(raw: &str, max_limit: u64) -> ApiResult<TaskQuery> {
    let mut query = TaskQuery::default();
    for (key, value) in url::form_urlencoded::parse(raw.as_bytes()) {
        let once = |taken: bool| {
            if taken {
                Err(invalid_param(&key, "must be given once"))
            } else {
                Ok(())
            }
        };
        match key.as_ref() {
            "createdBy" => {
                once(query.created_by.is_some())?;
                query.created_by = Some(value.into_owned());
            }
            "status" => {
                for s in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let status = TaskStatus::parse(s).ok_or_else(|| {
                        invalid_param(
                            "status",
                            &format!(
                                "'{s}' is not one of open, processing, completed, failed, cancelled"
                            ),
                        )
                    })?;
                    if !query.status.contains(&status) {
                        query.status.push(status);
                    }
                }
            }
            "limit" => {
                once(query.limit.is_some())?;
                query.limit = Some(count_param("limit", &value)?.min(max_limit));
            }
            "offset" => {
                once(query.offset.is_some())?;
                query.offset = Some(count_param("offset", &value)?);
            }
            "order" => {
                once(query.order.is_some())?;
                let (direction, field) = value.split_once(':').unwrap_or(("", ""));
                if !matches!(direction, "asc" | "desc") || field.is_empty() {
                    return Err(invalid_param(
                        "order",
                        "must be asc:<field> or desc:<field>",
                    ));
                }
                query.order = Some(value.into_owned());
            }
            _ => {}
        }
    }
    Ok(query)
}

async fn get_tasks(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let max = u64::try_from(state.settings.limits.max_page_limit).unwrap_or(u64::MAX);
    let query = parse_task_query(raw.as_deref().unwrap_or(""), max)?;
    Ok(Json(state.portal.list_tasks(query).await?).into_response())
}

async fn get_task(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    match state.portal.task(&id).await? {
        Some(task) => Ok(Json(task).into_response()),
        None => Err(task_not_found(&id)),
    }
}

async fn post_cancel(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    require_task(state.portal.as_ref(), &id).await?;
    let status = state.portal.cancel_task(&id).await?;
    Ok(Json(json!({ "status": status })).into_response())
}

// ---- dry run ----

async fn post_dry_run(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    let map = body::json_object(&headers, &bytes, false)?;
    let template = match map.get("template") {
        Some(t @ Value::Object(_)) => t.clone(),
        None | Some(Value::Null) => return Err(field_error("template", "is required")),
        Some(_) => {
            return Err(field_error(
                "template",
                "must be an object (a Template entity)",
            ))
        }
    };
    let request = DryRunRequest {
        template,
        values: values_field(&map)?,
        secrets: secrets_field(&map)?,
        directory_contents: directory_contents_field(&map)?,
        user: task_user(caller.as_deref()),
    };
    Ok(Json(state.portal.dry_run(request).await?).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(e: ApiError) -> String {
        e.message
    }

    #[test]
    fn task_queries_parse_and_name_bad_parameters() {
        let q = parse_task_query(
            "createdBy=user%3Adefault%2Fjane&status=open&status=failed,completed&limit=5&offset=10&order=desc:created_at",
            100,
        )
        .unwrap();
        assert_eq!(q.created_by.as_deref(), Some("user:default/jane"));
        assert_eq!(
            q.status,
            vec![TaskStatus::Open, TaskStatus::Failed, TaskStatus::Completed]
        );
        assert_eq!((q.limit, q.offset), (Some(5), Some(10)));
        assert_eq!(q.order.as_deref(), Some("desc:created_at"));
        assert_eq!(parse_task_query("limit=500", 100).unwrap().limit, Some(100));
        assert_eq!(parse_task_query("", 100).unwrap(), TaskQuery::default());
        for (raw, named) in [
            ("limit=ten", "limit"),
            ("limit=-1", "limit"),
            ("limit=01", "limit"),
            ("offset=x", "offset"),
            ("status=done", "status"),
            ("order=sideways", "order"),
            ("createdBy=a&createdBy=b", "createdBy"),
        ] {
            let m = message(parse_task_query(raw, 100).unwrap_err());
            assert!(m.contains(named), "{raw}: {m}");
        }
    }

    #[test]
    fn template_refs_default_to_templates() {
        let map = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(
            template_ref_field(&map(json!({"templateRef": "x"}))).unwrap(),
            "template:default/x"
        );
        assert_eq!(
            template_ref_field(&map(json!({"templateRef": "Template:Ns/X"}))).unwrap(),
            "template:ns/x"
        );
        for bad in [
            json!({}),
            json!({"templateRef": 3}),
            json!({"templateRef": ""}),
            json!({"templateRef": "component:default/x"}),
            json!({"templateRef": "template:/x"}),
        ] {
            let m = message(template_ref_field(&map(bad.clone())).unwrap_err());
            assert!(m.contains("templateRef"), "{bad}: {m}");
        }
    }

    #[test]
    fn dry_run_paths_that_leave_the_workspace_are_not_allowed() {
        for ok in ["a.txt", "dir/b.txt", "./c", "a..b/c"] {
            assert!(check_dry_run_path(0, ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a\\..\\x",
            "C:/x",
            "a\0b",
        ] {
            let e = check_dry_run_path(2, bad).unwrap_err();
            assert_eq!(e.status, StatusCode::FORBIDDEN, "{bad:?}");
            assert!(e.message.contains("directoryContents[2].path"), "{bad:?}");
        }
    }

    #[test]
    fn bodies_name_the_wrong_field() {
        let map = |v: Value| v.as_object().unwrap().clone();
        let m = message(values_field(&map(json!({"values": [1]}))).unwrap_err());
        assert!(m.contains("values"), "{m}");
        let m = message(secrets_field(&map(json!({"secrets": {"a": 1}}))).unwrap_err());
        assert!(m.contains("secrets.a"), "{m}");
        let m = message(
            directory_contents_field(&map(
                json!({"directoryContents": [{"path": "a", "base64Content": "!!"}]}),
            ))
            .unwrap_err(),
        );
        assert!(m.contains("directoryContents[0].base64Content"), "{m}");
        assert_eq!(
            values_field(&map(json!({}))).unwrap(),
            json!({}),
            "absent values are an empty object"
        );
    }
}
