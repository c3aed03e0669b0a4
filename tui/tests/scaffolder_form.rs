//! The scaffolder form page without a terminal: the sample templates' pages (the BUI kitchen sink, the
//! local gin template) filled in with the tests' key notation and their values checked, plus an insta
//! snapshot of every widget drawn on a `TestBackend`, an error state and an open picker list included.

use std::path::Path;

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::{json, Map, Value};
use stagedoor::ui::msg::Msg;
use stagedoor::ui::scaffolder::form::{EntityChoice, FormPage, PageAction};

mod support;

fn template_pages(rel: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/templates/sample-templates")
        .join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: Value = serde_yaml::from_str(&text).unwrap();
    match &doc["spec"]["parameters"] {
        Value::Array(pages) => pages.clone(),
        one => vec![one.clone()],
    }
}

/// Types `keys` (the notation of `support::parse_keys`) and returns the actions that were not `None`.
fn press(page: &mut FormPage, keys: &str) -> Vec<PageAction> {
    support::parse_keys(keys)
        .into_iter()
        .filter_map(|m| match m {
            Msg::Key(k) => Some(page.handle_key(k)),
            _ => None,
        })
        .filter(|a| *a != PageAction::None)
        .collect()
}

fn screen(page: &FormPage, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    let theme = support::theme();
    t.draw(|f| page.render(f, f.area(), &theme)).unwrap();
    t.backend().to_string()
}

fn choice(r: &str, title: Option<&str>) -> EntityChoice {
    EntityChoice {
        entity_ref: r.into(),
        title: title.map(str::to_string),
        kind: r.split(':').next().unwrap_or("").into(),
    }
}

