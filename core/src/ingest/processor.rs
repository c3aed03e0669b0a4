//! The walk over one root location: read each target, parse its documents, resolve placeholders, validate,
//! apply the catalog rules, annotate, extract relations, and follow Location entities to their targets.
//! The result is one [`LocationIngest`] for the store to write in one transaction, plus the problems found.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
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
use super::documents::{find_line, parse_documents};
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
    catalog: Arc<CatalogConfig>,
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
struct Walk {
    context: Arc<WalkContext>,
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
        Ingestor {
            reader,
            catalog: Arc::new(catalog),
        }
    }

    pub fn reader(&self) -> &LocationReader {
        &self.reader
    }

    /// Walks a root location and everything its Location entities point at.
    pub async fn ingest_root(&self, root: &RootLocation) -> RootOutcome {
        let origin = root.key();
        let mut walk = Walk {
            context: Arc::new(WalkContext {
                ingestor: self.clone(),
                root: root.clone(),
                origin: origin.clone(),
            }),
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

impl Walk {
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
        document: Option<usize>,
        line: Option<usize>,
        error: &PortalError,
    ) {
        self.problems.push(Problem {
            location: strip_type(key).to_string(),
            document,
            line,
            name: error.name().to_string(),
            message: error.message().to_string(),
        });
    }

    /// Reads every target of a Location entity and processes what they hold. Files are processed on their
    /// own tasks (parsing and validation are the costly part), then merged in target order so conflicts are
    /// decided the same way every time.
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
        let mut jobs = Vec::new();
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
            match self.sources(&pending.location_type, &resolved) {
                Ok(sources) => {
                    for source in sources {
                        let context = self.context.clone();
                        jobs.push(tokio::spawn(
                            async move { context.process_source(source).await },
                        ));
                    }
                }
                Err(error) => self.read_failed(&pending, &target_key, error),
            }
        }
        for job in jobs {
            match job.await {
                Ok(outcome) => self.merge(&pending, outcome),
                Err(e) => {
                    let error = PortalError::Internal(format!("processing a file failed: {e}"));
                    self.error_on(&pending.entity_ref, &error);
                    self.problem(&pending.own_key, None, None, &error);
                }
            }
        }
    }

    fn read_failed(&mut self, pending: &PendingLocation, key: &str, error: PortalError) {
        let optional_missing =
            pending.presence_optional && matches!(error, PortalError::NotFound(_));
        if !optional_missing {
            self.error_on(&pending.entity_ref, &error);
            self.problem(&pending.own_key, None, None, &error);
            self.mark_file_failed(key);
        }
    }

    /// The files a resolved target names (a glob gives several).
    fn sources(&self, location_type: &str, target: &str) -> Result<Vec<Source>, PortalError> {
        match location_type {
            "file" => Ok(self
                .context
                .ingestor
                .reader
                .expand_file_target(target)?
                .into_iter()
                .map(Source::File)
                .collect()),
            "url" => Url::parse(target)
                .map(|url| vec![Source::Url(url)])
                .map_err(|e| PortalError::Input(format!("Invalid url {target}, {e}"))),
            other => Err(PortalError::Input(format!(
                "Unsupported location type '{other}' for target {target}; stagedoor reads 'file' and 'url' locations"
            ))),
        }
    }

    /// Takes one file's results into the walk.
    fn merge(&mut self, pending: &PendingLocation, outcome: FileOutcome) {
        let key = outcome.file_key;
        if let Some(error) = outcome.read_error {
            self.read_failed(pending, &key, error);
            return;
        }
        if let Some((error, line)) = outcome.file_error {
            self.error_on(&pending.entity_ref, &error);
            self.problem(&key, None, line, &error);
            self.mark_file_failed(&key);
            return;
        }
        for item in outcome.documents {
            match item {
                DocumentOutcome::Accepted { entity, relations } => {
                    self.accept(
                        entity,
                        key.clone(),
                        Some(pending.entity_ref.clone()),
                        relations,
                        pending.depth + 1,
                    );
                }
                DocumentOutcome::Failed {
                    error,
                    document,
                    line,
                    guessed_ref,
                } => {
                    self.mark_file_failed(&key);
                    self.problem(&key, Some(document), Some(line), &error);
                    let located = PortalError::from_name(
                        error.name(),
                        format!(
                            "{} (in {}, document {document})",
                            error.message(),
                            strip_type(&key)
                        ),
                    );
                    self.error_on(&pending.entity_ref, &located);
                    if let Some(entity_ref) = guessed_ref {
                        self.failed.push(FailedEntity {
                            entity_ref,
                            location_key: key.clone(),
                            errors: vec![ProcessingError::new(error.name(), error.message())],
                        });
                    }
                }
            }
        }
    }

    fn finish(mut self) -> RootOutcome {
        for processed in &mut self.entities {
            processed.hash = entity_hash(processed);
        }
        RootOutcome {
            ingest: LocationIngest {
                origin: self.context.origin.clone(),
                entities: self.entities,
                failed_location_keys: self.failed_keys,
                failed_entities: self.failed,
            },
            problems: self.problems,
        }
    }
}

