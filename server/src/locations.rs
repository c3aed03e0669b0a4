//! Backstage's location query (`POST /api/catalog/locations/by-query`): the request and page types shared
//! by the server route and the client, and the in-memory evaluation the server runs over the registered
//! locations (there are few of them, so filtering the whole list is cheaper than a store query).
//!
//! As Backstage's `parseLocationQuery`: the body is `{cursor?, limit?, query?}`; `limit` defaults to 1000;
//! a cursor is base64 of the JSON `{limit, afterId?, query?}` and, when given, replaces the other fields.
//! Locations come in `id` order, a page starting after the cursor's `afterId`; `totalItems` counts every
//! location the query matches. The query is the entity filter predicate over the fields `id`, `type` and
//! `target`, matched case-insensitively as the catalog matches entity fields.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use stagedoor_core::store::{EntityPredicate, FieldMatch, LocationRecord};

/// The page size when the request names none.
pub const DEFAULT_LIMIT: usize = 1000;

/// The request body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationQueryRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// A JSON number as sent: Backstage refuses non-integers itself rather than at deserialisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<serde_json::Number>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<Value>,
}

/// The answer: `{items, totalItems, pageInfo: {nextCursor?}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationPage {
    pub items: Vec<LocationRecord>,
    pub total_items: u64,
    pub page_info: LocationPageInfo,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationPageInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A request Backstage would refuse with an `InputError`; the texts are Backstage's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocationQueryError {
    #[error("Cursor cannot be empty")]
    EmptyCursor,
    #[error("Malformed cursor, unknown encoding")]
    CursorEncoding,
    #[error("Malformed cursor: Validation error: {0}")]
    CursorShape(String),
    #[error("Limit must be a positive integer >= 1")]
    Limit,
    #[error("Query must be an object")]
    QueryNotObject,
    #[error("Invalid query: {0}")]
    Query(String),
}

/// What a request resolves to once its cursor, if any, is decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedLocationQuery {
    pub limit: usize,
    pub after_id: Option<String>,
    /// The query as sent, kept to be written into the next cursor.
    pub query: Option<Value>,
    predicate: Option<EntityPredicate>,
}

/// Node's `Buffer.from(s, 'base64')` accepts both alphabets, with or without padding; so do we (after
/// mapping the URL-safe characters), and trailing bits are ignored as Node ignores them.
fn lenient_base64() -> GeneralPurpose {
    GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    )
}

fn positive_integer(n: &serde_json::Number) -> Option<usize> {
    if let Some(u) = n.as_u64() {
        return (u >= 1).then(|| usize::try_from(u).unwrap_or(usize::MAX));
    }
    // `2.0` is an integer to JavaScript.
    let f = n.as_f64()?;
    // `as` saturates at `usize::MAX`, which a page limit may be.
    (f.fract() == 0.0 && f >= 1.0).then_some(f as usize)
}

/// The first `$`-key that is not a predicate operator, as the path Backstage's validation names
/// (`$invalid`, `$all.0.$bad`). The entity predicate parser would read such a key as a field name.
fn unknown_operator(value: &Value, path: &str) -> Option<String> {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match value {
        Value::Object(map) => map.iter().find_map(|(k, v)| match k.as_str() {
            "$not" => unknown_operator(v, &join(k)),
            "$all" | "$any" => v.as_array().and_then(|items| {
                items
                    .iter()
                    .enumerate()
                    .find_map(|(i, item)| unknown_operator(item, &join(&format!("{k}.{i}"))))
            }),
            k if k.starts_with('$') => Some(join(k)),
            _ => None,
        }),
        _ => None,
    }
}

/// Parses a query object into a predicate; the error is the text after Backstage's prefix.
fn predicate(query: &Value) -> Result<EntityPredicate, String> {
    if let Some(at) = unknown_operator(query, "") {
        return Err(format!("Validation error: Invalid at \"{at}\""));
    }
    EntityPredicate::from_json(query).map_err(|e| e.to_string())
}

