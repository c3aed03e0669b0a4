//! Backstage's JSON Schemas, compiled once, and the translation of `jsonschema` errors into the first error ajv
//! would report, worded as ajv words it.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{Draft, Resource, Validator};
use serde_json::Value;

const ENTITY: &str = include_str!("../../../schemas/Entity.schema.json");
const ENTITY_META: &str = include_str!("../../../schemas/EntityMeta.schema.json");
const COMMON: &str = include_str!("../../../schemas/shared/common.schema.json");

/// The kind schemas stagedoor knows. Each is validated against the whole entity, as Backstage does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KindSchema {
    Api,
    ApiMcpServer,
    AiResource,
    AiResourceSkill,
    AiResourceRule,
    AiResourcePlugin,
    AiResourceMarketplace,
    Component,
    Domain,
    Group,
    Location,
    Resource,
    System,
    User,
    TemplateV1beta3,
}

impl KindSchema {
    const ALL: [KindSchema; 15] = [
        KindSchema::Api,
        KindSchema::ApiMcpServer,
        KindSchema::AiResource,
        KindSchema::AiResourceSkill,
        KindSchema::AiResourceRule,
        KindSchema::AiResourcePlugin,
        KindSchema::AiResourceMarketplace,
        KindSchema::Component,
        KindSchema::Domain,
        KindSchema::Group,
        KindSchema::Location,
        KindSchema::Resource,
        KindSchema::System,
        KindSchema::User,
        KindSchema::TemplateV1beta3,
    ];

    fn index(self) -> usize {
        self as usize
    }

    fn source(self) -> &'static str {
        match self {
            KindSchema::Api => include_str!("../../../schemas/kinds/API.v1alpha1.schema.json"),
            KindSchema::ApiMcpServer => {
                include_str!("../../../schemas/kinds/API.v1alpha1.mcp-server.schema.json")
            }
            KindSchema::AiResource => {
                include_str!("../../../schemas/kinds/AiResource.v1alpha1.schema.json")
            }
            KindSchema::AiResourceSkill => {
                include_str!("../../../schemas/kinds/AiResource.v1alpha1.skill.schema.json")
            }
            KindSchema::AiResourceRule => {
                include_str!("../../../schemas/kinds/AiResource.v1alpha1.rule.schema.json")
            }
            KindSchema::AiResourcePlugin => {
                include_str!("../../../schemas/kinds/AiResource.v1alpha1.plugin.schema.json")
            }
            KindSchema::AiResourceMarketplace => {
                include_str!("../../../schemas/kinds/AiResource.v1alpha1.marketplace.schema.json")
            }
            KindSchema::Component => {
                include_str!("../../../schemas/kinds/Component.v1alpha1.schema.json")
            }
            KindSchema::Domain => {
                include_str!("../../../schemas/kinds/Domain.v1alpha1.schema.json")
            }
            KindSchema::Group => include_str!("../../../schemas/kinds/Group.v1alpha1.schema.json"),
            KindSchema::Location => {
                include_str!("../../../schemas/kinds/Location.v1alpha1.schema.json")
            }
            KindSchema::Resource => {
                include_str!("../../../schemas/kinds/Resource.v1alpha1.schema.json")
            }
            KindSchema::System => {
                include_str!("../../../schemas/kinds/System.v1alpha1.schema.json")
            }
            KindSchema::User => include_str!("../../../schemas/kinds/User.v1alpha1.schema.json"),
            KindSchema::TemplateV1beta3 => {
                include_str!("../../../schemas/kinds/Template.v1beta3.schema.json")
            }
        }
    }
}

/// One schema failure as ajv reports it: `instancePath` (empty at the root), `message` and `params` rendered the way
/// JavaScript's template strings render them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AjvError {
    pub instance_path: String,
    pub message: String,
    /// `(name, value)` pairs in ajv's order; empty for keywords whose params object is `{}` (anyOf, not).
    pub params: Vec<(&'static str, String)>,
    /// The offending value, when there is a single one a caller can search for.
    pub value: Option<String>,
}

impl AjvError {
    /// `<instancePath|<root>> <message>`: SchemaValidEntityPolicy's form.
    pub fn short(&self) -> String {
        format!("{} {}", self.path_or_root(), self.message)
    }

    /// `<instancePath|<root>> <message> - k: v, ...`: throwAjvError's form, used by kind validators. ajv always
    /// sets `params`, so the ` - ` separator is there even when it is empty.
    pub fn with_params(&self) -> String {
        let params = self
            .params
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!("{} - {}", self.short(), params)
    }

