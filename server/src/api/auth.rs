//! Default-deny auth for `/api/*`, configured as Backstage configures it: `backend.auth.externalAccess[]`
//! entries of `type: static` with `options: {token, subject}` and optional `accessRestrictions`
//! (`[{plugin, permission?, permissionAttribute?: {action?}}]`). Tokens are compared in constant time and
//! never logged; `backend.auth.dangerouslyDisableDefaultAuthPolicy: true` lets every request through.
//! JWT callers (`type: legacy` and `type: jwks`) are verified by [`super::external`] and restricted the
//! same way.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use stagedoor_core::config::Config;
use stagedoor_core::PortalError;
use subtle::ConstantTimeEq;

use super::errors::ApiError;
use super::external::Verified;
use super::ApiSettings;

/// One `accessRestrictions` entry.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AccessRestriction {
    pub plugin: String,
    /// Permission names allowed (`catalog.entity.read`, ...); `None` allows all of the plugin's.
    pub permissions: Option<Vec<String>>,
    /// `permissionAttribute.action` values allowed (`read`, `create`, `update`, `delete`); `None` allows all.
    pub actions: Option<Vec<String>>,
}

/// One static token.
#[derive(Clone, PartialEq, Eq)]
pub struct StaticToken {
    pub token: String,
    pub subject: String,
    /// `None`: unrestricted.
    pub restrictions: Option<Vec<AccessRestriction>>,
}

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticToken")
            .field("token", &"<redacted>")
            .field("subject", &self.subject)
            .field("restrictions", &self.restrictions)
            .finish()
    }
}

/// Who may call `/api/*`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthPolicy {
    /// `dangerouslyDisableDefaultAuthPolicy`.
    pub disabled: bool,
    pub tokens: Vec<StaticToken>,
}

fn bad(message: String) -> PortalError {
    PortalError::Input(message)
}

fn string_list(value: &Value, at: &str) -> Result<Vec<String>, PortalError> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad(format!("{at} must be a string or a list of strings")))
            })
            .collect(),
        _ => Err(bad(format!("{at} must be a string or a list of strings"))),
    }
}

fn restriction(value: &Value, at: &str) -> Result<AccessRestriction, PortalError> {
    let plugin = value
        .get("plugin")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("{at}.plugin must be a string")))?;
    let permissions = value
        .get("permission")
        .map(|v| string_list(v, &format!("{at}.permission")))
        .transpose()?;
    let actions = value
        .get("permissionAttribute")
        .and_then(|a| a.get("action"))
        .map(|v| string_list(v, &format!("{at}.permissionAttribute.action")))
        .transpose()?;
    Ok(AccessRestriction {
        plugin: plugin.to_string(),
        permissions,
        actions,
    })
}

/// An entry's `accessRestrictions` (`None`: unrestricted); `at` names the entry in errors.
pub(super) fn access_restrictions(
    entry: &Value,
    at: &str,
) -> Result<Option<Vec<AccessRestriction>>, PortalError> {
    match entry.get("accessRestrictions") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(j, r)| restriction(r, &format!("{at}.accessRestrictions[{j}]")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(bad(format!("{at}.accessRestrictions must be a list"))),
    }
}