impl LocationQueryRequest {
    /// Validates the request and decodes its cursor, as Backstage's `parseLocationQuery`.
    pub fn parse(&self) -> Result<ParsedLocationQuery, LocationQueryError> {
        if let Some(cursor) = &self.cursor {
            return parse_cursor(cursor);
        }
        let limit = match &self.limit {
            None => DEFAULT_LIMIT,
            Some(n) => positive_integer(n).ok_or(LocationQueryError::Limit)?,
        };
        let predicate = match &self.query {
            None => None,
            Some(q) if !q.is_object() => return Err(LocationQueryError::QueryNotObject),
            Some(q) => Some(predicate(q).map_err(LocationQueryError::Query)?),
        };
        Ok(ParsedLocationQuery {
            limit,
            after_id: None,
            query: self.query.clone(),
            predicate,
        })
    }
}

fn parse_cursor(cursor: &str) -> Result<ParsedLocationQuery, LocationQueryError> {
    if cursor.is_empty() {
        return Err(LocationQueryError::EmptyCursor);
    }
    let standard: String = cursor
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    let bytes = lenient_base64()
        .decode(standard.trim())
        .map_err(|_| LocationQueryError::CursorEncoding)?;
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|_| LocationQueryError::CursorEncoding)?;
    let Value::Object(map) = value else {
        return Err(LocationQueryError::CursorShape(
            "Expected object, received other".into(),
        ));
    };
    let shape = |m: &str| LocationQueryError::CursorShape(m.to_string());
    let limit = match map.get("limit") {
        None => return Err(shape("Required at \"limit\"")),
        Some(Value::Number(n)) if n.as_u64().is_none() && n.as_i64().is_none() => {
            return Err(shape("Expected integer, received float at \"limit\""))
        }
        Some(Value::Number(n)) => positive_integer(n)
            .ok_or_else(|| shape("Number must be greater than or equal to 1 at \"limit\""))?,
        Some(_) => return Err(shape("Expected number at \"limit\"")),
    };
    let after_id = match map.get("afterId") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(shape("Expected string at \"afterId\"")),
    };
    let query = map.get("query").cloned();
    let predicate = match &query {
        None => None,
        Some(q) if !q.is_object() => return Err(LocationQueryError::QueryNotObject),
        Some(q) => match unknown_operator(q, "query") {
            Some(at) => return Err(shape(&format!("Invalid at \"{at}\""))),
            None => Some(
                EntityPredicate::from_json(q).map_err(|e| shape(&format!("{e} at \"query\"")))?,
            ),
        },
    };
    Ok(ParsedLocationQuery {
        limit,
        after_id,
        query,
        predicate,
    })
}

/// The cursor for the page after `after_id`, as Backstage's `encodeLocationQueryCursor` writes it.
pub fn encode_cursor(limit: usize, after_id: Option<&str>, query: Option<&Value>) -> String {
    let mut map = Map::new();
    map.insert("limit".into(), Value::from(limit));
    if let Some(id) = after_id {
        map.insert("afterId".into(), Value::from(id));
    }
    if let Some(q) = query {
        map.insert("query".into(), q.clone());
    }
    base64::engine::general_purpose::STANDARD.encode(Value::Object(map).to_string())
}

/// A location's value for a predicate key; keys are case-insensitive, as entity keys are.
fn field<'a>(location: &'a LocationRecord, key: &str) -> Option<&'a str> {
    match key.to_ascii_lowercase().as_str() {
        "id" => Some(&location.id),
        "type" => Some(&location.location_type),
        "target" => Some(&location.target),
        _ => None,
    }
}

/// Whether `location` satisfies `p`, comparing values case-insensitively.
pub fn matches(p: &EntityPredicate, location: &LocationRecord) -> bool {
    match p {
        EntityPredicate::All(items) => items.iter().all(|i| matches(i, location)),
        EntityPredicate::Any(items) => items.iter().any(|i| matches(i, location)),
        EntityPredicate::Not(inner) => !matches(inner, location),
        EntityPredicate::Field { key, matcher } => {
            let value = field(location, key).map(str::to_lowercase);
            match (matcher, value) {
                (FieldMatch::Exists(wanted), v) => v.is_some() == *wanted,
                (_, None) => false,
                (FieldMatch::In(values), Some(v)) => values.iter().any(|x| x.to_lowercase() == v),
                (FieldMatch::HasPrefix(prefix), Some(v)) => v.starts_with(&prefix.to_lowercase()),
                // Location fields are plain strings; `$contains` tests array members, so it never holds.
                (FieldMatch::Contains(_), Some(_)) => false,
            }
        }
    }
}