#[test]
fn kitchen_sink_pages_fill_in_by_keys() {
    let pages = template_pages("bui-kitchen-sink-demo/template.yaml");
    let none = Map::new();

    // Page 1: name has autofocus; email must be an email.
    let mut p = FormPage::new(&pages[0], &none, None);
    press(
        &mut p,
        "demo<tab>first line<enter>second<tab>not-an-email<tab>",
    );
    assert_eq!(press(&mut p, "<c-n>"), vec![]);
    let s = screen(&p, 80, 24);
    assert!(s.contains("✗ must match format \"email\""), "{s}");
    press(
        &mut p,
        "<c-u>me@example.com<tab>https://example.com<tab>pw<tab>#00ff00",
    );
    assert_eq!(press(&mut p, "<pgdn>"), vec![PageAction::Next]);
    assert_eq!(
        Value::Object(p.values()),
        json!({
            "name": "demo", "description": "first line\nsecond", "email": "me@example.com",
            "website": "https://example.com", "password": "pw", "favouriteColour": "#00ff00",
            "secret": "hidden-default-value"
        })
    );
    assert!(p
        .review_rows()
        .contains(&("Password".into(), "******".into())));

    // Page 2: numbers, a toggle and a boolean radio.
    let mut p = FormPage::new(&pages[1], &none, None);
    press(&mut p, "<bs>11<tab>");
    assert_eq!(press(&mut p, "<c-n>"), vec![]);
    assert!(screen(&p, 80, 24).contains("must be <= 10"));
    press(&mut p, "<bs><bs>7<tab><tab> <tab> ");
    assert_eq!(press(&mut p, "<enter>"), vec![PageAction::Next]);
    assert_eq!(
        Value::Object(p.values()),
        json!({"replicas": 7, "confidence": 50, "enabled": false, "consent": true})
    );

    // Page 3: select, radio, checkboxes, free tags.
    let mut p = FormPage::new(&pages[2], &none, None);
    press(
        &mut p,
        "<enter>prod<enter><tab><down> <tab><down> <down><down> <tab>alpha<enter>beta<enter>",
    );
    assert_eq!(
        Value::Object(p.values()),
        json!({"environment": "production", "region": "us-east-1", "features": ["metrics", "profiling"], "tags": ["alpha", "beta"]})
    );

    // Page 4: formats checked inline.
    let mut p = FormPage::new(&pages[3], &none, None);
    press(&mut p, "2026-13-01<tab>");
    assert!(screen(&p, 80, 24).contains("must match format \"date\""));
    press(
        &mut p,
        "<backtab><c-u>2026-11-26<tab>2026-11-26T10:00:00Z<tab>10:30",
    );
    assert!(p.validate());
    assert_eq!(p.values()["startDateTime"], json!("2026-11-26T10:00:00Z"));

    // Page 5: a nested object and an array of objects (edited as JSON).
    let mut p = FormPage::new(&pages[4], &none, None);
    assert!(!p.validate());
    press(&mut p, "Ada<tab>@ada<tab>[{\"name\": \"Bo\"}]");
    assert!(p.validate());
    assert_eq!(
        Value::Object(p.values()),
        json!({"owner": {"displayName": "Ada", "slack": "@ada"}, "contacts": [{"name": "Bo"}]})
    );

    // Page 6: the pickers.
    let mut p = FormPage::new(&pages[5], &none, Some("user:default/guest"));
    press(&mut p, "my-component");
    assert_eq!(
        press(&mut p, "<tab>"),
        vec![PageAction::LoadChoices {
            field: "ownerRef".into(),
            filter: Some(json!({"kind": ["User", "Group"]}))
        }]
    );
    p.set_choices(
        "ownerRef",
        Ok(vec![
            choice("group:default/team-a", Some("Team A")),
            choice("user:default/guest", None),
        ]),
    );
    press(&mut p, "<enter>team<enter>");
    let acts = press(&mut p, "<tab>");
    assert!(
        matches!(&acts[..], [PageAction::LoadChoices { field, .. }] if field == "relatedEntity")
    );
    p.set_choices(
        "relatedEntity",
        Ok(vec![choice("component:default/artist-lookup", None)]),
    );
    press(&mut p, "<enter><enter><tab>");
    p.set_choices(
        "relatedEntities",
        Ok(vec![
            choice("component:default/a", None),
            choice("component:default/b", None),
        ]),
    );
    press(&mut p, "<enter>a<enter><enter>b<enter>");
    let acts = press(&mut p, "<tab>");
    assert!(
        matches!(&acts[..], [PageAction::LoadChoices { field, filter: Some(f) }] if field == "myGroups" && f["relations.hasMember"] == json!("user:default/guest"))
    );
    let acts = press(&mut p, "<tab>");
    assert!(
        matches!(&acts[..], [PageAction::LoadChoices { field, filter: Some(f) }] if field == "ownedEntity" && f == &json!({"kind": ["Component"], "relations.ownedBy": "user:default/guest"}))
    );
    press(&mut p, "<tab>web<enter>java<enter><tab>");
    // RepoUrlPicker: host (a list), owner, repo.
    press(&mut p, "<enter>gitlab<enter><tab>me<tab>repo<tab>");
    // RepoOwnerPicker with allowedOwners is a select; the branch a text.
    press(&mut p, "<enter>example<enter><tab>main<tab>tok3n");
    assert!(p.validate(), "{:?}", p.review_rows());
    assert_eq!(
        Value::Object(p.values()),
        json!({
            "componentName": "my-component",
            "ownerRef": "group:default/team-a",
            "relatedEntity": "component:default/artist-lookup",
            "relatedEntities": ["component:default/a", "component:default/b"],
            "entityTags": ["web", "java"],
            "repoUrl": "gitlab.com?owner=me&repo=repo",
            "repoOwner": "example-org",
            "repoBranch": "main"
        })
    );
    assert_eq!(
        p.secrets().get("deployToken").map(String::as_str),
        Some("tok3n")
    );
    assert!(p
        .review_rows()
        .contains(&("Deploy token".into(), "******".into())));
}

#[test]
fn gin_template_form_fills_in() {
    let pages = template_pages("local-template/gin-golan-template/template.yaml");
    let mut p = FormPage::new(&pages[0], &Map::new(), Some("user:default/guest"));
    assert_eq!(press(&mut p, "<c-n>"), vec![]);
    assert!(screen(&p, 80, 24).contains("is a required property"));
    press(&mut p, "Bad Name<tab>");
    assert!(screen(&p, 100, 40).contains("Must start and end with an alphanumeric character"));
    press(
        &mut p,
        "<backtab><c-u>go-svc<tab>github.com/me/go-svc<tab><enter>1.22<enter><tab>A Go service",
    );
    let acts = press(&mut p, "<tab>");
    assert_eq!(
        acts,
        vec![PageAction::LoadChoices {
            field: "owner".into(),
            filter: Some(json!({"kind": ["Group"]}))
        }]
    );
    p.set_choices(
        "owner",
        Ok(vec![choice("group:default/backend", Some("Backend"))]),
    );
    press(&mut p, "<enter><enter>");
    assert_eq!(press(&mut p, "<tab><enter>"), vec![PageAction::Next]);
    assert_eq!(
        Value::Object(p.values()),
        json!({
            "component_id": "go-svc", "module": "github.com/me/go-svc", "go_version": 1.22,
            "description": "A Go service", "owner": "group:default/backend", "port": ":8080"
        })
    );
    let mut p2 = FormPage::new(&pages[1], &Map::new(), None);
    assert_eq!(press(&mut p2, "<c-n>"), vec![]);
    assert!(screen(&p2, 80, 24).contains("Incomplete repository location provided"));
    press(&mut p2, "<tab>me<tab>go-svc");
    assert_eq!(press(&mut p2, "<enter>"), vec![PageAction::Next]);
    assert_eq!(
        p2.values()["repoUrl"],
        json!("github.com?owner=me&repo=go-svc")
    );
}

