//! The walk over one root location: read each target, parse its documents, resolve placeholders, validate,
//! apply the catalog rules, annotate, extract relations, and follow Location entities to their targets.
//! The result is one [`LocationIngest`] for the store to write in one transaction, plus the problems found.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use url::Url;

use crate::config::catalog::resolve_against;
use crate::config::CatalogConfig;
use crate::entity::relations::relations_of;
use crate::entity::validation::validate_entity;
use crate::entity::{Entity, EntityRef};
use crate::error::PortalError;
use crate::portal::Problem;
use crate::store::{FailedEntity, LocationIngest, ProcessedEntity, ProcessingError, RelationRow};

use super::annotate::{annotate, root_location_entity};
use super::documents::{find_line, parse_documents, Document};
use super::placeholders::{
    content_value, find_placeholders, read_failure, replace_at, resolve_source, PlaceholderSource,
};
use super::reader::LocationReader;

/// Location targets are followed at most this deep, so a chain of Locations cannot run away.
const MAX_LOCATION_DEPTH: usize = 32;

/// A root location: configured in `catalog.locations` or registered through the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootLocation {
    pub location_type: String,
    pub target: String,
}

impl RootLocation {
    pub fn key(&self) -> String {
        format!("{}:{}", self.location_type, self.target)
    }
}

/// What walking one root produced.
#[derive(Debug, Clone, Default)]
pub struct RootOutcome {
    pub ingest: LocationIngest,
    pub problems: Vec<Problem>,
}

/// Reads root locations into processed entities.
#[derive(Clone)]
pub struct Ingestor {
    reader: LocationReader,
    catalog: CatalogConfig,
}

/// A Location entity waiting for its targets to be read.
struct PendingLocation {
    entity_ref: String,
    location_type: String,
    targets: Vec<String>,
    presence_optional: bool,
    /// `type:target` of the file the Location entity itself came from.
    own_key: String,
    depth: usize,
}

/// The state of one walk.
struct Walk<'a> {
    ingestor: &'a Ingestor,
    root: &'a RootLocation,
    origin: String,
    entities: Vec<ProcessedEntity>,
    index_by_ref: HashMap<String, usize>,
    failed: Vec<FailedEntity>,
    failed_keys: Vec<String>,
    problems: Vec<Problem>,
    visited: HashSet<String>,
    queue: VecDeque<PendingLocation>,
}

impl Ingestor {
    pub fn new(reader: LocationReader, catalog: CatalogConfig) -> Self {
        Ingestor { reader, catalog }
    }

    pub fn reader(&self) -> &LocationReader {
        &self.reader
    }

    /// Walks a root location and everything its Location entities point at.
    pub async fn ingest_root(&self, root: &RootLocation) -> RootOutcome {
        let origin = root.key();
        let mut walk = Walk {
            ingestor: self,
            root,
            origin: origin.clone(),
            entities: Vec::new(),
            index_by_ref: HashMap::new(),
            failed: Vec::new(),
            failed_keys: Vec::new(),
            problems: Vec::new(),
            visited: HashSet::new(),
            queue: VecDeque::new(),
        };
        let root_entity = root_location_entity(&root.location_type, &root.target);
        walk.accept(root_entity, origin.clone(), None, Vec::new(), 0);
        while let Some(pending) = walk.queue.pop_front() {
            walk.expand(pending).await;
        }
        walk.finish()
    }
}

