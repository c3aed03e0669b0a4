//! A page's JSON Schema turned into the fields to draw, for the values entered so far: `properties` in
//! `ui:order`, nested objects flattened under a heading, and `dependencies` resolved the way RJSF does (a
//! `oneOf` branch whose `const`/`enum` matches the controlling value adds its properties and `required`; a
//! list dependency makes its fields required once the controlling one has a value).

use serde_json::{json, Map, Value};

use super::field::{get_at, FieldSpec, Kind, Opt, PickerSpec, RepoSpec};

const PICKERS: [&str; 5] = [
    "EntityPicker",
    "OwnerPicker",
    "OwnedEntityPicker",
    "MyGroupsPicker",
    "MultiEntityPicker",
];

/// The fields of `schema` given the current `values` (the whole page's, nested objects included).
pub fn fields(
    schema: &Value,
    values: &Map<String, Value>,
    user_ref: Option<&str>,
) -> Vec<FieldSpec> {
    let mut out = Vec::new();
    if let Some(obj) = schema.as_object() {
        object_fields(obj, &[], 0, values, user_ref, &mut out);
    }
    out
}

/// A value that counts as given (RJSF drops empty strings and arrays before checking dependencies).
fn present(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    }
}

/// Whether a `oneOf` branch's schema for the controlling property accepts `value`.
fn branch_matches(prop: Option<&Value>, value: Option<&Value>) -> bool {
    let Some(prop) = prop else {
        return present(value);
    };
    if let Some(c) = prop.get("const") {
        return value.is_some_and(|v| super::field::same(c, v));
    }
    if let Some(Value::Array(e)) = prop.get("enum") {
        return value.is_some_and(|v| e.iter().any(|x| super::field::same(x, v)));
    }
    present(value)
}