/// One field on its own page, drawn at 60x`h`.
fn widget(name: &str, prop: Value, required: bool, keys: &str, h: u16) -> FormPage {
    let schema =
        json!({"properties": {"f": prop}, "required": if required { vec!["f"] } else { vec![] }});
    let mut p = FormPage::new(&schema, &Map::new(), None);
    press(&mut p, keys);
    insta::assert_snapshot!(name, screen(&p, 60, h));
    p
}

#[test]
fn snapshot_each_widget() {
    widget(
        "text",
        json!({"title": "Name", "type": "string", "description": "Unique name", "ui:placeholder": "my-service"}),
        true,
        "",
        6,
    );
    widget(
        "text_error",
        json!({"title": "Name", "type": "string", "pattern": "^[a-z]+$"}),
        true,
        "Bad Name<c-n>",
        6,
    );
    widget(
        "text_scrolled",
        json!({"title": "Module", "type": "string"}),
        false,
        "github.com/someone/a-rather-long-module-path-that-scrolls",
        6,
    );
    widget(
        "textarea",
        json!({"title": "Description", "type": "string", "ui:widget": "textarea", "ui:options": {"rows": 3}}),
        false,
        "first<enter>second",
        8,
    );
    widget(
        "number",
        json!({"title": "Replicas", "type": "integer", "minimum": 1, "maximum": 10, "default": 3}),
        false,
        "",
        6,
    );
    widget(
        "boolean",
        json!({"title": "Enabled", "type": "boolean", "default": true, "description": "Turn it on"}),
        false,
        "",
        5,
    );
    widget(
        "password",
        json!({"title": "Password", "type": "string", "ui:widget": "password"}),
        false,
        "hunter2",
        5,
    );
    widget(
        "secret",
        json!({"title": "Token", "type": "string", "ui:field": "Secret"}),
        true,
        "abc",
        5,
    );
    widget(
        "select",
        json!({"title": "Environment", "type": "string", "enum": ["development", "production"], "default": "development"}),
        false,
        "",
        5,
    );
    widget(
        "select_open",
        json!({"title": "Environment", "type": "string", "enum": ["development", "staging", "production"]}),
        false,
        "<enter>",
        10,
    );
    widget(
        "radio",
        json!({"title": "Region", "type": "string", "enum": ["eu-west-1", "us-east-1"], "ui:widget": "radio"}),
        false,
        "<down> ",
        6,
    );
    widget(
        "checkboxes",
        json!({"title": "Features", "type": "array", "uniqueItems": true, "items": {"type": "string", "enum": ["logging", "metrics", "tracing"]}}),
        false,
        " <down><down> ",
        7,
    );
    widget(
        "list",
        json!({"title": "Tags", "type": "array", "items": {"type": "string"}}),
        false,
        "alpha<enter>beta<enter>",
        7,
    );
    widget(
        "entity_tags_error",
        json!({"title": "Entity tags", "type": "array", "ui:field": "EntityTagsPicker"}),
        false,
        "Not A Tag<enter><c-n>",
        7,
    );
    widget(
        "entity_name_error",
        json!({"title": "Name", "type": "string", "ui:field": "EntityNamePicker"}),
        false,
        "-x-<c-n>",
        7,
    );
    let mut p = widget(
        "picker_loading",
        json!({"title": "Owner", "type": "string", "ui:field": "OwnerPicker"}),
        true,
        "<enter>",
        10,
    );
    p.set_choices(
        "f",
        Ok(vec![
            choice("group:default/team-a", Some("Team A")),
            choice("group:default/team-b", None),
            choice("user:default/guest", Some("Guest")),
        ]),
    );
    insta::assert_snapshot!("picker_open", screen(&p, 60, 10));
    press(&mut p, "teamb");
    insta::assert_snapshot!("picker_open_filtered", screen(&p, 60, 10));
    press(&mut p, "<enter>");
    insta::assert_snapshot!("picker_picked", screen(&p, 60, 6));
    let mut m = widget(
        "multi_picker",
        json!({"title": "Entities", "type": "array", "ui:field": "MultiEntityPicker"}),
        false,
        "",
        8,
    );
    m.set_choices("f", Err("catalog unreachable".into()));
    press(&mut m, "<enter>component:x<enter>");
    insta::assert_snapshot!("multi_picker_failed", screen(&m, 60, 8));
    widget(
        "repo_url",
        json!({"title": "Repository Location", "type": "string", "ui:field": "RepoUrlPicker", "ui:options": {"allowedHosts": ["github.com", "gitlab.com"], "allowedOwners": ["backstage"]}}),
        true,
        "<tab><tab>my-repo",
        8,
    );
    widget(
        "repo_url_azure",
        json!({"title": "Repository Location", "type": "string", "ui:field": "RepoUrlPicker", "default": "dev.azure.com?organization=org"}),
        true,
        "<c-n>",
        9,
    );
    widget(
        "unknown_field",
        json!({"title": "Branch", "type": "string", "ui:field": "FancyBranchPicker"}),
        false,
        "main",
        6,
    );
    widget(
        "json_array",
        json!({"title": "Contacts", "type": "array", "items": {"type": "object"}}),
        false,
        "[1,<c-n>",
        10,
    );
    widget(
        "group",
        json!({"title": "Owner profile", "type": "object", "required": ["name"], "properties": {"name": {"title": "Display name", "type": "string"}}}),
        false,
        "<c-n>",
        7,
    );
    widget(
        "escapes_sanitised",
        json!({"title": "Bad\u{1b}[31m title", "type": "string", "description": "help\u{7} text\nwith newline"}),
        false,
        "",
        5,
    );
}

