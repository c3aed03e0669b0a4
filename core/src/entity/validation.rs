//! Entity validation exactly as Backstage's catalog does it on ingest: the envelope schema, the
//! no-foreign-root-fields policy, field formats (names, namespaces, labels, annotations, tags, links) and each
//! kind's spec schema, with Backstage's error texts.
//!
//! The order is Backstage's: SchemaValidEntityPolicy, DefaultNamespaceEntityPolicy (no error of its own),
//! NoForeignRootFieldsEntityPolicy, FieldFormatEntityPolicy, then the kind validators of BuiltinKindsEntityProcessor
//! (and the scaffolder and AI modules). The first failure wins.

mod schema;

use std::sync::OnceLock;

use regex::Regex;
use serde_json::{Map, Value};

use self::schema::{envelope_validator, first_error, kind_validator, KindSchema};
use super::EntityRef;

/// Why an entity was refused. `message` is Backstage's text; `value` is the offending value when there is
/// one, so a caller can point at the line that holds it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    /// Backstage's error name for this failure: [`INPUT_ERROR`] for the policies (envelope, root fields, field
    /// formats) and for an unrecognized kind, [`TYPE_ERROR`] for a kind's spec schema (`throwAjvError`).
    pub name: &'static str,
    pub message: String,
    pub value: Option<String>,
}

/// Error name for policy and processor failures (the catalog reports them as input errors).
pub const INPUT_ERROR: &str = "InputError";
/// Error name for kind schema failures (`throwAjvError` throws a `TypeError`).
pub const TYPE_ERROR: &str = "TypeError";

/// Where FieldFormatEntityPolicy sends users to read about the format.
pub const FORMAT_DOC_URL: &str =
    "https://github.com/backstage/backstage/blob/master/docs/architecture-decisions/adr002-default-catalog-file-format.md";

/// The root fields NoForeignRootFieldsEntityPolicy accepts on ingest.
pub const KNOWN_ROOT_FIELDS: [&str; 4] = ["apiVersion", "kind", "metadata", "spec"];

impl ValidationError {
    fn input(message: impl Into<String>, value: Option<String>) -> Self {
        ValidationError {
            name: INPUT_ERROR,
            message: message.into(),
            value,
        }
    }
}

/// Validates a raw entity (as parsed from YAML, placeholders resolved) the way Backstage's policies and kind
/// validators do, stopping at the first failure as Backstage does.
pub fn validate_entity(raw: &Value) -> Result<(), ValidationError> {
    check_envelope(raw)?;
    let Value::Object(root) = raw else {
        // The envelope schema refuses non-objects; kept for totality.
        return Err(ValidationError::input(
            "Malformed envelope, <root> must be object",
            None,
        ));
    };
    check_foreign_root_fields(root)?;
    check_field_formats(root)?;
    check_kind(raw)
}

/// SchemaValidEntityPolicy: the `Entity` schema (with `EntityMeta` and `common`), first ajv error only.
pub fn check_envelope(raw: &Value) -> Result<(), ValidationError> {
    let validator = envelope_validator()
        .as_ref()
        .map_err(|e| ValidationError::input(format!("Malformed envelope, {}", e.0), None))?;
    match first_error(validator, raw) {
        None => Ok(()),
        Some(e) => Err(ValidationError::input(
            format!("Malformed envelope, {}", e.short()),
            e.value,
        )),
    }
}

/// NoForeignRootFieldsEntityPolicy: `Unknown field <f>` for any root key but apiVersion, kind, metadata, spec.
pub fn check_foreign_root_fields(root: &Map<String, Value>) -> Result<(), ValidationError> {
    match root
        .keys()
        .find(|k| !KNOWN_ROOT_FIELDS.contains(&k.as_str()))
    {
        Some(field) => Err(ValidationError::input(
            format!("Unknown field {field}"),
            Some(field.clone()),
        )),
        None => Ok(()),
    }
}

