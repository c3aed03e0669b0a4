//! Entity filters: Backstage's GET `filter=` syntax and the POST predicate form, as one [`EntityPredicate`].

use serde_json::{Map, Value};

use super::search_rows::scalar_string;
use super::StoreError;

/// A filter over entities. GET filters (`filter=a=1,b&filter=c=2`) translate to
/// `Any([All([a IN (1), b EXISTS]), All([c IN (2)])])`. All matching is case-insensitive.
///
/// `All([])` matches everything and `Any([])` nothing; the POST form's `{}` is the former and its
/// `{"$all": []}` the latter (Backstage turns an empty `$all` into `1 = 0`).
#[derive(Debug, Clone, PartialEq)]
pub enum EntityPredicate {
    All(Vec<EntityPredicate>),
    Any(Vec<EntityPredicate>),
    Not(Box<EntityPredicate>),
    Field { key: String, matcher: FieldMatch },
}

#[derive(Debug, Clone, PartialEq)]
pub enum FieldMatch {
    /// `key` alone (true) or `{"$exists": false}`.
    Exists(bool),
    /// Equal to any of the values; a plain `key=value` is a one-element list.
    In(Vec<String>),
    /// `$contains`: an array field holds the value.
    Contains(String),
    /// `$hasPrefix`: the value starts with this text.
    HasPrefix(String),
}

impl EntityPredicate {
    /// Parses repeated GET `filter` parameters; `None` when there are none (or all are empty).
    pub fn from_filter_params(params: &[String]) -> Result<Option<Self>, StoreError> {
        let mut sets = Vec::new();
        for param in params {
            if let Some(set) = parse_filter_string(param)? {
                sets.push(set);
            }
        }
        if sets.is_empty() {
            return Ok(None);
        }
        Ok(Some(EntityPredicate::Any(sets)))
    }

    /// Parses the POST predicate form (`{"kind": "component", "spec.type": {"$in": [...]}}`).
    pub fn from_json(value: &Value) -> Result<Self, StoreError> {
        let Value::Object(map) = value else {
            return Err(StoreError::Input(format!(
                "Invalid filter predicate: top-level primitive values are not supported. Wrap the value in a field expression, e.g. {{ \"kind\": {value} }}"
            )));
        };
        if let Some(inner) = map.get("$not") {
            return Ok(EntityPredicate::Not(Box::new(Self::from_json(inner)?)));
        }
        for op in ["$all", "$any"] {
            if let Some(list) = map.get(op) {
                let Value::Array(items) = list else {
                    return Err(StoreError::Input(format!(
                        "Invalid filter predicate: {op} expects an array, but got {list}"
                    )));
                };
                let parsed = items
                    .iter()
                    .map(Self::from_json)
                    .collect::<Result<Vec<_>, _>>()?;
                return Ok(match (op, parsed.is_empty()) {
                    // Backstage matches nothing for an empty `$all`.
                    ("$all", true) => EntityPredicate::Any(Vec::new()),
                    ("$all", false) => EntityPredicate::All(parsed),
                    _ => EntityPredicate::Any(parsed),
                });
            }
        }
        let mut fields = Vec::with_capacity(map.len());
        for (key, v) in map {
            fields.push(EntityPredicate::Field {
                key: key.clone(),
                matcher: parse_field_value(key, v)?,
            });
        }
        if fields.len() == 1 {
            return Ok(fields.remove(0));
        }
        Ok(EntityPredicate::All(fields))
    }

    /// The POST predicate form of this filter.
    pub fn to_json(&self) -> Value {
        match self {
            EntityPredicate::All(items) if items.is_empty() => Value::Object(Map::new()),
            EntityPredicate::All(items) => {
                serde_json::json!({"$all": items.iter().map(Self::to_json).collect::<Vec<_>>()})
            }
            EntityPredicate::Any(items) => {
                serde_json::json!({"$any": items.iter().map(Self::to_json).collect::<Vec<_>>()})
            }
            EntityPredicate::Not(inner) => serde_json::json!({"$not": inner.to_json()}),
            EntityPredicate::Field { key, matcher } => {
                let v = match matcher {
                    FieldMatch::Exists(b) => serde_json::json!({"$exists": b}),
                    FieldMatch::In(values) if values.len() == 1 => Value::String(values[0].clone()),
                    FieldMatch::In(values) => serde_json::json!({"$in": values}),
                    FieldMatch::Contains(v) => serde_json::json!({"$contains": v}),
                    FieldMatch::HasPrefix(p) => serde_json::json!({"$hasPrefix": p}),
                };
                let mut m = Map::new();
                m.insert(key.clone(), v);
                Value::Object(m)
            }
        }
    }
}

/// One `filter` value, `a=1,b,a=2`: statements ANDed, a repeated key ORed. `None` when it has no statements.
fn parse_filter_string(text: &str) -> Result<Option<EntityPredicate>, StoreError> {
    // (key, exists, values) in first-seen order.
    let mut by_key: Vec<(String, bool, Vec<String>)> = Vec::new();
    for statement in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (key, value) = match statement.find('=') {
            Some(i) => (statement[..i].trim(), Some(statement[i + 1..].trim())),
            None => (statement, None),
        };
        if key.is_empty() {
            return Err(StoreError::Input(format!(
                "Invalid filter, '{statement}' is not a valid statement (expected a string on the form a=b or a= or a)"
            )));
        }
        let idx = match by_key.iter().position(|(k, _, _)| k == key) {
            Some(i) => i,
            None => {
                by_key.push((key.to_string(), false, Vec::new()));
                by_key.len() - 1
            }
        };
        match value {
            Some(v) => by_key[idx].2.push(v.to_string()),
            None => by_key[idx].1 = true,
        }
    }
    if by_key.is_empty() {
        return Ok(None);
    }
    let fields = by_key
        .into_iter()
        .map(|(key, _, values)| EntityPredicate::Field {
            key,
            // Values win over a bare mention of the same key, as in Backstage's EntityFilter.
            matcher: if values.is_empty() {
                FieldMatch::Exists(true)
            } else {
                FieldMatch::In(values)
            },
        })
        .collect();
    Ok(Some(EntityPredicate::All(fields)))
}

