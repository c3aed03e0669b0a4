//! `catalog:write`, `catalog:fetch` and `catalog:register`: write an entity file into the workspace, read
//! entities from this portal's catalog, and register a new location with it.
//!
//! `catalog:register` turns a `file:` URL or an absolute path (what `publish:file` outputs) into a `file`
//! location and anything else into a `url` location, then calls [`crate::portal::Portal::add_location`]; the
//! portal decides whether that type is allowed (`catalog.allowedLocationTypes`, Backstage's default is only
//! `[url]`, so registering `publish:file` output needs `catalog.allowedLocationTypes: [url, file]`).

use async_trait::async_trait;
use serde_json::{json, Value};

use super::{input_bool, input_str, Action, ActionContext, ActionError};
use crate::entity::reference::DEFAULT_NAMESPACE;
use crate::entity::{Entity, EntityRef};
use crate::scaffolder::types::ActionExample;

/// `catalog:write`.
pub struct CatalogWrite;

#[async_trait]
impl Action for CatalogWrite {
    fn id(&self) -> &'static str {
        "catalog:write"
    }
    fn description(&self) -> &'static str {
        "Writes the catalog-info.yaml for your template"
    }
    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["entity"],
            "properties": {
                "filePath": {"type": "string", "title": "Catalog file path", "description": "Defaults to catalog-info.yaml", "default": "catalog-info.yaml"},
                "entity": {"type": "object", "title": "Entity info to write catalog-info.yaml", "description": "You can provide the same values used in the Entity schema."}
            }
        })
    }
    fn examples(&self) -> Vec<ActionExample> {
        vec![ActionExample {
            description: "Write a catalog yaml file".into(),
            example: "steps:\n  - action: catalog:write\n    id: create-catalog-info-file\n    name: Create catalog file\n    input:\n      entity:\n        apiVersion: backstage.io/v1alpha1\n        kind: Component\n        metadata:\n          name: test\n          annotations: {}\n        spec:\n          type: service\n          lifecycle: production\n          owner: default/owner\n".into(),
        }]
    }
    async fn run(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        let path = input_str(&ctx.input, "filePath")
            .unwrap_or("catalog-info.yaml")
            .to_string();
        let entity = ctx.input.get("entity").cloned().unwrap_or(Value::Null);
        let yaml = serde_yaml::to_string(&entity).map_err(|e| {
            ActionError::Input(format!("input.entity cannot be written as YAML: {e}"))
        })?;
        ctx.log(format!("Writing {path}"));
        ctx.workspace.write(&path, yaml.as_bytes(), None)
    }
}

/// `catalog:fetch`.
pub struct CatalogFetch;

#[async_trait]
impl Action for CatalogFetch {
    fn id(&self) -> &'static str {
        "catalog:fetch"
    }
    fn description(&self) -> &'static str {
        "Returns entity or entities from the catalog by entity reference(s)"
    }
    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "entityRef": {"type": "string", "description": "Entity reference of the entity to get"},
                "entityRefs": {"type": "array", "items": {"type": "string"}, "description": "Entity references of the entities to get"},
                "optional": {"type": "boolean", "description": "Allow the entity or entities to optionally exist. Default: false"},
                "defaultKind": {"type": "string", "description": "The default kind"},
                "defaultNamespace": {"type": "string", "description": "The default namespace"}
            }
        })
    }
    fn output_schema(&self) -> Option<Value> {
        Some(json!({
            "type": "object",
            "properties": {
                "entity": {"type": "object", "description": "Object containing same values used in the Entity schema. Only when used with `entityRef` parameter."},
                "entities": {"type": "array", "description": "Array containing objects with same values used in the Entity schema. Only when used with `entityRefs` parameter."}
            }
        }))
    }
    async fn run(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        let optional = input_bool(&ctx.input, "optional");
        let default_kind = input_str(&ctx.input, "defaultKind").map(str::to_string);
        let default_ns = input_str(&ctx.input, "defaultNamespace")
            .unwrap_or(DEFAULT_NAMESPACE)
            .to_string();
        let parse = |text: &str| {
            EntityRef::parse_with_defaults(text, default_kind.as_deref(), &default_ns)
                .map_err(|e| ActionError::Input(format!("Invalid entity reference {text}: {e}")))
        };
        if let Some(text) = input_str(&ctx.input, "entityRef").map(str::to_string) {
            let entity_ref = parse(&text)?;
            let entity = ctx.catalog.entity_by_ref(&entity_ref).await?;
            match entity {
                Some(e) => ctx.output("entity", entity_json(&e)),
                None if optional => ctx.output("entity", Value::Null),
                None => return Err(ActionError::NotFound(format!("Entity {text} not found"))),
            }
            return Ok(());
        }
        if let Some(items) = ctx
            .input
            .get("entityRefs")
            .and_then(Value::as_array)
            .cloned()
        {
            let texts: Vec<String> = items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            let refs = texts
                .iter()
                .map(|t| parse(t))
                .collect::<Result<Vec<_>, _>>()?;
            let found = ctx.catalog.entities_by_refs(&refs, &[]).await?;
            let mut out = Vec::with_capacity(found.len());
            for (text, entity) in texts.iter().zip(found) {
                match entity {
                    Some(e) => out.push(entity_json(&e)),
                    None if optional => out.push(Value::Null),
                    None => return Err(ActionError::NotFound(format!("Entity {text} not found"))),
                }
            }
            ctx.output("entities", Value::Array(out));
            return Ok(());
        }
        Err(ActionError::Input(
            "Missing entity reference or references".into(),
        ))
    }
}

