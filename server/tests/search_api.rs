//! `GET /api/search/query` driven through the router over the shared test catalog. These tests hold the
//! contract (parameters, status codes, the answer's shape, paging by the cursors the portal returns, auth),
//! not one engine's ranking or cursor format, so they keep holding when the index behind `Portal::search`
//! changes.

mod common;

use std::collections::HashSet;

use axum::http::{Method, StatusCode};
use axum::Router;
use common::*;
use serde_json::{json, Value};
use stagedoor_server::api::{AccessRestriction, StaticToken, SEARCH_TYPES};

const SEARCH_TOKEN: &str = "search-only-token-01";
const OTHER_TOKEN: &str = "scaffolder-only-token";
const DOCS_TOKEN: &str = "techdocs-only-token";
const LOCATIONS_TOKEN: &str = "catalog-locations-token";

fn token(token: &str, plugin: &str, permission: Option<&str>) -> StaticToken {
    StaticToken {
        token: token.into(),
        subject: plugin.into(),
        restrictions: Some(vec![AccessRestriction {
            plugin: plugin.into(),
            permissions: permission.map(|p| vec![p.to_string()]),
            actions: None,
        }]),
    }
}

async fn app_with(extra: Value) -> Fixture {
    fixture_with(extra, |settings| {
        settings.auth.tokens.extend([
            token(SEARCH_TOKEN, "search", None),
            token(OTHER_TOKEN, "scaffolder", None),
            token(DOCS_TOKEN, "techdocs", None),
            token(LOCATIONS_TOKEN, "catalog", Some("catalog.location.read")),
        ]);
    })
    .await
}

async fn app() -> Fixture {
    app_with(json!({})).await
}

async fn query(app: &Router, raw: &str) -> Reply {
    call(app, Method::GET, &format!("/api/search/query?{raw}"), None).await
}

/// Asserts the answer is Backstage's `SearchResultSet` and returns its results.
fn assert_result_set(r: &Reply) -> Vec<Value> {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let body = r.body.as_object().expect("an object");
    for key in body.keys() {
        assert!(
            [
                "results",
                "nextPageCursor",
                "previousPageCursor",
                "numberOfResults"
            ]
            .contains(&key.as_str()),
            "unexpected key {key}: {}",
            r.text
        );
    }
    for cursor in ["nextPageCursor", "previousPageCursor"] {
        assert!(
            body.get(cursor).is_none_or(Value::is_string),
            "{cursor}: {}",
            r.text
        );
    }
    assert!(
        body.get("numberOfResults").is_none_or(Value::is_u64),
        "{}",
        r.text
    );
    let results = body["results"].as_array().expect("results").clone();
    for result in &results {
        let t = result["type"].as_str().expect("type");
        assert!(SEARCH_TYPES.contains(&t), "{t}");
        let document = &result["document"];
        for field in ["title", "text", "location"] {
            assert!(document[field].is_string(), "{field} of {result}");
        }
        if let Some(rank) = result.get("rank") {
            assert!(rank.as_u64().is_some_and(|n| n >= 1), "{result}");
        }
        if let Some(highlight) = result.get("highlight") {
            assert!(highlight["preTag"].is_string(), "{result}");
            assert!(highlight["postTag"].is_string(), "{result}");
            assert!(highlight["fields"].is_object(), "{result}");
        }
    }
    results
}