fn parse_field_value(key: &str, v: &Value) -> Result<FieldMatch, StoreError> {
    let bad = || {
        StoreError::Input(format!(
            "Invalid filter predicate value for field \"{}\": expected a primitive value, $exists, $in, $contains or $hasPrefix operator, but got {v}",
            key.to_lowercase()
        ))
    };
    if let Some(s) = scalar_string(v) {
        return Ok(FieldMatch::In(vec![s]));
    }
    let Value::Object(ops) = v else {
        return Err(bad());
    };
    if let Some(e) = ops.get("$exists") {
        return e.as_bool().map(FieldMatch::Exists).ok_or_else(bad);
    }
    if let Some(list) = ops.get("$in") {
        let items = list.as_array().ok_or_else(bad)?;
        return items
            .iter()
            .map(|i| scalar_string(i).ok_or_else(bad))
            .collect::<Result<Vec<_>, _>>()
            .map(FieldMatch::In);
    }
    if let Some(p) = ops.get("$hasPrefix") {
        return p
            .as_str()
            .map(|s| FieldMatch::HasPrefix(s.to_string()))
            .ok_or_else(bad);
    }
    if let Some(c) = ops.get("$contains") {
        return scalar_string(c).map(FieldMatch::Contains).ok_or_else(bad);
    }
    Err(bad())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(key: &str, m: FieldMatch) -> EntityPredicate {
        EntityPredicate::Field {
            key: key.into(),
            matcher: m,
        }
    }

    #[test]
    fn get_filters_parse_into_any_of_all() {
        let p = EntityPredicate::from_filter_params(&[
            " kind = Component , spec.owner ".into(),
            "kind=api,kind=Group,metadata.namespace=".into(),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            p,
            EntityPredicate::Any(vec![
                EntityPredicate::All(vec![
                    field("kind", FieldMatch::In(vec!["Component".into()])),
                    field("spec.owner", FieldMatch::Exists(true)),
                ]),
                EntityPredicate::All(vec![
                    field("kind", FieldMatch::In(vec!["api".into(), "Group".into()])),
                    field("metadata.namespace", FieldMatch::In(vec!["".into()])),
                ]),
            ])
        );
    }

    #[test]
    fn value_keeps_later_equals_signs() {
        let p = EntityPredicate::from_filter_params(&["a=b=c".into()])
            .unwrap()
            .unwrap();
        assert_eq!(
            p,
            EntityPredicate::Any(vec![EntityPredicate::All(vec![field(
                "a",
                FieldMatch::In(vec!["b=c".into()])
            )])])
        );
    }

    #[test]
    fn empty_filters_are_none_and_bad_statements_fail() {
        assert_eq!(EntityPredicate::from_filter_params(&[]).unwrap(), None);
        assert_eq!(
            EntityPredicate::from_filter_params(&[" , ".into(), "".into()]).unwrap(),
            None
        );
        let err = EntityPredicate::from_filter_params(&["kind=a,=b".into()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid filter, '=b' is not a valid statement (expected a string on the form a=b or a= or a)"
        );
    }

    #[test]
    fn json_predicates_parse_and_round_trip() {
        let v = json!({"$all": [
            {"kind": "component", "spec.type": {"$in": ["service", "website"]}},
            {"$not": {"spec.lifecycle": "experimental"}},
            {"$any": [{"metadata.tags": {"$contains": "java"}}, {"metadata.name": {"$hasPrefix": "art"}}]},
            {"spec.owner": {"$exists": false}},
            {"spec.replicas": 3}
        ]});
        let p = EntityPredicate::from_json(&v).unwrap();
        assert_eq!(EntityPredicate::from_json(&p.to_json()).unwrap(), p);
        match &p {
            EntityPredicate::All(items) => {
                assert_eq!(items.len(), 5);
                assert_eq!(
                    items[4],
                    field("spec.replicas", FieldMatch::In(vec!["3".into()]))
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            EntityPredicate::from_json(&json!({})).unwrap(),
            EntityPredicate::All(vec![])
        );
        assert_eq!(
            EntityPredicate::from_json(&json!({"$all": []})).unwrap(),
            EntityPredicate::Any(vec![])
        );
    }

    #[test]
    fn bad_json_predicates_are_input_errors() {
        for bad in [
            json!("component"),
            json!([1]),
            json!({"kind": ["a"]}),
            json!({"kind": {"$in": "a"}}),
            json!({"kind": {"$exists": "yes"}}),
            json!({"kind": {"$regex": "a"}}),
            json!({"kind": null}),
            json!({"$any": {"kind": "a"}}),
        ] {
            match EntityPredicate::from_json(&bad) {
                Err(StoreError::Input(_)) => {}
                other => panic!("{bad} gave {other:?}"),
            }
        }
        let err = EntityPredicate::from_json(&json!("x")).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("Invalid filter predicate: top-level primitive values are not supported"));
    }
}