/// The validators FieldFormatEntityPolicy uses; each has the expectation text Backstage prints for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    ApiVersion,
    Kind,
    ObjectName,
    Namespace,
    LabelKey,
    LabelValue,
    AnnotationKey,
    AnnotationValue,
    Tag,
    Url,
    NonEmptyString,
}

impl Rule {
    fn expectation(self) -> &'static str {
        match self {
            Rule::ObjectName | Rule::LabelValue => {
                "a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total"
            }
            Rule::LabelKey | Rule::ApiVersion | Rule::AnnotationKey => {
                "a valid prefix and/or suffix"
            }
            Rule::Namespace => {
                "a string that is sequences of [a-z0-9] separated by [-], at most 63 characters in total"
            }
            Rule::Tag => {
                "a string that is sequences of [a-z0-9+#] separated by [-], at most 63 characters in total"
            }
            Rule::AnnotationValue => "a string",
            Rule::Kind => {
                "a string that is a sequence of [a-zA-Z][a-z0-9A-Z], at most 63 characters in total"
            }
            Rule::Url => "a string that is a valid url",
            Rule::NonEmptyString => "a non empty string",
        }
    }

    fn accepts(self, value: &Value) -> bool {
        let Some(s) = value.as_str() else {
            return false;
        };
        match self {
            Rule::ApiVersion => is_valid_prefix_and_or_suffix(s, is_valid_dns_subdomain, |p| {
                (1..=63).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric())
            }),
            Rule::Kind => is_valid_kind(s),
            Rule::ObjectName => is_valid_object_name(s),
            Rule::Namespace => is_valid_dns_label(s),
            Rule::LabelKey | Rule::AnnotationKey => {
                is_valid_prefix_and_or_suffix(s, is_valid_dns_subdomain, is_valid_object_name)
            }
            Rule::LabelValue => s.is_empty() || is_valid_object_name(s),
            Rule::AnnotationValue => true,
            Rule::Tag => is_valid_tag(s),
            Rule::Url => url::Url::parse(s).is_ok(),
            // JavaScript's trim() also drops the byte order mark.
            Rule::NonEmptyString => !s
                .trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
                .is_empty(),
        }
    }
}

