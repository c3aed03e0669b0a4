//! `HttpPortal`: the [`Portal`] trait over Backstage's catalog REST API (`/api/catalog`), TechDocs API
//! (`/api/techdocs`), search API (`/api/search`) and scaffolder API (`/api/scaffolder`), speaking the same routes and bodies as Backstage's own `CatalogClient` and TechDocs
//! client, so it works against stagedoor's server and a real Backstage backend alike.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use stagedoor_core::entity::{Entity, EntityRef};
use stagedoor_core::error::PortalError;
use stagedoor_core::portal::{AddLocationResult, Ancestry, Portal, RefreshReport, RefreshRequest};
use stagedoor_core::scaffolder::{
    ActionInfo, DryRunRequest, DryRunResult, ParameterSchema, SerializedTask, TaskEvent,
    TaskEventType, TaskList, TaskQuery, TaskRequest, TaskStatus,
};
use stagedoor_core::search::{SearchQuery, SearchResultSet};
use stagedoor_core::store::{
    EntityPage, EntityPredicate, EntityQuery, Facets, FieldMatch, LocationRecord, SortOrder,
};
use stagedoor_core::techdocs::publish::{
    content_type, DocsFile, DocsHeading, DocsPage, DocsSite, SITE_FILE,
};
use stagedoor_core::techdocs::service::DocsSync;
use stagedoor_core::techdocs::site::NavItem;
use tokio::sync::mpsc;
use url::Url;

use crate::locations::{LocationPage, LocationQueryRequest};

/// How long to wait for a TCP connection before calling the backend unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Upper bound on one whole request; registering a large location can take a while.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// `validate-entity` requires a `url:` location; the entity is not read from it, only named by it.
const VALIDATE_LOCATION: &str = "url:https://stagedoor.invalid/validate-entity";
/// Refs per `POST /entities/by-refs` request.
const REFS_PER_REQUEST: usize = 1000;
/// How much of an unexpected body to quote in an error.
const BODY_SNIPPET: usize = 300;

/// A [`Portal`] backed by a remote catalog over HTTP.
#[derive(Debug, Clone)]
pub struct HttpPortal {
    client: reqwest::Client,
    /// `<base>/api/catalog`, with no trailing slash.
    catalog: Url,
    /// `<base>/api/techdocs`, with no trailing slash.
    techdocs: Url,
    /// `<base>/api/search`, with no trailing slash.
    search: Url,
    /// `<base>/api/scaffolder`, with no trailing slash.
    scaffolder: Url,
    /// A client with no limit on the whole request (only on connecting and on silence), for task event
    /// streams, which last as long as the task.
    stream_client: reqwest::Client,
    /// The same client without redirects, for docs files: a redirect there means "a directory, not a file".
    docs_client: reqwest::Client,
    token: Option<String>,
    /// Cursors issued by POST `/entities/by-query` answers: their next pages go to POST too, since a
    /// backend may encode a predicate in them that its GET route does not read.
    post_cursors: Arc<Mutex<HashSet<String>>>,
}

/// How long a task event stream may stay silent (the server sends a keep-alive every 15 s).
const STREAM_SILENCE: Duration = Duration::from_secs(60);
/// What a long poll of task events may take beyond its wait before the client gives up.
const LONG_POLL_MARGIN: Duration = Duration::from_secs(15);
/// The longest a server holds a long poll of task events (Backstage's 30 s).
const LONG_POLL: Duration = Duration::from_secs(30);

/// Bound on remembered POST cursors; past it the set starts over (a forgotten cursor is sent by GET).
const MAX_POST_CURSORS: usize = 1024;

