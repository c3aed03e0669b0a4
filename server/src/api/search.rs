//! Backstage's search route, `GET /api/search/query`, over [`Portal::search`].
//!
//! Parameters, as Backstage's router reads them (Express's `qs` parser, then a zod schema):
//!
//! - `term` (default `''`), at most `search.maxTermLength` characters (default 100);
//! - `types`: `types[]=a&types[]=b`, `types[0]=a`, or plain `types=a`; each one a known document type;
//! - `filters[field]=value` deep-object parameters, each value a string or a list of them
//!   (`filters[kind]=a&filters[kind]=b`, `filters[kind][]=a`, `filters[kind][0]=a` all mean a list);
//! - `pageCursor`: opaque, passed to the portal as is;
//! - `pageLimit`: an integer from 1 to `search.maxPageLimit` (default 100).
//!
//! Repeating a scalar (`term`, `pageCursor`, `pageLimit`), or nesting deeper than the forms above, is a
//! 400 naming the parameter, as `qs` would turn it into an array or object the schema refuses. Parameters
//! of other names are ignored, like the schema's `passthrough()`.
//!
//! The query string is read from the raw URI with `form_urlencoded`, which decodes keys as well as values,
//! so percent-encoded brackets (`filters%5Bkind%5D`, what `qs.stringify` sends) read as brackets.
//!
//! Like Backstage's router, results whose `location` has a scheme other than http(s) (`javascript:`) are
//! dropped before answering: a location is a link a frontend renders.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;
use stagedoor_core::config::Config;
use stagedoor_core::portal::Portal;
use stagedoor_core::search::{
    SearchQuery, SearchResultSet, DEFAULT_MAX_PAGE_LIMIT, DEFAULT_MAX_TERM_LENGTH,
    TYPE_SOFTWARE_CATALOG, TYPE_TECHDOCS,
};
use stagedoor_core::PortalError;

use super::errors::ApiError;

/// The document types this portal indexes; others are refused as Backstage refuses unregistered ones.
pub const SEARCH_TYPES: [&str; 2] = [TYPE_SOFTWARE_CATALOG, TYPE_TECHDOCS];

/// `search.maxTermLength` and `search.maxPageLimit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchSettings {
    pub max_term_length: usize,
    pub max_page_limit: usize,
}

impl Default for SearchSettings {
    fn default() -> Self {
        SearchSettings {
            max_term_length: DEFAULT_MAX_TERM_LENGTH,
            max_page_limit: DEFAULT_MAX_PAGE_LIMIT,
        }
    }
}

fn config_number(config: &Config, key: &str, min: u64) -> Result<Option<usize>, PortalError> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .filter(|n| *n >= min)
            .map(|n| Some(usize::try_from(n).unwrap_or(usize::MAX)))
            .ok_or_else(|| {
                PortalError::Input(format!("{key} must be an integer of at least {min}"))
            }),
    }
}

impl SearchSettings {
    /// Reads `search.maxTermLength` and `search.maxPageLimit`, keeping Backstage's defaults when unset.
    pub fn from_config(config: &Config) -> Result<SearchSettings, PortalError> {
        let defaults = SearchSettings::default();
        Ok(SearchSettings {
            max_term_length: config_number(config, "search.maxTermLength", 0)?
                .unwrap_or(defaults.max_term_length),
            max_page_limit: config_number(config, "search.maxPageLimit", 1)?
                .unwrap_or(defaults.max_page_limit),
        })
    }

