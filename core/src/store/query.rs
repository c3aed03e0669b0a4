//! Turns [`super::EntityQuery`] and filters into SQL, and encodes and decodes by-query cursors.
//!
//! All SQL here is plain (`?` placeholders, text parameters, `LIKE ... ESCAPE`, no SQLite-only functions) and
//! runs through [`SqlConn`], so SQLite and PostgreSQL answer the same queries. Filters test membership in the
//! `search` table (`e.id IN (...)`) or, for `relations.<type>` keys, the `relations` table
//! (`e.id IN (...)`, relations name refs by id: an entity's id is its ref's id). Pages are keyset-paged on `(sort value, id)` (on `uid` alone when sorting by
//! `metadata.uid`), entities lacking the sort field last. `id` is the entities' integer key: search rows join
//! on it, so index entries stay short.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::filter::{EntityPredicate, FieldMatch};
use super::sql::{Dialect, Param, SqlConn};
use super::{
    EntityPage, EntityQuery, FacetCount, Facets, FullTextFilter, OrderField, PageInfo, SortOrder,
    StoreError,
};
use crate::entity::Entity;

/// The id of an interned search key.
pub(crate) const SELECT_SEARCH_KEY: &str = "SELECT id FROM search_keys WHERE key = ?1";

/// Backstage's default page size for by-query.
pub const DEFAULT_LIMIT: usize = 200;
/// The largest limit or offset passed on to SQL.
const MAX_ROWS: usize = 1 << 40;
const UID_FIELD: &str = "metadata.uid";

/// A WHERE fragment over `entities e` and its parameters, in placeholder order.
#[derive(Debug, Default, Clone)]
pub struct SqlCondition {
    pub sql: String,
    pub params: Vec<String>,
}

impl SqlCondition {
    fn always() -> Self {
        SqlCondition {
            sql: "1 = 1".into(),
            params: Vec::new(),
        }
    }

    fn and(mut self, other: SqlCondition) -> Self {
        self.sql = format!("({}) AND ({})", self.sql, other.sql);
        self.params.extend(other.params);
        self
    }
}

/// How a field test is phrased. Both mean the same; they differ in the plan SQLite picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `e.id IN (SELECT ... FROM search ...)`: the matching set is built from the `(key, value)` index first.
    /// Best for selective tests and for counting.
    Membership,
    /// `EXISTS (SELECT 1 FROM search s WHERE s.entity_id = e.id ...)`: probed per entity while walking
    /// entities in order, so a page of an unselective filter stops after `limit` hits.
    Probe,
}

/// The condition an entity row `e` must meet to match `predicate`.
pub fn predicate_condition(predicate: Option<&EntityPredicate>) -> SqlCondition {
    predicate_condition_styled(predicate, Style::Membership)
}

pub fn predicate_condition_styled(
    predicate: Option<&EntityPredicate>,
    style: Style,
) -> SqlCondition {
    let mut c = SqlCondition::default();
    match predicate {
        Some(p) => write_predicate(p, &mut c, style),
        None => c = SqlCondition::always(),
    }
    c
}

fn write_predicate(p: &EntityPredicate, c: &mut SqlCondition, style: Style) {
    match p {
        EntityPredicate::All(items) | EntityPredicate::Any(items) if items.is_empty() => {
            c.sql.push_str(if matches!(p, EntityPredicate::All(_)) {
                "1 = 1"
            } else {
                "1 = 0"
            });
        }
        EntityPredicate::All(items) | EntityPredicate::Any(items) => {
            let joiner = if matches!(p, EntityPredicate::All(_)) {
                " AND "
            } else {
                " OR "
            };
            c.sql.push('(');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    c.sql.push_str(joiner);
                }
                write_predicate(item, c, style);
            }
            c.sql.push(')');
        }
        EntityPredicate::Not(inner) => {
            c.sql.push_str("NOT (");
            write_predicate(inner, c, style);
            c.sql.push(')');
        }
        EntityPredicate::Field { key, matcher } => write_field(key, matcher, c, style),
    }
}