impl HttpPortal {
    /// A client for the backend at `base_url` (e.g. `http://127.0.0.1:7007`; a URL already ending in
    /// `/api/catalog` is accepted as is). `token` is sent as `Authorization: Bearer <token>`.
    pub fn new(base_url: &str, token: Option<String>) -> Result<HttpPortal, PortalError> {
        let mut catalog = Url::parse(base_url.trim())
            .map_err(|e| PortalError::Input(format!("Invalid backend URL {base_url}: {e}")))?;
        if !matches!(catalog.scheme(), "http" | "https") {
            return Err(PortalError::Input(format!(
                "Invalid backend URL {base_url}: the scheme must be http or https"
            )));
        }
        if catalog.cannot_be_a_base() {
            return Err(PortalError::Input(format!(
                "Invalid backend URL {base_url}: it cannot be a base URL"
            )));
        }
        catalog.set_query(None);
        catalog.set_fragment(None);
        let trimmed = catalog.path().trim_end_matches('/').to_string();
        if trimmed.ends_with("/api/catalog") {
            catalog.set_path(&trimmed);
        } else {
            catalog.set_path(&format!("{trimmed}/api/catalog"));
        }
        let mut techdocs = catalog.clone();
        let base = catalog.path().trim_end_matches("/api/catalog").to_string();
        techdocs.set_path(&format!("{base}/api/techdocs"));
        let mut search = catalog.clone();
        search.set_path(&format!("{base}/api/search"));
        let mut scaffolder = catalog.clone();
        scaffolder.set_path(&format!("{base}/api/scaffolder"));
        let (client, docs_client) = clients(REQUEST_TIMEOUT)?;
        let stream_client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(STREAM_SILENCE)
            .user_agent(concat!("stagedoor/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PortalError::Internal(format!("Could not build the HTTP client: {e}")))?;
        Ok(HttpPortal {
            client,
            docs_client,
            catalog,
            techdocs,
            search,
            scaffolder,
            stream_client,
            token: token.filter(|t| !t.is_empty()),
            post_cursors: Arc::default(),
        })
    }

    /// The same client with another limit on each whole request (connecting included).
    pub fn with_timeout(mut self, timeout: Duration) -> Result<HttpPortal, PortalError> {
        (self.client, self.docs_client) = clients(timeout)?;
        Ok(self)
    }

    /// The catalog API root this client talks to (`<base>/api/catalog`).
    pub fn catalog_url(&self) -> &Url {
        &self.catalog
    }

    /// The TechDocs API root this client talks to (`<base>/api/techdocs`).
    pub fn techdocs_url(&self) -> &Url {
        &self.techdocs
    }

    /// The search API root this client talks to (`<base>/api/search`).
    pub fn search_url(&self) -> &Url {
        &self.search
    }

    /// The scaffolder API root this client talks to (`<base>/api/scaffolder`).
    pub fn scaffolder_url(&self) -> &Url {
        &self.scaffolder
    }

    /// `<catalog>/<segments...>`, each segment percent-encoded.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.catalog.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// Sends a request and returns the status and body, mapping transport failures and error responses.
    async fn send(
        &self,
        method: Method,
        url: Url,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<(StatusCode, Vec<u8>), PortalError> {
        let (status, bytes) = self
            .send_raw(method.clone(), url.clone(), query, body, None)
            .await?;
        if status.is_success() {
            Ok((status, bytes))
        } else {
            Err(error_from_response(&method, &url, status, &bytes))
        }
    }

    /// Sends a request and returns the status and body whatever the status; only transport failures are
    /// errors. `timeout` replaces the client's limit for this request.
    async fn send_raw(
        &self,
        method: Method,
        url: Url,
        query: &[(&str, String)],
        body: Option<&Value>,
        timeout: Option<Duration>,
    ) -> Result<(StatusCode, Vec<u8>), PortalError> {
        let mut request = self.client.request(method.clone(), url.clone());
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| transport_error(&method, &url, &e))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| transport_error(&method, &url, &e))?;
        Ok((status, bytes.to_vec()))
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<T, PortalError> {
        let (status, bytes) = self.send(method.clone(), url.clone(), query, body).await?;
        parse_body(&method, &url, status, &bytes)
    }

    /// A GET whose 404 means "no such thing" (`None`), as Backstage's client treats it.
    async fn get_optional<T: DeserializeOwned>(&self, url: Url) -> Result<Option<T>, PortalError> {
        match self.json(Method::GET, url, &[], None).await {
            Ok(v) => Ok(Some(v)),
            Err(PortalError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn is_post_cursor(&self, cursor: &str) -> bool {
        self.post_cursors
            .lock()
            .map(|set| set.contains(cursor))
            .unwrap_or(false)
    }

    fn remember_post_cursors(&self, page: &EntityPage) {
        if let Ok(mut set) = self.post_cursors.lock() {
            if set.len() >= MAX_POST_CURSORS {
                set.clear();
            }
            let info = &page.page_info;
            set.extend(info.next_cursor.iter().chain(&info.prev_cursor).cloned());
        }
    }

    /// `POST /locations/by-query`, as Backstage's `CatalogClient.queryLocations`: one page of registered
    /// locations matching `request`; follow `page_info.next_cursor` with a request holding only the
    /// cursor. Not a [`Portal`] method: the embedded portal lists its few locations whole.
    pub async fn query_locations(
        &self,
        request: &LocationQueryRequest,
    ) -> Result<LocationPage, PortalError> {
        let body = serde_json::to_value(request)
            .map_err(|e| PortalError::Internal(format!("Could not encode the query: {e}")))?;
        self.json(
            Method::POST,
            self.url(&["locations", "by-query"]),
            &[],
            Some(&body),
        )
        .await
    }

    fn by_name_url(&self, entity_ref: &EntityRef, tail: Option<&str>) -> Url {
        let mut segments = vec![
            "entities",
            "by-name",
            entity_ref.kind.as_str(),
            entity_ref.namespace.as_str(),
            entity_ref.name.as_str(),
        ];
        segments.extend(tail);
        self.url(&segments)
    }
}

/// The query string of `GET /api/search/query` for `query`, as Backstage's search client writes it with
/// `qs.stringify`: `term`, `types[0]=...`, `filters[field]=value` (a list as `filters[field][0]=...`),
/// `pageCursor`, `pageLimit`; unset and empty parts are left out. Encoding (brackets included) is left to
/// the URL serializer.
pub fn search_query_pairs(query: &SearchQuery) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    if !query.term.is_empty() {
        pairs.push(("term".to_string(), query.term.clone()));
    }
    for (i, t) in query.types.iter().enumerate() {
        pairs.push((format!("types[{i}]"), t.clone()));
    }
    for (field, values) in &query.filters {
        match values.as_slice() {
            [one] => pairs.push((format!("filters[{field}]"), one.clone())),
            many => {
                for (i, v) in many.iter().enumerate() {
                    pairs.push((format!("filters[{field}][{i}]"), v.clone()));
                }
            }
        }
    }
    if let Some(cursor) = &query.page_cursor {
        pairs.push(("pageCursor".to_string(), cursor.clone()));
    }
    if let Some(limit) = query.page_limit {
        pairs.push(("pageLimit".to_string(), limit.to_string()));
    }
    pairs
}

/// The API client and the docs-file client (no redirects), both limited to `timeout` per request.
fn clients(timeout: Duration) -> Result<(reqwest::Client, reqwest::Client), PortalError> {
    let build = |redirects: reqwest::redirect::Policy| {
        reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .timeout(timeout)
            .redirect(redirects)
            .user_agent(concat!("stagedoor/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PortalError::Internal(format!("Could not build the HTTP client: {e}")))
    };
    Ok((
        build(reqwest::redirect::Policy::default())?,
        build(reqwest::redirect::Policy::none())?,
    ))
}

/// The GET `/entities/by-query` parameters for a query whose filter is already in GET form (`filters`).
pub fn query_params(query: &EntityQuery, filters: &[String]) -> Vec<(&'static str, String)> {
    let mut params = Vec::new();
    if let Some(cursor) = &query.cursor {
        params.push(("cursor", cursor.clone()));
    } else {
        params.extend(filters.iter().map(|f| ("filter", f.clone())));
        for order in &query.order_fields {
            let direction = match order.order {
                SortOrder::Asc => "asc",
                SortOrder::Desc => "desc",
            };
            params.push(("orderField", format!("{},{direction}", order.field)));
        }
        if let Some(full_text) = &query.full_text {
            let term = full_text.term.trim();
            if !term.is_empty() {
                params.push(("fullTextFilterTerm", term.to_string()));
            }
            if !full_text.fields.is_empty() {
                params.push(("fullTextFilterFields", full_text.fields.join(",")));
            }
        }
        if let Some(offset) = query.offset {
            params.push(("offset", offset.to_string()));
        }
    }
    if let Some(limit) = query.limit {
        params.push(("limit", limit.to_string()));
    }
    if !query.fields.is_empty() {
        params.push(("fields", query.fields.join(",")));
    }
    if query.skip_total_items {
        params.push(("totalItems", "exclude".to_string()));
    }
    params
}

/// The POST `/entities/by-query` body for a query, as Backstage's client builds it.
pub fn query_body(query: &EntityQuery) -> Value {
    let mut body = Map::new();
    if let Some(cursor) = &query.cursor {
        // The cursor carries filter, order and full-text filter; Backstage ignores them beside it.
        body.insert("cursor".into(), json!(cursor));
    } else {
        if let Some(filter) = &query.filter {
            body.insert("query".into(), filter.to_json());
        }
        if !query.order_fields.is_empty() {
            body.insert("orderBy".into(), json!(query.order_fields));
        }
        if let Some(full_text) = &query.full_text {
            let mut ft = Map::new();
            ft.insert("term".into(), json!(full_text.term));
            if !full_text.fields.is_empty() {
                ft.insert("fields".into(), json!(full_text.fields));
            }
            body.insert("fullTextFilter".into(), Value::Object(ft));
        }
        if let Some(offset) = query.offset {
            body.insert("offset".into(), json!(offset));
        }
    }
    if let Some(limit) = query.limit {
        body.insert("limit".into(), json!(limit));
    }
    if !query.fields.is_empty() {
        body.insert("fields".into(), json!(query.fields));
    }
    if query.skip_total_items {
        body.insert("totalItems".into(), json!("exclude"));
    }
    Value::Object(body)
}

/// The GET `filter=` parameters expressing a predicate, when the GET syntax can (an OR of ANDs of
/// `key=value` / `key` statements whose values hold no `,`); `None` otherwise.
pub fn filter_params(predicate: &EntityPredicate) -> Option<Vec<String>> {
    fn set(p: &EntityPredicate) -> Option<String> {
        let fields: Vec<&EntityPredicate> = match p {
            EntityPredicate::All(items) if !items.is_empty() => items.iter().collect(),
            EntityPredicate::Field { .. } => vec![p],
            _ => return None,
        };
        let mut statements = Vec::new();
        let mut keys = Vec::new();
        for field in fields {
            let EntityPredicate::Field { key, matcher } = field else {
                return None;
            };
            // A key repeated in one set would become an IN: keep each key to one field.
            if key.is_empty() || key.contains([',', '=']) || keys.contains(&key) {
                return None;
            }
            keys.push(key);
            match matcher {
                FieldMatch::Exists(true) => statements.push(key.clone()),
                FieldMatch::In(values) if !values.is_empty() => {
                    for v in values {
                        if v.contains(',') || v.trim() != v {
                            return None;
                        }
                        statements.push(format!("{key}={v}"));
                    }
                }
                _ => return None,
            }
        }
        Some(statements.join(","))
    }
    match predicate {
        EntityPredicate::Any(sets) if !sets.is_empty() => sets.iter().map(set).collect(),
        other => set(other).map(|s| vec![s]),
    }
}

#[async_trait]
impl Portal for HttpPortal {
    /// Like Backstage's `CatalogClient`: GET `/entities/by-query` (served by every Backstage release with
    /// the route) unless the filter needs the predicate form, which only POST carries.
    async fn query_entities(&self, query: EntityQuery) -> Result<EntityPage, PortalError> {
        let url = self.url(&["entities", "by-query"]);
        let get_params = match (&query.cursor, &query.filter) {
            (Some(cursor), _) if self.is_post_cursor(cursor) => None,
            (Some(_), _) | (None, None) => Some(query_params(&query, &[])),
            (None, Some(filter)) => filter_params(filter).map(|f| query_params(&query, &f)),
        };
        match get_params {
            Some(params) => self.json(Method::GET, url, &params, None).await,
            None => {
                let body = query_body(&query);
                let page: EntityPage = self.json(Method::POST, url, &[], Some(&body)).await?;
                self.remember_post_cursors(&page);
                Ok(page)
            }
        }
    }

    async fn entity_by_ref(&self, entity_ref: &EntityRef) -> Result<Option<Entity>, PortalError> {
        self.get_optional(self.by_name_url(entity_ref, None)).await
    }

    async fn entity_by_uid(&self, uid: &str) -> Result<Option<Entity>, PortalError> {
        self.get_optional(self.url(&["entities", "by-uid", uid]))
            .await
    }

    async fn entities_by_refs(
        &self,
        refs: &[EntityRef],
        fields: &[String],
    ) -> Result<Vec<Option<Entity>>, PortalError> {
        #[derive(serde::Deserialize)]
        struct Items {
            items: Vec<Option<Entity>>,
        }
        let refs: Vec<String> = refs.iter().map(EntityRef::canonical).collect();
        let url = self.url(&["entities", "by-refs"]);
        let mut out = Vec::with_capacity(refs.len());
        // Chunked like Backstage's client, so a long list stays under the backend's body limit.
        for chunk in refs.chunks(REFS_PER_REQUEST) {
            let mut body = json!({ "entityRefs": chunk });
            if !fields.is_empty() {
                body["fields"] = json!(fields);
            }
            let items: Items = self
                .json(Method::POST, url.clone(), &[], Some(&body))
                .await?;
            if items.items.len() != chunk.len() {
                return Err(PortalError::Internal(format!(
                    "Unexpected response from POST {url}: {} items for {} refs",
                    items.items.len(),
                    chunk.len()
                )));
            }
            out.extend(items.items);
        }
        Ok(out)
    }

    async fn facets(
        &self,
        facets: &[String],
        filter: Option<EntityPredicate>,
    ) -> Result<Facets, PortalError> {
        #[derive(serde::Deserialize)]
        struct Response {
            facets: Facets,
        }
        let url = self.url(&["entity-facets"]);
        let get_filter = match &filter {
            None => Some(Vec::new()),
            Some(p) => filter_params(p),
        };
        let response: Response = match get_filter {
            // The GET form is what every Backstage version serves.
            Some(filters) => {
                let mut query: Vec<(&str, String)> =
                    facets.iter().map(|f| ("facet", f.clone())).collect();
                query.extend(filters.into_iter().map(|f| ("filter", f)));
                self.json(Method::GET, url, &query, None).await?
            }
            // Predicates GET cannot express go to the newer POST form.
            None => {
                let mut body = json!({ "facets": facets });
                if let Some(p) = &filter {
                    body["query"] = p.to_json();
                }
                self.json(Method::POST, url, &[], Some(&body)).await?
            }
        };
        Ok(response.facets)
    }

    async fn ancestry(&self, entity_ref: &EntityRef) -> Result<Ancestry, PortalError> {
        self.json(
            Method::GET,
            self.by_name_url(entity_ref, Some("ancestry")),
            &[],
            None,
        )
        .await
    }

    async fn delete_entity_by_uid(&self, uid: &str) -> Result<(), PortalError> {
        self.send(
            Method::DELETE,
            self.url(&["entities", "by-uid", uid]),
            &[],
            None,
        )
        .await?;
        Ok(())
    }

    /// Backstage's API only refreshes one entity (`POST /refresh {entityRef}`) and says nothing of what the
    /// refresh did, so the report is empty; a whole-catalog refresh has no route and is refused.
    async fn refresh(&self, request: RefreshRequest) -> Result<RefreshReport, PortalError> {
        let Some(entity_ref) = &request.entity_ref else {
            return Err(PortalError::Input(format!(
                "A refresh of the whole catalog is not available over HTTP ({}); refresh one entity instead",
                self.catalog
            )));
        };
        let body = json!({ "entityRef": entity_ref.canonical() });
        self.send(Method::POST, self.url(&["refresh"]), &[], Some(&body))
            .await?;
        Ok(RefreshReport::default())
    }

    async fn locations(&self) -> Result<Vec<LocationRecord>, PortalError> {
        #[derive(serde::Deserialize)]
        struct Wrapped {
            data: LocationRecord,
        }
        let items: Vec<Wrapped> = self
            .json(Method::GET, self.url(&["locations"]), &[], None)
            .await?;
        Ok(items.into_iter().map(|w| w.data).collect())
    }

    async fn location(&self, id: &str) -> Result<LocationRecord, PortalError> {
        self.json(Method::GET, self.url(&["locations", id]), &[], None)
            .await
    }

    async fn add_location(
        &self,
        location_type: &str,
        target: &str,
        dry_run: bool,
    ) -> Result<AddLocationResult, PortalError> {
        let body = json!({ "type": location_type, "target": target });
        let query = if dry_run {
            vec![("dryRun", "true".to_string())]
        } else {
            Vec::new()
        };
        self.json(Method::POST, self.url(&["locations"]), &query, Some(&body))
            .await
    }

    async fn delete_location(&self, id: &str) -> Result<(), PortalError> {
        self.send(Method::DELETE, self.url(&["locations", id]), &[], None)
            .await?;
        Ok(())
    }

    async fn search(&self, query: SearchQuery) -> Result<SearchResultSet, PortalError> {
        let mut url = self.search.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push("query");
        }
        let pairs = search_query_pairs(&query);
        if !pairs.is_empty() {
            url.query_pairs_mut().extend_pairs(&pairs);
        }
        self.json(Method::GET, url, &[], None).await
    }

    async fn validate_entity(&self, entity: Value) -> Result<(), PortalError> {
        // Backstage resolves relative references against the location, so name the entity's own `url:`
        // location when it has one.
        let location = entity
            .pointer("/metadata/annotations/backstage.io~1managed-by-location")
            .and_then(Value::as_str)
            .filter(|l| l.starts_with("url:"))
            .unwrap_or(VALIDATE_LOCATION)
            .to_string();
        let body = json!({ "entity": entity, "location": location });
        self.send(
            Method::POST,
            self.url(&["validate-entity"]),
            &[],
            Some(&body),
        )
        .await?;
        Ok(())
    }

    /// `stagedoor_site.json` from stagedoor's server; from a Backstage backend, which publishes no such
    /// file, a description derived from `techdocs_metadata.json` and the search index.
    async fn docs_site(&self, entity_ref: &EntityRef) -> Result<Option<DocsSite>, PortalError> {
        if let Some(file) = self.docs_file(entity_ref, SITE_FILE).await? {
            let url = self.docs_url(entity_ref, SITE_FILE);
            return parse_body(&Method::GET, &url, StatusCode::OK, &file.body).map(Some);
        }
        let Some(metadata) = self.docs_file(entity_ref, METADATA_FILE).await? else {
            return Ok(None);
        };
        let url = self.docs_url(entity_ref, METADATA_FILE);
        let metadata: Value = parse_body(&Method::GET, &url, StatusCode::OK, &metadata.body)?;
        let index = match self.docs_file(entity_ref, SEARCH_INDEX_FILE).await? {
            Some(file) => {
                let url = self.docs_url(entity_ref, SEARCH_INDEX_FILE);
                parse_body(&Method::GET, &url, StatusCode::OK, &file.body)?
            }
            None => Value::Null,
        };
        Ok(Some(site_from_backstage(&metadata, &index)))
    }

    async fn docs_file(
        &self,
        entity_ref: &EntityRef,
        path: &str,
    ) -> Result<Option<DocsFile>, PortalError> {
        // Stored paths are plain relative paths; one that is not names no stored file (the server would
        // refuse it with a 400, the embedded store finds nothing under it).
        if !is_site_path(path) {
            return Ok(None);
        }
        let url = self.docs_url(entity_ref, path);
        let mut request = self.docs_client.get(url.clone());
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|e| transport_error(&Method::GET, &url, &e))?;
        let status = response.status();
        // A redirect answers a directory (`sub-page` to `sub-page/`), which is not a file.
        if status.is_redirection() || status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let header_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response
            .bytes()
            .await
            .map_err(|e| transport_error(&Method::GET, &url, &e))?;
        if !status.is_success() {
            return Err(error_from_response(&Method::GET, &url, status, &body));
        }
        Ok(Some(DocsFile {
            path: path.to_string(),
            content_type: file_content_type(path, header_type.as_deref()),
            body: body.to_vec(),
        }))
    }

    /// Reads the `/sync` event stream: `log` lines go to `log`, `finish` gives the result, `error` fails.
    async fn sync_docs(
        &self,
        entity_ref: &EntityRef,
        log: Option<mpsc::UnboundedSender<String>>,
    ) -> Result<DocsSync, PortalError> {
        let url = self.techdocs_triplet_url(&["sync"], entity_ref, &[]);
        let mut request = self
            .client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "text/event-stream");
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| transport_error(&Method::GET, &url, &e))?;
        let status = response.status();
        if !status.is_success() {
            let body = response
                .bytes()
                .await
                .map_err(|e| transport_error(&Method::GET, &url, &e))?;
            return Err(error_from_response(&Method::GET, &url, status, &body));
        }
        let mut parser = SseParser::default();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| transport_error(&Method::GET, &url, &e))?
        {
            for event in parser.push(&chunk) {
                match event.name.as_str() {
                    "log" => {
                        if let Some(log) = &log {
                            // A receiver that went away only stops the progress display, not the sync.
                            let _ = log.send(json_string_or_raw(&event.data));
                        }
                    }
                    "finish" => {
                        return parse_body(&Method::GET, &url, status, event.data.as_bytes());
                    }
                    "error" => {
                        return Err(PortalError::Internal(json_string_or_raw(&event.data)));
                    }
                    _ => {}
                }
            }
        }
        Err(PortalError::Unavailable(format!(
            "GET {url}: the event stream ended without a finish or error event"
        )))
    }

    async fn parameter_schema(
        &self,
        template_ref: &EntityRef,
    ) -> Result<ParameterSchema, PortalError> {
        let url = self.scaffolder_route(&[
            "v2",
            "templates",
            &template_ref.namespace,
            &template_ref.kind,
            &template_ref.name,
            "parameter-schema",
        ]);
        self.scaffolder_json(Method::GET, url, &[], None, None)
            .await
    }

    async fn scaffolder_actions(&self) -> Result<Vec<ActionInfo>, PortalError> {
        let url = self.scaffolder_route(&["v2", "actions"]);
        self.scaffolder_json(Method::GET, url, &[], None, None)
            .await
    }

    /// `user` is not sent: the server takes the caller from the credentials.
    async fn create_task(&self, request: TaskRequest) -> Result<String, PortalError> {
        #[derive(serde::Deserialize)]
        struct Created {
            id: String,
        }
        let body = encode(&request)?;
        let url = self.scaffolder_route(&["v2", "tasks"]);
        let created: Created = self
            .scaffolder_json(Method::POST, url, &[], Some(&body), None)
            .await?;
        Ok(created.id)
    }

    async fn task(&self, id: &str) -> Result<Option<SerializedTask>, PortalError> {
        let url = self.scaffolder_route(&["v2", "tasks", id]);
        match self
            .scaffolder_json(Method::GET, url, &[], None, None)
            .await
        {
            Ok(task) => Ok(Some(task)),
            Err(PortalError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn list_tasks(&self, query: TaskQuery) -> Result<TaskList, PortalError> {
        let url = self.scaffolder_route(&["v2", "tasks"]);
        let pairs = task_query_pairs(&query);
        self.scaffolder_json(Method::GET, url, &pairs, None, None)
            .await
    }

    async fn cancel_task(&self, id: &str) -> Result<TaskStatus, PortalError> {
        #[derive(serde::Deserialize)]
        struct Cancelled {
            status: TaskStatus,
        }
        let url = self.scaffolder_route(&["v2", "tasks", id, "cancel"]);
        let answer: Cancelled = self
            .scaffolder_json(Method::POST, url, &[], None, None)
            .await?;
        Ok(answer.status)
    }

    /// The long poll `GET /events?after=N`, asking stagedoor's server to wait no longer than `wait` (a
    /// Backstage backend ignores that and waits up to 30 s).
    async fn task_events(
        &self,
        id: &str,
        after: Option<i64>,
        wait: Duration,
    ) -> Result<Vec<TaskEvent>, PortalError> {
        let url = self.scaffolder_route(&["v2", "tasks", id, "events"]);
        let wait = wait.min(LONG_POLL);
        let mut pairs = Vec::new();
        if let Some(after) = after {
            pairs.push(("after", after.to_string()));
        }
        // Whole seconds, rounded up so a short wait is not turned into none.
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        pairs.push(("wait", seconds.to_string()));
        // The server may hold the request for the whole 30 s whatever was asked.
        let timeout = LONG_POLL + LONG_POLL_MARGIN;
        self.scaffolder_json(Method::GET, url, &pairs, None, Some(timeout))
            .await
    }

    async fn dry_run(&self, request: DryRunRequest) -> Result<DryRunResult, PortalError> {
        let body = encode(&request)?;
        let url = self.scaffolder_route(&["v2", "dry-run"]);
        self.scaffolder_json(Method::POST, url, &[], Some(&body), None)
            .await
    }
}

/// A request body as JSON.
fn encode<T: serde::Serialize>(value: &T) -> Result<Value, PortalError> {
    serde_json::to_value(value)
        .map_err(|e| PortalError::Internal(format!("Could not encode the request: {e}")))
}

/// The query string of `GET /v2/tasks`, as Backstage's scaffolder client writes it (`status` repeated).
pub fn task_query_pairs(query: &TaskQuery) -> Vec<(&'static str, String)> {
    let mut pairs = Vec::new();
    if let Some(created_by) = &query.created_by {
        pairs.push(("createdBy", created_by.clone()));
    }
    for status in &query.status {
        pairs.push(("status", status.as_str().to_string()));
    }
    if let Some(limit) = query.limit {
        pairs.push(("limit", limit.to_string()));
    }
    if let Some(offset) = query.offset {
        pairs.push(("offset", offset.to_string()));
    }
    if let Some(order) = &query.order {
        pairs.push(("order", order.clone()));
    }
    pairs
}

/// The error a scaffolder route's failure stands for: a 400 `{errors: [...]}` is the values failing their
/// schema ([`PortalError::Validation`], the validator's errors as sent); anything else as on other routes.
fn scaffolder_error(method: &Method, url: &Url, status: StatusCode, body: &[u8]) -> PortalError {
    if status == StatusCode::BAD_REQUEST {
        if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
            if let (None, Some(Value::Array(errors))) = (map.get("error"), map.get("errors")) {
                return PortalError::Validation(errors.clone());
            }
        }
    }
    error_from_response(method, url, status, body)
}

/// Capacity of a task event stream's channel: events wait here while the reader is busy.
const EVENT_BUFFER: usize = 64;

impl HttpPortal {
    /// `<scaffolder>/<segments...>`, each segment percent-encoded.
    fn scaffolder_route(&self, segments: &[&str]) -> Url {
        let mut url = self.scaffolder.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    async fn scaffolder_json<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        query: &[(&str, String)],
        body: Option<&Value>,
        timeout: Option<Duration>,
    ) -> Result<T, PortalError> {
        let (status, bytes) = self
            .send_raw(method.clone(), url.clone(), query, body, timeout)
            .await?;
        if !status.is_success() {
            return Err(scaffolder_error(&method, &url, status, &bytes));
        }
        parse_body(&method, &url, status, &bytes)
    }

    /// Follows a task live through `GET /v2/tasks/:id/eventstream?after=N`: its events (ids above `after`,
    /// and the completion always) arrive on the returned channel as the server sends them, ending after the
    /// completion. A refused request, a dropped connection or a stream that ends before the completion
    /// arrives as one `Err` and ends the channel. Dropping the receiver closes the connection.
    pub fn task_event_stream(
        &self,
        id: &str,
        after: Option<i64>,
    ) -> mpsc::Receiver<Result<TaskEvent, PortalError>> {
        let (sender, receiver) = mpsc::channel(EVENT_BUFFER);
        let url = self.scaffolder_route(&["v2", "tasks", id, "eventstream"]);
        let mut request = self
            .stream_client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "text/event-stream");
        if let Some(after) = after {
            request = request.query(&[("after", after)]);
        }
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        tokio::spawn(async move {
            if let Err(e) = follow_events(request, &url, &sender).await {
                // The reader may be gone already; then nobody is left to tell.
                let _ = sender.send(Err(e)).await;
            }
        });
        receiver
    }
}

/// Reads one event stream into `sender` until the completion (`Ok`), the reader leaving (`Ok`), or a
/// failure (`Err`).
async fn follow_events(
    request: reqwest::RequestBuilder,
    url: &Url,
    sender: &mpsc::Sender<Result<TaskEvent, PortalError>>,
) -> Result<(), PortalError> {
    let mut response = request
        .send()
        .await
        .map_err(|e| transport_error(&Method::GET, url, &e))?;
    let status = response.status();
    if !status.is_success() {
        let body = response
            .bytes()
            .await
            .map_err(|e| transport_error(&Method::GET, url, &e))?;
        return Err(scaffolder_error(&Method::GET, url, status, &body));
    }
    let mut parser = SseParser::default();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(&Method::GET, url, &e))?
    {
        for event in parser.push(&chunk) {
            let parsed: TaskEvent = parse_body(&Method::GET, url, status, event.data.as_bytes())?;
            let completion = parsed.event_type == TaskEventType::Completion;
            if sender.send(Ok(parsed)).await.is_err() || completion {
                return Ok(());
            }
        }
    }
    Err(PortalError::Unavailable(format!(
        "GET {url}: the event stream ended before the task's completion event"
    )))
}

/// The file with Backstage's search index, and the metadata file, of a site.
const SEARCH_INDEX_FILE: &str = "search/search_index.json";
const METADATA_FILE: &str = "techdocs_metadata.json";

impl HttpPortal {
    /// `<techdocs>/<head...>/<namespace>/<kind>/<name>/<tail...>`, the triplet lower-cased as sites are
    /// published (so no case redirect is needed), each segment percent-encoded.
    fn techdocs_triplet_url(&self, head: &[&str], entity_ref: &EntityRef, tail: &[&str]) -> Url {
        let mut url = self.techdocs.clone();
        let triplet = [
            entity_ref.namespace.to_lowercase(),
            entity_ref.kind.to_lowercase(),
            entity_ref.name.to_lowercase(),
        ];
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty()
                .extend(head)
                .extend(&triplet)
                .extend(tail);
        }
        url
    }