fn entity_json(entity: &Entity) -> Value {
    Value::Object(entity.0.clone())
}

/// `catalog:register`.
pub struct CatalogRegister;

#[async_trait]
impl Action for CatalogRegister {
    fn id(&self) -> &'static str {
        "catalog:register"
    }
    fn description(&self) -> &'static str {
        "Registers entities from a catalog descriptor file in the workspace into the software catalog."
    }
    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "oneOf": [
                {
                    "required": ["catalogInfoUrl"],
                    "properties": {
                        "catalogInfoUrl": {"type": "string", "title": "Catalog Info URL", "description": "An absolute URL pointing to the catalog info file location (a file: URL or absolute path registers a file location)"},
                        "optional": {"type": "boolean", "title": "Optional", "description": "Permit the registered location to optionally exist. Default: false"}
                    }
                },
                {
                    "required": ["repoContentsUrl"],
                    "properties": {
                        "repoContentsUrl": {"type": "string", "title": "Repository Contents URL", "description": "An absolute URL pointing to the root of a repository directory tree"},
                        "catalogInfoPath": {"type": "string", "title": "Fetch URL", "description": "A relative path from the repo root pointing to the catalog info file, defaults to /catalog-info.yaml"},
                        "optional": {"type": "boolean", "title": "Optional", "description": "Permit the registered location to optionally exist. Default: false"}
                    }
                }
            ]
        })
    }
    fn output_schema(&self) -> Option<Value> {
        Some(json!({
            "type": "object",
            "required": ["catalogInfoUrl"],
            "properties": {
                "entityRef": {"type": "string"},
                "catalogInfoUrl": {"type": "string"}
            }
        }))
    }
    fn examples(&self) -> Vec<ActionExample> {
        vec![ActionExample {
            description: "Register with the catalog".into(),
            example: "steps:\n  - action: catalog:register\n    id: register-with-catalog\n    name: Register with the catalog\n    input:\n      catalogInfoUrl: http://github.com/backstage/backstage/blob/master/catalog-info.yaml\n".into(),
        }]
    }
    async fn run(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        let optional = input_bool(&ctx.input, "optional");
        let catalog_info_url = match input_str(&ctx.input, "catalogInfoUrl") {
            Some(url) => url.to_string(),
            None => {
                let base = input_str(&ctx.input, "repoContentsUrl").ok_or_else(|| {
                    ActionError::Input("Missing repoContentsUrl or catalogInfoUrl".into())
                })?;
                let path = input_str(&ctx.input, "catalogInfoPath").unwrap_or("/catalog-info.yaml");
                join_contents_url(base, path)
            }
        };
        let (location_type, target) = location_for(&catalog_info_url)?;
        ctx.log(format!("Registering {catalog_info_url} in the catalog"));
        let mut entities = Vec::new();
        if !ctx.dry_run {
            match ctx
                .catalog
                .add_location(&location_type, &target, false)
                .await
            {
                Ok(result) => entities = result.entities,
                Err(e) if optional => {
                    ctx.log(format!("Registering failed (optional): {}", e.message()))
                }
                Err(e) => return Err(e.into()),
            }
        }
        if entities.is_empty() {
            // Backstage re-reads the location as a dry run for the entities; in a dry run that is all it does.
            match ctx
                .catalog
                .add_location(&location_type, &target, true)
                .await
            {
                Ok(result) => entities = result.entities,
                Err(e) if optional || ctx.dry_run => ctx.log(format!(
                    "Reading the registered location failed: {}",
                    e.message()
                )),
                Err(e) => return Err(e.into()),
            }
        }
        let generated = |e: &&Entity| e.name().starts_with("generated-");
        let chosen = entities
            .iter()
            .find(|e| !generated(e) && e.kind() == "Component")
            .or_else(|| entities.iter().find(|e| !generated(e)))
            .or_else(|| entities.first());
        if let Some(entity) = chosen {
            ctx.output("entityRef", Value::String(entity.entity_ref().canonical()));
        }
        ctx.output("catalogInfoUrl", Value::String(catalog_info_url));
        Ok(())
    }
}