impl Walk<'_> {
    /// Adds a processed entity (first claimant wins within the walk) and queues Location targets.
    fn accept(
        &mut self,
        entity: Entity,
        location_key: String,
        parent_ref: Option<String>,
        relations: Vec<RelationRow>,
        depth: usize,
    ) -> bool {
        let entity_ref = entity.entity_ref().canonical();
        if let Some(&existing) = self.index_by_ref.get(&entity_ref) {
            let first = self.entities[existing].location_key.clone();
            let message = format!(
                "Detected conflicting entityRef {entity_ref} already referenced by {first} and now also {location_key}"
            );
            self.problems.push(Problem {
                location: strip_type(&location_key).to_string(),
                document: None,
                line: None,
                name: "ConflictError".to_string(),
                message,
            });
            return false;
        }
        if entity.kind().eq_ignore_ascii_case("location") {
            let spec = entity.spec();
            let own_type = location_key.split_once(':').map_or("file", |(t, _)| t);
            let location_type = spec
                .and_then(|s| s.get("type"))
                .and_then(Value::as_str)
                .unwrap_or(own_type)
                .to_string();
            let mut targets = Vec::new();
            if let Some(t) = spec.and_then(|s| s.get("target")).and_then(Value::as_str) {
                targets.push(t.to_string());
            }
            if let Some(list) = spec
                .and_then(|s| s.get("targets"))
                .and_then(Value::as_array)
            {
                targets.extend(list.iter().filter_map(Value::as_str).map(str::to_string));
            }
            let presence_optional =
                spec.and_then(|s| s.get("presence")).and_then(Value::as_str) == Some("optional");
            self.queue.push_back(PendingLocation {
                entity_ref: entity_ref.clone(),
                location_type,
                targets,
                presence_optional,
                own_key: location_key.clone(),
                depth,
            });
        }
        self.index_by_ref
            .insert(entity_ref.clone(), self.entities.len());
        self.entities.push(ProcessedEntity {
            entity,
            entity_ref,
            location_key,
            parent_ref,
            relations,
            errors: Vec::new(),
            hash: String::new(),
        });
        true
    }

    /// Records an error on a Location entity of this walk (shown in its `status.items`).
    fn error_on(&mut self, entity_ref: &str, error: &PortalError) {
        if let Some(&i) = self.index_by_ref.get(entity_ref) {
            self.entities[i]
                .errors
                .push(ProcessingError::new(error.name(), error.message()));
        }
    }

    /// What a file emitted before stays until the whole file reads cleanly again, so a typo that breaks a
    /// name cannot orphan (and delete) the entity it used to be.
    fn mark_file_failed(&mut self, file_key: &str) {
        if !self.failed_keys.iter().any(|k| k == file_key) {
            self.failed_keys.push(file_key.to_string());
        }
    }

    fn problem(
        &mut self,
        key: &str,
        document: Option<&Document>,
        line: Option<usize>,
        error: &PortalError,
    ) {
        self.problems.push(Problem {
            location: strip_type(key).to_string(),
            document: document.map(|d| d.index),
            line: line.or(document.map(|d| d.line)),
            name: error.name().to_string(),
            message: error.message().to_string(),
        });
    }

    /// Reads every target of a Location entity and processes what they hold.
    async fn expand(&mut self, pending: PendingLocation) {
        if pending.depth >= MAX_LOCATION_DEPTH {
            let error = PortalError::Input(format!(
                "Location {} nests deeper than {MAX_LOCATION_DEPTH} levels; its targets were not read",
                pending.entity_ref
            ));
            self.error_on(&pending.entity_ref, &error);
            self.problem(&pending.own_key, None, None, &error);
            return;
        }
        for target in &pending.targets {
            let resolved = match resolve_target(&pending.location_type, target, &pending.own_key) {
                Ok(r) => r,
                Err(error) => {
                    self.error_on(&pending.entity_ref, &error);
                    self.problem(&pending.own_key, None, None, &error);
                    continue;
                }
            };
            let target_key = format!("{}:{}", pending.location_type, resolved);
            if !self.visited.insert(target_key.clone()) {
                continue;
            }
            let files = match self.read_target(&pending.location_type, &resolved).await {
                Ok(files) => files,
                Err(error) => {
                    let optional_missing =
                        pending.presence_optional && matches!(error, PortalError::NotFound(_));
                    if !optional_missing {
                        self.error_on(&pending.entity_ref, &error);
                        self.problem(&pending.own_key, None, None, &error);
                        self.mark_file_failed(&target_key);
                    }
                    continue;
                }
            };
            for (file_key, bytes) in files {
                self.process_file(&pending, &file_key, &bytes).await;
            }
        }
    }

    /// Reads a resolved target into `(type:target, bytes)` per file (a glob gives several).
    async fn read_target(
        &self,
        location_type: &str,
        target: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, PortalError> {
        let reader = &self.ingestor.reader;
        match location_type {
            "file" => {
                let mut out = Vec::new();
                for path in reader.expand_file_target(target)? {
                    let bytes = reader.read_file(&path).await?;
                    out.push((format!("file:{}", path.display()), bytes));
                }
                Ok(out)
            }
            "url" => {
                let url = Url::parse(target)
                    .map_err(|e| PortalError::Input(format!("Invalid url {target}, {e}")))?;
                let bytes = reader.read_url(&url).await?;
                Ok(vec![(format!("url:{target}"), bytes)])
            }
            other => Err(PortalError::Input(format!(
                "Unsupported location type '{other}' for target {target}; stagedoor reads 'file' and 'url' locations"
            ))),
        }
    }

    async fn process_file(&mut self, pending: &PendingLocation, file_key: &str, bytes: &[u8]) {
        let documents = match parse_documents(bytes, file_key) {
            Ok(d) => d,
            Err(e) => {
                let error = PortalError::Input(e.message);
                self.error_on(&pending.entity_ref, &error);
                self.problem(file_key, None, e.line, &error);
                self.mark_file_failed(file_key);
                return;
            }
        };
        let text = String::from_utf8_lossy(bytes);
        for doc in &documents {
            let raw = match &doc.value {
                Ok(v) => v.clone(),
                Err(message) => {
                    let error = PortalError::Input(message.clone());
                    self.mark_file_failed(file_key);
                    self.error_on(&pending.entity_ref, &error);
                    self.problem(file_key, Some(doc), None, &error);
                    continue;
                }
            };
            let guessed_ref = guess_ref(&raw);
            match self.process_entity(raw, file_key).await {
                Ok((entity, relations)) => {
                    self.accept(
                        entity,
                        file_key.to_string(),
                        Some(pending.entity_ref.clone()),
                        relations,
                        pending.depth + 1,
                    );
                }
                Err((error, value)) => {
                    self.mark_file_failed(file_key);
                    let line = value.as_deref().and_then(|v| find_line(&text, doc, v));
                    self.problem(file_key, Some(doc), line, &error);
                    let located = PortalError::from_name(
                        error.name(),
                        format!(
                            "{} (in {}, document {})",
                            error.message(),
                            strip_type(file_key),
                            doc.index
                        ),
                    );
                    self.error_on(&pending.entity_ref, &located);
                    if let Some(entity_ref) = guessed_ref {
                        self.failed.push(FailedEntity {
                            entity_ref,
                            location_key: file_key.to_string(),
                            errors: vec![ProcessingError::new(error.name(), error.message())],
                        });
                    }
                }
            }
        }
    }

    /// One document to a valid, annotated entity with its relations; on failure the error and the offending
    /// value (to find its line).
    async fn process_entity(
        &self,
        mut raw: Value,
        file_key: &str,
    ) -> Result<(Entity, Vec<RelationRow>), (PortalError, Option<String>)> {
        for placeholder in find_placeholders(&raw) {
            let target = placeholder.target.clone();
            let content = async {
                match resolve_source(&placeholder, file_key)? {
                    PlaceholderSource::File(path) => self.ingestor.reader.read_file(&path).await,
                    PlaceholderSource::Url(url) => self.ingestor.reader.read_url(&url).await,
                }
            }
            .await
            .map_err(|e| match e {
                // resolve_source words its own errors; wrap only the reader's.
                e if e.message().starts_with("Placeholder") => e,
                e => read_failure(&placeholder, e),
            })
            .and_then(|bytes| content_value(&placeholder, &bytes))
            .map_err(|e| (e, Some(target)))?;
            replace_at(&mut raw, &placeholder.path, content);
        }
        validate_entity(&raw).map_err(|e| (PortalError::Input(e.message), e.value))?;
        let mut entity = Entity::from_value(raw)
            .ok_or_else(|| (PortalError::Input("Expected object at root".into()), None))?;
        let (origin_type, origin_target) = (&self.root.location_type, &self.root.target);
        if !self
            .ingestor
            .catalog
            .is_allowed(&entity, origin_type, origin_target)
        {
            let message = format!(
                "Entity {} at {}, originated at {}, is not of an allowed kind for that location",
                entity.entity_ref().canonical(),
                file_key,
                self.origin
            );
            return Err((
                PortalError::NotAllowed(message),
                Some(entity.kind().to_string()),
            ));
        }
        annotate(&mut entity, file_key, &self.origin);
        let relations = relation_rows(&entity).map_err(|e| (e, None))?;
        Ok((entity, relations))
    }

    fn finish(mut self) -> RootOutcome {
        for processed in &mut self.entities {
            processed.hash = entity_hash(processed);
        }
        RootOutcome {
            ingest: LocationIngest {
                origin: self.origin,
                entities: self.entities,
                failed_location_keys: self.failed_keys,
                failed_entities: self.failed,
            },
            problems: self.problems,
        }
    }
}