    fn path_or_root(&self) -> &str {
        if self.instance_path.is_empty() {
            "<root>"
        } else {
            &self.instance_path
        }
    }
}

/// Why a schema could not be compiled. Only a broken embedded schema can cause this.
#[derive(Debug, Clone)]
pub(crate) struct CompileError(pub String);

/// A compiled schema and its JSON, which error translation looks into (type lists, `oneOf` branches).
pub(crate) struct CompiledSchema {
    validator: Validator,
    schema: Value,
}

type Compiled = Result<CompiledSchema, CompileError>;

fn parse(text: &str) -> Result<Value, CompileError> {
    serde_json::from_str(text).map_err(|e| CompileError(e.to_string()))
}

fn build(schema: Value) -> Compiled {
    let mut options = jsonschema::options();
    options.with_draft(Draft::Draft7);
    // The schemas refer to each other by bare `$id`s ("Entity", "EntityMeta", "common#relation"), which resolve
    // against the crate's default base URI.
    for (id, text) in [
        ("Entity", ENTITY),
        ("EntityMeta", ENTITY_META),
        ("common", COMMON),
    ] {
        let contents = parse(text)?;
        let resource =
            Resource::from_contents(contents).map_err(|e| CompileError(e.to_string()))?;
        options.with_resource(format!("json-schema:///{id}"), resource);
    }
    let validator = options
        .build(&schema)
        .map_err(|e| CompileError(e.to_string()))?;
    Ok(CompiledSchema { validator, schema })
}

fn build_text(schema_text: &str) -> Compiled {
    build(parse(schema_text)?)
}

pub(crate) fn envelope_validator() -> &'static Compiled {
    static CELL: OnceLock<Compiled> = OnceLock::new();
    CELL.get_or_init(|| build_text(ENTITY))
}

pub(crate) fn kind_validator(kind: KindSchema) -> &'static Compiled {
    static CELLS: OnceLock<Vec<Compiled>> = OnceLock::new();
    let all = CELLS.get_or_init(|| {
        KindSchema::ALL
            .iter()
            .map(|k| build_text(k.source()))
            .collect()
    });
    &all[kind.index()]
}

/// The error ajv would report first for `instance`, or `None` when the instance is valid.
pub(crate) fn first_error(compiled: &CompiledSchema, instance: &Value) -> Option<AjvError> {
    let mut errors: Vec<(Vec<(u32, u64)>, jsonschema::ValidationError<'_>)> = compiled
        .validator
        .iter_errors(instance)
        .map(|e| (order_key(e.schema_path.as_str()), e))
        .collect();
    // ajv walks a schema keyword group by keyword group (untyped, number, string, array, object), in a fixed order
    // inside each group; the crate walks keywords in schema order. A stable sort on the keywords along the schema
    // path gives ajv's first error, keeping the crate's order where ajv's is the same (properties, items).
    errors.sort_by(|a, b| a.0.cmp(&b.0));
    let (_, first) = errors.into_iter().next()?;
    let schema_at = compiled.schema.pointer(first.schema_path.as_str());
    let instance_path = first.instance_path.as_str().to_string();
    match &first.kind {
        // ajv keeps the failing branches' errors ahead of the anyOf/oneOf error itself, so the first one it
        // reports is the first error of the first branch.
        ValidationErrorKind::AnyOf | ValidationErrorKind::OneOfNotValid => {
            if let Some(e) = first_branch_error(schema_at, instance, &instance_path) {
                return Some(e);
            }
        }
        // The crate lists several types in its own order; ajv prints them as the schema lists them.
        ValidationErrorKind::Type {
            kind: TypeKind::Multiple(_),
        } => {
            if let Some(Value::Array(types)) = schema_at {
                let t = js_string(&Value::Array(types.clone()));
                return Some(AjvError {
                    instance_path,
                    message: format!("must be {t}"),
                    params: vec![("type", t)],
                    value: scalar(&first.instance),
                });
            }
        }
        _ => {}
    }
    Some(to_ajv(&first.kind, &instance_path, &first.instance))
}

fn first_branch_error(
    branches: Option<&Value>,
    root_instance: &Value,
    instance_path: &str,
) -> Option<AjvError> {
    let branch = branches?.as_array()?.first()?.clone();
    let instance = root_instance.pointer(instance_path)?;
    let compiled = build(branch).ok()?;
    let mut e = first_error(&compiled, instance)?;
    e.instance_path = format!("{instance_path}{}", e.instance_path);
    Some(e)
}

/// The rank ajv gives each keyword: its group first, then its position inside the group.
fn keyword_rank(keyword: &str) -> Option<u32> {
    Some(match keyword {
        "$ref" => 0,
        "const" => 1,
        "enum" => 2,
        "not" => 3,
        "anyOf" => 4,
        "oneOf" => 5,
        "allOf" => 6,
        "if" => 7,
        "then" => 8,
        "else" => 9,
        "type" => 10,
        "maximum" => 20,
        "minimum" => 21,
        "exclusiveMaximum" => 22,
        "exclusiveMinimum" => 23,
        "multipleOf" => 24,
        "maxLength" => 30,
        "minLength" => 31,
        "pattern" => 32,
        "format" => 33,
        "maxItems" => 40,
        "minItems" => 41,
        "uniqueItems" => 42,
        "additionalItems" => 43,
        "items" => 44,
        "contains" => 45,
        "maxProperties" => 50,
        "minProperties" => 51,
        "required" => 52,
        "propertyNames" => 53,
        "additionalProperties" => 54,
        "dependencies" => 55,
        "properties" => 56,
        "patternProperties" => 57,
        _ => return None,
    })
}

/// A sort key from a schema path such as `/allOf/1/properties/spec/required`: keywords by ajv rank, indices by
/// number, property names equal (so the stable sort keeps the crate's order for them).
fn order_key(schema_path: &str) -> Vec<(u32, u64)> {
    let mut key = Vec::new();
    let mut next_is_name = false;
    for segment in schema_path.split('/').skip(1) {
        if next_is_name {
            next_is_name = false;
            key.push((0, 0));
            continue;
        }
        if let Ok(n) = segment.parse::<u64>() {
            key.push((0, n));
            continue;
        }
        match keyword_rank(segment) {
            Some(rank) => {
                next_is_name =
                    matches!(segment, "properties" | "patternProperties" | "dependencies");
                key.push((rank + 1, 0));
            }
            None => key.push((100, 0)),
        }
    }
    key
}

/// How JavaScript's `${value}` renders a JSON value.
fn js_string(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::Null => String::new(),
                other => js_string(other),
            })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".to_string(),
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn type_name(kind: &TypeKind) -> String {
    match kind {
        TypeKind::Single(t) => t.to_string(),
        TypeKind::Multiple(set) => set
            .into_iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(","),
    }
}

