//! A Template entity read for the scaffolder: its form pages, its steps with ids and names filled in, its
//! output, and the directory its relative URLs (`./skeleton`) resolve against. Submitted values are checked
//! here against every page, as Backstage's router does before it creates a task.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde_json::{json, Map, Value};

use super::actions::TemplateBase;
use super::types::{ParameterSchema, ParameterStep, StepSpec, TemplateInfo};
use crate::entity::{Entity, ANNOTATION_LOCATION, ANNOTATION_SOURCE_LOCATION};
use crate::error::PortalError;

/// The only Template apiVersion the scaffolder runs.
pub const TEMPLATE_API_VERSION: &str = "scaffolder.backstage.io/v1beta3";
/// A page's title when it has none.
pub const DEFAULT_PAGE_TITLE: &str = "Fill in template parameters";

/// A parsed v1beta3 Template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// `template:<namespace>/<name>`, lower-cased.
    pub entity_ref: String,
    pub title: String,
    pub description: Option<String>,
    /// The form pages (JSON Schema objects as written, `ui:*` keys included).
    pub pages: Vec<Value>,
    pub steps: Vec<StepSpec>,
    pub output: Value,
    /// The template's `metadata`.
    pub metadata: Value,
    /// Where relative URLs resolve, from the entity's location; `None` for an entity with no location (a
    /// dry run of a template sent inline).
    pub base: Option<TemplateBase>,
}

impl Template {
    /// Reads a Template entity; an apiVersion other than v1beta3 gives Backstage's `InputError`.
    pub fn from_entity(entity: &Entity) -> Result<Template, PortalError> {
        let api_version = entity.api_version();
        if api_version != TEMPLATE_API_VERSION {
            return Err(PortalError::Input(format!(
                "Unsupported apiVersion field in schema entity, {api_version}"
            )));
        }
        let entity_ref = entity.entity_ref().to_string().to_lowercase();
        if !entity.kind().eq_ignore_ascii_case("template") {
            return Err(PortalError::Input(format!(
                "{entity_ref} is not a Template (kind {})",
                entity.kind()
            )));
        }
        let empty = Map::new();
        let spec = entity.spec().unwrap_or(&empty);
        let pages = match spec.get("parameters") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(pages)) => pages.clone(),
            Some(page @ Value::Object(_)) => vec![page.clone()],
            Some(_) => {
                return Err(PortalError::Input(format!(
                    "{entity_ref}: spec.parameters must be an object or a list of objects"
                )))
            }
        };
        if let Some(i) = pages.iter().position(|p| !p.is_object()) {
            return Err(PortalError::Input(format!(
                "{entity_ref}: spec.parameters[{i}] must be an object"
            )));
        }
        let steps = match spec.get("steps") {
            Some(Value::Array(steps)) => steps
                .iter()
                .enumerate()
                .map(|(i, s)| step(&entity_ref, i, s))
                .collect::<Result<Vec<_>, _>>()?,
            None | Some(Value::Null) => {
                return Err(PortalError::Input(format!(
                    "{entity_ref}: spec.steps is required"
                )))
            }
            Some(_) => {
                return Err(PortalError::Input(format!(
                    "{entity_ref}: spec.steps must be a list"
                )))
            }
        };
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = steps.iter().find(|s| !seen.insert(s.id.as_str())) {
            return Err(PortalError::Input(format!(
                "{entity_ref}: two steps have the id {:?}",
                dup.id
            )));
        }
        Ok(Template {
            title: entity
                .title()
                .map_or_else(|| entity.name().to_string(), str::to_string),
            description: entity.description().map(str::to_string),
            pages,
            steps,
            output: spec.get("output").cloned().unwrap_or(Value::Null),
            metadata: entity
                .metadata()
                .map_or(Value::Null, |m| Value::Object(m.clone())),
            base: template_location(entity).and_then(|l| base_of(&l)),
            entity_ref,
        })
    }

    /// `GET /v2/templates/.../parameter-schema`.
    pub fn parameter_schema(&self) -> ParameterSchema {
        ParameterSchema {
            title: self.title.clone(),
            description: self.description.clone(),
            steps: self
                .pages
                .iter()
                .map(|page| ParameterStep {
                    title: page
                        .get("title")
                        .and_then(Value::as_str)
                        .unwrap_or(DEFAULT_PAGE_TITLE)
                        .to_string(),
                    description: page
                        .get("description")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    schema: page.clone(),
                })
                .collect(),
        }
    }

    /// The template's directory as a URL (`file:///dir/` or `https://host/dir/`), Backstage's `baseUrl`.
    pub fn base_url(&self) -> Option<String> {
        match &self.base {
            Some(TemplateBase::Dir(dir)) => url::Url::from_directory_path(dir)
                .ok()
                .map(|u| u.to_string()),
            Some(TemplateBase::Url(u)) => Some(u.to_string()),
            None => None,
        }
    }

    /// The spec of a task running this template with `values` (exactly as submitted; `{}` when none).
    pub fn task_spec(
        &self,
        values: &serde_json::Value,
        template_info: TemplateInfo,
        user: Option<super::types::TaskUser>,
    ) -> super::types::TaskSpec {
        super::types::TaskSpec {
            api_version: TEMPLATE_API_VERSION.to_string(),
            parameters: if values.is_null() {
                serde_json::json!({})
            } else {
                values.clone()
            },
            steps: self.steps.clone(),
            output: self.output.clone(),
            template_info,
            user,
        }
    }

    pub fn template_info(&self) -> TemplateInfo {
        TemplateInfo {
            entity_ref: self.entity_ref.clone(),
            base_url: self.base_url(),
            entity: Some(json!({ "metadata": self.metadata })),
        }
    }

    /// Checks `values` against every page; the failures as Backstage's jsonschema errors. `Secret` fields are
    /// sent in `secrets`, so their values count as present here (and are checked as the page says).
    pub fn validate_values(
        &self,
        values: &Value,
        secrets: &BTreeMap<String, String>,
    ) -> Result<(), PortalError> {
        let mut instance = match values {
            Value::Null => Value::Object(Map::new()),
            other => other.clone(),
        };
        if let Value::Object(map) = &mut instance {
            for (key, secret) in secrets {
                if !map.contains_key(key) && self.is_secret_field(key) {
                    map.insert(key.clone(), Value::String(secret.clone()));
                }
            }
        }
        let mut errors = Vec::new();
        for (i, page) in self.pages.iter().enumerate() {
            let validator = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft7)
                .build(page)
                .map_err(|e| {
                    PortalError::Input(format!(
                        "{}: spec.parameters[{i}] is not a valid JSON Schema: {e}",
                        self.entity_ref
                    ))
                })?;
            errors.extend(
                validator
                    .iter_errors(&instance)
                    .map(|e| validation_error(&e)),
            );
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(PortalError::Validation(errors))
        }
    }

    /// Whether some page declares `key` with `ui:field: Secret`.
    fn is_secret_field(&self, key: &str) -> bool {
        self.pages.iter().any(|page| {
            page.pointer(&format!(
                "/properties/{}/ui:field",
                key.replace('~', "~0").replace('/', "~1")
            ))
            .and_then(Value::as_str)
                == Some("Secret")
        })
    }
}