/// `repoContentsUrl` + `catalogInfoPath`: the path is relative to the repository root even when it starts
/// with `/` (as Backstage's integrations resolve it).
fn join_contents_url(base: &str, path: &str) -> String {
    let mut path = path;
    loop {
        let rest = path.trim_start_matches('/');
        let rest = rest.strip_prefix("./").unwrap_or(rest);
        if rest == path {
            break;
        }
        path = rest;
    }
    format!("{}/{path}", base.trim_end_matches('/'))
}

/// The location type and target for a catalog info URL: `file:` URLs and absolute paths are `file`
/// locations, everything else a `url` location.
fn location_for(catalog_info_url: &str) -> Result<(String, String), ActionError> {
    if catalog_info_url.starts_with('/') {
        return Ok(("file".into(), catalog_info_url.to_string()));
    }
    let url = url::Url::parse(catalog_info_url).map_err(|e| {
        ActionError::Input(format!("Invalid catalogInfoUrl {catalog_info_url}: {e}"))
    })?;
    if url.scheme() == "file" {
        let path = url.to_file_path().map_err(|_| {
            ActionError::Input(format!(
                "catalogInfoUrl {catalog_info_url} is not a local file URL"
            ))
        })?;
        return Ok(("file".into(), path.display().to_string()));
    }
    Ok(("url".into(), url.to_string()))
}

#[cfg(all(test, unix))]
mod tests {
    use super::super::test_support::{assert_not_allowed, Harness};
    use super::*;
    use crate::portal::Portal;
    use std::os::unix::fs::symlink;