/// Translates one crate error into ajv's wording.
fn to_ajv(kind: &ValidationErrorKind, instance_path: &str, instance: &Value) -> AjvError {
    let value = scalar(instance);
    let (message, params, value): (String, Vec<(&'static str, String)>, Option<String>) = match kind
    {
        ValidationErrorKind::Required { property } => {
            let p = js_string(property);
            (
                format!("must have required property '{p}'"),
                vec![("missingProperty", p)],
                None,
            )
        }
        ValidationErrorKind::Type { kind } => {
            let t = type_name(kind);
            (format!("must be {t}"), vec![("type", t)], value)
        }
        ValidationErrorKind::MinLength { limit } => (
            format!("must NOT have fewer than {limit} characters"),
            vec![("limit", limit.to_string())],
            value,
        ),
        ValidationErrorKind::MaxLength { limit } => (
            format!("must NOT have more than {limit} characters"),
            vec![("limit", limit.to_string())],
            value,
        ),
        ValidationErrorKind::MinItems { limit } => (
            format!("must NOT have fewer than {limit} items"),
            vec![("limit", limit.to_string())],
            None,
        ),
        ValidationErrorKind::MaxItems { limit } => (
            format!("must NOT have more than {limit} items"),
            vec![("limit", limit.to_string())],
            None,
        ),
        ValidationErrorKind::AdditionalItems { limit } => (
            format!("must NOT have more than {limit} items"),
            vec![("limit", limit.to_string())],
            None,
        ),
        ValidationErrorKind::MinProperties { limit } => (
            format!("must NOT have fewer than {limit} properties"),
            vec![("limit", limit.to_string())],
            None,
        ),
        ValidationErrorKind::MaxProperties { limit } => (
            format!("must NOT have more than {limit} properties"),
            vec![("limit", limit.to_string())],
            None,
        ),
        ValidationErrorKind::Enum { options } => (
            "must be equal to one of the allowed values".to_string(),
            vec![("allowedValues", js_string(options))],
            value,
        ),
        ValidationErrorKind::Constant { expected_value } => (
            "must be equal to constant".to_string(),
            vec![("allowedValue", js_string(expected_value))],
            value,
        ),
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let first = unexpected.first().cloned().unwrap_or_default();
            (
                "must NOT have additional properties".to_string(),
                vec![("additionalProperty", first.clone())],
                Some(first),
            )
        }
        ValidationErrorKind::Pattern { pattern } => (
            format!("must match pattern \"{pattern}\""),
            vec![("pattern", pattern.clone())],
            value,
        ),
        ValidationErrorKind::Format { format } => (
            format!("must match format \"{format}\""),
            vec![("format", format.clone())],
            value,
        ),
        ValidationErrorKind::AnyOf => ("must match a schema in anyOf".to_string(), vec![], None),
        ValidationErrorKind::OneOfNotValid => (
            "must match exactly one schema in oneOf".to_string(),
            vec![("passingSchemas", "null".to_string())],
            None,
        ),
        ValidationErrorKind::OneOfMultipleValid => (
            "must match exactly one schema in oneOf".to_string(),
            vec![("passingSchemas", "0,1".to_string())],
            None,
        ),
        ValidationErrorKind::Not { .. } => ("must NOT be valid".to_string(), vec![], None),
        ValidationErrorKind::FalseSchema => ("boolean schema is false".to_string(), vec![], None),
        ValidationErrorKind::Minimum { limit } => (
            format!("must be >= {limit}"),
            vec![
                ("comparison", ">=".to_string()),
                ("limit", limit.to_string()),
            ],
            value,
        ),
        ValidationErrorKind::Maximum { limit } => (
            format!("must be <= {limit}"),
            vec![
                ("comparison", "<=".to_string()),
                ("limit", limit.to_string()),
            ],
            value,
        ),
        ValidationErrorKind::ExclusiveMinimum { limit } => (
            format!("must be > {limit}"),
            vec![
                ("comparison", ">".to_string()),
                ("limit", limit.to_string()),
            ],
            value,
        ),
        ValidationErrorKind::ExclusiveMaximum { limit } => (
            format!("must be < {limit}"),
            vec![
                ("comparison", "<".to_string()),
                ("limit", limit.to_string()),
            ],
            value,
        ),
        ValidationErrorKind::MultipleOf { multiple_of } => (
            format!("must be multiple of {multiple_of}"),
            vec![("multipleOf", multiple_of.to_string())],
            value,
        ),
        ValidationErrorKind::UniqueItems => {
            let (i, j) = duplicate_indices(instance).unwrap_or((0, 0));
            (
                format!("must NOT have duplicate items (items ## {j} and {i} are identical)"),
                vec![("i", i.to_string()), ("j", j.to_string())],
                None,
            )
        }
        ValidationErrorKind::Contains => (
            "must contain at least 1 valid item(s)".to_string(),
            vec![("minContains", "1".to_string())],
            None,
        ),
        ValidationErrorKind::PropertyNames { .. } => {
            ("property name must be valid".to_string(), vec![], None)
        }
        ValidationErrorKind::Custom { message } => (message.clone(), vec![], value),
        other => (other_message(other), vec![], value),
    };
    AjvError {
        instance_path: instance_path.to_string(),
        message,
        params,
        value,
    }
}

fn other_message(kind: &ValidationErrorKind) -> String {
    match kind {
        ValidationErrorKind::Referencing(e) => format!("can't resolve reference: {e}"),
        _ => "is invalid".to_string(),
    }
}

/// ajv reports the last pair of equal items it finds scanning from the end: `i` the later one, `j` the earlier.
fn duplicate_indices(instance: &Value) -> Option<(usize, usize)> {
    let items = instance.as_array()?;
    for i in (0..items.len()).rev() {
        for j in (0..i).rev() {
            if items[i] == items[j] {
                return Some((i, j));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_embedded_schema_compiles() {
        assert!(envelope_validator().is_ok());
        for kind in KindSchema::ALL {
            if let Err(e) = kind_validator(kind) {
                panic!("{kind:?}: {}", e.0);
            }
        }
    }

    #[test]
    fn required_comes_before_nested_property_errors() {
        let v = kind_validator(KindSchema::Component).as_ref().unwrap();
        let e = first_error(
            v,
            &json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "a"},
                    "spec": {"type": "service", "lifecycle": "x", "system": 7}}),
        )
        .unwrap();
        assert_eq!(
            e.with_params(),
            "/spec must have required property 'owner' - missingProperty: owner"
        );
    }

    #[test]
    fn js_rendering_of_params() {
        assert_eq!(
            js_string(&json!(["required", "optional"])),
            "required,optional"
        );
        assert_eq!(js_string(&json!({"a": 1})), "[object Object]");
        assert_eq!(
            AjvError {
                instance_path: String::new(),
                message: "must match a schema in anyOf".into(),
                params: vec![],
                value: None
            }
            .with_params(),
            "<root> must match a schema in anyOf - "
        );
    }
}