/// The table test behind one field: `(key parameter, FROM/WHERE head, value column)`. Relations live in their
/// own table: `relations.ownedby = group:default/x` means a row whose source is the entity, whose lowercased
/// type is `ownedby` and whose target is the value.
fn field_source(key: &str, style: Style) -> (String, &'static str, &'static str) {
    match (key.strip_prefix("relations."), style) {
        (Some(t), Style::Membership) => (
            t.to_string(),
            "e.id IN (SELECT r.source_id FROM relations r JOIN refs t ON t.id = r.target_id \
             WHERE r.type_key = ?",
            "t.entity_ref",
        ),
        (Some(t), Style::Probe) => (
            t.to_string(),
            "(SELECT 1 FROM relations r JOIN refs t ON t.id = r.target_id \
             WHERE r.source_id = e.id AND r.type_key = ?",
            "t.entity_ref",
        ),
        (None, Style::Membership) => (
            key.to_string(),
            "e.id IN (SELECT s.entity_id FROM search s WHERE s.key_id = (SELECT k.id FROM search_keys k WHERE k.key = ?)",
            "s.value",
        ),
        (None, Style::Probe) => (
            key.to_string(),
            "(SELECT 1 FROM search s WHERE s.entity_id = e.id AND s.key_id = (SELECT k.id FROM search_keys k WHERE k.key = ?)",
            "s.value",
        ),
    }
}

/// The `AND <value test>` part of a field test and its parameters; `None` for a pure existence test.
fn value_test(matcher: &FieldMatch, value_column: &str) -> Option<(String, Vec<String>)> {
    match matcher {
        FieldMatch::Exists(_) => None,
        FieldMatch::In(values) => Some((
            format!(
                " AND {value_column} IN ({})",
                vec!["?"; values.len()].join(", ")
            ),
            values.iter().map(|v| v.to_lowercase()).collect(),
        )),
        FieldMatch::Contains(value) => Some((
            format!(" AND {value_column} = ?"),
            vec![value.to_lowercase()],
        )),
        FieldMatch::HasPrefix(prefix) => Some((
            format!(" AND {value_column} LIKE ? ESCAPE '\\'"),
            vec![format!("{}%", escape_like(&prefix.to_lowercase()))],
        )),
    }
}

fn write_field(key: &str, matcher: &FieldMatch, c: &mut SqlCondition, style: Style) {
    if matches!(matcher, FieldMatch::In(v) if v.is_empty()) {
        c.sql.push_str("1 = 0");
        return;
    }
    let key = key.to_lowercase();
    let (key_param, head, value_column) = field_source(&key, style);
    let negated = matcher == &FieldMatch::Exists(false);
    if negated {
        c.sql.push_str("NOT (");
    }
    c.sql.push_str(head);
    c.params.push(key_param);
    if let Some((sql, params)) = value_test(matcher, value_column) {
        c.sql.push_str(&sql);
        c.params.extend(params);
    }
    match style {
        Style::Membership => c.sql.push(')'),
        // A scalar subquery rather than EXISTS: PostgreSQL turns EXISTS into a semi-join and, misjudging how
        // many rows a key has, hashes every row of it (160 ms at 100,000 entities) where one index probe per
        // entity is what a probe means. SQLite runs both forms the same way.
        Style::Probe => c.sql.push_str(" LIMIT 1) IS NOT NULL"),
    }
    if negated {
        c.sql.push(')');
    }
}

/// Above this many matching rows a filter counts as unselective and pages are fetched by probing.
/// Both plans return the same rows, so tests may lower it (see `set_selective_rows`) to cover both.
static SELECTIVE_ROWS: AtomicI64 = AtomicI64::new(2000);

fn selective_rows() -> i64 {
    SELECTIVE_ROWS.load(Ordering::Relaxed)
}

/// Sets the threshold between the two plans. For tests only: both plans return the same rows, so a suite
/// can run once with each (the setting is process-wide, and harmless to tests running beside it).
#[doc(hidden)]
pub fn set_selective_rows(n: i64) {
    SELECTIVE_ROWS.store(n, Ordering::Relaxed);
}

/// A cheap upper bound on how many entities `predicate` matches, capped at [`SELECTIVE_ROWS`]; each field
/// test reads at most that many index entries.
fn estimate(conn: &mut dyn SqlConn, predicate: &EntityPredicate) -> Result<i64, StoreError> {
    let cap = selective_rows();
    Ok(match predicate {
        EntityPredicate::All(items) if items.is_empty() => cap,
        EntityPredicate::All(items) => {
            let mut best = cap;
            for item in items {
                best = best.min(estimate(conn, item)?);
                if best == 0 {
                    break;
                }
            }
            best
        }
        EntityPredicate::Any(items) => {
            let mut sum = 0;
            for item in items {
                sum += estimate(conn, item)?;
                if sum >= cap {
                    return Ok(cap);
                }
            }
            sum
        }
        EntityPredicate::Not(_)
        | EntityPredicate::Field {
            matcher: FieldMatch::Exists(false),
            ..
        } => cap,
        EntityPredicate::Field {
            matcher: FieldMatch::In(values),
            ..
        } if values.is_empty() => 0,
        EntityPredicate::Field { key, matcher } => {
            let key = key.to_lowercase();
            let (key_param, table, value_column) = match key.strip_prefix("relations.") {
                Some(t) => (
                    t.to_string(),
                    "relations r JOIN refs t ON t.id = r.target_id WHERE r.type_key = ?",
                    "t.entity_ref",
                ),
                None => (
                    key.clone(),
                    "search s WHERE s.key_id = (SELECT k.id FROM search_keys k WHERE k.key = ?)",
                    "s.value",
                ),
            };
            let mut params = vec![key_param];
            let mut sql = format!("SELECT COUNT(*) FROM (SELECT 1 FROM {table}");
            if let Some((test, values)) = value_test(matcher, value_column) {
                sql.push_str(&test);
                params.extend(values);
            }
            sql.push_str(&format!(" LIMIT {cap}) t"));
            conn.query_int(&sql, &text_params(&params))?
        }
    })
}