#[test]
fn snapshot_kitchen_sink_first_page() {
    let pages = template_pages("bui-kitchen-sink-demo/template.yaml");
    let mut p = FormPage::new(&pages[0], &Map::new(), None);
    insta::assert_snapshot!("kitchen_sink_80x24", screen(&p, 80, 24));
    // The page scrolls to keep the focus in view.
    press(&mut p, "<tab><tab><tab><tab><tab>");
    insta::assert_snapshot!("kitchen_sink_scrolled_80x24", screen(&p, 80, 24));
}

#[test]
fn accordion_objects_nest_their_values() {
    let pages = template_pages("accordion-demo/template.yaml");
    let mut p = FormPage::new(&pages[0], &Map::new(), None);
    assert!(!p.validate());
    // serviceName, then the accordion's fields in its ui:order (enableMetrics first), then the nested one.
    press(&mut p, "svc<tab> <tab>3<tab>256Mi<tab>8080<tab> ");
    assert!(p.validate(), "{:?}", p.review_rows());
    assert_eq!(
        Value::Object(p.values()),
        json!({
            "serviceName": "svc",
            "advanced_section": {
                "enableMetrics": true, "replicas": 3, "memoryLimit": "256Mi",
                "nested_section": {"port": 8080, "ingressEnabled": true}
            }
        })
    );
    assert!(p.review_rows().contains(&(
        "Advanced Configuration › Networking › Port".into(),
        "8080".into()
    )));
}

#[test]
fn every_sample_template_page_draws_at_any_size() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/templates");
    let mut files = Vec::new();
    for dir in [
        "sample-templates",
        "software-templates/scaffolder-templates",
    ] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap().flatten() {
            for f in ["template.yaml", "gin-golan-template/template.yaml"] {
                let path = entry.path().join(f);
                if path.is_file() {
                    files.push(path);
                }
            }
        }
    }
    assert!(files.len() >= 12, "{files:?}");
    let mut drawn = 0;
    for path in files {
        let doc: Value = serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let pages = match &doc["spec"]["parameters"] {
            Value::Array(p) => p.clone(),
            Value::Null => Vec::new(),
            one => vec![one.clone()],
        };
        for schema in pages {
            let mut p = FormPage::new(&schema, &Map::new(), Some("user:default/guest"));
            for (w, h) in [(80, 24), (30, 6), (10, 2)] {
                screen(&p, w, h);
            }
            // Walk every field and try to leave; nothing panics and Next is refused or taken.
            press(
                &mut p,
                "<tab><tab><tab><tab><tab><tab><tab><tab><enter><esc><c-n>",
            );
            screen(&p, 80, 24);
            drawn += 1;
        }
    }
    assert!(drawn >= 20, "{drawn}");
}

#[test]
fn snapshot_wide_characters_scroll_by_cells() {
    widget(
        "text_cjk",
        json!({"title": "名前 (name)", "type": "string"}),
        false,
        "日本語のテキストはとても長いのでスクロールします🚀とても長い文章ですok",
        5,
    );
}