    const ENTITIES: &str = r#"apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: generated-team}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: svc-api}
spec: {type: openapi, lifecycle: production, owner: team, definition: x}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: svc}
spec: {type: service, lifecycle: production, owner: team}
"#;

    #[tokio::test]
    async fn write_writes_yaml_and_refuses_escapes() {
        let h = Harness::new();
        let entity = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "x"}});
        h.run("catalog:write", json!({"entity": entity}))
            .await
            .unwrap();
        let text = std::fs::read_to_string(h.workspace.join("catalog-info.yaml")).unwrap();
        let back: Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(back, entity);
        symlink(&h.outside, h.workspace.join("out")).unwrap();
        for path in ["../x.yaml", "/etc/passwd", "a/../../x", "out/secret.txt"] {
            assert_not_allowed(
                h.run("catalog:write", json!({"entity": entity, "filePath": path}))
                    .await,
            );
        }
        h.assert_outside_intact();
    }

    #[tokio::test]
    async fn register_file_location_then_fetch() {
        let h = Harness::new();
        let repo = h.tmp.path().join("published");
        std::fs::create_dir_all(&repo).unwrap();
        std::fs::write(repo.join("catalog-info.yaml"), ENTITIES).unwrap();
        let contents = url::Url::from_directory_path(&repo).unwrap().to_string();

        // A dry run registers nothing but still reports the entity.
        let mut ctx = h.ctx(json!({"repoContentsUrl": contents}));
        ctx.dry_run = true;
        h.run_ctx("catalog:register", &mut ctx).await.unwrap();
        assert_eq!(ctx.outputs["entityRef"], "component:default/svc");
        assert!(h.portal.locations().await.unwrap().is_empty());

        let ctx = h
            .run("catalog:register", json!({"repoContentsUrl": contents}))
            .await
            .unwrap();
        assert_eq!(ctx.outputs["entityRef"], "component:default/svc");
        assert_eq!(
            ctx.outputs["catalogInfoUrl"],
            format!("{contents}catalog-info.yaml")
        );
        let locations = h.portal.locations().await.unwrap();
        assert_eq!(locations.len(), 1);
        assert_eq!(locations[0].location_type, "file");

        // Registering again conflicts, unless optional.
        let e = h
            .run("catalog:register", json!({"repoContentsUrl": contents}))
            .await
            .unwrap_err();
        assert_eq!(e.name(), "ConflictError", "{e:?}");
        let ctx = h
            .run("catalog:register", json!({"catalogInfoUrl": repo.join("catalog-info.yaml").display().to_string(), "optional": true}))
            .await
            .unwrap();
        assert_eq!(ctx.outputs["entityRef"], "component:default/svc");

        let ctx = h
            .run(
                "catalog:fetch",
                json!({"entityRef": "svc", "defaultKind": "Component"}),
            )
            .await
            .unwrap();
        assert_eq!(ctx.outputs["entity"]["metadata"]["name"], "svc");
        let ctx = h
            .run("catalog:fetch", json!({"entityRefs": ["component:svc", "api:svc-api", "component:nope"], "optional": true}))
            .await
            .unwrap();
        let entities = ctx.outputs["entities"].as_array().unwrap();
        assert_eq!(entities[1]["kind"], "API");
        assert!(entities[2].is_null());
        let e = h
            .run("catalog:fetch", json!({"entityRef": "component:nope"}))
            .await
            .unwrap_err();
        assert!(
            matches!(e, ActionError::NotFound(ref m) if m.contains("component:nope")),
            "{e:?}"
        );
        let e = h
            .run("catalog:fetch", json!({"entityRefs": ["component:nope"]}))
            .await
            .unwrap_err();
        assert!(matches!(e, ActionError::NotFound(_)), "{e:?}");
        let e = h.run("catalog:fetch", json!({})).await.unwrap_err();
        assert!(matches!(e, ActionError::Input(_)), "{e:?}");
    }

    #[tokio::test]
    async fn register_accepts_published_files_without_opening_file_locations() {
        let h = Harness::new();
        let published = h.tmp.path().join("published");
        std::fs::create_dir_all(published.join("svc")).unwrap();
        std::fs::write(
            published.join("svc/catalog-info.yaml"),
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: svc}\nspec: {type: service, lifecycle: experimental, owner: team-a}\n",
        )
        .unwrap();
        std::fs::write(h.outside.join("catalog-info.yaml"), "kind: Component\n").unwrap();
        // Only url locations are open to registration, but publish:file's directory is configured.
        let portal = crate::portal::LocalPortal::from_config(crate::config::Config::from_value(
            serde_yaml::from_str(&format!(
                "backend: {{database: {{client: better-sqlite3, connection: ':memory:'}}}}\n\
                 catalog: {{rules: [{{allow: [Component]}}]}}\n\
                 scaffolder: {{publish: {{file: {{allowedDirectories: ['{}']}}}}}}",
                published.display()
            ))
            .unwrap(),
            h.tmp.path().to_path_buf(),
        ))
        .unwrap();
        let portal: std::sync::Arc<dyn crate::portal::Portal> = std::sync::Arc::new(portal);
        let mut ctx = h.ctx(json!({
            "catalogInfoUrl": format!("file://{}/svc/catalog-info.yaml", published.display())
        }));
        ctx.catalog = portal.clone();
        h.run_ctx("catalog:register", &mut ctx).await.unwrap();
        assert_eq!(ctx.outputs["entityRef"], json!("component:default/svc"));
        // A file elsewhere is still refused, also through a symlink inside the published directory.
        std::os::unix::fs::symlink(
            h.outside.join("catalog-info.yaml"),
            published.join("link.yaml"),
        )
        .unwrap();
        for target in [
            h.outside.join("catalog-info.yaml"),
            published.join("link.yaml"),
        ] {
            let mut ctx = h.ctx(json!({"catalogInfoUrl": format!("file://{}", target.display())}));
            ctx.catalog = portal.clone();
            let e = h.run_ctx("catalog:register", &mut ctx).await.unwrap_err();
            assert!(e.to_string().contains("allowed type"), "{e}");
        }
    }

    #[tokio::test]
    async fn register_refuses_disallowed_types_unless_optional() {
        let h = Harness::new();
        // Backstage's default allows only url locations: a file location is refused by the portal.
        let strict = crate::portal::LocalPortal::from_config(crate::config::Config::from_value(
            serde_yaml::from_str(
                "backend: {database: {client: better-sqlite3, connection: ':memory:'}}",
            )
            .unwrap(),
            h.tmp.path().to_path_buf(),
        ))
        .unwrap();
        let mut ctx = h.ctx(json!({"catalogInfoUrl": "file:///srv/x/catalog-info.yaml"}));
        ctx.catalog = std::sync::Arc::new(strict);
        let e = h.run_ctx("catalog:register", &mut ctx).await.unwrap_err();
        assert_eq!(e.name(), "InputError", "{e:?}");
        assert!(e.to_string().contains("allowed type"), "{e}");
        let mut ctx =
            h.ctx(json!({"catalogInfoUrl": "file:///srv/x/catalog-info.yaml", "optional": true}));
        ctx.catalog = h.portal.clone();
        h.run_ctx("catalog:register", &mut ctx).await.unwrap();
        let e = h
            .run(
                "catalog:register",
                json!({"catalogInfoUrl": "relative/path"}),
            )
            .await
            .unwrap_err();
        assert_eq!(e.name(), "InputError", "{e:?}");
        assert_eq!(
            join_contents_url("file:///a/b/", "/catalog-info.yaml"),
            "file:///a/b/catalog-info.yaml"
        );
        assert_eq!(
            join_contents_url("https://h/x", "./c.yaml"),
            "https://h/x/c.yaml"
        );
    }
}