/// Escapes `LIKE` wildcards so user text matches literally (with `ESCAPE '\'`).
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// `LIKE %term%` over the search rows of the given fields; `relations.<type>` fields match target refs.
fn full_text_condition(ft: &FullTextFilter) -> SqlCondition {
    let pattern = format!("%{}%", escape_like(&ft.term.trim().to_lowercase()));
    let mut keys: Vec<String> = Vec::new();
    let mut relation_types: Vec<String> = Vec::new();
    for field in &ft.fields {
        let field = field.to_lowercase();
        match field.strip_prefix("relations.") {
            Some(t) => relation_types.push(t.to_string()),
            None => keys.push(field),
        }
    }
    if keys.is_empty() && relation_types.is_empty() {
        keys.push(UID_FIELD.into());
    }
    let mut parts = Vec::new();
    let mut params = Vec::new();
    if !keys.is_empty() {
        parts.push(format!(
            "e.id IN (SELECT s.entity_id FROM search s WHERE s.key_id IN (SELECT k.id FROM search_keys k WHERE k.key IN ({})) AND s.value LIKE ? ESCAPE '\\')",
            vec!["?"; keys.len()].join(", ")
        ));
        params.extend(keys);
        params.push(pattern.clone());
    }
    if !relation_types.is_empty() {
        parts.push(format!(
            "e.id IN (SELECT r.source_id FROM relations r JOIN refs t ON t.id = r.target_id \
             WHERE r.type_key IN ({}) AND t.entity_ref LIKE ? ESCAPE '\\')",
            vec!["?"; relation_types.len()].join(", ")
        ));
        params.extend(relation_types);
        params.push(pattern);
    }
    SqlCondition {
        sql: format!("({})", parts.join(" OR ")),
        params,
    }
}

/// The by-query state a cursor carries (Backstage's cursor fields; the filter in predicate form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cursor {
    order_fields: Vec<OrderField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    filter: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    full_text_filter: Option<FullTextFilter>,
    /// `[sort value, tiebreaker]` of the row this page continues from (the tiebreaker is the uid when sorting
    /// by `metadata.uid`, else the entity's row id); empty on an initial request.
    order_field_values: Vec<Option<String>>,
    is_previous: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    first_sort_field_values: Option<Vec<Option<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    total_items: Option<u64>,
}

fn encode_cursor(c: &Cursor) -> String {
    // A Cursor always serialises (plain strings, numbers and JSON values).
    let json = serde_json::to_string(c).unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(json)
}

fn decode_cursor(text: &str) -> Result<Cursor, StoreError> {
    let malformed = |e: String| StoreError::Input(format!("Malformed cursor: {e}"));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| malformed(e.to_string()))?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|e| malformed(e.to_string()))?;
    if cursor.order_fields.is_empty() || !matches!(cursor.order_field_values.len(), 0 | 2) {
        return Err(malformed("unexpected cursor shape".into()));
    }
    Ok(cursor)
}

/// Normalises a `fields` projection: splits on commas, trims, rejects bracket paths as Backstage does.
pub fn parse_fields(fields: &[String]) -> Result<Vec<String>, StoreError> {
    let out: Vec<String> = fields
        .iter()
        .flat_map(|f| f.split(','))
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect();
    if out.iter().any(|f| f.contains('[')) {
        return Err(StoreError::Input(
            "invalid fields, array type fields are not supported".into(),
        ));
    }
    Ok(out)
}

/// Keeps only the listed dotted paths of an entity; empty `fields` keeps everything.
pub fn project(entity: Entity, fields: &[String]) -> Entity {
    if fields.is_empty() {
        return entity;
    }
    let mut out = Map::new();
    for field in fields {
        if let Some(value) = entity.get_path(field) {
            set_path(&mut out, &path_segments(field), value.clone());
        }
    }
    Entity(out)
}