fn titles(results: &[Value]) -> Vec<String> {
    results
        .iter()
        .filter_map(|r| r["document"]["title"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn a_query_answers_backstages_result_set() {
    let f = app().await;
    let r = query(&f.app, "term=svc-a").await;
    let results = assert_result_set(&r);
    assert!(
        titles(&results).contains(&"svc-a".to_string()),
        "{}",
        r.text
    );
    let hit = results
        .iter()
        .find(|r| r["document"]["title"] == "svc-a")
        .unwrap();
    assert_eq!(hit["type"], "software-catalog");
    // Backstage's catalog collator keeps the entity's own casing in the location.
    assert_eq!(
        hit["document"]["location"],
        "/catalog/default/Component/svc-a"
    );
    // No parameters at all is a valid query too.
    assert_result_set(&query(&f.app, "").await);
    assert_result_set(&call(&f.app, Method::GET, "/api/search/query", None).await);
}

#[tokio::test]
async fn the_term_may_be_as_long_as_max_term_length() {
    let f = app().await;
    assert_result_set(&query(&f.app, &format!("term={}", "a".repeat(100))).await);
    let r = query(&f.app, &format!("term={}", "a".repeat(101))).await;
    let m = r.error(400, "InputError");
    assert!(m.contains("\"101\"") && m.contains("\"100\""), "{m}");

    let f = app_with(json!({"search": {"maxTermLength": 5, "maxPageLimit": 3}})).await;
    assert_result_set(&query(&f.app, "term=svc-a").await);
    let m = query(&f.app, "term=svc-ab").await.error(400, "InputError");
    assert!(m.contains("\"5\""), "{m}");
    assert_result_set(&query(&f.app, "term=svc&pageLimit=3").await);
    let m = query(&f.app, "term=svc&pageLimit=4")
        .await
        .error(400, "InputError");
    assert!(m.contains("\"3\""), "{m}");
}

#[tokio::test]
async fn page_limits_are_integers_within_bounds() {
    let f = app().await;
    for ok in ["1", "25", "100"] {
        let results = assert_result_set(&query(&f.app, &format!("term=svc&pageLimit={ok}")).await);
        assert!(results.len() <= ok.parse().unwrap());
    }
    for bad in ["0", "101", "-1", "ten", "1.5", "", "1e2", "%00"] {
        let r = query(&f.app, &format!("term=svc&pageLimit={bad}")).await;
        let m = r.error(400, "InputError");
        assert!(
            m.contains("pageLimit") || m.contains("page limit"),
            "{bad}: {m}"
        );
    }
    let one = assert_result_set(&query(&f.app, "term=svc&pageLimit=1").await);
    assert_eq!(one.len(), 1);
}

#[tokio::test]
async fn types_and_filters_are_read_in_every_spelling() {
    let f = app().await;
    // The same types in each of their spellings give the same answer.
    let types = query(&f.app, "term=svc&types[]=software-catalog").await;
    assert_result_set(&types);
    for raw in [
        "term=svc&types=software-catalog",
        "term=svc&types%5B0%5D=software-catalog",
        "term=svc&types%5B%5D=software-catalog",
    ] {
        assert_eq!(query(&f.app, raw).await.body, types.body, "{raw}");
    }
    assert_result_set(&query(&f.app, "term=svc&types[]=techdocs&types[]=software-catalog").await);
    let m = query(&f.app, "term=svc&types[]=nope")
        .await
        .error(400, "InputError");
    assert!(m.contains("nope"), "{m}");

    // The same filter in each of its spellings gives the same answer.
    let plain = query(&f.app, "term=api-a&filters[kind]=api").await;
    assert_result_set(&plain);
    for raw in [
        "term=api-a&filters%5Bkind%5D=api",
        "term=api-a&filters[kind][]=api",
        "term=api-a&filters[kind][0]=api",
    ] {
        assert_eq!(query(&f.app, raw).await.body, plain.body, "{raw}");
    }
    let both = query(&f.app, "term=a&filters[kind]=Component&filters[kind]=API").await;
    assert_eq!(
        query(
            &f.app,
            "term=a&filters[kind][]=Component&filters[kind][]=API"
        )
        .await
        .body,
        both.body
    );
    assert_result_set(&both);
}

/// What the narrowing means, for the engine behind `Portal::search`.
#[tokio::test]
async fn types_and_filters_narrow_the_results() {
    let f = app().await;
    let catalog = assert_result_set(&query(&f.app, "term=svc&types[]=software-catalog").await);
    assert!(!catalog.is_empty());
    assert!(catalog.iter().all(|r| r["type"] == "software-catalog"));
    let docs = assert_result_set(&query(&f.app, "term=svc&types[]=techdocs").await);
    assert!(docs.iter().all(|r| r["type"] == "techdocs"), "{docs:?}");

    let plain = query(&f.app, "term=api-a&filters[kind]=api").await;
    let results = assert_result_set(&plain);
    assert!(
        titles(&results).contains(&"api-a".to_string()),
        "{}",
        plain.text
    );
    assert!(results.iter().all(|r| r["document"]["kind"]
        .as_str()
        .unwrap_or("")
        .eq_ignore_ascii_case("api")));
    // Repeated values are alternatives.
    let both =
        assert_result_set(&query(&f.app, "term=a&filters[kind]=Component&filters[kind]=API").await);
    assert!(both.iter().all(|r| {
        let kind = r["document"]["kind"].as_str().unwrap_or("");
        kind.eq_ignore_ascii_case("component") || kind.eq_ignore_ascii_case("api")
    }));
    // A filter nothing has matches nothing.
    let none = assert_result_set(&query(&f.app, "term=svc&filters[kind]=domain").await);
    assert!(none.is_empty(), "{none:?}");
}

#[tokio::test]
async fn malformed_parameters_are_400s_naming_them() {
    let f = app().await;
    for (raw, named) in [
        ("filters=x", "filters"),
        ("filters[]=x", "filters[]"),
        ("filters[kind][a]=x", "filters[kind][a]"),
        ("filters%5Bkind=x", "filters[kind"),
        ("term[]=x", "term[]"),
        ("term=a&term=b", "term"),
        ("pageLimit=1&pageLimit=2", "pageLimit"),
        ("pageCursor=a&pageCursor=b", "pageCursor"),
        ("types[a]=techdocs", "types[a]"),
    ] {
        let m = query(&f.app, raw).await.error(400, "InputError");
        assert!(m.contains(named), "{raw}: {m}");
    }
    // Unknown parameters are ignored, as Backstage's schema passes them through.
    assert_result_set(&query(&f.app, "term=svc&_=1700000000&foo[bar]=baz").await);
}

#[tokio::test]
async fn following_next_page_cursors_visits_every_result_once() {
    let f = app().await;
    for limit in [1, 2, 3] {
        let mut seen: Vec<String> = Vec::new();
        let mut total = None;
        let mut cursor: Option<String> = None;
        for _ in 0..50 {
            let mut raw = format!("term=svc&pageLimit={limit}");
            if let Some(c) = &cursor {
                raw.push_str(&format!(
                    "&pageCursor={}",
                    url::form_urlencoded::byte_serialize(c.as_bytes()).collect::<String>()
                ));
            }
            let r = query(&f.app, &raw).await;
            let results = assert_result_set(&r);
            assert!(results.len() <= limit, "{}", r.text);
            if let Some(n) = r.body["numberOfResults"].as_u64() {
                assert!(total.is_none_or(|t| t == n), "{}", r.text);
                total = Some(n);
            }
            if cursor.is_some() {
                assert!(r.body["previousPageCursor"].is_string(), "{}", r.text);
            }
            seen.extend(
                results
                    .iter()
                    .map(|r| format!("{}|{}", r["type"], r["document"]["location"])),
            );
            cursor = r.body["nextPageCursor"].as_str().map(str::to_string);
            if cursor.is_none() {
                break;
            }
            assert!(!results.is_empty(), "a page with a next cursor has results");
        }
        assert!(cursor.is_none(), "the pages never ended");
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "duplicates: {seen:?}");
        // The four svc-* components at least.
        assert!(seen.len() >= 4, "{seen:?}");
        if let Some(total) = total {
            assert_eq!(seen.len() as u64, total, "{seen:?}");
        }
        // One big page holds the same results.
        let all = assert_result_set(&query(&f.app, "term=svc&pageLimit=100").await);
        let all: HashSet<String> = all
            .iter()
            .map(|r| format!("{}|{}", r["type"], r["document"]["location"]))
            .collect();
        assert_eq!(all, seen.iter().cloned().collect::<HashSet<_>>());
    }
}

#[tokio::test]
async fn a_garbage_page_cursor_is_not_a_server_error() {
    let f = app().await;
    for cursor in ["garbage", "%00", "-1", "99999999999999999999", "%FF%FE"] {
        let r = query(&f.app, &format!("term=svc&pageCursor={cursor}")).await;
        assert!(!r.status.is_server_error(), "{cursor}: {}", r.text);
        if r.status.is_client_error() {
            r.error(r.status.as_u16(), "InputError");
        }
    }
}

#[tokio::test]
async fn hostile_terms_are_text_never_a_server_error() {
    let f = app().await;
    let long = "*".repeat(100);
    for term in [
        "%22",
        "%22svc",
        ":",
        "title:svc",
        "AND",
        "svc+AND",
        "OR+NOT",
        "*",
        "svc*",
        "%00",
        "svc%00a",
        "(",
        ")",
        "%5B",
        "%5Bsvc+TO+z%5D",
        "~",
        "svc~2",
        "^",
        "svc^10",
        "%5C",
        "%2B-%21",
        "%26%26+%7C%7C",
        "%2F.*%2F",
        "%F0%9F%9A%80",
        "%E2%80%AE",
        "+++",
        long.as_str(),
    ] {
        let r = query(&f.app, &format!("term={term}")).await;
        assert!(!r.status.is_server_error(), "{term}: {}", r.text);
        if r.status == StatusCode::OK {
            assert_result_set(&r);
        } else {
            r.error(400, "InputError");
        }
    }
}

#[tokio::test]
async fn search_takes_what_reading_the_catalog_takes() {
    let f = app().await;
    let uri = "/api/search/query?term=svc";
    let r = call_as(&f.app, None, Method::GET, uri, None).await;
    r.error(401, "AuthenticationError");
    let r = call_as(&f.app, Some("wrong-token-000"), Method::GET, uri, None).await;
    r.error(401, "AuthenticationError");
    for allowed in [TOKEN, READ_TOKEN, SEARCH_TOKEN] {
        let r = call_as(&f.app, Some(allowed), Method::GET, uri, None).await;
        assert_result_set(&r);
    }
    for refused in [OTHER_TOKEN, DOCS_TOKEN, LOCATIONS_TOKEN] {
        let r = call_as(&f.app, Some(refused), Method::GET, uri, None).await;
        let m = r.error(403, "NotAllowedError");
        assert!(m.contains("catalog.entity.read"), "{m}");
    }
    // The search-only token stays out of the catalog itself.
    let r = call_as(
        &f.app,
        Some(SEARCH_TOKEN),
        Method::GET,
        "/api/catalog/entities",
        None,
    )
    .await;
    r.error(403, "NotAllowedError");
}

#[tokio::test]
async fn only_get_is_routed() {
    let f = app().await;
    let r = call(&f.app, Method::POST, "/api/search/query", Some(json!({}))).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{}", r.text);
    let r = call(&f.app, Method::GET, "/api/search/nope", None).await;
    r.error(404, "NotFoundError");
}