fn step(entity_ref: &str, i: usize, raw: &Value) -> Result<StepSpec, PortalError> {
    let Value::Object(map) = raw else {
        return Err(PortalError::Input(format!(
            "{entity_ref}: spec.steps[{i}] must be an object"
        )));
    };
    let text = |key: &str| -> Result<Option<String>, PortalError> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(PortalError::Input(format!(
                "{entity_ref}: spec.steps[{i}].{key} must be a string"
            ))),
        }
    };
    let action = text("action")?.filter(|a| !a.is_empty()).ok_or_else(|| {
        PortalError::Input(format!("{entity_ref}: spec.steps[{i}].action is required"))
    })?;
    Ok(StepSpec {
        id: text("id")?.unwrap_or_else(|| format!("step-{}", i + 1)),
        name: text("name")?.unwrap_or_else(|| action.clone()),
        input: map
            .get("input")
            .cloned()
            .unwrap_or(Value::Object(Map::new())),
        if_condition: map.get("if").cloned(),
        each: map.get("each").cloned(),
        action,
    })
}

/// The location the template file was read from: its source location, else the location that manages it.
fn template_location(entity: &Entity) -> Option<String> {
    entity
        .annotation(ANNOTATION_SOURCE_LOCATION)
        .or_else(|| entity.annotation(ANNOTATION_LOCATION))
        .map(str::to_string)
}