    /// `static/docs/<triplet>/<path>`.
    fn docs_url(&self, entity_ref: &EntityRef, path: &str) -> Url {
        let tail: Vec<&str> = path.split('/').collect();
        self.techdocs_triplet_url(&["static", "docs"], entity_ref, &tail)
    }
}

/// A path a stored site file can have: relative, `/` separated, no `.`/`..` or empty segments (so no
/// directory form either), no backslash or control characters.
fn is_site_path(path: &str) -> bool {
    path.split('/').all(|s| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && !s.contains('\\')
            && !s.chars().any(char::is_control)
    })
}

/// The type a docs file is, by the response header; Backstage serves HTML, XML and SVG as `text/plain` on
/// purpose (so browsers do not render them), which says nothing of the file, so those get their own type.
fn file_content_type(path: &str, header: Option<&str>) -> String {
    let own = content_type(path);
    match header {
        Some(h) if h.starts_with("text/plain") && is_downgraded(path) => own.to_string(),
        Some(h) if !h.is_empty() => h.to_string(),
        _ => own.to_string(),
    }
}

fn is_downgraded(path: &str) -> bool {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    matches!(ext.as_str(), "html" | "htm" | "xml" | "svg")
}

/// An event's data, decoded when it is a JSON string (as Backstage writes them), else as sent.
fn json_string_or_raw(data: &str) -> String {
    match serde_json::from_str::<Value>(data) {
        Ok(Value::String(s)) => s,
        _ => data.to_string(),
    }
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SseEvent {
    name: String,
    data: String,
}

/// An incremental parser of `text/event-stream`: `event:` and `data:` fields, events ended by a blank line,
/// comments and other fields ignored, any of `\n`, `\r\n`, `\r` ending a line.
#[derive(Debug, Default)]
struct SseParser {
    buffer: Vec<u8>,
    name: Option<String>,
    data: Option<String>,
}

impl SseParser {
    /// Feeds bytes, returning the events they complete.
    fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        self.buffer.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some(end) = self.buffer.iter().position(|&b| b == b'\n' || b == b'\r') {
            // A `\r` at the very end may be half of a `\r\n`: wait for the next byte.
            if self.buffer[end] == b'\r' && end + 1 == self.buffer.len() {
                break;
            }
            let skip = if self.buffer[end] == b'\r' && self.buffer.get(end + 1) == Some(&b'\n') {
                2
            } else {
                1
            };
            let line: Vec<u8> = self.buffer.drain(..end + skip).take(end).collect();
            let line = String::from_utf8_lossy(&line).into_owned();
            if let Some(event) = self.line(&line) {
                events.push(event);
            }
        }
        events
    }

    fn line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            let data = self.data.take();
            let name = self.name.take();
            return data.map(|data| SseEvent {
                name: name.unwrap_or_else(|| "message".into()),
                data,
            });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => self.name = Some(value.to_string()),
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            _ => {}
        }
        None
    }
}

