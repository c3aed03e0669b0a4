//! A picker's `catalogFilter` (Backstage's catalog filter syntax, as EntityPicker's `ui:options` write it)
//! as the store's [`EntityPredicate`]: an object's keys are ANDed, a list of objects ORed; a key's value
//! is one value, a list of values (any of them), or `{exists: true|false}`.

use serde_json::Value;
use stagedoor_core::store::{EntityPredicate, FieldMatch};

/// The predicate for `filter`; `None` matches every entity. An unsupported shape is an error naming it.
pub fn catalog_filter(filter: Option<&Value>) -> Result<Option<EntityPredicate>, String> {
    match filter {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) if items.is_empty() => Ok(None),
        Some(Value::Array(items)) => {
            let sets = items.iter().map(object).collect::<Result<Vec<_>, _>>()?;
            Ok(Some(EntityPredicate::Any(sets)))
        }
        Some(other) => object(other).map(Some),
    }
}

fn object(value: &Value) -> Result<EntityPredicate, String> {
    let Value::Object(map) = value else {
        return Err(format!(
            "catalogFilter: expected an object or a list of objects, got {value}"
        ));
    };
    let mut fields = Vec::with_capacity(map.len());
    for (key, v) in map {
        let matcher = match v {
            Value::Array(values) => FieldMatch::In(
                values
                    .iter()
                    .map(|x| scalar(key, x))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(o) => match o.get("exists") {
                Some(Value::Bool(b)) if o.len() == 1 => FieldMatch::Exists(*b),
                _ => {
                    return Err(format!(
                        "catalogFilter.{key}: only {{exists: true|false}} is supported, got {v}"
                    ))
                }
            },
            other => FieldMatch::In(vec![scalar(key, other)?]),
        };
        fields.push(EntityPredicate::Field {
            key: key.clone(),
            matcher,
        });
    }
    Ok(if fields.len() == 1 {
        fields.remove(0)
    } else {
        EntityPredicate::All(fields)
    })
}

fn scalar(key: &str, value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!(
            "catalogFilter.{key}: expected text values, got {other}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(key: &str, matcher: FieldMatch) -> EntityPredicate {
        EntityPredicate::Field {
            key: key.into(),
            matcher,
        }
    }

    #[test]
    fn objects_and_lists_become_predicates() {
        assert_eq!(catalog_filter(None), Ok(None));
        assert_eq!(
            catalog_filter(Some(&json!({"kind": "Group"}))),
            Ok(Some(field("kind", FieldMatch::In(vec!["Group".into()]))))
        );
        assert_eq!(
            catalog_filter(Some(&json!({
                "kind": ["Group", "User"],
                "metadata.annotations.x": {"exists": true}
            }))),
            Ok(Some(EntityPredicate::All(vec![
                field("kind", FieldMatch::In(vec!["Group".into(), "User".into()])),
                field("metadata.annotations.x", FieldMatch::Exists(true)),
            ])))
        );
        assert_eq!(
            catalog_filter(Some(&json!([{"kind": "Group"}, {"spec.type": "team"}]))),
            Ok(Some(EntityPredicate::Any(vec![
                field("kind", FieldMatch::In(vec!["Group".into()])),
                field("spec.type", FieldMatch::In(vec!["team".into()])),
            ])))
        );
    }

    #[test]
    fn unsupported_shapes_are_named() {
        let err = catalog_filter(Some(&json!({"kind": {"$in": ["a"]}}))).unwrap_err();
        assert!(err.contains("catalogFilter.kind"), "{err}");
        let err = catalog_filter(Some(&json!("kind=Group"))).unwrap_err();
        assert!(err.contains("expected an object"), "{err}");
    }
}