/// Path segments with [`Entity::get_path`]'s rule: an annotation or label key is one segment.
fn path_segments(path: &str) -> Vec<&str> {
    for prefix in ["metadata.annotations.", "metadata.labels."] {
        if let Some(key) = path.strip_prefix(prefix) {
            let container = &prefix["metadata.".len()..prefix.len() - 1];
            return vec!["metadata", container, key];
        }
    }
    path.split('.').collect()
}

fn set_path(map: &mut Map<String, Value>, segments: &[&str], value: Value) {
    match segments {
        [] => {}
        [last] => {
            map.insert((*last).to_string(), value);
        }
        [first, rest @ ..] => {
            let slot = map
                .entry((*first).to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Value::Object(inner) = slot {
                set_path(inner, rest, value);
            }
        }
    }
}

/// Counts and facets of recent queries on one connection, dropped as soon as the database changes (any
/// commit, by this connection or another, moves the stamp). A UI asks for the same count on every page.
#[derive(Debug, Default)]
pub struct QueryCache {
    stamp: Option<String>,
    counts: HashMap<(String, Vec<String>), u64>,
    facets: HashMap<(String, Vec<String>), Vec<FacetCount>>,
}

/// Entries kept per kind before the cache starts over.
const CACHE_ENTRIES: usize = 256;

impl QueryCache {
    /// Drops everything if the database changed since the last call.
    pub fn validate(&mut self, conn: &mut dyn SqlConn) -> Result<(), StoreError> {
        let stamp = conn.change_stamp()?;
        if self.stamp.as_ref() != Some(&stamp) {
            self.counts.clear();
            self.facets.clear();
            self.stamp = Some(stamp);
        }
        Ok(())
    }
}

/// Loads stitched entities by row id, in the order given (`None` for ids no longer stored).
pub type EntityLoader<'a> =
    &'a dyn Fn(&mut dyn SqlConn, &[i64]) -> Result<Vec<Option<Entity>>, StoreError>;

/// Text parameters as the connection binds them.
fn text_params(params: &[String]) -> Vec<Param<'_>> {
    params.iter().map(Param::from).collect()
}

