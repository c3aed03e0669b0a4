//! The one error type of the portal, named as Backstage names its errors so they cross HTTP unchanged.

use serde::{Deserialize, Serialize};

/// An error any portal capability can return. The variant names map one to one onto Backstage's
/// error names (`NotFoundError`, `InputError`, ...) and HTTP status codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortalError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotAllowed(String),
    #[error("{0}")]
    Authentication(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
    /// Submitted values that fail their JSON Schema (a template's parameters, an action's input): one
    /// `{path, message}`-style object per failure, sent as Backstage's 400 `{errors: [...]}`.
    #[error("{}", join_messages(.0))]
    Validation(Vec<serde_json::Value>),
}

fn join_messages(errors: &[serde_json::Value]) -> String {
    errors
        .iter()
        .map(|e| {
            e.get("stack")
                .or_else(|| e.get("message"))
                .and_then(|m| m.as_str())
                .map(str::to_string)
                .unwrap_or_else(|| e.to_string())
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl PortalError {
    /// Backstage's 404 for a by-name lookup: `No entity named '<n>' found, with kind '<k>' in namespace '<ns>'`.
    pub fn entity_not_found(entity_ref: &crate::entity::EntityRef) -> Self {
        PortalError::NotFound(format!(
            "No entity named '{}' found, with kind '{}' in namespace '{}'",
            entity_ref.name, entity_ref.kind, entity_ref.namespace
        ))
    }

    /// Backstage's error name, as sent in `{"error": {"name": ...}}`.
    pub fn name(&self) -> &'static str {
        match self {
            PortalError::NotFound(_) => "NotFoundError",
            PortalError::Input(_) | PortalError::Validation(_) => "InputError",
            PortalError::Conflict(_) => "ConflictError",
            PortalError::NotAllowed(_) => "NotAllowedError",
            PortalError::Authentication(_) => "AuthenticationError",
            PortalError::Unavailable(_) => "ServiceUnavailableError",
            PortalError::Internal(_) => "Error",
        }
    }

    /// The HTTP status Backstage's error middleware gives this error.
    pub fn status_code(&self) -> u16 {
        match self {
            PortalError::NotFound(_) => 404,
            PortalError::Input(_) | PortalError::Validation(_) => 400,
            PortalError::Conflict(_) => 409,
            PortalError::NotAllowed(_) => 403,
            PortalError::Authentication(_) => 401,
            PortalError::Unavailable(_) => 503,
            PortalError::Internal(_) => 500,
        }
    }

    pub fn message(&self) -> std::borrow::Cow<'_, str> {
        match self {
            PortalError::Validation(errors) => std::borrow::Cow::Owned(join_messages(errors)),
            PortalError::NotFound(m)
            | PortalError::Input(m)
            | PortalError::Conflict(m)
            | PortalError::NotAllowed(m)
            | PortalError::Authentication(m)
            | PortalError::Unavailable(m)
            | PortalError::Internal(m) => std::borrow::Cow::Borrowed(m),
        }
    }

    /// Rebuilds an error from Backstage's name and message (the inverse of [`PortalError::name`]).
    pub fn from_name(name: &str, message: String) -> Self {
        match name {
            "NotFoundError" => PortalError::NotFound(message),
            "InputError" => PortalError::Input(message),
            "ConflictError" => PortalError::Conflict(message),
            "NotAllowedError" => PortalError::NotAllowed(message),
            "AuthenticationError" => PortalError::Authentication(message),
            "ServiceUnavailableError" => PortalError::Unavailable(message),
            _ => PortalError::Internal(message),
        }
    }

    /// The serialisable `{name, message}` pair.
    pub fn to_serialized(&self) -> SerializedError {
        SerializedError {
            name: self.name().to_string(),
            message: self.message().to_string(),
        }
    }
}

/// An error as Backstage serialises it inside responses and `status.items`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SerializedError {
    pub name: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for e in [
            PortalError::NotFound("a".into()),
            PortalError::Input("a".into()),
            PortalError::Conflict("a".into()),
            PortalError::NotAllowed("a".into()),
            PortalError::Authentication("a".into()),
            PortalError::Unavailable("a".into()),
        ] {
            assert_eq!(PortalError::from_name(e.name(), "a".into()), e);
        }
        assert_eq!(PortalError::NotFound("x".into()).status_code(), 404);
    }
}
