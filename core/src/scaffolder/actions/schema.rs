//! Checks a step's rendered input against its action's JSON Schema. Every error names the field it is about
//! (`input.files[0].from`), so a failed task says which input to fix.

use jsonschema::error::ValidationErrorKind;
use serde_json::{json, Value};

use crate::error::PortalError;

/// `Ok` when `input` matches `schema`, else a [`PortalError::Validation`] with one `{path, message, stack}`
/// per problem.
pub fn validate(action_id: &str, schema: &Value, input: &Value) -> Result<(), PortalError> {
    let validator = jsonschema::validator_for(schema).map_err(|e| {
        PortalError::Internal(format!("the input schema of {action_id} is invalid: {e}"))
    })?;
    let errors: Vec<Value> = validator
        .iter_errors(input)
        .map(|e| {
            let mut path = field_path(e.instance_path.as_str());
            let message = match &e.kind {
                ValidationErrorKind::Required { property } => {
                    let name = property
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| property.to_string());
                    path = format!("{path}.{name}");
                    "is a required property".to_string()
                }
                _ => e.to_string(),
            };
            json!({
                "path": path,
                "message": message,
                "stack": format!("{path}: {message}"),
            })
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(PortalError::Validation(errors))
    }
}

/// `/files/0/from` → `input.files[0].from`.
fn field_path(pointer: &str) -> String {
    let mut out = String::from("input");
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{segment}]"));
        } else {
            out.push('.');
            out.push_str(&segment);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::ActionRegistry;
    use super::*;

    fn stacks(e: PortalError) -> Vec<String> {
        match e {
            PortalError::Validation(errors) => errors
                .iter()
                .map(|e| e["stack"].as_str().unwrap().to_string())
                .collect(),
            other => panic!("expected Validation, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field() {
        let registry = ActionRegistry::builtin();
        let e = registry
            .validate_input("fetch:plain", &json!({"targetPath": "x"}))
            .unwrap_err();
        assert_eq!(stacks(e), vec!["input.url: is a required property"]);
        let e = registry
            .validate_input("fs:rename", &json!({"files": [{"from": 1, "to": "b"}]}))
            .unwrap_err();
        let s = stacks(e);
        assert!(s[0].starts_with("input.files[0].from: "), "{s:?}");
        assert!(registry
            .validate_input("fetch:plain", &json!({"url": "./skeleton"}))
            .is_ok());
    }

    #[test]
    fn unknown_action_is_named() {
        let e = ActionRegistry::builtin()
            .validate_input("publish:nowhere", &json!({}))
            .unwrap_err();
        assert!(matches!(e, PortalError::Input(_)));
        assert!(e.message().contains("publish:nowhere"), "{e:?}");
    }

    #[test]
    fn every_schema_compiles_and_lists() {
        let registry = ActionRegistry::builtin();
        for info in registry.list() {
            jsonschema::validator_for(&info.schema.input)
                .unwrap_or_else(|e| panic!("{}: {e}", info.id));
            assert_eq!(info.schema.input["type"], "object", "{}", info.id);
        }
        assert_eq!(
            registry.ids(),
            vec![
                "catalog:fetch",
                "catalog:register",
                "catalog:write",
                "debug:log",
                "debug:wait",
                "fetch:plain",
                "fetch:plain:file",
                "fetch:template",
                "fetch:template:file",
                "fs:delete",
                "fs:read",
                "fs:rename",
                "publish:file",
                "publish:git",
            ]
        );
    }
}
