//! The Overview pane: About (description, owner, system, domain, type, lifecycle, tags, profile), links,
//! processing errors, the kind's own sections (a group's members, a system's parts…) and annotations.

use serde_json::Value;
use stagedoor_core::entity::Relation;
use stagedoor_core::{Entity, EntityRef};

use super::super::text::sanitize;
use super::kinds;
use super::rows::{entity_row, wrap, Related, Role, Row};

/// Label column width in About.
const LABEL: usize = 14;
/// Wrap width for descriptions and error messages.
const WRAP: usize = 60;

/// The first target of `relation_type` whose kind is `kind` (any kind when `None`).
fn relation_target(
    relations: &[Relation],
    relation_type: &str,
    kind: Option<&str>,
) -> Option<String> {
    let mut targets: Vec<&Relation> = relations
        .iter()
        .filter(|r| r.relation_type == relation_type)
        .filter(|r| kind.is_none() || kinds::target_kind(&r.target_ref).as_deref() == kind)
        .collect();
    targets.sort();
    targets.first().map(|r| r.target_ref.clone())
}

fn label(text: &str) -> (String, Role) {
    (format!("  {text:<LABEL$}"), Role::Label)
}

fn field(name: &str, value: &str, role: Role) -> Row {
    Row::new(vec![label(name), (sanitize(value), role)])
}

fn none(name: &str) -> Row {
    Row::new(vec![label(name), ("—".into(), Role::Muted)])
}

/// A ref field: followable when the relation is stitched, else the spec's text (or a dash).
fn ref_field(name: &str, target: Option<String>, fallback: Option<&str>, related: &Related) -> Row {
    match (target, fallback) {
        (Some(t), _) => {
            let mut row = entity_row("", &t, related);
            row.cells.insert(0, label(name));
            row
        }
        (None, Some(text)) => field(name, text, Role::Base),
        (None, None) => none(name),
    }
}

fn string_at<'a>(e: &'a Entity, path: &str) -> Option<&'a str> {
    e.get_path(path).and_then(Value::as_str)
}

/// The About section's rows.
pub(crate) fn about(e: &Entity, related: &Related) -> Vec<Row> {
    let kind = e.kind().to_ascii_lowercase();
    let relations = e.relations();
    let mut rows = vec![Row::heading("About")];
    match e
        .description()
        .map(sanitize)
        .filter(|d| !d.trim().is_empty())
    {
        Some(d) => {
            for (i, line) in wrap(&d, WRAP).into_iter().enumerate() {
                let l = if i == 0 {
                    label("Description")
                } else {
                    label("")
                };
                rows.push(Row::new(vec![l, (line, Role::Base)]));
            }
        }
        None => rows.push(Row::new(vec![
            label("Description"),
            ("No description".into(), Role::Muted),
        ])),
    }
    let owned = matches!(
        kind.as_str(),
        "component" | "api" | "resource" | "system" | "domain" | "template"
    );
    if owned || e.spec_str("owner").is_some() {
        rows.push(ref_field(
            "Owner",
            relation_target(&relations, "ownedBy", None),
            e.spec_str("owner"),
            related,
        ));
    }
    if matches!(kind.as_str(), "component" | "api" | "resource") {
        let system = relation_target(&relations, "partOf", Some("system"));
        // The domain is the system's: known once the system is fetched.
        let domain = system
            .as_ref()
            .and_then(|s| EntityRef::parse(s).ok())
            .and_then(|s| related.get(&s.canonical()).cloned().flatten())
            .and_then(|s| relation_target(&s.relations(), "partOf", Some("domain")));
        rows.push(ref_field("System", system, e.spec_str("system"), related));
        rows.push(ref_field("Domain", domain, None, related));
        if kind == "component" {
            if let Some(parent) = relation_target(&relations, "partOf", Some("component")) {
                rows.push(ref_field("Part of", Some(parent), None, related));
            }
        }
    }
    if kind == "system" {
        let domain = relation_target(&relations, "partOf", Some("domain"));
        rows.push(ref_field("Domain", domain, e.spec_str("domain"), related));
    }
    if kind == "domain" {
        let parent = relation_target(&relations, "partOf", Some("domain"));
        if parent.is_some() || e.spec_str("subdomainOf").is_some() {
            rows.push(ref_field(
                "Subdomain of",
                parent,
                e.spec_str("subdomainOf"),
                related,
            ));
        }
    }
    match e.spec_str("type") {
        Some(t) => rows.push(field("Type", t, Role::Accent)),
        None if kind != "user" && kind != "location" => rows.push(none("Type")),
        None => {}
    }
    match e.spec_str("lifecycle") {
        Some(l) => rows.push(field("Lifecycle", l, Role::Lifecycle(l.to_string()))),
        None if matches!(kind.as_str(), "component" | "api") => rows.push(none("Lifecycle")),
        None => {}
    }
    if matches!(kind.as_str(), "user" | "group") {
        if let Some(n) = string_at(e, "spec.profile.displayName") {
            rows.push(field("Display name", n, Role::Base));
        }
        if let Some(m) = string_at(e, "spec.profile.email") {
            rows.push(field("Email", m, Role::Link));
        }
    }
    if kind == "location" {
        if let Some(t) = e.spec_str("target") {
            rows.push(field("Target", t, Role::Base));
        }
        if let Some(targets) = e.get_path("spec.targets").and_then(Value::as_array) {
            for (i, t) in targets.iter().filter_map(Value::as_str).enumerate() {
                rows.push(field(if i == 0 { "Targets" } else { "" }, t, Role::Base));
            }
        }
    }
    let tags = e.tags();
    if tags.is_empty() {
        rows.push(none("Tags"));
    } else {
        let tags: Vec<String> = tags.iter().map(|t| sanitize(t)).collect();
        rows.push(field("Tags", &tags.join(" · "), Role::Accent));
    }
    rows
}