/// Runs a by-query request: filter, order, full text, keyset or offset paging, count, projection.
pub fn query_entities(
    conn: &mut dyn SqlConn,
    cache: &mut QueryCache,
    query: &EntityQuery,
    load: EntityLoader<'_>,
) -> Result<EntityPage, StoreError> {
    cache.validate(conn)?;
    let fields = parse_fields(&query.fields)?;
    // SQL takes signed 64-bit limits; nothing real comes near this bound, it only keeps the arithmetic safe.
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_ROWS);

    let (cursor, filter, offset) = match &query.cursor {
        Some(text) => {
            let cursor = decode_cursor(text)?;
            let filter = match &cursor.filter {
                Some(v) => Some(
                    EntityPredicate::from_json(v)
                        .map_err(|e| StoreError::Input(format!("Malformed cursor: {e}")))?,
                ),
                None => None,
            };
            (cursor, filter, 0)
        }
        None => {
            let order = query.order_fields.first().cloned().unwrap_or(OrderField {
                field: UID_FIELD.into(),
                order: SortOrder::Asc,
            });
            let full_text = query
                .full_text
                .as_ref()
                .filter(|ft| !ft.term.trim().is_empty())
                .map(|ft| FullTextFilter {
                    term: ft.term.clone(),
                    fields: if ft.fields.is_empty() {
                        vec![order.field.clone()]
                    } else {
                        ft.fields.clone()
                    },
                });
            let cursor = Cursor {
                order_fields: vec![order],
                filter: query.filter.as_ref().map(EntityPredicate::to_json),
                full_text_filter: full_text,
                order_field_values: Vec::new(),
                is_previous: false,
                first_sort_field_values: None,
                total_items: None,
            };
            (
                cursor,
                query.filter.clone(),
                query.offset.unwrap_or(0).min(MAX_ROWS),
            )
        }
    };

    let mut condition = predicate_condition(filter.as_ref());
    let order = &cursor.order_fields[0];
    let by_uid = order.field.eq_ignore_ascii_case(UID_FIELD);
    if let [_, Some(tiebreaker)] = cursor.order_field_values.as_slice() {
        if !by_uid && tiebreaker.parse::<i64>().is_err() {
            return Err(StoreError::Input(
                "Malformed cursor: unexpected cursor shape".into(),
            ));
        }
    }
    // Walking the uid index and probing each entity finds a page of an unselective filter fast; a selective
    // one is better served from its index entries.
    let unselective = limit > 0
        && match &filter {
            Some(f) => estimate(conn, f)? >= selective_rows(),
            None => true,
        };
    // Another sort field is walked in its index order when many entities match (see `fetch_walk`).
    let walk = !by_uid && unselective && cursor.full_text_filter.is_none();
    let mut page_condition = match &filter {
        Some(f) if unselective => predicate_condition_styled(Some(f), Style::Probe),
        _ => condition.clone(),
    };
    if let Some(ft) = &cursor.full_text_filter {
        condition = condition.and(full_text_condition(ft));
        page_condition = page_condition.and(full_text_condition(ft));
    }

    let total_items = match cursor.total_items {
        Some(n) => n,
        None if query.skip_total_items => 0,
        None => {
            let key = (condition.sql.clone(), condition.params.clone());
            match cache.counts.get(&key) {
                Some(n) => *n,
                None => {
                    let n = count(conn, &condition)?;
                    if cache.counts.len() >= CACHE_ENTRIES {
                        cache.counts.clear();
                    }
                    cache.counts.insert(key, n);
                    n
                }
            }
        }
    };

    let backwards = cursor.is_previous;
    let fetch_limit = if backwards { limit } else { limit + 1 };
    let mut rows = if limit == 0 {
        Vec::new()
    } else if walk {
        fetch_walk(
            conn,
            &page_condition,
            order,
            &cursor.order_field_values,
            backwards,
            fetch_limit,
            offset,
        )?
    } else {
        fetch_rows(
            conn,
            &page_condition,
            order,
            &cursor.order_field_values,
            backwards,
            fetch_limit,
            offset,
        )?
    };
    if backwards {
        rows.reverse();
    }
    let has_more = limit > 0 && (backwards || rows.len() > limit);
    rows.truncate(limit);

    let initial = cursor.first_sort_field_values.is_none();
    let first_values = rows.first().map(row_values);
    let first_sort_field_values = cursor
        .first_sort_field_values
        .clone()
        .or_else(|| first_values.clone());
    let next_cursor = match rows.last() {
        Some(last) if has_more => Some(encode_cursor(&Cursor {
            order_field_values: row_values(last),
            first_sort_field_values: first_sort_field_values.clone(),
            is_previous: false,
            total_items: Some(total_items),
            ..cursor.clone()
        })),
        _ => None,
    };
    let prev_cursor = match &first_values {
        Some(first) if !initial && Some(first) != cursor.first_sort_field_values.as_ref() => {
            Some(encode_cursor(&Cursor {
                order_field_values: first.clone(),
                first_sort_field_values: cursor.first_sort_field_values.clone(),
                is_previous: true,
                total_items: Some(total_items),
                ..cursor.clone()
            }))
        }
        _ => None,
    };

    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let items = load(conn, &ids)?
        .into_iter()
        .flatten()
        .map(|entity| project(entity, &fields))
        .collect();
    Ok(EntityPage {
        items,
        total_items,
        page_info: PageInfo {
            next_cursor,
            prev_cursor,
        },
    })
}

/// One entity of a page: its row id (to load it), the cursor's tiebreaker and its sort value.
struct Row {
    id: i64,
    tiebreaker: String,
    sort: Option<String>,
}

fn row_values(row: &Row) -> Vec<Option<String>> {
    vec![row.sort.clone(), Some(row.tiebreaker.clone())]
}

fn count(conn: &mut dyn SqlConn, condition: &SqlCondition) -> Result<u64, StoreError> {
    let sql = format!("SELECT COUNT(*) FROM entities e WHERE {}", condition.sql);
    let n = conn.query_int(&sql, &text_params(&condition.params))?;
    Ok(n.max(0) as u64)
}

