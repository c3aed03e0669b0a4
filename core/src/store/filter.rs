//! Entity filters: Backstage's GET `filter=` syntax and the POST predicate form, as one [`EntityPredicate`].

use serde_json::Value;

use super::StoreError;

/// A filter over entities. GET filters (`filter=a=1,b&filter=c=2`) translate to
/// `Any([All([a IN (1), b EXISTS]), All([c IN (2)])])`. All matching is case-insensitive.
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
    /// Parses repeated GET `filter` parameters; `None` when there are none.
    pub fn from_filter_params(params: &[String]) -> Result<Option<Self>, StoreError> {
        let _ = params;
        todo!("helper C")
    }

    /// Parses the POST predicate form (`{"kind": "component", "spec.type": {"$in": [...]}}`).
    pub fn from_json(value: &Value) -> Result<Self, StoreError> {
        let _ = value;
        todo!("helper C")
    }

    /// The POST predicate form of this filter.
    pub fn to_json(&self) -> Value {
        todo!("helper C")
    }
}