impl AuthPolicy {
    /// Reads `backend.auth`'s static tokens; `legacy` and `jwks` entries are read by
    /// [`ExternalAccess`](super::ExternalAccess), other types are skipped with a warning.
    pub fn from_config(config: &Config) -> Result<AuthPolicy, PortalError> {
        let disabled = matches!(
            config.get("backend.auth.dangerouslyDisableDefaultAuthPolicy"),
            Some(Value::Bool(true))
        );
        let mut tokens = Vec::new();
        let entries = match config.get("backend.auth.externalAccess") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(items)) => items.as_slice(),
            Some(_) => return Err(bad("backend.auth.externalAccess must be a list".into())),
        };
        for (i, entry) in entries.iter().enumerate() {
            let at = format!("backend.auth.externalAccess[{i}]");
            match entry.get("type").and_then(Value::as_str) {
                Some("static") => {}
                Some("legacy" | "jwks") => continue,
                _ => {
                    tracing::warn!(
                        "{at}: only types 'static', 'legacy' and 'jwks' are supported; entry ignored"
                    );
                    continue;
                }
            }
            let options = entry.get("options");
            let token = options
                .and_then(|o| o.get("token"))
                .and_then(Value::as_str)
                .ok_or_else(|| bad(format!("{at}.options.token must be a string")))?;
            // Backstage's StaticTokenHandler checks, in its order and words.
            if token.is_empty() || token.chars().any(char::is_whitespace) {
                return Err(bad(format!(
                    "{at}: Illegal token, must be a set of non-space characters"
                )));
            }
            if token.len() < 8 {
                return Err(bad(format!(
                    "{at}: Illegal token, must be at least 8 characters length"
                )));
            }
            let subject = options
                .and_then(|o| o.get("subject"))
                .and_then(Value::as_str)
                .ok_or_else(|| bad(format!("{at}.options.subject must be a string")))?;
            if subject.is_empty() || subject.chars().any(char::is_whitespace) {
                return Err(bad(format!(
                    "{at}: Illegal subject, must be a set of non-space characters"
                )));
            }
            if tokens.iter().any(|t: &StaticToken| t.token == token) {
                return Err(bad(
                    "Static externalAccess token was declared more than once".into(),
                ));
            }
            let restrictions = access_restrictions(entry, &at)?;
            tokens.push(StaticToken {
                token: token.to_string(),
                subject: subject.to_string(),
                restrictions,
            });
        }
        Ok(AuthPolicy { disabled, tokens })
    }

    /// The token matching `presented`, checking every entry so timing does not tell which one matched.
    fn find(&self, presented: &str) -> Option<&StaticToken> {
        let mut found = None;
        for t in &self.tokens {
            if bool::from(t.token.as_bytes().ct_eq(presented.as_bytes())) {
                found = Some(t);
            }
        }
        found
    }
}

/// The catalog permission and action a request needs, following Backstage's catalog permissions.
fn catalog_permission(method: &Method, path: &str) -> (&'static str, &'static str) {
    let rest = path.strip_prefix("/api/catalog").unwrap_or(path);
    if rest == "/refresh" && method == Method::POST {
        ("catalog.entity.refresh", "update")
    } else if rest.starts_with("/entities/by-uid/") && method == Method::DELETE {
        ("catalog.entity.delete", "delete")
    } else if rest == "/locations" && method == Method::POST {
        ("catalog.location.create", "create")
    } else if rest.starts_with("/locations/") && method == Method::PUT {
        ("catalog.location.create", "update")
    } else if rest.starts_with("/locations/") && method == Method::DELETE {
        ("catalog.location.delete", "delete")
    } else if rest.starts_with("/locations") {
        ("catalog.location.read", "read")
    } else if rest == "/validate-entity" || rest == "/analyze-location" {
        ("catalog.entity.create", "create")
    } else {
        ("catalog.entity.read", "read")
    }
}

/// The scaffolder permission and action a request needs, named as Backstage's scaffolder permissions:
/// starting a task (or a dry run, which runs the template's actions too) is `scaffolder.task.create`,
/// cancelling one `scaffolder.task.cancel`, reading tasks and their events `scaffolder.task.read`, and
/// reading templates' forms and the action list `scaffolder.template.parameter.read`. The bool says
/// whether it is a read, which a token allowed the catalog's entity reads may also do.
fn scaffolder_permission(method: &Method, path: &str) -> (&'static str, &'static str, bool) {
    let rest = path.strip_prefix("/api/scaffolder").unwrap_or(path);
    let write = method != Method::GET && method != Method::HEAD;
    if write && rest.starts_with("/v2/tasks/") && rest.ends_with("/cancel") {
        ("scaffolder.task.cancel", "update", false)
    } else if write {
        ("scaffolder.task.create", "create", false)
    } else if rest.starts_with("/v2/tasks") {
        ("scaffolder.task.read", "read", true)
    } else {
        ("scaffolder.template.parameter.read", "read", true)
    }
}

/// Who called, for handlers that record it (the scaffolder's `createdBy`): the credentials' subject,
/// `None` for an anonymous caller let through by `dangerouslyDisableDefaultAuthPolicy`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Caller {
    pub subject: Option<String>,
}