fn fetch_rows(
    conn: &mut dyn SqlConn,
    condition: &SqlCondition,
    order: &OrderField,
    after: &[Option<String>],
    backwards: bool,
    limit: usize,
    offset: usize,
) -> Result<Vec<Row>, StoreError> {
    let field = order.field.to_lowercase();
    let asc = (order.order == SortOrder::Asc) != backwards;
    let (op, dir) = if asc { (">", "ASC") } else { ("<", "DESC") };
    let mut params = condition.params.clone();
    let sql = if field == UID_FIELD {
        // The uid is the primary key: page straight off its index, no sort.
        let mut sql = format!(
            "SELECT e.id, e.uid, e.uid FROM entities e WHERE ({})",
            condition.sql
        );
        if let [_, Some(uid)] = after {
            sql.push_str(&format!(" AND e.uid {op} ?"));
            params.push(uid.clone());
        }
        sql.push_str(&format!(
            " ORDER BY e.uid {dir} LIMIT {limit} OFFSET {offset}"
        ));
        sql
    } else {
        // Entities lacking the field sort last in either direction, as with NULLS LAST.
        let nulls_dir = if backwards { "DESC" } else { "ASC" };
        let nulls_op = if backwards { "<" } else { ">" };
        let mut sql = format!(
            "SELECT id, id, sv FROM (SELECT e.id AS id, \
             (SELECT MIN(s.value) FROM search s WHERE s.entity_id = e.id AND +s.key_id = (SELECT k.id FROM search_keys k WHERE k.key = ?)) AS sv \
             FROM entities e WHERE ({})) t",
            condition.sql
        );
        params.insert(0, field);
        if let [sort, Some(uid)] = after {
            let n0 = i32::from(sort.is_none());
            sql.push_str(&format!(
                " WHERE ((CASE WHEN sv IS NULL THEN 1 ELSE 0 END) {nulls_op} {n0} \
                 OR ((CASE WHEN sv IS NULL THEN 1 ELSE 0 END) = {n0} \
                 AND (COALESCE(sv, '') {op} ? OR (COALESCE(sv, '') = ? AND id {op} CAST(? AS INTEGER)))))"
            ));
            let v0 = sort.clone().unwrap_or_default();
            params.push(v0.clone());
            params.push(v0);
            params.push(uid.clone());
        }
        sql.push_str(&format!(
            " ORDER BY (CASE WHEN sv IS NULL THEN 1 ELSE 0 END) {nulls_dir}, COALESCE(sv, '') {dir}, id {dir} \
             LIMIT {limit} OFFSET {offset}"
        ));
        sql
    };
    conn.query(&sql, &text_params(&params))?
        .iter()
        .map(|r| {
            Ok(Row {
                id: r.int(0)?,
                tiebreaker: r.any_text(1)?,
                sort: r.opt_text(2)?,
            })
        })
        .collect()
}

// In the `MIN(value)` sort-value subqueries, `+key_id` keeps the planner on the entity's own rows (a seek
// on the primary key's `entity_id`): left alone it prefers the `(key_id, value)` index for `MIN`, which
// reads every value of the key before it finds the entity's.

/// Sort keys every stored entity has with a non-null value (validation bounds kind and name to 63 characters;
/// the namespace row defaults to `default`), so the "lacking the field" phase can be skipped for them.
const ALWAYS_PRESENT: [&str; 3] = ["kind", "metadata.name", "metadata.namespace"];

/// Pages a sort by a search key by walking the `(key, value, entity_id)` index in order and probing each
/// entity against the filter, so a page costs about `limit` probes instead of a sort of every match.
/// Entities lacking the field follow in id order (before them when paging backwards). An entity with
/// several values sorts by its smallest, as in `fetch_rows`.
fn fetch_walk(
    conn: &mut dyn SqlConn,
    condition: &SqlCondition,
    order: &OrderField,
    after: &[Option<String>],
    backwards: bool,
    limit: usize,
    offset: usize,
) -> Result<Vec<Row>, StoreError> {
    let field = order.field.to_lowercase();
    let asc = (order.order == SortOrder::Asc) != backwards;
    let (op, dir) = if asc { (">", "ASC") } else { ("<", "DESC") };
    let want = limit.saturating_add(offset);
    let cursor = match after {
        [sort, Some(id)] => Some((sort.clone(), id.clone())),
        _ => None,
    };
    let in_nulls = matches!(&cursor, Some((None, _)));
    let phases: [bool; 2] = if backwards {
        [true, false]
    } else {
        [false, true]
    };
    let mut rows: Vec<Row> = Vec::new();
    for nulls_phase in phases {
        if rows.len() >= want {
            break;
        }
        // Phases before the cursor's own are already behind us.
        if cursor.is_some() && !backwards && in_nulls && !nulls_phase {
            continue;
        }
        if cursor.is_some() && backwards && !in_nulls && nulls_phase {
            continue;
        }
        let keyset = cursor.as_ref().filter(|_| nulls_phase == in_nulls);
        let n = want - rows.len();
        let mut params = Vec::new();
        let sql = if nulls_phase {
            if ALWAYS_PRESENT.contains(&field.as_str()) {
                continue;
            }
            params.extend(condition.params.iter().cloned());
            params.push(field.clone());
            let mut sql = format!(
                "SELECT e.id, NULL FROM entities e WHERE ({}) AND NOT EXISTS (SELECT 1 FROM search s \
                 WHERE s.entity_id = e.id AND s.key_id = (SELECT k.id FROM search_keys k WHERE k.key = ?) AND s.value IS NOT NULL)",
                condition.sql
            );
            if let Some((_, id)) = keyset {
                sql.push_str(&format!(" AND e.id {op} CAST(? AS INTEGER)"));
                params.push(id.clone());
            }
            sql.push_str(&format!(" ORDER BY e.id {dir} LIMIT {n}"));
            sql
        } else if conn.dialect() == Dialect::Postgres {
            let keyset = keyset.and_then(|(v, id)| v.clone().map(|v| (v, id.clone())));
            rows.extend(walk_in_batches(conn, condition, &field, asc, keyset, n)?);
            continue;
        } else {
            params.push(field.clone());
            params.extend(condition.params.iter().cloned());
            let mut sql = format!(
                "SELECT s.entity_id, s.value FROM search s JOIN entities e ON e.id = s.entity_id \
                 WHERE s.key_id = (SELECT k.id FROM search_keys k WHERE k.key = ?) AND s.value IS NOT NULL \
                 AND s.value = (SELECT MIN(s2.value) FROM search s2 WHERE s2.entity_id = s.entity_id AND +s2.key_id = s.key_id) \
                 AND ({})",
                condition.sql
            );
            if let Some((Some(value), id)) = keyset {
                sql.push_str(&format!(
                    " AND (s.value, s.entity_id) {op} (?, CAST(? AS INTEGER))"
                ));
                params.push(value.clone());
                params.push(id.clone());
            }
            sql.push_str(&format!(
                " ORDER BY s.value {dir}, s.entity_id {dir} LIMIT {n}"
            ));
            sql
        };
        for r in conn.query(&sql, &text_params(&params))? {
            let id = r.int(0)?;
            rows.push(Row {
                id,
                tiebreaker: id.to_string(),
                sort: r.opt_text(1)?,
            });
        }
    }
    Ok(rows.into_iter().skip(offset).collect())
}

