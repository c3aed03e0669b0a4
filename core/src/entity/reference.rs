//! Entity references (`[kind:][namespace/]name`), parsed and formatted exactly as Backstage's catalog-model does.

use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub const DEFAULT_NAMESPACE: &str = "default";

/// A reference to an entity. Parts keep the case they were written in; comparison, hashing and
/// [`fmt::Display`] use Backstage's canonical lowercase form `kind:namespace/name`.
#[derive(Debug, Clone)]
pub struct EntityRef {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

/// Why a reference could not be parsed, in Backstage's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    #[error("Entity reference must not be empty")]
    Empty,
    #[error("Entity reference \"{0}\" was not on the form [<kind>:][<namespace>/]<name>")]
    BadForm(String),
    #[error("Entity reference \"{0}\" had missing or empty kind (e.g. did not start with \"component:\" or similar)")]
    MissingKind(String),
}

impl EntityRef {
    pub fn new(kind: &str, namespace: &str, name: &str) -> Self {
        EntityRef {
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }

    /// Parses `[kind:][namespace/]name`; a full reference is required (no default kind).
    pub fn parse(text: &str) -> Result<Self, RefError> {
        Self::parse_with_defaults(text, None, DEFAULT_NAMESPACE)
    }

    /// Parses with a default kind and namespace for the parts the text leaves out, as
    /// `parseEntityRef(ref, {defaultKind, defaultNamespace})` does.
    pub fn parse_with_defaults(
        text: &str,
        default_kind: Option<&str>,
        default_namespace: &str,
    ) -> Result<Self, RefError> {
        if text.is_empty() {
            return Err(RefError::Empty);
        }
        let slash = text.find('/');
        let colon = match (text.find(':'), slash) {
            (Some(c), Some(s)) if s < c => None,
            (c, _) => c,
        };
        let kind = colon.map(|c| &text[..c]);
        let namespace = slash.map(|s| &text[colon.map_or(0, |c| c + 1)..s]);
        let name_start = colon.map_or(0, |c| c + 1).max(slash.map_or(0, |s| s + 1));
        let name = &text[name_start..];
        if kind == Some("") || namespace == Some("") || name.is_empty() {
            return Err(RefError::BadForm(text.to_string()));
        }
        let kind = match kind.or(default_kind) {
            Some(k) if !k.is_empty() => k,
            _ => return Err(RefError::MissingKind(text.to_string())),
        };
        let namespace = match namespace {
            Some(ns) => ns,
            None if default_namespace.is_empty() => DEFAULT_NAMESPACE,
            None => default_namespace,
        };
        Ok(EntityRef::new(kind, namespace, name))
    }

    /// The canonical lowercase string, `component:default/artist-lookup`.
    pub fn canonical(&self) -> String {
        format!(
            "{}:{}/{}",
            self.kind.to_lowercase(),
            self.namespace.to_lowercase(),
            self.name.to_lowercase()
        )
    }
}

impl fmt::Display for EntityRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

impl PartialEq for EntityRef {
    fn eq(&self, other: &Self) -> bool {
        self.kind.eq_ignore_ascii_case(&other.kind)
            && self.namespace.eq_ignore_ascii_case(&other.namespace)
            && self.name.to_lowercase() == other.name.to_lowercase()
    }
}

impl Eq for EntityRef {}

impl Hash for EntityRef {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.canonical().hash(state);
    }
}

impl std::str::FromStr for EntityRef {
    type Err = RefError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EntityRef::parse(s)
    }
}

impl Serialize for EntityRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.canonical())
    }
}

impl<'de> Deserialize<'de> for EntityRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        EntityRef::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_and_partial_forms() {
        let r = EntityRef::parse("Component:Default/Artist-Lookup").unwrap();
        assert_eq!(r.to_string(), "component:default/artist-lookup");
        assert_eq!(r.name, "Artist-Lookup");
        let r = EntityRef::parse_with_defaults("team-a", Some("Group"), "ns1").unwrap();
        assert_eq!(r.to_string(), "group:ns1/team-a");
        let r = EntityRef::parse_with_defaults("other/team-a", Some("Group"), "ns1").unwrap();
        assert_eq!(r.to_string(), "group:other/team-a");
    }

    #[test]
    fn slash_before_colon_means_no_kind() {
        let r = EntityRef::parse_with_defaults("a/b:c", Some("Component"), "default").unwrap();
        assert_eq!((r.namespace.as_str(), r.name.as_str()), ("a", "b:c"));
        let r = EntityRef::parse_with_defaults("a/b/c", Some("Component"), "default").unwrap();
        assert_eq!((r.namespace.as_str(), r.name.as_str()), ("a", "b/c"));
    }

    #[test]
    fn errors_use_backstage_words() {
        assert_eq!(
            EntityRef::parse("").unwrap_err().to_string(),
            "Entity reference must not be empty"
        );
        assert_eq!(
            EntityRef::parse(":default/x").unwrap_err().to_string(),
            "Entity reference \":default/x\" was not on the form [<kind>:][<namespace>/]<name>"
        );
        assert_eq!(
            EntityRef::parse("component:/x").unwrap_err().to_string(),
            "Entity reference \"component:/x\" was not on the form [<kind>:][<namespace>/]<name>"
        );
        assert_eq!(
            EntityRef::parse("x").unwrap_err().to_string(),
            "Entity reference \"x\" had missing or empty kind (e.g. did not start with \"component:\" or similar)"
        );
    }

    #[test]
    fn equality_ignores_case() {
        assert_eq!(
            EntityRef::parse("component:default/A").unwrap(),
            EntityRef::parse("COMPONENT:DEFAULT/a").unwrap()
        );
    }
}