/// `file:/abs/path/template.yaml` → its directory; `url:https://host/x/template.yaml` → `https://host/x/`.
/// A location already naming a directory (ending in `/`) is that directory.
pub fn base_of(location: &str) -> Option<TemplateBase> {
    let (kind, target) = location.split_once(':')?;
    match kind {
        "file" => {
            let target = target.strip_prefix("//").unwrap_or(target);
            let path = Path::new(target);
            let path = if path.is_absolute() {
                path.to_path_buf()
            } else {
                std::env::current_dir().ok()?.join(path)
            };
            let dir = if target.ends_with('/') {
                path
            } else {
                path.parent()?.to_path_buf()
            };
            Some(TemplateBase::Dir(normalize(&dir)))
        }
        "url" => {
            let url = url::Url::parse(target).ok()?;
            url.join("./").ok().map(TemplateBase::Url)
        }
        _ => None,
    }
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// One failure as the `jsonschema` npm library reports it: `{property, message, name, argument, stack,
/// path, instance}` (`property` is `instance.a.b[0]`, `stack` is `property + " " + message`).
pub(crate) fn validation_error(e: &jsonschema::ValidationError<'_>) -> Value {
    use jsonschema::error::ValidationErrorKind as K;
    let mut property = String::from("instance");
    let mut path = Vec::new();
    for segment in e.instance_path.as_str().split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        match segment.parse::<u64>() {
            Ok(n) if is_index_of(&segment) => {
                property.push_str(&format!("[{n}]"));
                path.push(json!(n));
            }
            _ => {
                property.push('.');
                property.push_str(&segment);
                path.push(json!(segment));
            }
        }
    }
    let (name, argument, message) = match &e.kind {
        K::Required { property } => (
            "required",
            property.clone(),
            format!("requires property {property}"),
        ),
        K::Pattern { pattern } => (
            "pattern",
            json!(pattern),
            format!("does not match pattern {}", json!(pattern)),
        ),
        K::Type { kind } => {
            let t = format!("{kind:?}").to_lowercase();
            let t = t
                .trim_start_matches("single(")
                .trim_end_matches(')')
                .to_string();
            ("type", json!([t]), format!("is not of a type(s) {t}"))
        }
        K::MinLength { limit } => (
            "minLength",
            json!(limit),
            format!("does not meet minimum length of {limit}"),
        ),
        K::MaxLength { limit } => (
            "maxLength",
            json!(limit),
            format!("does not meet maximum length of {limit}"),
        ),
        K::Enum { options } => (
            "enum",
            options.clone(),
            format!("is not one of enum values: {}", enum_list(options)),
        ),
        K::Minimum { limit } => (
            "minimum",
            limit.clone(),
            format!("must be greater than or equal to {limit}"),
        ),
        K::Maximum { limit } => (
            "maximum",
            limit.clone(),
            format!("must be less than or equal to {limit}"),
        ),
        K::Constant { expected_value } => (
            "const",
            expected_value.clone(),
            format!("does not exactly match expected constant: {expected_value}"),
        ),
        _ => ("schema", Value::Null, e.to_string()),
    };
    json!({
        "property": property,
        "message": message,
        "name": name,
        "argument": argument,
        "instance": e.instance.as_ref(),
        "path": path,
        "stack": format!("{property} {message}"),
    })
}

/// A path segment made of digits only is an array index when the instance path walks into an array; the
/// error does not say, so digits are read as an index (object keys that are all digits are rare in forms).
fn is_index_of(segment: &str) -> bool {
    segment.chars().all(|c| c.is_ascii_digit())
}