/// Index entries read per round trip of [`walk_in_batches`], at least.
const WALK_BATCH: usize = 256;

/// The non-null phase of [`fetch_walk`] for PostgreSQL. Given the whole walk as one statement, its planner
/// semi-joins every match and sorts them (160 ms a page at 10,000 entities, minutes at 100,000) instead of
/// reading the `(key_id, value, entity_id)` index in order as SQLite does. So the walk is driven from here:
/// read a batch of index entries in order, then keep, in one query, those whose entity passes the filter and
/// has no smaller value for the key (an entity sorts by its smallest), until `want` rows are found.
fn walk_in_batches(
    conn: &mut dyn SqlConn,
    condition: &SqlCondition,
    field: &str,
    asc: bool,
    mut after: Option<(String, String)>,
    want: usize,
) -> Result<Vec<Row>, StoreError> {
    let (op, dir) = if asc { (">", "ASC") } else { ("<", "DESC") };
    let Some(key) = conn.query_opt(SELECT_SEARCH_KEY, &[Param::Text(field)])? else {
        return Ok(Vec::new());
    };
    let key_id = key.int(0)?;
    let batch = want.saturating_mul(2).clamp(WALK_BATCH, 4 * WALK_BATCH);
    let mut out = Vec::new();
    while out.len() < want {
        let mut sql = "SELECT s.entity_id, s.value FROM search s \
                       WHERE s.key_id = ? AND s.value IS NOT NULL"
            .to_string();
        let mut params = vec![Param::Int(key_id)];
        if let Some((value, id)) = &after {
            sql.push_str(&format!(
                " AND (s.value, s.entity_id) {op} (?, CAST(? AS BIGINT))"
            ));
            params.push(Param::Text(value));
            params.push(Param::Text(id));
        }
        sql.push_str(&format!(
            " ORDER BY s.value {dir}, s.entity_id {dir} LIMIT {batch}"
        ));
        let entries: Vec<(String, String)> = conn
            .query(&sql, &params)?
            .iter()
            .map(|r| Ok((r.int(0)?.to_string(), r.text(1)?)))
            .collect::<Result<_, StoreError>>()?;
        let Some((last_id, last_value)) = entries.last().cloned() else {
            break;
        };
        let pairs = vec!["(CAST(? AS BIGINT), ?)"; entries.len()].join(", ");
        let keep_sql = format!(
            "SELECT v.id, v.val FROM (VALUES {pairs}) AS v(id, val) JOIN entities e ON e.id = v.id \
             WHERE ({}) AND (SELECT 1 FROM search s2 \
             WHERE s2.entity_id = v.id AND s2.key_id = ? AND s2.value < v.val LIMIT 1) IS NULL",
            condition.sql
        );
        let mut keep_params: Vec<Param<'_>> = Vec::new();
        for (id, value) in &entries {
            keep_params.push(Param::Text(id));
            keep_params.push(Param::Text(value));
        }
        keep_params.extend(condition.params.iter().map(Param::from));
        keep_params.push(Param::Int(key_id));
        // By entry, not by entity: an entity's other values in the same batch are not its sort value.
        let kept: HashSet<(i64, String)> = conn
            .query(&keep_sql, &keep_params)?
            .iter()
            .map(|r| Ok((r.int(0)?, r.text(1)?)))
            .collect::<Result<_, StoreError>>()?;
        for (id, value) in &entries {
            let Ok(id) = id.parse::<i64>() else { continue };
            if kept.contains(&(id, value.clone())) && out.len() < want {
                out.push(Row {
                    id,
                    tiebreaker: id.to_string(),
                    sort: Some(value.clone()),
                });
            }
        }
        if entries.len() < batch {
            break;
        }
        after = Some((last_value, last_id));
    }
    Ok(out)
}