fn str_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn object_fields(
    obj: &Map<String, Value>,
    prefix: &[String],
    depth: usize,
    values: &Map<String, Value>,
    user_ref: Option<&str>,
    out: &mut Vec<FieldSpec>,
) {
    let mut props: Map<String, Value> = obj
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut required = str_list(obj.get("required"));
    let here = |key: &str| {
        let mut path = prefix.to_vec();
        path.push(key.to_string());
        get_at(values, &path).cloned()
    };

    // Dependencies, including those a chosen branch brings along.
    let mut pending: Vec<(String, Value)> = obj
        .get("dependencies")
        .and_then(Value::as_object)
        .map(|d| d.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let mut seen = 0;
    while let Some((key, dep)) = pending.pop() {
        seen += 1;
        if seen > 64 {
            break; // A schema that keeps adding dependencies to itself.
        }
        let value = here(&key);
        let mut merge = |branch: &Map<String, Value>, pending: &mut Vec<(String, Value)>| {
            if let Some(p) = branch.get("properties").and_then(Value::as_object) {
                for (k, v) in p {
                    props.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            required.extend(str_list(branch.get("required")));
            if let Some(d) = branch.get("dependencies").and_then(Value::as_object) {
                pending.extend(d.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        };
        match &dep {
            Value::Array(_) if present(value.as_ref()) => {
                required.extend(str_list(Some(&dep)));
            }
            Value::Object(d) => {
                if let Some(Value::Array(branches)) = d.get("oneOf") {
                    let chosen = branches.iter().filter_map(Value::as_object).find(|b| {
                        branch_matches(
                            b.get("properties").and_then(|p| p.get(&key)),
                            value.as_ref(),
                        )
                    });
                    if let Some(b) = chosen {
                        merge(b, &mut pending);
                    }
                } else if present(value.as_ref()) {
                    merge(d, &mut pending);
                }
            }
            _ => {}
        }
    }

    for key in ordered(props.keys().cloned().collect(), obj.get("ui:order")) {
        let Some(prop) = props.get(&key).and_then(Value::as_object) else {
            continue;
        };
        let mut path = prefix.to_vec();
        path.push(key.clone());
        let spec = field_spec(
            &key,
            prop,
            required.contains(&key),
            path.clone(),
            depth,
            user_ref,
        );
        let group = spec.kind == Kind::Group;
        out.push(spec);
        if group {
            object_fields(prop, &path, depth + 1, values, user_ref, out);
        }
    }
}

/// `keys` in `ui:order` (with `*` standing for the rest in their own order).
fn ordered(keys: Vec<String>, order: Option<&Value>) -> Vec<String> {
    let order = str_list(order);
    if order.is_empty() {
        return keys;
    }
    let rest: Vec<String> = keys
        .iter()
        .filter(|k| !order.contains(k))
        .cloned()
        .collect();
    let mut out = Vec::new();
    let mut star = false;
    for o in &order {
        if o == "*" {
            out.extend(rest.iter().cloned());
            star = true;
        } else if keys.contains(o) {
            out.push(o.clone());
        }
    }
    if !star {
        out.extend(rest);
    }
    out
}

fn options_of(prop: &Map<String, Value>) -> Option<Vec<Opt>> {
    if let Some(Value::Array(values)) = prop.get("enum") {
        let names = str_list(prop.get("enumNames"));
        return Some(
            values
                .iter()
                .enumerate()
                .map(|(i, v)| Opt {
                    label: names.get(i).cloned().unwrap_or_else(|| label_of(v)),
                    value: v.clone(),
                })
                .collect(),
        );
    }
    let alts = prop
        .get("oneOf")
        .or_else(|| prop.get("anyOf"))?
        .as_array()?;
    let opts: Vec<Opt> = alts
        .iter()
        .filter_map(|a| {
            let c = a.get("const")?;
            Some(Opt {
                label: a
                    .get("title")
                    .and_then(Value::as_str)
                    .map_or_else(|| label_of(c), str::to_string),
                value: c.clone(),
            })
        })
        .collect();
    (!opts.is_empty()).then_some(opts)
}

fn label_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The catalog filter a picker asks with.
fn picker_filter(field: &str, opts: &Map<String, Value>, user_ref: Option<&str>) -> Option<Value> {
    let mut filter = opts.get("catalogFilter").cloned().or_else(|| {
        let kinds = str_list(opts.get("allowedKinds"));
        (!kinds.is_empty()).then(|| json!({ "kind": kinds }))
    });
    match field {
        "OwnerPicker" if filter.is_none() => filter = Some(json!({"kind": ["Group", "User"]})),
        "MyGroupsPicker" => {
            let mut f = json!({"kind": "Group"});
            if let Some(u) = user_ref {
                f["relations.hasMember"] = json!(u);
            }
            filter = Some(f);
        }
        "OwnedEntityPicker" => {
            if let Some(u) = user_ref {
                let owned = |mut f: Value| {
                    if let Some(o) = f.as_object_mut() {
                        o.insert("relations.ownedBy".into(), json!(u));
                    }
                    f
                };
                filter = Some(match filter {
                    Some(Value::Array(list)) => Value::Array(list.into_iter().map(owned).collect()),
                    Some(f) => owned(f),
                    None => json!({"relations.ownedBy": u}),
                });
            }
        }
        _ => {}
    }
    filter
}

fn field_spec(
    key: &str,
    prop: &Map<String, Value>,
    required: bool,
    path: Vec<String>,
    depth: usize,
    user_ref: Option<&str>,
) -> FieldSpec {
    let s = |k: &str| prop.get(k).and_then(Value::as_str).map(str::to_string);
    let empty = Map::new();
    let opts = prop
        .get("ui:options")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let ty = s("type").unwrap_or_else(|| "string".into());
    let widget = s("ui:widget").unwrap_or_default();
    let ui_field = s("ui:field").unwrap_or_default();
    let mut note = None;
    let mut secret = false;
    let text = |rows: Option<u16>, mask: bool, entity_name: bool| Kind::Text {
        rows,
        mask,
        format: if widget == "color" {
            Some("color".into())
        } else {
            s("format")
        },
        pattern: s("pattern"),
        min_len: prop.get("minLength").and_then(Value::as_u64),
        max_len: prop.get("maxLength").and_then(Value::as_u64),
        entity_name,
    };
    let by_type = |note: &mut Option<String>| -> Kind {
        match ty.as_str() {
            "object" => Kind::Group,
            "array" => {
                let items = prop.get("items").and_then(Value::as_object);
                let item_opts = items.and_then(options_of);
                let item_ty = items
                    .and_then(|i| i.get("type"))
                    .and_then(Value::as_str)
                    .unwrap_or("string");
                if let Some(options) = item_opts {
                    Kind::Checkboxes { options }
                } else if matches!(item_ty, "string" | "number" | "integer") {
                    Kind::List {
                        tags: false,
                        unique: prop.get("uniqueItems") == Some(&Value::Bool(true)),
                    }
                } else {
                    *note = Some("edited as JSON".into());
                    Kind::Json
                }
            }
            _ => {
                if let Some(options) = options_of(prop) {
                    Kind::Select {
                        options,
                        radio: widget == "radio",
                    }
                } else {
                    match ty.as_str() {
                        "boolean" => Kind::Boolean,
                        "integer" | "number" => Kind::Number {
                            integer: ty == "integer",
                            min: prop.get("minimum").and_then(Value::as_f64),
                            max: prop.get("maximum").and_then(Value::as_f64),
                        },
                        _ => {
                            let rows = (widget == "textarea").then(|| {
                                opts.get("rows")
                                    .and_then(Value::as_u64)
                                    .map_or(3, |r| r.clamp(1, 20) as u16)
                            });
                            text(rows, widget == "password", false)
                        }
                    }
                }
            }
        }
    };
    let kind = match ui_field.as_str() {
        "" | "AccordionField" => by_type(&mut note),
        "Secret" => {
            secret = true;
            text(None, true, false)
        }
        "EntityNamePicker" => text(None, false, true),
        "EntityTagsPicker" => Kind::List {
            tags: true,
            unique: true,
        },
        "RepoUrlPicker" => Kind::RepoUrl(RepoSpec {
            hosts: str_list(opts.get("allowedHosts")),
            owners: str_list(opts.get("allowedOwners")),
            organizations: str_list(opts.get("allowedOrganizations")),
            projects: str_list(opts.get("allowedProjects")),
            repos: str_list(opts.get("allowedRepos")),
        }),
        "RepoOwnerPicker" => {
            let owners = str_list(opts.get("allowedOwners"));
            if owners.is_empty() {
                text(None, false, false)
            } else {
                Kind::Select {
                    options: owners
                        .into_iter()
                        .map(|o| Opt {
                            label: o.clone(),
                            value: Value::String(o),
                        })
                        .collect(),
                    radio: false,
                }
            }
        }
        "RepoBranchPicker" => text(None, false, false),
        f if PICKERS.contains(&f) => Kind::Picker(PickerSpec {
            multi: f == "MultiEntityPicker" || ty == "array",
            filter: picker_filter(f, opts, user_ref),
            default_kind: opts
                .get("defaultKind")
                .and_then(Value::as_str)
                .map(str::to_string),
            default_namespace: opts
                .get("defaultNamespace")
                .and_then(Value::as_str)
                .map(str::to_string),
            arbitrary: opts
                .get("allowArbitraryValues")
                .and_then(Value::as_bool)
                .unwrap_or(true),
        }),
        other => {
            let kind = by_type(&mut note);
            note = Some(format!(
                "{} is not available in the terminal; {}",
                other,
                if kind == Kind::Json {
                    "edited as JSON"
                } else {
                    "edited as a plain field"
                }
            ));
            kind
        }
    };
    let help = match (s("description"), s("ui:help")) {
        (Some(d), Some(h)) => Some(format!("{d} {h}")),
        (d, h) => d.or(h),
    };
    let review = prop.get("ui:backstage").and_then(|b| b.get("review"));
    FieldSpec {
        key: path.join("."),
        path,
        label: s("title").unwrap_or_else(|| key.to_string()),
        required,
        help,
        note,
        placeholder: s("ui:placeholder"),
        default: prop.get("default").cloned(),
        kind,
        hidden: widget == "hidden",
        secret,
        autofocus: prop.get("ui:autofocus") == Some(&Value::Bool(true)),
        review_show: review
            .and_then(|r| r.get("show"))
            .and_then(Value::as_bool)
            .unwrap_or(true),
        review_mask: review
            .and_then(|r| r.get("mask"))
            .and_then(Value::as_str)
            .map(str::to_string),
        depth,
        min_items: prop.get("minItems").and_then(Value::as_u64),
        max_items: prop.get("maxItems").and_then(Value::as_u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(fields: &[FieldSpec]) -> Vec<&str> {
        fields.iter().map(|f| f.key.as_str()).collect()
    }

    #[test]
    fn widgets_follow_type_and_ui_keys() {
        let schema = json!({
            "required": ["name"],
            "ui:order": ["flag", "*"],
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z]+$", "ui:autofocus": true},
                "notes": {"type": "string", "ui:widget": "textarea", "ui:options": {"rows": 4}},
                "flag": {"type": "boolean"},
                "env": {"type": "string", "enum": ["a", "b"], "enumNames": ["Alpha", "Beta"]},
                "feat": {"type": "array", "uniqueItems": true, "items": {"type": "string", "enum": ["x", "y"]}},
                "tags": {"type": "array", "items": {"type": "string"}},
                "owner": {"type": "string", "ui:field": "OwnerPicker"},
                "odd": {"type": "string", "ui:field": "FancyField"},
                "grp": {"type": "object", "properties": {"inner": {"type": "integer"}}}
            }
        });
        let f = fields(&schema, &Map::new(), None);
        assert_eq!(
            keys(&f),
            vec![
                "flag",
                "name",
                "notes",
                "env",
                "feat",
                "tags",
                "owner",
                "odd",
                "grp",
                "grp.inner"
            ]
        );
        assert!(f[1].required && f[1].autofocus);
        assert!(matches!(f[2].kind, Kind::Text { rows: Some(4), .. }));
        assert!(matches!(&f[3].kind, Kind::Select { options, .. } if options[1].label == "Beta"));
        assert!(matches!(f[4].kind, Kind::Checkboxes { .. }));
        assert!(matches!(f[5].kind, Kind::List { tags: false, .. }));
        assert!(
            matches!(&f[6].kind, Kind::Picker(p) if p.filter == Some(json!({"kind": ["Group", "User"]})))
        );
        assert!(f[7].note.as_deref().unwrap().contains("FancyField"));
        assert_eq!(f[8].kind, Kind::Group);
        assert_eq!(f[9].path, vec!["grp".to_string(), "inner".to_string()]);
        assert_eq!(f[9].depth, 1);
    }

    #[test]
    fn picker_filters_come_from_options() {
        let schema = json!({"properties": {
            "a": {"type": "string", "ui:field": "EntityPicker", "ui:options": {"allowedKinds": ["System"]}},
            "b": {"type": "string", "ui:field": "OwnedEntityPicker", "ui:options": {"catalogFilter": [{"kind": "Component"}, {"kind": "API"}]}},
            "c": {"type": "string", "ui:field": "EntityPicker", "ui:options": {"allowArbitraryValues": false}}
        }});
        let f = fields(&schema, &Map::new(), Some("user:default/guest"));
        let filter = |i: usize| match &f[i].kind {
            Kind::Picker(p) => (p.filter.clone(), p.arbitrary),
            _ => panic!("not a picker"),
        };
        assert_eq!(filter(0), (Some(json!({"kind": ["System"]})), true));
        assert_eq!(
            filter(1).0,
            Some(json!([
                {"kind": "Component", "relations.ownedBy": "user:default/guest"},
                {"kind": "API", "relations.ownedBy": "user:default/guest"}
            ]))
        );
        assert_eq!(filter(2), (None, false));
    }

    #[test]
    fn one_of_dependencies_switch_fields() {
        let schema = json!({
            "properties": {"cloud": {"type": "string", "enum": ["aws", "gcp"], "default": "aws"}, "name": {"type": "string"}},
            "dependencies": {
                "cloud": {"oneOf": [
                    {"properties": {"cloud": {"const": "aws"}, "region": {"type": "string"}}, "required": ["region"]},
                    {"properties": {"cloud": {"const": "gcp"}, "project": {"type": "string"}}}
                ]},
                "name": ["cloud"]
            }
        });
        let none = fields(&schema, &Map::new(), None);
        assert_eq!(keys(&none), vec!["cloud", "name"]);
        assert!(!none[0].required);
        let mut v = Map::new();
        v.insert("cloud".into(), json!("aws"));
        v.insert("name".into(), json!("x"));
        let aws = fields(&schema, &v, None);
        assert_eq!(keys(&aws), vec!["cloud", "name", "region"]);
        assert!(aws[2].required && aws[0].required);
        v.insert("cloud".into(), json!("gcp"));
        let gcp = fields(&schema, &v, None);
        assert_eq!(keys(&gcp), vec!["cloud", "name", "project"]);
        assert!(!gcp[2].required);
    }
}