/// The relation rows an entity's spec gives, with canonical refs.
pub fn relation_rows(entity: &Entity) -> Result<Vec<RelationRow>, PortalError> {
    let edges = relations_of(entity).map_err(|e| PortalError::Input(e.to_string()))?;
    Ok(edges
        .into_iter()
        .map(|edge| RelationRow {
            source: edge.source.canonical(),
            relation_type: edge.relation_type.to_string(),
            target: edge.target.canonical(),
        })
        .collect())
}

/// Resolves a Location target against the file the Location entity came from.
fn resolve_target(location_type: &str, target: &str, own_key: &str) -> Result<String, PortalError> {
    let (own_type, own_target) = own_key.split_once(':').unwrap_or(("file", own_key));
    match location_type {
        "file" => {
            let path = Path::new(target);
            if path.is_absolute() {
                return Ok(resolve_against(Path::new("/"), target)
                    .display()
                    .to_string());
            }
            if own_type != "file" {
                return Err(PortalError::NotAllowed(format!(
                    "A {own_type} location may not point at the local file {target}"
                )));
            }
            let dir = Path::new(own_target).parent().unwrap_or(Path::new("/"));
            Ok(resolve_against(dir, target).display().to_string())
        }
        "url" => {
            if let Ok(url) = Url::parse(target) {
                return Ok(url.to_string());
            }
            let base = Url::parse(own_target).map_err(|e| {
                PortalError::Input(format!(
                    "Unable to resolve {target} against {own_target}, {e}"
                ))
            })?;
            base.join(target).map(|u| u.to_string()).map_err(|e| {
                PortalError::Input(format!(
                    "Unable to resolve {target} against {own_target}, {e}"
                ))
            })
        }
        // Unknown types are refused when read, with a message naming the type.
        _ => Ok(target.to_string()),
    }
}

fn strip_type(key: &str) -> &str {
    key.split_once(':').map_or(key, |(_, t)| t)
}

/// The ref an invalid document claims, when it says enough to tell, so its stored version can be kept.
fn guess_ref(raw: &Value) -> Option<String> {
    let kind = raw.get("kind")?.as_str()?;
    let meta = raw.get("metadata")?;
    let name = meta.get("name")?.as_str()?;
    let namespace = meta
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or("default");
    Some(EntityRef::new(kind, namespace, name).canonical())
}

/// A stable digest of everything stored for an entity: an unchanged digest means nothing is written.
fn entity_hash(processed: &ProcessedEntity) -> String {
    let mut relations = processed.relations.clone();
    relations.sort();
    let relations: Vec<_> = relations
        .iter()
        .map(|r| [&r.source, &r.relation_type, &r.target])
        .collect();
    let digest_input = json!({
        "entity": processed.entity,
        "location": processed.location_key,
        "parent": processed.parent_ref,
        "relations": relations,
        "errors": processed.errors,
    });
    let mut hasher = Sha256::new();
    hasher.update(digest_input.to_string().as_bytes());
    hex::encode(hasher.finalize())
}
