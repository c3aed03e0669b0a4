//! [`SqliteStore`]: the [`Store`] on rusqlite, WAL mode, migrations at open.

use std::path::Path;

use async_trait::async_trait;

use super::*;

pub struct SqliteStore {}

impl SqliteStore {
    /// Opens (creating if needed) a database file, applying migrations; refuses a newer schema.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let _ = path;
        todo!("helper C")
    }

    pub fn open_in_memory() -> Result<Self, StoreError> {
        todo!("helper C")
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn apply_location(
        &self,
        _ingest: LocationIngest,
        _orphans: OrphanStrategy,
    ) -> Result<WriteStats, StoreError> {
        todo!("helper C")
    }
    async fn origins(&self) -> Result<Vec<String>, StoreError> {
        todo!("helper C")
    }
    async fn query_entities(&self, _query: &EntityQuery) -> Result<EntityPage, StoreError> {
        todo!("helper C")
    }
    async fn entity_by_ref(&self, _entity_ref: &EntityRef) -> Result<Option<Entity>, StoreError> {
        todo!("helper C")
    }
    async fn entity_by_uid(&self, _uid: &str) -> Result<Option<Entity>, StoreError> {
        todo!("helper C")
    }
    async fn entities_by_refs(
        &self,
        _refs: &[EntityRef],
        _fields: &[String],
    ) -> Result<Vec<Option<Entity>>, StoreError> {
        todo!("helper C")
    }
    async fn facets(
        &self,
        _facets: &[String],
        _filter: Option<&EntityPredicate>,
    ) -> Result<Facets, StoreError> {
        todo!("helper C")
    }
    async fn provenance(
        &self,
        _entity_ref: &EntityRef,
    ) -> Result<Option<EntityProvenance>, StoreError> {
        todo!("helper C")
    }
    async fn delete_entity_by_uid(&self, _uid: &str) -> Result<bool, StoreError> {
        todo!("helper C")
    }
    async fn add_location(
        &self,
        _location_type: &str,
        _target: &str,
    ) -> Result<LocationRecord, StoreError> {
        todo!("helper C")
    }
    async fn locations(&self) -> Result<Vec<LocationRecord>, StoreError> {
        todo!("helper C")
    }
    async fn location(&self, _id: &str) -> Result<Option<LocationRecord>, StoreError> {
        todo!("helper C")
    }
    async fn delete_location(&self, _id: &str) -> Result<bool, StoreError> {
        todo!("helper C")
    }
    async fn entity_count(&self) -> Result<u64, StoreError> {
        todo!("helper C")
    }
    async fn dangling_relations(&self) -> Result<Vec<RelationRow>, StoreError> {
        todo!("lead")
    }
}