impl ParsedLocationQuery {
    /// One page of `locations` (in any order) for this query, with at most `max_limit` items.
    pub fn page(&self, mut locations: Vec<LocationRecord>, max_limit: usize) -> LocationPage {
        if let Some(p) = &self.predicate {
            locations.retain(|l| matches(p, l));
        }
        locations.sort_by(|a, b| a.id.cmp(&b.id));
        let total_items = locations.len() as u64;
        let limit = self.limit.min(max_limit.max(1));
        let start = match &self.after_id {
            Some(after) => locations.partition_point(|l| l.id.as_str() <= after.as_str()),
            None => 0,
        };
        let rest = locations.len() - start;
        let items: Vec<LocationRecord> = locations.into_iter().skip(start).take(limit).collect();
        let next_cursor = (rest > limit).then(|| {
            encode_cursor(
                self.limit,
                items.last().map(|l| l.id.as_str()),
                self.query.as_ref(),
            )
        });
        LocationPage {
            items,
            total_items,
            page_info: LocationPageInfo { next_cursor },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn loc(id: &str, t: &str, target: &str) -> LocationRecord {
        LocationRecord {
            id: id.into(),
            location_type: t.into(),
            target: target.into(),
        }
    }

    fn sample() -> Vec<LocationRecord> {
        vec![
            loc("c", "url", "https://example.com/C.yaml"),
            loc("a", "url", "https://example.com/a.yaml"),
            loc("b", "file", "/srv/catalog/b.yaml"),
        ]
    }

    fn request(body: Value) -> LocationQueryRequest {
        serde_json::from_value(body).unwrap()
    }

    fn ids(page: &LocationPage) -> Vec<&str> {
        page.items.iter().map(|l| l.id.as_str()).collect()
    }

    #[test]
    fn defaults_list_everything_in_id_order() {
        let parsed = request(json!({})).parse().unwrap();
        assert_eq!(parsed.limit, DEFAULT_LIMIT);
        let page = parsed.page(sample(), usize::MAX);
        assert_eq!(ids(&page), ["a", "b", "c"]);
        assert_eq!(page.total_items, 3);
        assert_eq!(page.page_info.next_cursor, None);
    }

    #[test]
    fn predicates_match_case_insensitively() {
        for (query, want) in [
            (json!({"type": "URL"}), vec!["a", "c"]),
            (
                json!({"Target": {"$hasPrefix": "HTTPS://EXAMPLE.COM/c"}}),
                vec!["c"],
            ),
            (json!({"$not": {"type": "url"}}), vec!["b"]),
            (
                json!({"$any": [{"id": "a"}, {"target": {"$in": ["/SRV/catalog/b.yaml"]}}]}),
                vec!["a", "b"],
            ),
            (
                json!({"$all": [{"type": "url"}, {"id": {"$in": ["c", "b"]}}]}),
                vec!["c"],
            ),
            (json!({"target": {"$exists": true}}), vec!["a", "b", "c"]),
            (
                json!({"entityRef": {"$exists": false}}),
                vec!["a", "b", "c"],
            ),
            (json!({"nope": "x"}), vec![]),
            (json!({"type": {"$contains": "url"}}), vec![]),
            (json!({"$all": []}), vec![]),
        ] {
            let page = request(json!({ "query": query }))
                .parse()
                .unwrap()
                .page(sample(), usize::MAX);
            assert_eq!(ids(&page), want, "{query}");
            assert_eq!(page.total_items, want.len() as u64);
        }
    }

    #[test]
    fn cursors_walk_the_pages_and_keep_the_query() {
        let mut many: Vec<LocationRecord> = (0..7)
            .map(|i| loc(&format!("id-{i}"), "url", &format!("https://h/{i}")))
            .collect();
        many.push(loc("id-x", "file", "/f"));
        let mut parsed = request(json!({"limit": 3, "query": {"type": "url"}}))
            .parse()
            .unwrap();
        let mut seen = Vec::new();
        loop {
            let page = parsed.page(many.clone(), usize::MAX);
            assert_eq!(page.total_items, 7);
            seen.extend(page.items.iter().map(|l| l.id.clone()));
            let Some(cursor) = page.page_info.next_cursor else {
                break;
            };
            let decoded = lenient_base64().decode(&cursor).unwrap();
            let decoded: Value = serde_json::from_slice(&decoded).unwrap();
            assert_eq!(decoded["limit"], 3);
            assert_eq!(decoded["query"], json!({"type": "url"}));
            // The cursor wins over the other fields, as in Backstage.
            parsed = request(json!({"cursor": cursor, "limit": 1, "query": {"type": "file"}}))
                .parse()
                .unwrap();
        }
        let want: Vec<String> = (0..7).map(|i| format!("id-{i}")).collect();
        assert_eq!(seen, want);
    }

    #[test]
    fn max_limit_caps_the_page() {
        let page = request(json!({"limit": 50}))
            .parse()
            .unwrap()
            .page(sample(), 2);
        assert_eq!(ids(&page), ["a", "b"]);
        assert!(page.page_info.next_cursor.is_some());
    }

    #[test]
    fn backstage_error_texts() {
        let err = |body: Value| request(body).parse().unwrap_err().to_string();
        for limit in [json!(0), json!(-5), json!(1.5)] {
            assert_eq!(
                err(json!({ "limit": limit })),
                "Limit must be a positive integer >= 1"
            );
        }
        assert_eq!(request(json!({"limit": 2.0})).parse().unwrap().limit, 2);
        assert_eq!(err(json!({"query": "url"})), "Query must be an object");
        assert_eq!(err(json!({"query": [1]})), "Query must be an object");
        assert!(err(json!({"query": {"type": {"$regex": "x"}}})).starts_with("Invalid query: "));
        assert_eq!(err(json!({"cursor": ""})), "Cursor cannot be empty");
        assert_eq!(
            err(json!({"cursor": "!!not-base64!!"})),
            "Malformed cursor, unknown encoding"
        );
        let b64 = |v: &str| base64::engine::general_purpose::STANDARD.encode(v);
        assert_eq!(
            err(json!({"cursor": b64("not json")})),
            "Malformed cursor, unknown encoding"
        );
        assert_eq!(
            err(json!({"cursor": b64(r#"{"afterId":"abc"}"#)})),
            "Malformed cursor: Validation error: Required at \"limit\""
        );
        assert_eq!(
            err(json!({"cursor": b64(r#"{"limit":0}"#)})),
            "Malformed cursor: Validation error: Number must be greater than or equal to 1 at \"limit\""
        );
        assert_eq!(
            err(json!({"cursor": b64(r#"{"limit":2.5}"#)})),
            "Malformed cursor: Validation error: Expected integer, received float at \"limit\""
        );
        assert_eq!(
            err(json!({"query": {"$invalid": true}})),
            "Invalid query: Validation error: Invalid at \"$invalid\""
        );
        assert_eq!(
            err(json!({"query": {"$all": [{"type": "url"}, {"$not": {"$bad": 1}}]}})),
            "Invalid query: Validation error: Invalid at \"$all.1.$not.$bad\""
        );
        assert_eq!(
            err(json!({"cursor": b64(r#"{"limit":10,"query":{"$invalid":true}}"#)})),
            "Malformed cursor: Validation error: Invalid at \"query.$invalid\""
        );
        // Unpadded and URL-safe cursors decode as Node decodes them.
        let cursor = encode_cursor(5, Some("a>b?"), Some(&json!({"type": "url"})));
        let url_safe = cursor
            .trim_end_matches('=')
            .replace('+', "-")
            .replace('/', "_");
        let parsed = request(json!({ "cursor": url_safe })).parse().unwrap();
        assert_eq!(parsed.limit, 5);
        assert_eq!(parsed.after_id.as_deref(), Some("a>b?"));
    }

    #[test]
    fn page_shape_serialises_as_backstage_does() {
        let page = request(json!({"limit": 1}))
            .parse()
            .unwrap()
            .page(sample(), usize::MAX);
        let v = serde_json::to_value(&page).unwrap();
        assert_eq!(
            v["items"],
            json!([{"id": "a", "type": "url", "target": "https://example.com/a.yaml"}])
        );
        assert_eq!(v["totalItems"], 3);
        assert!(v["pageInfo"]["nextCursor"].is_string());
        let empty = request(json!({"query": {"id": "zzz"}}))
            .parse()
            .unwrap()
            .page(sample(), usize::MAX);
        assert_eq!(
            serde_json::to_value(&empty).unwrap(),
            json!({"items": [], "totalItems": 0, "pageInfo": {}})
        );
    }
}