    /// The limits a query must respect, in Backstage's words. Shared with the command line, which checks
    /// an embedded search the same way the server would.
    pub fn check(&self, query: &SearchQuery) -> Result<(), String> {
        // Backstage counts UTF-16 code units (JavaScript's `length`); characters differ only for those
        // outside the Basic Multilingual Plane, and counting them once is the kinder reading.
        let length = query.term.chars().count();
        if length > self.max_term_length {
            return Err(format!(
                "The term length \"{length}\" is greater than \"{}\" (search.maxTermLength)",
                self.max_term_length
            ));
        }
        if let Some(limit) = query.page_limit {
            if limit == 0 {
                return Err("Invalid pageLimit, must be greater than zero".into());
            }
            if limit > self.max_page_limit {
                return Err(format!(
                    "The page limit \"{limit}\" is greater than \"{}\" (search.maxPageLimit)",
                    self.max_page_limit
                ));
            }
        }
        for t in &query.types {
            if !SEARCH_TYPES.contains(&t.as_str()) {
                return Err(format!(
                    "Invalid types: unknown document type '{t}', expected one of {}",
                    SEARCH_TYPES.join(", ")
                ));
            }
        }
        Ok(())
    }
}

fn invalid(param: &str, why: &str) -> ApiError {
    ApiError::input(format!("Invalid query string: {param} {why}"))
}

/// The bracketed parts of a key: `filters[kind][]` is `("filters", ["kind", ""])`. `None` when the
/// brackets do not pair up (`a[b`, `a]b`, `a[b]c`).
fn split_key(key: &str) -> Option<(&str, Vec<&str>)> {
    let Some(open) = key.find('[') else {
        return (!key.contains(']')).then_some((key, Vec::new()));
    };
    let (base, mut rest) = key.split_at(open);
    if base.contains(']') {
        return None;
    }
    let mut parts = Vec::new();
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let close = inner.find(']')?;
        let part = &inner[..close];
        if part.contains('[') {
            return None;
        }
        parts.push(part);
        rest = &inner[close + 1..];
    }
    Some((base, parts))
}

/// `[]` or `[N]`: one more element of a list.
fn is_list_index(part: &str) -> bool {
    part.bytes().all(|b| b.is_ascii_digit())
}

fn integer(text: &str, param: &str) -> Result<usize, ApiError> {
    // Written exactly as its number: no sign, no leading zeros, no spaces, no fraction.
    match text.parse::<u64>() {
        Ok(n) if n.to_string() == text => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        _ => Err(invalid(param, "must be an integer")),
    }
}

/// Parses a raw (still percent-encoded) query string into a [`SearchQuery`], refusing malformed
/// parameters with a 400 that names them; the limits of `settings` are checked too.
pub fn parse_search_query(raw: &str, settings: &SearchSettings) -> Result<SearchQuery, ApiError> {
    let mut query = SearchQuery::default();
    let mut seen_term = false;
    let mut filters: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, value) in url::form_urlencoded::parse(raw.as_bytes()) {
        let Some((base, parts)) = split_key(&key) else {
            if key.starts_with("filters") || key.starts_with("types") {
                return Err(invalid(&key, "is not a parameter form this route reads"));
            }
            continue;
        };
        let scalar = |slot_taken: bool| -> Result<(), ApiError> {
            if !parts.is_empty() {
                return Err(invalid(&key, "must be a single string"));
            }
            if slot_taken {
                return Err(invalid(base, "must be given once"));
            }
            Ok(())
        };
        match base {
            "term" => {
                scalar(seen_term)?;
                seen_term = true;
                query.term = value.into_owned();
            }
            "pageCursor" => {
                scalar(query.page_cursor.is_some())?;
                query.page_cursor = Some(value.into_owned());
            }
            "pageLimit" => {
                scalar(query.page_limit.is_some())?;
                query.page_limit = Some(integer(&value, "pageLimit")?);
            }
            "types" => match parts.as_slice() {
                [] => query.types.push(value.into_owned()),
                [index] if is_list_index(index) => query.types.push(value.into_owned()),
                _ => return Err(invalid(&key, "must be types[]=<type>")),
            },
            "filters" => match parts.as_slice() {
                [field] if !field.is_empty() => {
                    filters
                        .entry((*field).to_string())
                        .or_default()
                        .push(value.into_owned());
                }
                [field, index] if !field.is_empty() && is_list_index(index) => {
                    filters
                        .entry((*field).to_string())
                        .or_default()
                        .push(value.into_owned());
                }
                _ => {
                    return Err(invalid(
                        &key,
                        "must be filters[<field>]=<value> or filters[<field>][]=<value>",
                    ))
                }
            },
            _ => {}
        }
    }
    query.filters = filters;
    settings.check(&query).map_err(ApiError::input)?;
    Ok(query)
}