/// A site description for a Backstage backend, from its `techdocs_metadata.json` and MkDocs' search index:
/// every index entry without an anchor is a page (in index order, which MkDocs keeps in nav order), the
/// entries with one are its headings, and the nav lists the pages flat. Markdown locations are inferred
/// from the URLs (`sub-page/` as `sub-page.md`, the root as `index.md`), since MkDocs does not publish them.
pub fn site_from_backstage(metadata: &Value, search_index: &Value) -> DocsSite {
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    let entries: &[Value] = search_index
        .get("docs")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let mut pages: Vec<DocsPage> = Vec::new();
    for entry in entries {
        let Some(location) = entry.get("location").and_then(Value::as_str) else {
            continue;
        };
        let title = text(entry, "title").unwrap_or_default();
        match location.split_once('#') {
            None => {
                let url = location.to_string();
                let source = match url.trim_end_matches('/') {
                    "" => "index.md".to_string(),
                    page => format!("{page}.md"),
                };
                if pages.iter().all(|p| p.url != url) {
                    pages.push(DocsPage {
                        location: source,
                        url,
                        title,
                        headings: Vec::new(),
                    });
                }
            }
            Some((url, anchor)) => {
                if let Some(page) = pages.iter_mut().find(|p| p.url == url) {
                    page.headings.push(DocsHeading {
                        // MkDocs' index does not say the level; sections under the title are the common case.
                        level: 2,
                        title,
                        anchor: anchor.to_string(),
                    });
                }
            }
        }
    }
    let nav = pages
        .iter()
        .map(|p| NavItem::Page {
            title: Some(p.title.clone()),
            path: p.location.clone(),
        })
        .collect();
    DocsSite {
        site_name: text(metadata, "site_name").unwrap_or_else(|| "Documentation Site".into()),
        site_description: text(metadata, "site_description"),
        etag: text(metadata, "etag").unwrap_or_default(),
        build_timestamp: metadata
            .get("build_timestamp")
            .and_then(Value::as_i64)
            .unwrap_or(0),
        nav,
        pages,
        warnings: Vec::new(),
    }
}

