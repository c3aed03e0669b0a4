//! Checks one field's value the way the web form does, with RJSF's (ajv's) wording: `is a required
//! property`, `must match pattern "^[a-z]+$"`, `must be <= 10`, plus the messages of Backstage's own
//! field extensions (entity names, tags, repository locations).

use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;
use stagedoor_core::entity::validation::{is_valid_object_name, is_valid_tag};
use stagedoor_core::entity::EntityRef;

use super::field::{to_value, Bad, Choices, FieldSpec, Kind, State};

pub const REQUIRED: &str = "is a required property";
const ENTITY_NAME: &str = "Must start and end with an alphanumeric character, and contain only \
alphanumeric characters, hyphens, underscores, and periods. Maximum length is 63 characters.";

fn format_ok(format: &str, s: &str) -> bool {
    static RES: OnceLock<Vec<(&'static str, Option<Regex>)>> = OnceLock::new();
    let res = RES.get_or_init(|| {
        [
            ("email", r"^[^\s@]+@[^\s@]+\.[^\s@]+$"),
            ("uri", r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$"),
            ("url", r"^[A-Za-z][A-Za-z0-9+.-]*://[^\s]+$"),
            ("date", r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"),
            (
                "date-time",
                r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?$",
            ),
            ("time", r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?$"),
            ("color", r"^#[0-9A-Fa-f]{6}$"),
            ("data-url", r"^data:[^,]*,"),
        ]
        .into_iter()
        .map(|(f, p)| (f, Regex::new(p).ok()))
        .collect()
    });
    match res.iter().find(|(f, _)| *f == format) {
        Some((_, Some(re))) => re.is_match(s),
        // Formats RJSF does not check (or a pattern that did not build) pass.
        _ => true,
    }
}

fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// The error to show under the field, if any.
pub fn check(spec: &FieldSpec, state: &State) -> Option<String> {
    let value = match to_value(spec, state) {
        Ok(v) => v,
        Err(Bad::NotNumber { integer }) => {
            return Some(
                if integer {
                    "must be integer"
                } else {
                    "must be number"
                }
                .into(),
            )
        }
        Err(Bad::NotJson(e)) => return Some(format!("is not valid JSON: {e}")),
    };
    let Some(value) = value else {
        if let (Kind::RepoUrl(_), State::Repo(_)) = (&spec.kind, state) {
            return spec
                .required
                .then(|| "Incomplete repository location provided".to_string());
        }
        return spec.required.then(|| REQUIRED.to_string());
    };
    if let Value::Array(items) = &value {
        let n = items.len() as u64;
        if let Some(min) = spec.min_items.filter(|m| n < *m) {
            return Some(format!("must NOT have fewer than {min} items"));
        }
        if let Some(max) = spec.max_items.filter(|m| n > *m) {
            return Some(format!("must NOT have more than {max} items"));
        }
    }
    match (&spec.kind, &value) {
        (
            Kind::Text {
                format,
                pattern,
                min_len,
                max_len,
                entity_name,
                ..
            },
            Value::String(s),
        ) => {
            let len = s.chars().count() as u64;
            if let Some(min) = min_len.filter(|m| len < *m) {
                return Some(format!("must NOT have fewer than {min} characters"));
            }
            if let Some(max) = max_len.filter(|m| len > *m) {
                return Some(format!("must NOT have more than {max} characters"));
            }
            if let Some(p) = pattern {
                // JSON Schema patterns are ECMA regexes; the common subset builds with `regex`, and one
                // that does not is not enforced here (the backend checks it again).
                if Regex::new(p).is_ok_and(|re| !re.is_match(s)) {
                    return Some(format!("must match pattern \"{p}\""));
                }
            }
            if let Some(f) = format.as_deref().filter(|f| !format_ok(f, s)) {
                return Some(format!("must match format \"{f}\""));
            }
            if *entity_name && !is_valid_object_name(s) {
                return Some(ENTITY_NAME.into());
            }
            None
        }
        (Kind::Number { min, max, .. }, v) => {
            let n = v.as_f64()?;
            if let Some(m) = min.filter(|m| n < *m) {
                return Some(format!("must be >= {}", number_text(m)));
            }
            if let Some(m) = max.filter(|m| n > *m) {
                return Some(format!("must be <= {}", number_text(m)));
            }
            None
        }
        (Kind::List { tags, unique }, Value::Array(items)) => {
            let items: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            if *tags {
                if let Some(bad) = items.iter().find(|t| !is_valid_tag(t)) {
                    return Some(format!(
                        "tag \"{bad}\" is not valid: [a-z0-9+#] separated by [-], at most 63 characters"
                    ));
                }
            }
            if *unique {
                for (j, item) in items.iter().enumerate() {
                    if let Some(i) = items[..j].iter().position(|x| x == item) {
                        return Some(format!(
                            "must NOT have duplicate items (items ## {j} and {i} are identical)"
                        ));
                    }
                }
            }
            None
        }
        (Kind::Picker(p), _) => {
            let State::Picker { items, choices } = state else {
                return None;
            };
            for item in items {
                if let Err(e) = EntityRef::parse_with_defaults(
                    item,
                    p.default_kind.as_deref(),
                    p.default_namespace.as_deref().unwrap_or(""),
                ) {
                    return Some(e.to_string());
                }
                if !p.arbitrary {
                    if let Choices::Loaded(list) = choices {
                        if !list.iter().any(|c| c.entity_ref.eq_ignore_ascii_case(item)) {
                            return Some(format!("\"{item}\" is not one of the offered entities"));
                        }
                    }
                }
            }
            None
        }
        (Kind::RepoUrl(_), _) => match state {
            State::Repo(r) if !r.complete() => {
                Some("Incomplete repository location provided".into())
            }
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::schema::fields;
    use super::*;
    use serde_json::{json, Map};

    fn err(prop: Value, required: bool, value: Value) -> Option<String> {
        let schema = json!({"properties": {"f": prop}, "required": if required { vec!["f"] } else { vec![] }});
        let spec = &fields(&schema, &Map::new(), None)[0];
        check(spec, &State::from_value(spec, Some(&value)))
    }

    #[test]
    fn messages_read_like_rjsf() {
        let s = json!({"type": "string", "pattern": "^[a-z]+$", "minLength": 2, "maxLength": 4});
        assert_eq!(err(s.clone(), true, json!("")).as_deref(), Some(REQUIRED));
        assert_eq!(err(s.clone(), false, json!("")), None);
        assert_eq!(
            err(s.clone(), false, json!("a")).as_deref(),
            Some("must NOT have fewer than 2 characters")
        );
        assert_eq!(
            err(s.clone(), false, json!("abcde")).as_deref(),
            Some("must NOT have more than 4 characters")
        );
        assert_eq!(
            err(s.clone(), false, json!("AB")).as_deref(),
            Some("must match pattern \"^[a-z]+$\"")
        );
        assert_eq!(err(s, false, json!("abc")), None);
        let email = json!({"type": "string", "format": "email"});
        assert_eq!(
            err(email.clone(), false, json!("nope")).as_deref(),
            Some("must match format \"email\"")
        );
        assert_eq!(err(email, false, json!("a@b.io")), None);
        let uri = json!({"type": "string", "format": "uri"});
        assert!(err(uri.clone(), false, json!("not a uri")).is_some());
        assert_eq!(err(uri, false, json!("https://x.io/a")), None);
        let n = json!({"type": "integer", "minimum": 1, "maximum": 10});
        assert_eq!(
            err(n.clone(), false, json!(11)).as_deref(),
            Some("must be <= 10")
        );
        assert_eq!(
            err(n.clone(), false, json!(0)).as_deref(),
            Some("must be >= 1")
        );
        assert_eq!(
            err(n.clone(), false, json!("1.5")).as_deref(),
            Some("must be integer")
        );
        assert_eq!(err(n, false, json!(5)), None);
        let name = json!({"type": "string", "ui:field": "EntityNamePicker"});
        assert_eq!(
            err(name.clone(), false, json!("-bad-")).as_deref(),
            Some(ENTITY_NAME)
        );
        assert_eq!(err(name, false, json!("good-name")), None);
        let tags = json!({"type": "array", "ui:field": "EntityTagsPicker"});
        assert!(err(tags.clone(), false, json!(["Bad Tag"]))
            .unwrap()
            .contains("\"Bad Tag\""));
        assert_eq!(
            err(tags, false, json!(["a", "b", "a"])).as_deref(),
            Some("must NOT have duplicate items (items ## 2 and 0 are identical)")
        );
        let repo = json!({"type": "string", "ui:field": "RepoUrlPicker", "ui:options": {"allowedHosts": ["github.com"]}});
        assert_eq!(
            err(repo.clone(), true, json!("github.com?owner=o")).as_deref(),
            Some("Incomplete repository location provided")
        );
        assert_eq!(err(repo, true, json!("github.com?owner=o&repo=r")), None);
        let few =
            json!({"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 3});
        assert_eq!(
            err(few.clone(), false, json!(["a"])).as_deref(),
            Some("must NOT have fewer than 2 items")
        );
        assert_eq!(
            err(few.clone(), false, json!(["a", "b", "c", "d"])).as_deref(),
            Some("must NOT have more than 3 items")
        );
        assert_eq!(err(few, false, json!(["a", "b"])), None);
        let picker = json!({"type": "string", "ui:field": "EntityPicker"});
        assert!(err(picker.clone(), false, json!("justaname"))
            .unwrap()
            .contains("missing or empty kind"));
        assert_eq!(err(picker, false, json!("component:default/x")), None);
    }
}