/// Backstage's `allowedLocationProtocols`: a location is resolved against an https base and kept only if
/// it then has an http(s) scheme, so relative locations (`/catalog/...`) pass.
fn safe_location(location: Option<&str>) -> bool {
    let Some(location) = location else {
        return true;
    };
    match url::Url::parse("https://example.com").and_then(|base| base.join(location)) {
        Ok(url) => matches!(url.scheme(), "http" | "https"),
        Err(_) => false,
    }
}

#[derive(Clone)]
struct AppState {
    portal: Arc<dyn Portal>,
    settings: SearchSettings,
}

pub fn routes(portal: Arc<dyn Portal>, settings: SearchSettings) -> Router {
    Router::new()
        .route("/query", get(get_query))
        .with_state(AppState { portal, settings })
}

async fn get_query(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<SearchResultSet>, ApiError> {
    let query = parse_search_query(raw.as_deref().unwrap_or(""), &state.settings)?;
    let mut set = state.portal.search(query).await.map_err(|e| {
        let mut error = ApiError::from(e);
        if error.status == StatusCode::INTERNAL_SERVER_ERROR {
            // Backstage's wording for an engine failure.
            error.message = format!(
                "There was a problem performing the search query: {}",
                error.message
            );
        }
        error
    })?;
    set.results.retain(|r| {
        let keep = safe_location(r.field("location"));
        if !keep {
            tracing::info!(
                title = r.field("title").unwrap_or(""),
                "rejected a search result whose location scheme is unsafe"
            );
        }
        keep
    });
    Ok(Json(set))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<SearchQuery, ApiError> {
        parse_search_query(raw, &SearchSettings::default())
    }

    fn message(raw: &str) -> String {
        let e = parse(raw).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST, "{raw}");
        assert_eq!(e.name, "InputError");
        e.message
    }

    fn filters(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn an_empty_query_is_every_default() {
        assert_eq!(parse("").unwrap(), SearchQuery::default());
        assert_eq!(parse("unrelated=1&_=x").unwrap(), SearchQuery::default());
    }

    #[test]
    fn scalars_are_decoded() {
        let q = parse("term=shipment%20tracker+x&pageCursor=MQ%3D%3D&pageLimit=10").unwrap();
        assert_eq!(q.term, "shipment tracker x");
        assert_eq!(q.page_cursor.as_deref(), Some("MQ=="));
        assert_eq!(q.page_limit, Some(10));
    }

    #[test]
    fn types_in_every_form() {
        for raw in [
            "types[]=software-catalog&types[]=techdocs",
            "types%5B%5D=software-catalog&types%5B%5D=techdocs",
            "types[0]=software-catalog&types[1]=techdocs",
            "types%5B0%5D=software-catalog&types%5B1%5D=techdocs",
            "types=software-catalog&types=techdocs",
        ] {
            assert_eq!(
                parse(raw).unwrap().types,
                vec!["software-catalog", "techdocs"],
                "{raw}"
            );
        }
        assert!(message("types[]=nope").contains("'nope'"));
        assert!(message("types[a]=techdocs").contains("types[a]"));
        assert!(message("types[][]=techdocs").contains("types[][]"));
    }

    #[test]
    fn filters_scalar_and_repeated() {
        assert_eq!(
            parse("filters%5Bkind%5D=component").unwrap().filters,
            filters(&[("kind", &["component"])])
        );
        assert_eq!(
            parse("filters[kind]=Component&filters[lifecycle]=production")
                .unwrap()
                .filters,
            filters(&[("kind", &["Component"]), ("lifecycle", &["production"])])
        );
        for raw in [
            "filters[kind]=Component&filters[kind]=API",
            "filters[kind][]=Component&filters[kind][]=API",
            "filters%5Bkind%5D%5B%5D=Component&filters%5Bkind%5D%5B%5D=API",
            "filters[kind][0]=Component&filters[kind][1]=API",
            "filters[kind]=Component&filters[kind][]=API",
        ] {
            assert_eq!(
                parse(raw).unwrap().filters,
                filters(&[("kind", &["Component", "API"])]),
                "{raw}"
            );
        }
        // Field names and values are opaque text.
        assert_eq!(
            parse("filters[spec.type]=a%26b%3Dc").unwrap().filters,
            filters(&[("spec.type", &["a&b=c"])])
        );
    }

    #[test]
    fn malformed_shapes_name_the_parameter() {
        for (raw, named) in [
            ("filters=x", "filters"),
            ("filters[]=x", "filters[]"),
            ("filters[kind][a]=x", "filters[kind][a]"),
            ("filters[kind][][]=x", "filters[kind][][]"),
            ("filters[kind=x", "filters[kind"),
            ("filters]kind[=x", "filters]kind["),
            ("term[]=x", "term[]"),
            ("term=a&term=b", "term"),
            ("pageLimit=1&pageLimit=2", "pageLimit"),
            ("pageCursor=a&pageCursor=b", "pageCursor"),
            ("pageLimit=ten", "pageLimit"),
            ("pageLimit=1.5", "pageLimit"),
            ("pageLimit=-1", "pageLimit"),
            ("pageLimit=+5", "pageLimit"),
            ("pageLimit=05", "pageLimit"),
            ("pageLimit=", "pageLimit"),
            ("pageLimit=99999999999999999999999", "pageLimit"),
        ] {
            let m = message(raw);
            assert!(m.contains(named), "{raw}: {m}");
        }
    }

    #[test]
    fn limits_follow_the_settings() {
        let hundred = "a".repeat(100);
        assert_eq!(parse(&format!("term={hundred}")).unwrap().term, hundred);
        let m = message(&format!("term={hundred}b"));
        assert!(m.contains("\"101\"") && m.contains("\"100\""), "{m}");
        // Characters, not bytes.
        assert!(parse(&format!("term={}", "%C3%A9".repeat(100))).is_ok());
        assert_eq!(parse("pageLimit=100").unwrap().page_limit, Some(100));
        assert_eq!(parse("pageLimit=1").unwrap().page_limit, Some(1));
        assert!(message("pageLimit=101").contains("\"100\""));
        assert!(message("pageLimit=0").contains("pageLimit"));
        let tight = SearchSettings {
            max_term_length: 3,
            max_page_limit: 5,
        };
        assert!(parse_search_query("term=abc&pageLimit=5", &tight).is_ok());
        assert!(parse_search_query("term=abcd", &tight).is_err());
        assert!(parse_search_query("pageLimit=6", &tight).is_err());
    }

    #[test]
    fn settings_come_from_config() {
        let config = |v: Value| Config::from_value(v, ".".into());
        assert_eq!(
            SearchSettings::from_config(&config(serde_json::json!({}))).unwrap(),
            SearchSettings::default()
        );
        let s = SearchSettings::from_config(&config(
            serde_json::json!({"search": {"maxTermLength": 20, "maxPageLimit": 7}}),
        ))
        .unwrap();
        assert_eq!((s.max_term_length, s.max_page_limit), (20, 7));
        for bad in [
            serde_json::json!({"search": {"maxTermLength": "x"}}),
            serde_json::json!({"search": {"maxPageLimit": 0}}),
            serde_json::json!({"search": {"maxPageLimit": -3}}),
        ] {
            assert!(SearchSettings::from_config(&config(bad)).is_err());
        }
    }

    #[test]
    fn unsafe_locations_are_recognised() {
        assert!(safe_location(Some("/catalog/default/component/a")));
        assert!(safe_location(Some("https://example.org/x")));
        assert!(safe_location(Some("relative/path")));
        assert!(safe_location(None));
        assert!(!safe_location(Some("javascript:alert(1)")));
        assert!(!safe_location(Some("data:text/html,x")));
    }
}