/// A failure to talk to the server at all: unreachable, timed out, or the connection dropped.
fn transport_error(method: &Method, url: &Url, e: &reqwest::Error) -> PortalError {
    let mut cause = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause.push_str(": ");
        cause.push_str(&s.to_string());
        source = s.source();
    }
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    PortalError::Unavailable(format!("{method} {url} {what}: {cause}"))
}

fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    match text.char_indices().nth(BODY_SNIPPET) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// The error a non-2xx response stands for: Backstage's `{error: {name, message}}` body, the
/// `validate-entity` form `{errors: [{name, message}]}`, or else one derived from the status code.
pub fn error_from_response(
    method: &Method,
    url: &Url,
    status: StatusCode,
    body: &[u8],
) -> PortalError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let named = |v: &Value| -> Option<(String, String)> {
        let name = v.get("name")?.as_str()?.to_string();
        let message = v
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        Some((name, message))
    };
    if let Some(v) = &parsed {
        if let Some((name, message)) = v.get("error").and_then(named) {
            return PortalError::from_name(&name, message);
        }
        if let Some(Value::Array(errors)) = v.get("errors") {
            let all: Vec<(String, String)> = errors.iter().filter_map(named).collect();
            if let Some((name, _)) = all.first() {
                let message = all
                    .iter()
                    .map(|(_, m)| m.as_str())
                    .collect::<Vec<_>>()
                    .join("; ");
                return PortalError::from_name(name, message);
            }
        }
    }
    let message = format!("{method} {url} returned {status}: {}", snippet(body));
    match status.as_u16() {
        400 => PortalError::Input(message),
        401 => PortalError::Authentication(message),
        403 => PortalError::NotAllowed(message),
        404 => PortalError::NotFound(message),
        409 => PortalError::Conflict(message),
        502..=504 => PortalError::Unavailable(message),
        _ => PortalError::Internal(message),
    }
}

