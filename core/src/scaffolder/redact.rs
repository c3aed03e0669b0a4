//! Secret redaction for task events: every string in an event body (messages, outputs, errors, keys too)
//! has every non-empty secret value replaced by `***` before the event is stored or returned, so a secret
//! never reaches the database, a log stream or a dry run's answer, whichever action or template printed it.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// What a secret becomes.
pub const MASK: &str = "***";

/// The secret values of one task, longest first (so a secret containing another is masked whole).
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    values: Vec<String>,
}

impl Redactor {
    /// Masks the values of `secrets` (every non-empty one, as Backstage does).
    pub fn new(secrets: &BTreeMap<String, String>) -> Redactor {
        let mut values: Vec<String> = secrets
            .values()
            .filter(|v| !v.is_empty())
            .cloned()
            .collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        Redactor { values }
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with every secret masked.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.values {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
        out
    }

    /// `value` with every secret masked in every string and object key. Numbers and booleans are kept:
    /// secrets are strings, but a secret that is all digits would also appear as a number's text, so those
    /// numbers become the masked string.
    pub fn value(&self, value: &Value) -> Value {
        if self.is_empty() {
            return value.clone();
        }
        match value {
            Value::String(s) => Value::String(self.text(s)),
            Value::Number(n) => {
                let text = n.to_string();
                let masked = self.text(&text);
                if masked == text {
                    value.clone()
                } else {
                    Value::String(masked)
                }
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| self.value(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.text(k), self.value(v)))
                    .collect::<Map<_, _>>(),
            ),
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_every_string_key_and_number() {
        let r = Redactor::new(&BTreeMap::from([
            ("token".to_string(), "hunter2".to_string()),
            ("long".to_string(), "hunter2-and-more".to_string()),
            ("pin".to_string(), "4711".to_string()),
            ("empty".to_string(), String::new()),
        ]));
        let body = json!({
            "message": "token hunter2, full hunter2-and-more",
            "output": {"hunter2": ["x hunter2 y", 4711, 12, true]},
        });
        assert_eq!(
            r.value(&body),
            json!({
                "message": "token ***, full ***",
                "output": {"***": ["x *** y", "***", 12, true]},
            })
        );
        assert_eq!(r.text("nothing secret"), "nothing secret");
    }

    #[test]
    fn no_secrets_changes_nothing() {
        let r = Redactor::new(&BTreeMap::new());
        assert!(r.is_empty());
        assert_eq!(r.value(&json!({"a": "b"})), json!({"a": "b"}));
    }
}