/// A file or URL to read.
#[derive(Debug, Clone)]
enum Source {
    File(std::path::PathBuf),
    Url(Url),
}

/// What processing one file produced, before it is merged into the walk.
struct FileOutcome {
    file_key: String,
    read_error: Option<PortalError>,
    file_error: Option<(PortalError, Option<usize>)>,
    documents: Vec<DocumentOutcome>,
}

enum DocumentOutcome {
    Accepted {
        entity: Entity,
        relations: Vec<RelationRow>,
    },
    Failed {
        error: PortalError,
        document: usize,
        line: usize,
        /// The ref the document claims, when it says enough to tell, so its stored version can be kept.
        guessed_ref: Option<String>,
    },
}

/// What every file task of a walk shares.
struct WalkContext {
    ingestor: Ingestor,
    root: RootLocation,
    origin: String,
}

impl WalkContext {
    async fn process_source(&self, source: Source) -> FileOutcome {
        let reader = &self.ingestor.reader;
        let (file_key, bytes) = match &source {
            Source::File(path) => (
                format!("file:{}", path.display()),
                reader.read_file(path).await,
            ),
            Source::Url(url) => (format!("url:{url}"), reader.read_url(url).await),
        };
        let mut outcome = FileOutcome {
            file_key,
            read_error: None,
            file_error: None,
            documents: Vec::new(),
        };
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => {
                outcome.read_error = Some(e);
                return outcome;
            }
        };
        let documents = match parse_documents(&bytes, &outcome.file_key) {
            Ok(d) => d,
            Err(e) => {
                outcome.file_error = Some((PortalError::Input(e.message), e.line));
                return outcome;
            }
        };
        let text = String::from_utf8_lossy(&bytes);
        for mut doc in documents {
            let raw = match std::mem::replace(&mut doc.value, Ok(Value::Null)) {
                Ok(v) => v,
                Err(message) => {
                    outcome.documents.push(DocumentOutcome::Failed {
                        error: PortalError::Input(message),
                        document: doc.index,
                        line: doc.line,
                        guessed_ref: None,
                    });
                    continue;
                }
            };
            let guessed_ref = guess_ref(&raw);
            let item = match self.process_entity(raw, &outcome.file_key).await {
                Ok((entity, relations)) => DocumentOutcome::Accepted { entity, relations },
                Err((error, value)) => DocumentOutcome::Failed {
                    line: value
                        .as_deref()
                        .and_then(|v| find_line(&text, &doc, v))
                        .unwrap_or(doc.line),
                    error,
                    document: doc.index,
                    guessed_ref,
                },
            };
            outcome.documents.push(item);
        }
        outcome
    }

    /// One document to a valid, annotated entity with its relations; on failure the error and the offending
    /// value (to find its line).
    async fn process_entity(
        &self,
        mut raw: Value,
        file_key: &str,
    ) -> Result<(Entity, Vec<RelationRow>), (PortalError, Option<String>)> {
        let reader = &self.ingestor.reader;
        for placeholder in find_placeholders(&raw) {
            let target = placeholder.target.clone();
            let content = match resolve_source(&placeholder, file_key) {
                // resolve_source words its own errors; only the reader's are wrapped.
                Err(e) => Err(e),
                Ok(source) => match source {
                    PlaceholderSource::File(path) => reader.read_file(&path).await,
                    PlaceholderSource::Url(url) => reader.read_url(&url).await,
                }
                .map_err(|e| read_failure(&placeholder, e)),
            }
            .and_then(|bytes| content_value(&placeholder, &bytes))
            .map_err(|e| (e, Some(target)))?;
            replace_at(&mut raw, &placeholder.path, content);
        }
        validate_entity(&raw).map_err(|e| (PortalError::Input(e.message), e.value))?;
        let mut entity = Entity::from_value(raw)
            .ok_or_else(|| (PortalError::Input("Expected object at root".into()), None))?;
        if !self
            .ingestor
            .catalog
            .is_allowed(&entity, &self.root.location_type, &self.root.target)
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
            // A catalog read from a URL must not make the portal read its own disk.
            if own_type != "file" {
                return Err(PortalError::NotAllowed(format!(
                    "A {own_type} location may not point at the local file {target}"
                )));
            }
            if Path::new(target).is_absolute() {
                return Ok(resolve_against(Path::new("/"), target)
                    .display()
                    .to_string());
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
    let mut relations: Vec<_> = processed
        .relations
        .iter()
        .map(|r| (&r.source, &r.relation_type, &r.target))
        .collect();
    relations.sort();
    let mut hasher = Sha256::new();
    // Streamed into the hasher: no copy of the entity is built just to be hashed.
    let digested = serde_json::to_writer(
        &mut hasher,
        &(
            &processed.entity,
            &processed.location_key,
            &processed.parent_ref,
            &relations,
            &processed.errors,
        ),
    );
    if digested.is_err() {
        // Serialising a JSON value into a hasher cannot fail; an empty hash only forces a rewrite.
        return String::new();
    }
    hex::encode(hasher.finalize())
}