fn allowed(
    restrictions: &[AccessRestriction],
    plugin: &str,
    permission: &str,
    action: &str,
) -> bool {
    restrictions.iter().any(|r| {
        r.plugin == plugin
            && r.permissions
                .as_ref()
                .is_none_or(|p| p.iter().any(|p| p == permission))
            && r.actions
                .as_ref()
                .is_none_or(|a| a.iter().any(|a| a == action))
    })
}

fn unauthenticated(message: &str) -> Response {
    ApiError::new(StatusCode::UNAUTHORIZED, "AuthenticationError", message).into_response()
}

/// Middleware on `/api/*`.
pub async fn require_credentials(
    State(settings): State<Arc<ApiSettings>>,
    mut request: Request,
    next: Next,
) -> Response {
    let policy = &settings.auth;
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    // `Bearer <token>`, case-insensitive scheme, one or more spaces, a token without spaces.
    let bearer = header.and_then(|h| {
        let (scheme, token) = h.split_once(' ')?;
        let token = token.trim_start_matches(' ');
        (scheme.eq_ignore_ascii_case("bearer")
            && !token.is_empty()
            && !token.chars().any(char::is_whitespace))
        .then_some(token)
    });
    // A token that is sent must be valid even when anonymous requests are allowed, as in Backstage.
    let caller = match bearer {
        Some(t) => match policy.find(t) {
            Some(found) => Some(Verified {
                subject: found.subject.clone(),
                restrictions: found.restrictions.as_deref(),
            }),
            None => match settings.external.verify(t).await {
                Ok(Some(verified)) => Some(verified),
                Ok(None) => return unauthenticated("Illegal token"),
                Err(message) => return unauthenticated(&message),
            },
        },
        None if policy.disabled => None,
        None => return unauthenticated("Missing credentials"),
    };
    request.extensions_mut().insert(Caller {
        subject: caller.as_ref().map(|c| c.subject.clone()),
    });
    if let Some(Verified {
        subject,
        restrictions: Some(restrictions),
    }) = caller
    {
        let plugins: Vec<String> = restrictions
            .iter()
            .map(|r| format!("'{}'", r.plugin))
            .collect();
        let path = request.uri().path();
        // Docs and search answer catalog entities (search's documents have `catalog.entity.read` as their
        // visibility permission in Backstage), so they take what reading entities takes: a token restricted
        // to the catalog's entity reads may use them, and so may one restricted to the plugin itself (with
        // its own permission or the entity read). Any other restriction is refused rather than answered
        // with what it may not read.
        const ENTITY_READERS: [(&str, &str, &str); 2] = [
            ("/api/techdocs", "techdocs", "techdocs.entity.read"),
            ("/api/search", "search", "search.query"),
        ];
        for (prefix, plugin, own) in ENTITY_READERS {
            if path != prefix && !path.starts_with(&format!("{prefix}/")) {
                continue;
            }
            let permission = "catalog.entity.read";
            if allowed(restrictions, plugin, own, "read")
                || allowed(restrictions, plugin, permission, "read")
                || allowed(restrictions, "catalog", permission, "read")
            {
                return next.run(request).await;
            }
            tracing::info!(%subject, permission, "access restricted");
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "NotAllowedError",
                format!("This token's access restrictions do not permit {permission}"),
            )
            .into_response();
        }
        if path == "/api/scaffolder" || path.starts_with("/api/scaffolder/") {
            let (permission, action, read) = scaffolder_permission(request.method(), path);
            let entity_read = "catalog.entity.read";
            if allowed(restrictions, "scaffolder", permission, action)
                || (read && allowed(restrictions, "catalog", entity_read, "read"))
            {
                return next.run(request).await;
            }
            tracing::info!(%subject, permission, "access restricted");
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "NotAllowedError",
                format!("This token's access restrictions do not permit {permission}"),
            )
            .into_response();
        }
        if !restrictions.iter().any(|r| r.plugin == "catalog") {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "NotAllowedError",
                format!(
                    "This token's access is restricted to plugin(s) {}",
                    plugins.join(", ")
                ),
            )
            .into_response();
        }
        let (permission, action) = catalog_permission(request.method(), request.uri().path());
        if !allowed(restrictions, "catalog", permission, action) {
            tracing::info!(%subject, permission, "access restricted");
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "NotAllowedError",
                format!("This token's access restrictions do not permit {permission}"),
            )
            .into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_static_tokens_and_restrictions() {
        let config = Config::from_value(
            json!({"backend": {"auth": {"externalAccess": [
                {"type": "static", "options": {"token": "abcdefgh12", "subject": "ci"}},
                {"type": "legacy", "options": {"secret": "x"}},
                {"type": "static", "options": {"token": "readonly-token", "subject": "ro"},
                 "accessRestrictions": [{"plugin": "catalog", "permissionAttribute": {"action": "read"}}]}
            ]}}}),
            ".".into(),
        );
        let policy = AuthPolicy::from_config(&config).unwrap();
        assert!(!policy.disabled);
        assert_eq!(policy.tokens.len(), 2);
        assert_eq!(policy.find("abcdefgh12").unwrap().subject, "ci");
        assert!(policy.find("abcdefgh1").is_none());
        let ro = policy.tokens[1].restrictions.as_ref().unwrap();
        assert!(allowed(ro, "catalog", "catalog.entity.read", "read"));
        assert!(!allowed(ro, "catalog", "catalog.location.create", "create"));
        assert!(format!("{:?}", policy).contains("<redacted>"));
        assert!(!format!("{:?}", policy).contains("abcdefgh12"));
    }

    #[test]
    fn duplicate_tokens_and_spaced_subjects_are_refused() {
        let config = Config::from_value(
            json!({"backend": {"auth": {"externalAccess": [
                {"type": "static", "options": {"token": "abcdefgh12", "subject": "a"}},
                {"type": "static", "options": {"token": "abcdefgh12", "subject": "b"}}]}}}),
            ".".into(),
        );
        assert!(AuthPolicy::from_config(&config)
            .unwrap_err()
            .to_string()
            .contains("declared more than once"));
        let config = Config::from_value(
            json!({"backend": {"auth": {"externalAccess": [
                {"type": "static", "options": {"token": "abcdefgh12", "subject": "a b"}}]}}}),
            ".".into(),
        );
        assert!(AuthPolicy::from_config(&config).is_err());
    }

    #[test]
    fn short_tokens_are_refused() {
        let config = Config::from_value(
            json!({"backend": {"auth": {"externalAccess": [
                {"type": "static", "options": {"token": "short", "subject": "x"}}]}}}),
            ".".into(),
        );
        assert!(AuthPolicy::from_config(&config).is_err());
    }

    #[test]
    fn scaffolder_routes_map_to_scaffolder_permissions() {
        let p = |m: Method, path: &str| scaffolder_permission(&m, path);
        assert_eq!(
            p(Method::POST, "/api/scaffolder/v2/tasks"),
            ("scaffolder.task.create", "create", false)
        );
        assert_eq!(
            p(Method::POST, "/api/scaffolder/v2/dry-run"),
            ("scaffolder.task.create", "create", false)
        );
        assert_eq!(
            p(Method::POST, "/api/scaffolder/v2/tasks/abc/cancel"),
            ("scaffolder.task.cancel", "update", false)
        );
        assert_eq!(
            p(Method::GET, "/api/scaffolder/v2/tasks/abc/eventstream"),
            ("scaffolder.task.read", "read", true)
        );
        assert_eq!(
            p(Method::GET, "/api/scaffolder/v2/actions"),
            ("scaffolder.template.parameter.read", "read", true)
        );
    }

    #[test]
    fn write_routes_map_to_write_permissions() {
        assert_eq!(
            catalog_permission(&Method::POST, "/api/catalog/locations").0,
            "catalog.location.create"
        );
        assert_eq!(
            catalog_permission(&Method::DELETE, "/api/catalog/entities/by-uid/x").1,
            "delete"
        );
        assert_eq!(
            catalog_permission(&Method::POST, "/api/catalog/entities/by-query").1,
            "read"
        );
        assert_eq!(
            catalog_permission(&Method::POST, "/api/catalog/locations/by-query"),
            ("catalog.location.read", "read")
        );
    }
}