fn regex(cell: &'static OnceLock<Option<Regex>>, pattern: &str) -> Option<&'static Regex> {
    cell.get_or_init(|| Regex::new(pattern).ok()).as_ref()
}

fn matches(cell: &'static OnceLock<Option<Regex>>, pattern: &str, s: &str) -> bool {
    regex(cell, pattern).is_some_and(|r| r.is_match(s))
}

/// 1–63 characters, `[A-Za-z0-9]` runs separated by any of `-_.`.
pub fn is_valid_object_name(s: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    (1..=63).contains(&s.len()) && matches(&RE, r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$", s)
}

/// 1–63 characters, lowercase `[a-z0-9]` runs separated by `-`.
pub fn is_valid_dns_label(s: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    (1..=63).contains(&s.len()) && matches(&RE, r"^[a-z0-9]+(?:-+[a-z0-9]+)*$", s)
}

/// 1–253 characters, every `.`-separated part a DNS label.
pub fn is_valid_dns_subdomain(s: &str) -> bool {
    (1..=253).contains(&s.len()) && s.split('.').all(is_valid_dns_label)
}

/// 1–63 characters, `[a-z0-9:+#]` runs separated by single `-`.
pub fn is_valid_tag(s: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    (1..=63).contains(&s.len()) && matches(&RE, r"^[a-z0-9:+#]+(-[a-z0-9:+#]+)*$", s)
}

/// 1–63 characters, a letter followed by letters and digits.
pub fn is_valid_kind(s: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    (1..=63).contains(&s.len()) && matches(&RE, r"^[a-zA-Z][a-z0-9A-Z]*$", s)
}

/// `suffix` or `prefix/suffix` (exactly one `/`), each part checked by its own rule.
fn is_valid_prefix_and_or_suffix(
    s: &str,
    prefix_ok: impl Fn(&str) -> bool,
    suffix_ok: impl Fn(&str) -> bool,
) -> bool {
    let parts: Vec<&str> = s.split('/').collect();
    match parts.as_slice() {
        [suffix] => suffix_ok(suffix),
        [prefix, suffix] => prefix_ok(prefix) && suffix_ok(suffix),
        _ => false,
    }
}

/// How JavaScript's `"${value}"` shows a value in FieldFormatEntityPolicy's message.
fn js_display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Object(_) => "[object Object]".to_string(),
        Value::Array(items) => items.iter().map(js_display).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// FieldFormatEntityPolicy's `require`: a missing or null value, then the rule.
fn require(field: &str, value: Option<&Value>, rule: Rule) -> Result<(), ValidationError> {
    let value = match value {
        None | Some(Value::Null) => {
            return Err(ValidationError::input(
                format!("{field} must have a value"),
                None,
            ))
        }
        Some(v) => v,
    };
    if rule.accepts(value) {
        return Ok(());
    }
    let shown = js_display(value);
    Err(ValidationError::input(
        format!(
            "\"{field}\" is not valid; expected {} but found \"{shown}\". To learn more about catalog file format, visit: {FORMAT_DOC_URL}",
            rule.expectation()
        ),
        Some(shown),
    ))
}

/// FieldFormatEntityPolicy's `optional`: only an absent value is skipped (null is checked, and refused).
fn optional(field: &str, value: Option<&Value>, rule: Rule) -> Result<(), ValidationError> {
    match value {
        None => Ok(()),
        Some(_) => require(field, value, rule),
    }
}

/// FieldFormatEntityPolicy with Backstage's default validators (`makeValidator()`).
pub fn check_field_formats(root: &Map<String, Value>) -> Result<(), ValidationError> {
    require("apiVersion", root.get("apiVersion"), Rule::ApiVersion)?;
    require("kind", root.get("kind"), Rule::Kind)?;
    let empty = Map::new();
    let metadata = root
        .get("metadata")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    require("metadata.name", metadata.get("name"), Rule::ObjectName)?;
    optional(
        "metadata.namespace",
        metadata.get("namespace"),
        Rule::Namespace,
    )?;

    if let Some(labels) = metadata.get("labels").and_then(Value::as_object) {
        for (k, v) in labels {
            let field = format!("labels.{k}");
            require(&field, Some(&Value::String(k.clone())), Rule::LabelKey)?;
            require(&field, Some(v), Rule::LabelValue)?;
        }
    }
    if let Some(annotations) = metadata.get("annotations").and_then(Value::as_object) {
        for (k, v) in annotations {
            let field = format!("annotations.{k}");
            require(&field, Some(&Value::String(k.clone())), Rule::AnnotationKey)?;
            require(&field, Some(v), Rule::AnnotationValue)?;
        }
    }
    if let Some(tags) = metadata.get("tags").and_then(Value::as_array) {
        for (i, tag) in tags.iter().enumerate() {
            require(&format!("tags.{i}"), Some(tag), Rule::Tag)?;
        }
    }
    if let Some(links) = metadata.get("links").and_then(Value::as_array) {
        for (i, link) in links.iter().enumerate() {
            let link = link.as_object();
            let get = |key: &str| link.and_then(|l| l.get(key));
            require(&format!("links.{i}.url"), get("url"), Rule::Url)?;
            optional(
                &format!("links.{i}.title"),
                get("title"),
                Rule::NonEmptyString,
            )?;
            optional(
                &format!("links.{i}.icon"),
                get("icon"),
                Rule::NonEmptyString,
            )?;
        }
    }
    Ok(())
}

const V1ALPHA1: &str = "backstage.io/v1alpha1";
const V1BETA1: &str = "backstage.io/v1beta1";
const SCAFFOLDER_V1BETA3: &str = "scaffolder.backstage.io/v1beta3";

/// The schema that validates an entity of this kind, apiVersion and `spec.type`, or `None` when no processor
/// recognizes it. Kind and apiVersion match case-sensitively, as the schemas' `enum`s do.
fn schema_for(kind: &str, api_version: &str, spec_type: Option<&str>) -> Option<KindSchema> {
    let core = api_version == V1ALPHA1 || api_version == V1BETA1;
    Some(match kind {
        "Component" if core => KindSchema::Component,
        "API" if core && spec_type == Some("mcp-server") => KindSchema::ApiMcpServer,
        "API" if core => KindSchema::Api,
        "Resource" if core => KindSchema::Resource,
        "System" if core => KindSchema::System,
        "Domain" if core => KindSchema::Domain,
        "Group" if core => KindSchema::Group,
        "User" if core => KindSchema::User,
        "Location" if core => KindSchema::Location,
        "AiResource" if api_version == V1ALPHA1 => match spec_type {
            Some("skill") => KindSchema::AiResourceSkill,
            Some("rule") => KindSchema::AiResourceRule,
            Some("plugin") => KindSchema::AiResourcePlugin,
            Some("marketplace") => KindSchema::AiResourceMarketplace,
            _ => KindSchema::AiResource,
        },
        "Template" if api_version == SCAFFOLDER_V1BETA3 => KindSchema::TemplateV1beta3,
        _ => return None,
    })
}

/// True when `kind` is a built-in kind under some apiVersion.
fn known_kind_name(kind: &str) -> bool {
    [
        "backstage.io/v1alpha1",
        "backstage.io/v1beta1",
        SCAFFOLDER_V1BETA3,
    ]
    .iter()
    .any(|v| schema_for(kind, v, None).is_some())
}

/// True when some built-in processor (core kinds, scaffolder Template, AI AiResource) accepts this kind and
/// apiVersion.
pub fn is_known_kind(kind: &str, api_version: &str) -> bool {
    schema_for(kind, api_version, None).is_some()
}

/// The kind validators: the matching schema must accept the whole entity; no match is
/// `No processor recognized the entity <ref> as valid, possibly caused by a foreign kind or apiVersion`.
pub fn check_kind(raw: &Value) -> Result<(), ValidationError> {
    let empty = Map::new();
    let root = raw.as_object().unwrap_or(&empty);
    let text = |key: &str| root.get(key).and_then(Value::as_str).unwrap_or("");
    let kind = text("kind");
    let api_version = text("apiVersion");
    let spec_type = root
        .get("spec")
        .and_then(|s| s.get("type"))
        .and_then(Value::as_str);
    let Some(schema) = schema_for(kind, api_version, spec_type) else {
        let metadata = root.get("metadata");
        let meta = |key: &str| {
            metadata
                .and_then(|m| m.get(key))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let namespace = meta("namespace").unwrap_or_else(|| "default".to_string());
        let name = meta("name").unwrap_or_default();
        let entity_ref = EntityRef::new(kind, &namespace, &name).canonical();
        return Err(ValidationError::input(
            format!(
                "No processor recognized the entity {entity_ref} as valid, possibly caused by a foreign kind or apiVersion"
            ),
            // Point at what is foreign: the apiVersion of a kind we know, else the kind.
            Some(if known_kind_name(kind) { api_version.to_string() } else { kind.to_string() }),
        ));
    };
    let validator = kind_validator(schema)
        .as_ref()
        .map_err(|e| ValidationError {
            name: TYPE_ERROR,
            message: e.0.clone(),
            value: None,
        })?;
    match first_error(validator, raw) {
        None => Ok(()),
        Some(e) => Err(ValidationError {
            name: TYPE_ERROR,
            message: e.with_params(),
            value: e.value,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::{Path, PathBuf};

    const DOC: &str = "To learn more about catalog file format, visit: https://github.com/backstage/backstage/blob/master/docs/architecture-decisions/adr002-default-catalog-file-format.md";

    fn component() -> Value {
        json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": "artist-lookup", "tags": ["java"], "labels": {"a.b/c": "d"},
                         "annotations": {"backstage.io/x": "any text"},
                         "links": [{"url": "https://example.com", "title": "Site", "icon": "web"}]},
            "spec": {"type": "service", "lifecycle": "production", "owner": "team-a"}
        })
    }

    fn err(v: &Value) -> ValidationError {
        validate_entity(v).expect_err("should fail")
    }

    /// Sets the value at a JSON pointer whose parent exists (the last key is added when missing).
    fn with(mut v: Value, pointer: &str, new: Value) -> Value {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let key = key.replace("~1", "/").replace("~0", "~");
        match v.pointer_mut(parent).expect("parent exists") {
            Value::Object(map) => {
                map.insert(key, new);
            }
            Value::Array(items) => items[key.parse::<usize>().unwrap()] = new,
            _ => panic!("parent is not a container"),
        }
        v
    }

    fn format_message(field: &str, expectation: &str, found: &str) -> String {
        format!("\"{field}\" is not valid; expected {expectation} but found \"{found}\". {DOC}")
    }

    const NAME_EXPECTATION: &str = "a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total";

    #[test]
    fn a_valid_component_passes() {
        assert_eq!(validate_entity(&component()), Ok(()));
    }

    #[test]
    fn non_object_root() {
        let e = err(&json!(7));
        assert_eq!(e.message, "Malformed envelope, <root> must be object");
        assert_eq!(e.name, "InputError");
        let e = err(&json!(["a"]));
        assert_eq!(e.message, "Malformed envelope, <root> must be object");
    }

    #[test]
    fn envelope_missing_fields() {
        let mut v = component();
        v.as_object_mut().unwrap().remove("apiVersion");
        assert_eq!(
            err(&v).message,
            "Malformed envelope, <root> must have required property 'apiVersion'"
        );
        let mut v = component();
        v["metadata"].as_object_mut().unwrap().remove("name");
        assert_eq!(
            err(&v).message,
            "Malformed envelope, /metadata must have required property 'name'"
        );
    }

    #[test]
    fn envelope_types() {
        let v = with(component(), "/metadata/labels", json!(7));
        assert_eq!(
            err(&v).message,
            "Malformed envelope, /metadata/labels must be object"
        );
        let v = with(
            component(),
            "/metadata/annotations/backstage.io~1x",
            json!(7),
        );
        assert_eq!(
            err(&v).message,
            "Malformed envelope, /metadata/annotations/backstage.io~1x must be string"
        );
        let v = with(component(), "/metadata/tags", json!(["ok", 3]));
        let e = err(&v);
        assert_eq!(
            e.message,
            "Malformed envelope, /metadata/tags/1 must be string"
        );
        assert_eq!(e.value.as_deref(), Some("3"));
        let v = with(component(), "/metadata/links", json!([{"title": "x"}]));
        assert_eq!(
            err(&v).message,
            "Malformed envelope, /metadata/links/0 must have required property 'url'"
        );
        let v = with(component(), "/spec", json!("text"));
        assert_eq!(err(&v).message, "Malformed envelope, /spec must be object");
    }

    #[test]
    fn unknown_root_field() {
        // `status` and `relations` pass the envelope schema but not NoForeignRootFieldsEntityPolicy.
        let mut v = component();
        v["status"] = json!({});
        let e = err(&v);
        assert_eq!(e.message, "Unknown field status");
        assert_eq!(e.value.as_deref(), Some("status"));
        // Anything else is already refused by the envelope schema (`additionalProperties: false`).
        let mut v = component();
        v["extra"] = json!(1);
        let e = err(&v);
        assert_eq!(
            e.message,
            "Malformed envelope, <root> must NOT have additional properties"
        );
        assert_eq!(e.value.as_deref(), Some("extra"));
    }

    #[test]
    fn bad_name() {
        let e = err(&with(component(), "/metadata/name", json!("Bad Name")));
        assert_eq!(
            e.message,
            format_message("metadata.name", NAME_EXPECTATION, "Bad Name")
        );
        assert_eq!(e.value.as_deref(), Some("Bad Name"));
        let long = "a".repeat(64);
        let e = err(&with(component(), "/metadata/name", json!(long)));
        assert_eq!(
            e.message,
            format_message("metadata.name", NAME_EXPECTATION, &long)
        );
    }

    #[test]
    fn bad_namespace() {
        let ns = "a sentence";
        let expectation =
            "a string that is sequences of [a-z0-9] separated by [-], at most 63 characters in total";
        let e = err(&with(component(), "/metadata/namespace", json!(ns)));
        assert_eq!(
            e.message,
            format_message("metadata.namespace", expectation, ns)
        );
        let e = err(&with(
            component(),
            "/metadata/namespace",
            json!("Production"),
        ));
        assert_eq!(
            e.message,
            format_message("metadata.namespace", expectation, "Production")
        );
        assert_eq!(e.value.as_deref(), Some("Production"));
    }

    #[test]
    fn bad_tag() {
        let v = with(component(), "/metadata/tags", json!(["java", "Not_OK"]));
        let e = err(&v);
        assert_eq!(
            e.message,
            format_message(
                "tags.1",
                "a string that is sequences of [a-z0-9+#] separated by [-], at most 63 characters in total",
                "Not_OK"
            )
        );
        let v = with(
            component(),
            "/metadata/tags",
            json!(["c++", "c#", "k8s:pod"]),
        );
        assert_eq!(validate_entity(&v), Ok(()));
    }

    #[test]
    fn bad_label_key_and_value() {
        let v = with(component(), "/metadata/labels", json!({"a/b/c": "x"}));
        let e = err(&v);
        assert_eq!(
            e.message,
            format_message("labels.a/b/c", "a valid prefix and/or suffix", "a/b/c")
        );
        let v = with(component(), "/metadata/labels", json!({"ok": "not ok"}));
        let e = err(&v);
        assert_eq!(
            e.message,
            format_message("labels.ok", NAME_EXPECTATION, "not ok")
        );
        assert_eq!(e.value.as_deref(), Some("not ok"));
        let v = with(component(), "/metadata/labels", json!({"ok": ""}));
        assert_eq!(validate_entity(&v), Ok(()));
    }

    #[test]
    fn bad_annotation_key() {
        let v = with(
            component(),
            "/metadata/annotations",
            json!({"Example.com/x": "v"}),
        );
        let e = err(&v);
        assert_eq!(
            e.message,
            format_message(
                "annotations.Example.com/x",
                "a valid prefix and/or suffix",
                "Example.com/x"
            )
        );
        assert_eq!(e.value.as_deref(), Some("Example.com/x"));
    }

    #[test]
    fn bad_link_url_and_title() {
        let v = with(component(), "/metadata/links/0/url", json!("not a url"));
        let e = err(&v);
        assert_eq!(
            e.message,
            format_message("links.0.url", "a string that is a valid url", "not a url")
        );
        let v = with(component(), "/metadata/links/0/title", json!("  "));
        assert_eq!(
            err(&v).message,
            format_message("links.0.title", "a non empty string", "  ")
        );
    }

    #[test]
    fn bad_api_version_and_kind_format() {
        let v = with(component(), "/apiVersion", json!("a/b/c"));
        assert_eq!(
            err(&v).message,
            format_message("apiVersion", "a valid prefix and/or suffix", "a/b/c")
        );
        let v = with(component(), "/kind", json!("9Lives"));
        assert_eq!(
            err(&v).message,
            format_message(
                "kind",
                "a string that is a sequence of [a-zA-Z][a-z0-9A-Z], at most 63 characters in total",
                "9Lives"
            )
        );
    }

    #[test]
    fn missing_spec_owner() {
        let mut v = component();
        v["spec"].as_object_mut().unwrap().remove("owner");
        let e = err(&v);
        assert_eq!(
            e.message,
            "/spec must have required property 'owner' - missingProperty: owner"
        );
        assert_eq!(e.name, "TypeError");
    }

    #[test]
    fn missing_spec_type() {
        let mut v = component();
        v["spec"].as_object_mut().unwrap().remove("type");
        assert_eq!(
            err(&v).message,
            "/spec must have required property 'type' - missingProperty: type"
        );
        let mut v = component();
        v.as_object_mut().unwrap().remove("spec");
        assert_eq!(
            err(&v).message,
            "<root> must have required property 'spec' - missingProperty: spec"
        );
    }

    #[test]
    fn spec_field_types() {
        let v = with(component(), "/spec/providesApis", json!(["a", ""]));
        let e = err(&v);
        assert_eq!(
            e.message,
            "/spec/providesApis/1 must NOT have fewer than 1 characters - limit: 1"
        );
        let v = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Location",
                       "metadata": {"name": "l"}, "spec": {"presence": "maybe"}});
        assert_eq!(
            err(&v).message,
            "/spec/presence must be equal to one of the allowed values - allowedValues: required,optional"
        );
    }

    #[test]
    fn unknown_api_version_or_kind() {
        let v = with(component(), "/apiVersion", json!("backstage.io/v2"));
        let e = err(&v);
        assert_eq!(
            e.message,
            "No processor recognized the entity component:default/artist-lookup as valid, possibly caused by a foreign kind or apiVersion"
        );
        let v = with(component(), "/kind", json!("Foo"));
        let v = with(v, "/metadata/name", json!("X"));
        assert_eq!(
            err(&v).message,
            "No processor recognized the entity foo:default/x as valid, possibly caused by a foreign kind or apiVersion"
        );
        // AiResource exists only as v1alpha1; Template only as scaffolder v1beta3.
        let v = json!({"apiVersion": "backstage.io/v1beta1", "kind": "AiResource", "metadata": {"name": "a", "namespace": "ns"},
                       "spec": {"type": "skill", "lifecycle": "x", "owner": "o"}});
        assert!(err(&v)
            .message
            .starts_with("No processor recognized the entity airesource:ns/a "));
        let v = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Template", "metadata": {"name": "t"},
                       "spec": {"type": "service", "steps": []}});
        assert!(err(&v).message.starts_with("No processor recognized"));
    }

    #[test]
    fn subtype_schemas() {
        let mcp = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "API", "metadata": {"name": "m"},
                         "spec": {"type": "mcp-server", "lifecycle": "x", "owner": "o", "remotes": []}});
        assert_eq!(
            err(&mcp).message,
            "/spec/remotes must NOT have fewer than 1 items - limit: 1"
        );
        let rule = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "AiResource", "metadata": {"name": "r"},
                          "spec": {"type": "rule", "lifecycle": "x", "owner": "o", "category": "c"}});
        assert_eq!(
            err(&rule).message,
            "/spec must have required property 'rationale' - missingProperty: rationale"
        );
    }

    #[test]
    fn required_spec_fields_of_other_kinds() {
        let g = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": {"name": "g"},
                       "spec": {"type": "team"}});
        assert_eq!(
            err(&g).message,
            "/spec must have required property 'children' - missingProperty: children"
        );
        let u = json!({"apiVersion": "backstage.io/v1beta1", "kind": "User", "metadata": {"name": "u"},
                       "spec": {}});
        assert_eq!(
            err(&u).message,
            "/spec must have required property 'memberOf' - missingProperty: memberOf"
        );
        // Several missing: the first in the schema's `required` list.
        let c = with(component(), "/spec", json!({}));
        assert_eq!(
            err(&c).message,
            "/spec must have required property 'type' - missingProperty: type"
        );
        // A missing property wins over a bad sibling (ajv checks `required` before `properties`).
        let c = with(
            component(),
            "/spec",
            json!({"system": 7, "type": "t", "lifecycle": "l"}),
        );
        assert_eq!(
            err(&c).message,
            "/spec must have required property 'owner' - missingProperty: owner"
        );
        let c = with(component(), "/spec/system", json!(7));
        let e = err(&c);
        assert_eq!(e.message, "/spec/system must be string - type: string");
        assert_eq!(e.value.as_deref(), Some("7"));
    }

    #[test]
    fn null_name_and_missing_metadata() {
        let v = with(component(), "/metadata/name", Value::Null);
        assert_eq!(
            err(&v).message,
            "Malformed envelope, /metadata/name must be string"
        );
        let mut v = component();
        v.as_object_mut().unwrap().remove("metadata");
        assert_eq!(
            err(&v).message,
            "Malformed envelope, <root> must have required property 'metadata'"
        );
    }

    #[test]
    fn template_schema_errors() {
        let t = json!({"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template",
                       "metadata": {"name": "t"},
                       "spec": {"type": "service", "steps": [{"action": "fetch:plain"}]}});
        assert_eq!(validate_entity(&t), Ok(()));
        // A failed oneOf reports its first branch's error first, as ajv does.
        let bad = with(t.clone(), "/spec/parameters", json!("text"));
        assert_eq!(
            err(&bad).message,
            "/spec/parameters must be object - type: object"
        );
        let bad = with(t.clone(), "/spec/steps/0/if", json!(3));
        assert_eq!(
            err(&bad).message,
            "/spec/steps/0/if must be string,boolean - type: string,boolean"
        );
        let bad = with(t, "/spec/steps", json!([{"id": "x"}]));
        assert_eq!(
            err(&bad).message,
            "/spec/steps/0 must have required property 'action' - missingProperty: action"
        );
    }

    /// Replaces `{$text|$json|$yaml: ...}` placeholder objects with a string, as if resolved.
    fn resolve_placeholders(v: &mut Value) {
        match v {
            Value::Object(map) => {
                if map.len() == 1 && map.keys().all(|k| k.starts_with('$')) {
                    *v = Value::String("resolved placeholder".into());
                } else {
                    map.values_mut().for_each(resolve_placeholders);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(resolve_placeholders),
            _ => {}
        }
    }

    fn documents(path: &Path) -> Vec<Value> {
        use serde::Deserialize;
        let text = std::fs::read_to_string(path).unwrap();
        serde_yaml::Deserializer::from_str(&text)
            .map(|doc| serde_yaml::Value::deserialize(doc).unwrap())
            .filter(|doc| !doc.is_null())
            .map(|doc| {
                let mut json: Value = serde_json::to_value(doc).unwrap();
                resolve_placeholders(&mut json);
                json
            })
            .collect()
    }

    fn yaml_files(dir: &Path, only: Option<&str>, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                yaml_files(&path, only, out);
            } else if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                let wanted = match only {
                    Some(only) => name == only,
                    None => name.ends_with(".yaml") && !name.ends_with(".oas.yaml"),
                };
                if wanted {
                    out.push(path);
                }
            }
        }
    }

    #[test]
    fn every_backstage_example_validates() {
        let dir = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/backstage/examples"
        ));
        let mut files = Vec::new();
        yaml_files(dir, None, &mut files);
        let mut count = 0;
        for file in &files {
            for doc in documents(file) {
                if let Err(e) = validate_entity(&doc) {
                    panic!("{}: {} ({:?})", file.display(), e.message, e.value);
                }
                count += 1;
            }
        }
        // 68 entities plus the 8 Location files' own Location entities are all in the set.
        assert!(count >= 68, "only {count} entities found");
    }

    #[test]
    fn every_sample_template_validates() {
        let dir = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/templates"
        ));
        let mut files = Vec::new();
        yaml_files(dir, Some("template.yaml"), &mut files);
        assert!(files.len() >= 14);
        for file in &files {
            for doc in documents(file) {
                if let Err(e) = validate_entity(&doc) {
                    panic!("{}: {} ({:?})", file.display(), e.message, e.value);
                }
            }
        }
    }
}