/// `metadata.links`: title (or URL) and URL.
pub(crate) fn links(e: &Entity) -> Vec<Row> {
    let links: Vec<&serde_json::Map<String, Value>> = e
        .metadata()
        .and_then(|m| m.get("links"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    if links.is_empty() {
        return vec![];
    }
    let mut rows = vec![
        Row::blank(),
        Row::heading(format!("Links ({})", links.len())),
    ];
    for link in links {
        let url = link.get("url").and_then(Value::as_str).unwrap_or("");
        let title = link.get("title").and_then(Value::as_str).unwrap_or(url);
        rows.push(Row::new(vec![
            ("  ↗ ".into(), Role::Muted),
            (sanitize(title), Role::Base),
            ("  ".into(), Role::Base),
            (sanitize(url), Role::Link),
        ]));
    }
    rows
}

/// `status.items`: processing errors (and any other status), in the error style.
pub(crate) fn errors(e: &Entity) -> Vec<Row> {
    let items: Vec<&Value> = e
        .get_path("status.items")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    if items.is_empty() {
        return vec![];
    }
    let mut rows = vec![
        Row::blank(),
        Row::new(vec![(
            format!("✗ Processing errors ({})", items.len()),
            Role::Error,
        )]),
    ];
    for item in items {
        let level = item.get("level").and_then(Value::as_str).unwrap_or("error");
        let message = item
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("(no message)");
        let role = if level == "error" {
            Role::Error
        } else {
            Role::Base
        };
        for (i, line) in wrap(&sanitize(message), WRAP + 8).into_iter().enumerate() {
            let bullet = if i == 0 { "  ✗ " } else { "    " };
            rows.push(Row::new(vec![
                (bullet.into(), role.clone()),
                (line, role.clone()),
            ]));
        }
    }
    rows
}

/// The kind's own sections: heading with a count, then followable rows (or `none`).
pub(crate) fn kind_sections(e: &Entity, related: &Related) -> Vec<Row> {
    let mut rows = Vec::new();
    for section in kinds::fill(e.kind(), &e.relations()) {
        rows.push(Row::blank());
        rows.push(Row::new(vec![
            (section.title.to_string(), Role::Heading),
            (format!(" ({})", section.targets.len()), Role::Muted),
        ]));
        for t in &section.targets {
            rows.push(entity_row("  ", t, related));
        }
    }
    rows
}

/// `metadata.annotations`, sorted by key.
pub(crate) fn annotations(e: &Entity) -> Vec<Row> {
    let Some(map) = e
        .metadata()
        .and_then(|m| m.get("annotations"))
        .and_then(Value::as_object)
    else {
        return vec![];
    };
    let mut pairs: Vec<(&String, &Value)> = map.iter().collect();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let mut rows = vec![
        Row::blank(),
        Row::heading(format!("Annotations ({})", pairs.len())),
    ];
    for (k, v) in pairs {
        let value = v.as_str().map_or_else(|| v.to_string(), str::to_string);
        rows.push(Row::new(vec![
            (format!("  {}", sanitize(k)), Role::Label),
            ("  ".into(), Role::Base),
            (sanitize(&value), Role::Base),
        ]));
    }
    rows
}

/// The whole Overview pane.
pub(crate) fn overview(e: &Entity, related: &Related) -> Vec<Row> {
    let mut rows = about(e, related);
    rows.extend(errors(e));
    rows.extend(links(e));
    rows.extend(kind_sections(e, related));
    rows.extend(annotations(e));
    rows
}