/// Value counts per facet among entities matching `filter`, most frequent first, then by value.
pub fn facets(
    conn: &mut dyn SqlConn,
    cache: &mut QueryCache,
    facets: &[String],
    filter: Option<&EntityPredicate>,
) -> Result<Facets, StoreError> {
    cache.validate(conn)?;
    let condition = predicate_condition(filter);
    // Without a filter every search row belongs to a stored entity: no membership test needed.
    let (entity_test, rel_test) = if filter.is_some() {
        (
            format!(
                "AND s.entity_id IN (SELECT e.id FROM entities e WHERE {})",
                condition.sql
            ),
            format!(
                "AND r.source_id IN (SELECT e.id FROM entities e WHERE {})",
                condition.sql
            ),
        )
    } else {
        // Relation rows may point from refs that are not stored (yet); those are not counted.
        (
            String::new(),
            "AND r.source_id IN (SELECT e.id FROM entities e)".to_string(),
        )
    };
    let mut out = Facets::new();
    for facet in facets {
        let key = facet.to_lowercase();
        let (sql, key_param) = match key.strip_prefix("relations.") {
            Some(rel_type) => (
                format!(
                    "SELECT t.entity_ref, COUNT(DISTINCT r.source_id) FROM relations r \
                     JOIN refs t ON t.id = r.target_id \
                     WHERE r.type_key = ? {rel_test} \
                     GROUP BY t.entity_ref ORDER BY 2 DESC, 1 ASC"
                ),
                rel_type.to_string(),
            ),
            None => (
                format!(
                    "SELECT COALESCE(s.original_value, s.value), COUNT(DISTINCT s.entity_id) FROM search s \
                     WHERE s.key_id = (SELECT k.id FROM search_keys k WHERE k.key = ?) AND s.value IS NOT NULL {entity_test} \
                     GROUP BY COALESCE(s.original_value, s.value) ORDER BY 2 DESC, 1 ASC"
                ),
                key.clone(),
            ),
        };
        let mut params = vec![key_param];
        if filter.is_some() {
            params.extend(condition.params.iter().cloned());
        }
        let cache_key = (sql.clone(), params.clone());
        if let Some(hit) = cache.facets.get(&cache_key) {
            out.insert(facet.clone(), hit.clone());
            continue;
        }
        let counts = conn
            .query(&sql, &text_params(&params))?
            .iter()
            .map(|r| {
                Ok(FacetCount {
                    value: r.text(0)?,
                    count: r.int(1)?.max(0) as u64,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        if cache.facets.len() >= CACHE_ENTRIES {
            cache.facets.clear();
        }
        cache.facets.insert(cache_key, counts.clone());
        out.insert(facet.clone(), counts);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn like_escapes_wildcards() {
        assert_eq!(escape_like("a%b_c\\"), "a\\%b\\_c\\\\");
    }

    #[test]
    fn projection_keeps_listed_paths() {
        let e = Entity::from_value(json!({
            "kind": "Component",
            "metadata": {"name": "a", "annotations": {"backstage.io/orphan": "true", "x": "y"}},
            "spec": {"type": "service"}
        }))
        .unwrap();
        let fields = parse_fields(&[
            "kind, metadata.annotations.backstage.io/orphan".into(),
            "spec.type,spec.nope".into(),
        ])
        .unwrap();
        assert_eq!(
            project(e, &fields).into_value(),
            json!({"kind": "Component", "metadata": {"annotations": {"backstage.io/orphan": "true"}},
                   "spec": {"type": "service"}})
        );
        assert!(matches!(
            parse_fields(&["spec.x[0]".into()]),
            Err(StoreError::Input(_))
        ));
    }

    #[test]
    fn malformed_cursors_are_input_errors() {
        for bad in ["%%%", "bm90IGpzb24=", "e30="] {
            match decode_cursor(bad) {
                Err(StoreError::Input(m)) => assert!(m.starts_with("Malformed cursor: "), "{m}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