fn parse_body<T: DeserializeOwned>(
    method: &Method,
    url: &Url,
    status: StatusCode,
    bytes: &[u8],
) -> Result<T, PortalError> {
    serde_json::from_slice(bytes).map_err(|e| {
        PortalError::Internal(format!(
            "Unexpected response from {method} {url} ({status}): {e}; body: {}",
            snippet(bytes)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagedoor_core::store::{FullTextFilter, OrderField};

    fn url() -> Url {
        Url::parse("http://h/api/catalog/x").unwrap()
    }

    #[test]
    fn base_urls_and_encoded_segments() {
        let p = HttpPortal::new("http://127.0.0.1:7007", None).unwrap();
        assert_eq!(
            p.catalog_url().as_str(),
            "http://127.0.0.1:7007/api/catalog"
        );
        let p = HttpPortal::new("http://h:1/api/catalog/", None).unwrap();
        assert_eq!(p.catalog_url().as_str(), "http://h:1/api/catalog");
        let p = HttpPortal::new("https://h/backstage", None).unwrap();
        let r = EntityRef::new("component", "default", "a b/c?d#e");
        assert_eq!(
            p.by_name_url(&r, Some("ancestry")).as_str(),
            "https://h/backstage/api/catalog/entities/by-name/component/default/a%20b%2Fc%3Fd%23e/ancestry"
        );
        assert!(matches!(
            HttpPortal::new("not a url", None),
            Err(PortalError::Input(_))
        ));
        assert!(matches!(
            HttpPortal::new("ftp://h", None),
            Err(PortalError::Input(_))
        ));
    }

    #[test]
    fn backstage_error_bodies_map_to_variants() {
        let body = br#"{"error":{"name":"NotFoundError","message":"Found no location with ID x"},"request":{"method":"GET","url":"/locations/x"},"response":{"statusCode":404}}"#;
        let e = error_from_response(&Method::GET, &url(), StatusCode::NOT_FOUND, body);
        assert_eq!(
            e,
            PortalError::NotFound("Found no location with ID x".into())
        );
        for (name, status) in [
            ("InputError", 400),
            ("AuthenticationError", 401),
            ("NotAllowedError", 403),
            ("ConflictError", 409),
            ("ServiceUnavailableError", 503),
        ] {
            let body = json!({"error": {"name": name, "message": "m"}}).to_string();
            let e = error_from_response(
                &Method::POST,
                &url(),
                StatusCode::from_u16(status).unwrap(),
                body.as_bytes(),
            );
            assert_eq!(e.name(), name);
            assert_eq!(e.message(), "m");
        }
        let body = br#"{"errors":[{"name":"InputError","message":"a"},{"name":"TypeError","message":"b"}]}"#;
        let e = error_from_response(&Method::POST, &url(), StatusCode::BAD_REQUEST, body);
        assert_eq!(e, PortalError::Input("a; b".into()));
    }

    #[test]
    fn scaffolder_validation_bodies_map_to_validation() {
        let errors = json!([{"property": "instance", "name": "required", "message": "requires property \"name\""}]);
        let body = json!({ "errors": errors }).to_string();
        let e = scaffolder_error(
            &Method::POST,
            &url(),
            StatusCode::BAD_REQUEST,
            body.as_bytes(),
        );
        assert_eq!(
            e,
            PortalError::Validation(errors.as_array().unwrap().clone())
        );
        // Backstage's ordinary error shape stays what it is.
        let body =
            json!({"error": {"name": "InputError", "message": "bad templateRef"}}).to_string();
        let e = scaffolder_error(
            &Method::POST,
            &url(),
            StatusCode::BAD_REQUEST,
            body.as_bytes(),
        );
        assert_eq!(e, PortalError::Input("bad templateRef".into()));
        let e = scaffolder_error(&Method::GET, &url(), StatusCode::NOT_FOUND, b"{}");
        assert!(matches!(e, PortalError::NotFound(_)));
    }

    #[test]
    fn task_queries_are_written_as_backstage_writes_them() {
        let query = TaskQuery {
            created_by: Some("user:default/jane".into()),
            status: vec![TaskStatus::Open, TaskStatus::Failed],
            limit: Some(5),
            offset: Some(10),
            order: Some("desc:created_at".into()),
        };
        assert_eq!(
            task_query_pairs(&query),
            vec![
                ("createdBy", "user:default/jane".to_string()),
                ("status", "open".into()),
                ("status", "failed".into()),
                ("limit", "5".into()),
                ("offset", "10".into()),
                ("order", "desc:created_at".into()),
            ]
        );
        assert!(task_query_pairs(&TaskQuery::default()).is_empty());
        let p = HttpPortal::new("https://h/backstage", None).unwrap();
        assert_eq!(
            p.scaffolder_url().as_str(),
            "https://h/backstage/api/scaffolder"
        );
        assert_eq!(
            p.scaffolder_route(&["v2", "tasks", "a/b c", "events"])
                .as_str(),
            "https://h/backstage/api/scaffolder/v2/tasks/a%2Fb%20c/events"
        );
    }

    #[test]
    fn unexpected_bodies_name_the_url_and_status() {
        let e = error_from_response(
            &Method::GET,
            &url(),
            StatusCode::BAD_GATEWAY,
            b"<html>bad gateway</html>",
        );
        let PortalError::Unavailable(m) = &e else {
            panic!("{e:?}")
        };
        assert!(
            m.contains("http://h/api/catalog/x") && m.contains("502"),
            "{m}"
        );
        let e = error_from_response(&Method::GET, &url(), StatusCode::NOT_FOUND, b"");
        assert!(matches!(e, PortalError::NotFound(_)));
        let e = error_from_response(&Method::GET, &url(), StatusCode::IM_A_TEAPOT, b"{}");
        assert!(matches!(e, PortalError::Internal(_)));
        let r: Result<EntityPage, _> = parse_body(&Method::GET, &url(), StatusCode::OK, b"nope");
        let Err(PortalError::Internal(m)) = r else {
            panic!("{r:?}")
        };
        assert!(
            m.contains("http://h/api/catalog/x") && m.contains("nope"),
            "{m}"
        );
    }

    #[test]
    fn query_bodies_follow_backstage_client() {
        let q = EntityQuery {
            filter: Some(EntityPredicate::Field {
                key: "kind".into(),
                matcher: FieldMatch::In(vec!["component".into()]),
            }),
            order_fields: vec![OrderField {
                field: "metadata.name".into(),
                order: SortOrder::Desc,
            }],
            full_text: Some(FullTextFilter {
                term: "x".into(),
                fields: vec![],
            }),
            limit: Some(2),
            offset: Some(1),
            cursor: None,
            fields: vec!["metadata.name".into()],
            skip_total_items: true,
        };
        assert_eq!(
            query_body(&q),
            json!({"query": {"kind": "component"}, "orderBy": [{"field": "metadata.name", "order": "desc"}],
                   "fullTextFilter": {"term": "x"}, "offset": 1, "limit": 2, "fields": ["metadata.name"],
                   "totalItems": "exclude"})
        );
        let expected: Vec<(&str, String)> = vec![
            ("filter", "kind=component".into()),
            ("orderField", "metadata.name,desc".into()),
            ("fullTextFilterTerm", "x".into()),
            ("offset", "1".into()),
            ("limit", "2".into()),
            ("fields", "metadata.name".into()),
            ("totalItems", "exclude".into()),
        ];
        assert_eq!(query_params(&q, &["kind=component".into()]), expected);
        let q = EntityQuery {
            cursor: Some("c".into()),
            ..q
        };
        let expected: Vec<(&str, String)> = vec![
            ("cursor", "c".into()),
            ("limit", "2".into()),
            ("fields", "metadata.name".into()),
            ("totalItems", "exclude".into()),
        ];
        assert_eq!(query_params(&q, &[]), expected);
        assert_eq!(
            query_body(&q),
            json!({"cursor": "c", "limit": 2, "fields": ["metadata.name"], "totalItems": "exclude"})
        );
    }

    #[test]
    fn filter_params_round_trip_or_refuse() {
        let params = vec![
            "kind=component,spec.type=service".to_string(),
            "kind=api,spec.owner".into(),
        ];
        let p = EntityPredicate::from_filter_params(&params)
            .unwrap()
            .unwrap();
        assert_eq!(filter_params(&p), Some(params));
        let not = EntityPredicate::Not(Box::new(p));
        assert_eq!(filter_params(&not), None);
        let comma = EntityPredicate::Field {
            key: "metadata.name".into(),
            matcher: FieldMatch::In(vec!["a,b".into()]),
        };
        assert_eq!(filter_params(&comma), None);
    }

    #[test]
    fn sse_events_parse_across_chunks_and_line_endings() {
        let mut parser = SseParser::default();
        let mut got = parser.push(b": keep-alive\n\nevent: log\ndata: \"one\"\n");
        assert!(got.is_empty());
        got.extend(parser.push(b"\nevent: log\r\ndata: \"two\"\r"));
        got.extend(
            parser.push(b"\n\r\ndata: a\ndata: b\n\nevent: finish\ndata:{\"updated\":true}\n\n"),
        );
        assert_eq!(
            got,
            [
                SseEvent {
                    name: "log".into(),
                    data: "\"one\"".into()
                },
                SseEvent {
                    name: "log".into(),
                    data: "\"two\"".into()
                },
                SseEvent {
                    name: "message".into(),
                    data: "a\nb".into()
                },
                SseEvent {
                    name: "finish".into(),
                    data: "{\"updated\":true}".into()
                },
            ]
        );
        assert_eq!(json_string_or_raw("\"a \\\"b\\\"\""), "a \"b\"");
        assert_eq!(json_string_or_raw("plain"), "plain");
    }

    #[test]
    fn search_queries_round_trip_through_the_route_parser() {
        let p = HttpPortal::new("https://h/backstage/api/catalog", None).unwrap();
        assert_eq!(p.search_url().as_str(), "https://h/backstage/api/search");
        let query = SearchQuery {
            term: "a&b=c [x]".into(),
            types: vec!["techdocs".into(), "software-catalog".into()],
            filters: [
                ("kind".to_string(), vec!["Component".to_string()]),
                (
                    "spec.lifecycle".to_string(),
                    vec!["production".to_string(), "experimental".to_string()],
                ),
            ]
            .into_iter()
            .collect(),
            page_cursor: Some("MQ==".into()),
            page_limit: Some(7),
        };
        let mut url = p.search_url().clone();
        url.query_pairs_mut()
            .extend_pairs(search_query_pairs(&query));
        let raw = url.query().unwrap();
        assert!(raw.contains("filters%5Bkind%5D=Component"), "{raw}");
        let parsed =
            crate::api::parse_search_query(raw, &crate::api::SearchSettings::default()).unwrap();
        assert_eq!(parsed, query);
        assert!(search_query_pairs(&SearchQuery::default()).is_empty());
    }

    #[test]
    fn docs_paths_and_types() {
        for ok in ["index.html", "sub-page/index.html", "img/x.png", "a..b/c"] {
            assert!(is_site_path(ok), "{ok}");
        }
        for bad in [
            "", "/x", "a//b", "a/", "..", "a/../b", "./a", "a\\b", "a\0b",
        ] {
            assert!(!is_site_path(bad), "{bad:?}");
        }
        assert_eq!(
            file_content_type("index.html", Some("text/plain; charset=utf-8")),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            file_content_type("notes.txt", Some("text/plain; charset=utf-8")),
            "text/plain; charset=utf-8"
        );
        assert_eq!(file_content_type("x.png", None), "image/png");
        let p = HttpPortal::new("https://h/backstage/api/catalog", None).unwrap();
        assert_eq!(
            p.techdocs_url().as_str(),
            "https://h/backstage/api/techdocs"
        );
        assert_eq!(
            p.docs_url(&EntityRef::new("Component", "Default", "A b"), "sub page/index.html")
                .as_str(),
            "https://h/backstage/api/techdocs/static/docs/default/component/a%20b/sub%20page/index.html"
        );
    }

    #[tokio::test]
    async fn sync_reads_the_event_stream() {
        let stream = |body: &'static str| {
            move || async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "text/event-stream")],
                    body,
                )
            }
        };
        let app = axum::Router::new()
            .route(
                "/api/techdocs/sync/default/component/ok",
                axum::routing::get(stream(
                    "event: log\ndata: \"building\"\n\nevent: finish\ndata: {\"updated\":true}\n\n",
                )),
            )
            .route(
                "/api/techdocs/sync/default/component/bad",
                axum::routing::get(stream(
                    "event: log\ndata: \"building\"\n\nevent: error\ndata: \"mkdocs failed\"\n\n",
                )),
            )
            .route(
                "/api/techdocs/sync/default/component/cut",
                axum::routing::get(stream("event: log\ndata: \"building\"\n\n")),
            );
        let p = HttpPortal::new(&serve(app).await, None).unwrap();
        let (sender, mut lines) = tokio::sync::mpsc::unbounded_channel();
        let done = p
            .sync_docs(&EntityRef::new("Component", "default", "OK"), Some(sender))
            .await
            .unwrap();
        assert!(done.updated);
        assert_eq!(lines.recv().await.as_deref(), Some("building"));
        let e = p
            .sync_docs(&EntityRef::new("component", "default", "bad"), None)
            .await
            .unwrap_err();
        assert_eq!(e, PortalError::Internal("mkdocs failed".into()));
        let e = p
            .sync_docs(&EntityRef::new("component", "default", "cut"), None)
            .await
            .unwrap_err();
        assert!(matches!(e, PortalError::Unavailable(_)), "{e:?}");
        let e = p
            .sync_docs(&EntityRef::new("component", "default", "missing"), None)
            .await
            .unwrap_err();
        assert_eq!(e.name(), "NotFoundError");
    }

    async fn serve(app: axum::Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn bearer_token_is_sent() {
        use axum::http::HeaderMap;
        let app = axum::Router::new().route(
            "/api/catalog/locations",
            axum::routing::get(|headers: HeaderMap| async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                if auth == "Bearer secret" {
                    (
                        axum::http::StatusCode::OK,
                        axum::Json(json!([{"data": {"id": "1", "type": "url", "target": "https://x/y"}}])),
                    )
                } else {
                    (
                        axum::http::StatusCode::UNAUTHORIZED,
                        axum::Json(json!({"error": {"name": "AuthenticationError", "message": format!("bad {auth:?}")}})),
                    )
                }
            }),
        );
        let base = serve(app).await;
        let with = HttpPortal::new(&base, Some("secret".into())).unwrap();
        assert_eq!(
            with.locations().await.unwrap(),
            [LocationRecord {
                id: "1".into(),
                location_type: "url".into(),
                target: "https://x/y".into()
            }]
        );
        let without = HttpPortal::new(&base, None).unwrap();
        assert_eq!(
            without.locations().await.unwrap_err(),
            PortalError::Authentication("bad \"\"".into())
        );
    }

    #[tokio::test]
    async fn query_locations_posts_the_body_and_reads_the_page() {
        let app = axum::Router::new().route(
            "/api/catalog/locations/by-query",
            axum::routing::post(|axum::Json(body): axum::Json<Value>| async move {
                if body == json!({"limit": 50, "query": {"type": "url"}}) {
                    (
                        axum::http::StatusCode::OK,
                        // A newer Backstage adds `entityRef`; it is ignored.
                        axum::Json(json!({
                            "items": [{"id": "1", "type": "url", "target": "https://x/y", "entityRef": "location:default/x"}],
                            "totalItems": 3,
                            "pageInfo": {"nextCursor": "next"}
                        })),
                    )
                } else if body == json!({"cursor": "bad"}) {
                    (
                        axum::http::StatusCode::BAD_REQUEST,
                        axum::Json(json!({"error": {"name": "InputError", "message": "Malformed cursor, unknown encoding"}})),
                    )
                } else {
                    (
                        axum::http::StatusCode::OK,
                        axum::Json(json!({"items": [], "totalItems": 3, "pageInfo": {}})),
                    )
                }
            }),
        );
        let p = HttpPortal::new(&serve(app).await, None).unwrap();
        let page = p
            .query_locations(&LocationQueryRequest {
                limit: Some(50.into()),
                query: Some(json!({"type": "url"})),
                cursor: None,
            })
            .await
            .unwrap();
        assert_eq!(page.total_items, 3);
        assert_eq!(page.items[0].target, "https://x/y");
        assert_eq!(page.page_info.next_cursor.as_deref(), Some("next"));
        let last = p
            .query_locations(&LocationQueryRequest {
                cursor: Some("next".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(last.items.is_empty() && last.page_info.next_cursor.is_none());
        let e = p
            .query_locations(&LocationQueryRequest {
                cursor: Some("bad".into()),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(
            e,
            PortalError::Input("Malformed cursor, unknown encoding".into())
        );
    }

    #[tokio::test]
    async fn not_found_lookups_are_none_other_failures_are_errors() {
        let not_found = || async {
            (
                axum::http::StatusCode::NOT_FOUND,
                axum::Json(
                    json!({"error": {"name": "NotFoundError", "message": "No entity named 'a' found, with kind 'component' in namespace 'default'"}}),
                ),
            )
        };
        let app = axum::Router::new()
            .route(
                "/api/catalog/entities/by-name/component/default/a",
                axum::routing::get(not_found),
            )
            .route(
                "/api/catalog/entities/by-uid/u1",
                axum::routing::get(not_found),
            )
            .route(
                "/api/catalog/entities/by-name/component/default/boom",
                axum::routing::get(|| async {
                    (
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                        axum::Json(
                            json!({"error": {"name": "TypeError", "message": "x is undefined"}}),
                        ),
                    )
                }),
            );
        let p = HttpPortal::new(&serve(app).await, None).unwrap();
        let a = EntityRef::new("component", "default", "a");
        assert_eq!(p.entity_by_ref(&a).await.unwrap(), None);
        assert_eq!(p.entity_by_uid("u1").await.unwrap(), None);
        let boom = EntityRef::new("component", "default", "boom");
        assert_eq!(
            p.entity_by_ref(&boom).await.unwrap_err(),
            PortalError::Internal("x is undefined".into())
        );
        // Ancestry has no "missing" value: its 404 stays an error.
        let e = p.ancestry(&a).await.unwrap_err();
        assert_eq!(e.name(), "NotFoundError");
    }

    #[tokio::test]
    async fn by_refs_is_chunked_and_keeps_order() {
        let app = axum::Router::new().route(
            "/api/catalog/entities/by-refs",
            axum::routing::post(|axum::Json(body): axum::Json<Value>| async move {
                let refs = body["entityRefs"].as_array().cloned().unwrap_or_default();
                assert!(refs.len() <= REFS_PER_REQUEST);
                // Every third ref is missing; the others echo their name.
                let items: Vec<Value> = refs
                    .iter()
                    .map(|r| {
                        let name = r.as_str().unwrap().rsplit('/').next().unwrap().to_string();
                        if name.parse::<usize>().unwrap() % 3 == 0 {
                            Value::Null
                        } else {
                            json!({"metadata": {"name": name}})
                        }
                    })
                    .collect();
                axum::Json(json!({ "items": items }))
            }),
        );
        let p = HttpPortal::new(&serve(app).await, None).unwrap();
        let refs: Vec<EntityRef> = (0..2500)
            .map(|i| EntityRef::new("component", "default", &i.to_string()))
            .collect();
        let got = p.entities_by_refs(&refs, &[]).await.unwrap();
        assert_eq!(got.len(), 2500);
        for (i, e) in got.iter().enumerate() {
            match e {
                None => assert_eq!(i % 3, 0),
                Some(e) => assert_eq!(e.as_map()["metadata"]["name"], i.to_string()),
            }
        }
        assert!(p.entities_by_refs(&[], &[]).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_server_that_never_answers_times_out_as_unavailable() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Accept and hold connections without answering.
        let holder = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let p = HttpPortal::new(&format!("http://{addr}"), None)
            .unwrap()
            .with_timeout(Duration::from_millis(200))
            .unwrap();
        let e = p.locations().await.unwrap_err();
        let PortalError::Unavailable(m) = &e else {
            panic!("{e:?}")
        };
        assert!(
            m.contains("timed out") && m.contains(&format!("http://{addr}/api/catalog/locations")),
            "{m}"
        );
        holder.abort();
    }

    #[tokio::test]
    async fn connection_refused_is_unavailable_naming_the_url() {
        // Bind then drop a listener so the port is (very likely) closed.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let p = HttpPortal::new(&format!("http://127.0.0.1:{port}"), Some("t".into())).unwrap();
        let e = p
            .entity_by_ref(&EntityRef::new("component", "default", "a"))
            .await
            .unwrap_err();
        let PortalError::Unavailable(m) = &e else {
            panic!("{e:?}")
        };
        assert!(
            m.contains(&format!(
                "http://127.0.0.1:{port}/api/catalog/entities/by-name/component/default/a"
            )),
            "{m}"
        );
        let e = p.refresh(RefreshRequest::default()).await.unwrap_err();
        assert!(matches!(e, PortalError::Input(_)), "{e:?}");
    }
}