fn enum_list(options: &Value) -> String {
    match options {
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(yaml: &str) -> Entity {
        Entity::from_value(serde_yaml::from_str(yaml).unwrap()).unwrap()
    }

    const SIMPLE: &str = r#"
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: simple
  annotations:
    backstage.io/managed-by-location: file:/srv/templates/simple/template.yaml
spec:
  type: service
  parameters:
    title: Basics
    required: [name]
    properties:
      name: {type: string, pattern: '^[a-z]+$'}
      count: {type: number}
      token: {type: string, ui:field: Secret}
  steps:
    - action: debug:log
      input: {message: hi}
    - id: second
      name: Second
      action: debug:log
      if: ${{ parameters.count }}
  output:
    links: [{title: x, url: y}]
"#;

    #[test]
    fn reads_pages_steps_and_base() {
        let t = Template::from_entity(&entity(SIMPLE)).unwrap();
        assert_eq!(t.entity_ref, "template:default/simple");
        assert_eq!(t.title, "simple");
        assert_eq!(t.steps[0].id, "step-1");
        assert_eq!(t.steps[0].name, "debug:log");
        assert_eq!(t.steps[1].id, "second");
        assert_eq!(t.steps[1].name, "Second");
        assert_eq!(
            t.steps[1].if_condition,
            Some(json!("${{ parameters.count }}"))
        );
        assert_eq!(
            t.base_url().as_deref(),
            Some("file:///srv/templates/simple/")
        );
        let schema = t.parameter_schema();
        assert_eq!(schema.steps.len(), 1);
        assert_eq!(schema.steps[0].title, "Basics");
        assert_eq!(
            schema.steps[0].schema["properties"]["token"]["ui:field"],
            "Secret"
        );
    }

    #[test]
    fn refuses_old_api_versions_with_backstages_message() {
        let e = Template::from_entity(&entity(
            "apiVersion: backstage.io/v1beta2\nkind: Template\nmetadata: {name: old}\nspec: {steps: []}",
        ))
        .unwrap_err();
        assert_eq!(
            e,
            PortalError::Input(
                "Unsupported apiVersion field in schema entity, backstage.io/v1beta2".into()
            )
        );
    }

    #[test]
    fn base_urls_from_locations() {
        assert_eq!(
            base_of("url:https://github.com/o/r/blob/main/t/template.yaml"),
            Some(TemplateBase::Url(
                url::Url::parse("https://github.com/o/r/blob/main/t/").unwrap()
            ))
        );
        assert_eq!(
            base_of("file:/a/b/../c/template.yaml"),
            Some(TemplateBase::Dir(PathBuf::from("/a/c")))
        );
        assert_eq!(base_of("github:whatever"), None);
    }

    #[test]
    fn values_checked_against_every_page() {
        let t = Template::from_entity(&entity(SIMPLE)).unwrap();
        t.validate_values(&json!({"name": "abc"}), &BTreeMap::new())
            .unwrap();
        let Err(PortalError::Validation(errors)) =
            t.validate_values(&json!({"count": "many"}), &BTreeMap::new())
        else {
            panic!("expected validation errors")
        };
        assert_eq!(errors.len(), 2, "{errors:?}");
        let required = errors.iter().find(|e| e["name"] == "required").unwrap();
        assert_eq!(required["property"], "instance");
        assert_eq!(required["stack"], "instance requires property \"name\"");
        let typed = errors.iter().find(|e| e["name"] == "type").unwrap();
        assert_eq!(typed["property"], "instance.count");
        assert_eq!(typed["path"], json!(["count"]));
        let Err(PortalError::Validation(errors)) =
            t.validate_values(&json!({"name": "ABC"}), &BTreeMap::new())
        else {
            panic!("expected a pattern error")
        };
        assert_eq!(
            errors[0]["stack"],
            "instance.name does not match pattern \"^[a-z]+$\""
        );
    }

    #[test]
    fn secret_fields_count_as_present() {
        let mut t = Template::from_entity(&entity(SIMPLE)).unwrap();
        t.pages[0]["required"] = json!(["name", "token"]);
        let secrets = BTreeMap::from([("token".to_string(), "s3cr3t".to_string())]);
        t.validate_values(&json!({"name": "abc"}), &secrets)
            .unwrap();
        assert!(t
            .validate_values(&json!({"name": "abc"}), &BTreeMap::new())
            .is_err());
    }

    #[test]
    fn every_fixture_template_parses() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures/templates")
            .canonicalize()
            .unwrap();
        let mut count = 0;
        for file in glob::glob(&format!("{}/**/*.yaml", root.display())).unwrap() {
            let file = file.unwrap();
            let text = std::fs::read_to_string(&file).unwrap();
            for doc in serde_yaml::Deserializer::from_str(&text) {
                // A skeleton file with `${{ }}` is often not YAML; after an error the stream stops.
                let Ok(value) = serde_yaml::Value::deserialize(doc) else {
                    break;
                };
                let Ok(value) = serde_json::to_value(value) else {
                    continue;
                };
                if value.get("kind").and_then(Value::as_str) != Some("Template") {
                    continue;
                }
                let mut e = Entity::from_value(value).unwrap();
                e.set_annotation(ANNOTATION_LOCATION, &format!("file:{}", file.display()));
                let t = Template::from_entity(&e)
                    .unwrap_or_else(|err| panic!("{}: {err}", file.display()));
                assert!(!t.steps.is_empty(), "{}", file.display());
                assert_eq!(
                    t.base,
                    Some(TemplateBase::Dir(file.parent().unwrap().to_path_buf()))
                );
                count += 1;
            }
        }
        assert!(count >= 14, "only {count} templates found");
    }

    use serde::Deserialize;
}
