//! Property-based fuzzing (proptest) of the filter and cursor parsers: GET `filter=`/`cursor=`/paging
//! parameters, search's `term`/`types`/`filters[...]`/`pageCursor`/`pageLimit` parameters and POST by-query bodies of random and hostile shape go through `router(...)` over a small
//! LocalPortal; no response is 5xx, every 4xx carries Backstage's error body, and nothing panics. Direct
//! properties on `EntityPredicate::from_filter_params` / `from_json` check they never panic and that
//! `from_json(to_json(p)) == p` for predicates built by a strategy.

mod common;

use std::cell::RefCell;

use axum::body::Body;
use axum::http::{header, Method, Request};
use base64::Engine as _;
use common::*;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use stagedoor_core::store::{EntityPredicate, FieldMatch};

/// Cases per property: 256 keeps `cargo test` fast; `STAGEDOOR_FUZZ_CASES=20000` for a long run.
fn cases() -> u32 {
    std::env::var("STAGEDOOR_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

struct Shared {
    rt: tokio::runtime::Runtime,
    fixture: Fixture,
}

thread_local! {
    // One portal per test thread: proptest runs every case of a property on the thread that calls it.
    static SHARED: RefCell<Option<Shared>> = const { RefCell::new(None) };
}

/// Sends `request` through the router and checks the response properties; returns the status.
fn check(request: Request<Body>) -> Result<u16, TestCaseError> {
    SHARED.with(|cell| {
        let mut slot = cell.borrow_mut();
        let shared = slot.get_or_insert_with(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let fixture = rt.block_on(fixture());
            Shared { rt, fixture }
        });
        let uri = request.uri().to_string();
        let method = request.method().to_string();
        let reply = shared.rt.block_on(send(&shared.fixture.app, request));
        let status = reply.status.as_u16();
        prop_assert!(status < 500, "{method} {uri} -> {status}: {}", reply.text);
        if (400..500).contains(&status) {
            let b = &reply.body;
            prop_assert!(
                b["error"]["name"].is_string()
                    && b["error"]["message"].is_string()
                    && b["request"]["method"].is_string()
                    && b["request"]["url"].is_string()
                    && b["response"]["statusCode"] == json!(status),
                "{method} {uri} -> {status} without Backstage's error body: {}",
                reply.text
            );
        }
        Ok(status)
    })
}

fn get(path_and_query: &str) -> Option<Request<Body>> {
    Request::builder()
        .method(Method::GET)
        .uri(path_and_query)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .ok()
}

fn post_json(path: &str, body: String) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap()
}

fn encode_query(pairs: &[(String, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

// ---- strategies ----

/// Text that is hostile to a `filter=` parser: separators, operators, quotes, whitespace and unicode.
fn filter_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z.=, \\t%+&$\\[\\]{}\"'\\\\é\u{0}-\u{1f}]{0,40}",
        prop::collection::vec(
            (
                "[a-zA-Z.$_/-]{0,12}",
                prop::option::of("[a-zA-Z0-9=,: *%_-]{0,12}")
            ),
            0..6
        )
        .prop_map(|statements| statements
            .into_iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{k}={v}"),
                None => k,
            })
            .collect::<Vec<_>>()
            .join(",")),
    ]
}

/// Any JSON value, nested up to a few levels, with operator-looking keys likely.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        any::<String>().prop_map(Value::String),
        "[a-z]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((json_key(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("$all".to_string()),
        Just("$any".to_string()),
        Just("$not".to_string()),
        Just("$in".to_string()),
        Just("$exists".to_string()),
        Just("$contains".to_string()),
        Just("$hasPrefix".to_string()),
        Just("kind".to_string()),
        Just("metadata.name".to_string()),
        Just("relations.ownedBy".to_string()),
        "[a-zA-Z.$]{0,10}",
        any::<String>(),
    ]
}

fn field_key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("kind".to_string()),
        Just("metadata.name".to_string()),
        Just("metadata.annotations.backstage.io/x".to_string()),
        Just("spec.type".to_string()),
        "[a-z][a-z.]{0,12}",
    ]
}

fn field_match() -> impl Strategy<Value = FieldMatch> {
    prop_oneof![
        any::<bool>().prop_map(FieldMatch::Exists),
        prop::collection::vec(any::<String>(), 0..4).prop_map(FieldMatch::In),
        any::<String>().prop_map(FieldMatch::Contains),
        any::<String>().prop_map(FieldMatch::HasPrefix),
    ]
}

/// Any predicate over ordinary field keys (a field named `$all`, `$any` or `$not` cannot be written in the
/// POST form, as in Backstage), empty `All`/`Any` and empty `$in` lists included.
fn predicate() -> impl Strategy<Value = EntityPredicate> {
    let leaf = (field_key(), field_match())
        .prop_map(|(key, matcher)| EntityPredicate::Field { key, matcher });
    leaf.prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(EntityPredicate::All),
            prop::collection::vec(inner.clone(), 0..5).prop_map(EntityPredicate::Any),
            inner.prop_map(|p| EntityPredicate::Not(Box::new(p))),
        ]
    })
}

/// Cursor strings: arbitrary text, base64 of arbitrary JSON, and base64 of cursor-shaped JSON with
/// wrong or extreme members.
fn cursor_text() -> impl Strategy<Value = String> {
    let order_field = (
        prop_oneof![field_key(), any::<String>()],
        prop_oneof![
            3 => Just(json!("asc")),
            3 => Just(json!("desc")),
            1 => json_value()
        ],
    )
        .prop_map(|(field, order)| json!({"field": field, "order": order}));
    let shaped = (
        prop::collection::vec(order_field, 0..3),
        // Mostly filters that parse, so that the cursor reaches the query it describes.
        prop::option::of(prop_oneof![
            2 => predicate().prop_map(|p| p.to_json()),
            1 => json_value()
        ]),
        prop_oneof![2 => Just(0usize), 4 => Just(2usize), 1 => 0..5usize]
            .prop_flat_map(|len| prop::collection::vec(prop::option::of(any::<String>()), len)),
        any::<bool>(),
        prop::option::of(prop::collection::vec(
            prop::option::of(any::<String>()),
            0..3,
        )),
        prop::option::of(any::<i64>()),
        prop::option::of(json_value()),
    )
        .prop_map(
            |(order_fields, filter, values, is_previous, first, total, full_text)| {
                let mut c = json!({
                    "orderFields": order_fields,
                    "orderFieldValues": values,
                    "isPrevious": is_previous,
                });
                if let Some(f) = filter {
                    c["filter"] = f;
                }
                if let Some(f) = first {
                    c["firstSortFieldValues"] = json!(f);
                }
                if let Some(t) = total {
                    c["totalItems"] = json!(t);
                }
                if let Some(f) = full_text {
                    c["fullTextFilter"] = f;
                }
                b64(&c.to_string())
            },
        );
    prop_oneof![
        any::<String>(),
        "[A-Za-z0-9+/=]{0,40}",
        json_value().prop_map(|v| b64(&v.to_string())),
        shaped,
        predicate().prop_map(|p| b64(
            &json!({"orderFields": [{"field": "metadata.name", "order": "asc"}],
                    "filter": p.to_json(), "orderFieldValues": [], "isPrevious": false})
            .to_string()
        )),
    ]
}

fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0..120u32).prop_map(|n| n.to_string()),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => "[-+0-9 .eE]{0,25}",
        1 => any::<String>(),
        1 => Just("18446744073709551616".to_string()),
        1 => Just("9223372036854775807".to_string()),
    ]
}

fn order_text() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            field_key(),
            prop_oneof![Just("asc"), Just("desc"), Just("ASC"), Just("up")]
        )
            .prop_map(|(f, d)| format!("{f},{d}")),
        any::<String>(),
        "[a-z.,:]{0,20}",
    ]
}

/// Optional GET parameters for the by-query and entities routes.
fn get_params() -> impl Strategy<Value = Vec<(String, String)>> {
    (
        prop::collection::vec(filter_text(), 0..3),
        prop::option::of(cursor_text()),
        prop::option::of(number_text()),
        prop::option::of(number_text()),
        prop::option::of(order_text()),
        prop::option::of(prop_oneof!["[a-z.,\\[\\]]{0,20}", any::<String>()]),
        prop::option::of(any::<String>()),
        prop::option::of(prop_oneof![
            Just("include".to_string()),
            Just("exclude".to_string()),
            any::<String>()
        ]),
    )
        .prop_map(
            |(filters, cursor, limit, offset, order, fields, term, total)| {
                let mut pairs: Vec<(String, String)> =
                    filters.into_iter().map(|f| ("filter".into(), f)).collect();
                let named = [
                    ("cursor", cursor),
                    ("limit", limit),
                    ("offset", offset),
                    ("orderField", order),
                    ("fields", fields),
                    ("fullTextFilterTerm", term),
                    ("totalItems", total),
                ];
                for (k, v) in named {
                    if let Some(v) = v {
                        pairs.push((k.to_string(), v));
                    }
                }
                pairs
            },
        )
}

/// A POST by-query body: well-typed members of hostile content, or any member of any JSON type.
fn by_query_body() -> impl Strategy<Value = String> {
    let typed = (
        prop::option::of(prop_oneof![
            json_value(),
            predicate().prop_map(|p| p.to_json())
        ]),
        prop::option::of(cursor_text()),
        prop::option::of(prop_oneof![3 => 0..120i64, 1 => any::<i64>()]),
        prop::option::of(prop_oneof![3 => 0..120i64, 1 => any::<i64>()]),
        prop::option::of(prop::collection::vec(
            (field_key(), prop::option::of(order_text())),
            0..3,
        )),
        prop::option::of(prop::collection::vec(
            prop_oneof!["[a-z.,\\[\\]]{0,20}", any::<String>()],
            0..4,
        )),
        prop::option::of(json_value()),
        prop::option::of((any::<String>(), prop::collection::vec(field_key(), 0..3))),
    )
        .prop_map(
            |(query, cursor, limit, offset, order_by, fields, total, full_text)| {
                let mut b = Map::new();
                if let Some(q) = query {
                    b.insert("query".into(), q);
                }
                if let Some(c) = cursor {
                    b.insert("cursor".into(), json!(c));
                }
                if let Some(l) = limit {
                    b.insert("limit".into(), json!(l));
                }
                if let Some(o) = offset {
                    b.insert("offset".into(), json!(o));
                }
                if let Some(o) = order_by {
                    let list: Vec<Value> = o
                        .into_iter()
                        .map(|(field, order)| match order {
                            Some(order) => json!({"field": field, "order": order}),
                            None => json!({"field": field}),
                        })
                        .collect();
                    b.insert("orderBy".into(), Value::Array(list));
                }
                if let Some(f) = fields {
                    b.insert("fields".into(), json!(f));
                }
                if let Some(t) = total {
                    b.insert("totalItems".into(), t);
                }
                if let Some((term, fields)) = full_text {
                    b.insert(
                        "fullTextFilter".into(),
                        json!({"term": term, "fields": fields}),
                    );
                }
                Value::Object(b).to_string()
            },
        );
    let loose = prop::collection::vec(
        (
            prop_oneof![
                Just("query".to_string()),
                Just("cursor".to_string()),
                Just("limit".to_string()),
                Just("offset".to_string()),
                Just("orderBy".to_string()),
                Just("fields".to_string()),
                Just("totalItems".to_string()),
                Just("fullTextFilter".to_string()),
                any::<String>(),
            ],
            json_value(),
        ),
        0..5,
    )
    .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>()).to_string());
    prop_oneof![
        4 => typed,
        3 => loose,
        1 => json_value().prop_map(|v| v.to_string()),
        1 => any::<String>(),
    ]
}

fn search_key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "term",
            "types",
            "types[]",
            "types[0]",
            "types[a]",
            "filters",
            "filters[]",
            "filters[kind]",
            "filters[kind][]",
            "filters[kind][1]",
            "filters[kind][x]",
            "filters[kind",
            "filters[a][b][c]",
            "pageCursor",
            "pageLimit",
            "term[]",
        ])
        .prop_map(str::to_string),
        any::<String>(),
        "(term|types|filters|pageLimit|pageCursor)[\\[\\]a-z0-9]{0,12}",
    ]
}

fn search_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        number_text(),
        cursor_text(),
        prop::sample::select(vec![
            "software-catalog",
            "techdocs",
            "svc",
            "\"",
            ":",
            "AND",
            "*",
            "\u{0}",
        ])
        .prop_map(str::to_string),
        "[a-z*:\"()~^ -]{0,120}",
    ]
}

/// A valid query as a client would build it (known types, limits in range, field names without brackets).
fn search_query() -> impl Strategy<Value = stagedoor_core::search::SearchQuery> {
    (
        "[^\\x00]{0,40}",
        prop::collection::vec(
            prop::sample::select(vec!["software-catalog", "techdocs"]),
            0..3,
        ),
        prop::collection::btree_map(
            "[a-zA-Z.]{1,10}",
            prop::collection::vec(any::<String>(), 1..3),
            0..3,
        ),
        prop::option::of(any::<String>()),
        prop::option::of(1usize..=100),
    )
        .prop_map(|(term, types, filters, page_cursor, page_limit)| {
            stagedoor_core::search::SearchQuery {
                term,
                types: types.into_iter().map(str::to_string).collect(),
                filters,
                page_cursor,
                page_limit,
            }
        })
}

// ---- properties ----

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn filter_params_never_panic(params in prop::collection::vec(filter_text(), 0..4)) {
        if let Ok(Some(p)) = EntityPredicate::from_filter_params(&params) {
            // A parsed GET filter is expressible in the POST form and reads back the same.
            prop_assert_eq!(EntityPredicate::from_json(&p.to_json()).ok(), Some(p.clone()));
        }
    }

    #[test]
    fn from_json_never_panics(value in json_value()) {
        let _ = EntityPredicate::from_json(&value);
    }

    #[test]
    fn from_json_round_trips_to_json(p in predicate()) {
        let json = p.to_json();
        prop_assert_eq!(EntityPredicate::from_json(&json).ok(), Some(p), "{}", json);
    }

    #[test]
    fn get_routes_never_fail_on_hostile_params(
        route in prop_oneof![
            Just("/api/catalog/entities/by-query"),
            Just("/api/catalog/entities"),
            Just("/api/catalog/entity-facets"),
        ],
        mut pairs in get_params(),
        facet in prop::option::of(prop_oneof![field_key(), any::<String>()]),
    ) {
        if let Some(f) = facet {
            pairs.push(("facet".into(), f));
        }
        let request = get(&format!("{route}?{}", encode_query(&pairs)));
        prop_assert!(request.is_some(), "an encoded query must form a valid URI");
        check(request.unwrap())?;
    }

    #[test]
    fn raw_query_strings_never_fail(
        route in prop_oneof![
            Just("/api/catalog/entities/by-query"),
            Just("/api/catalog/entities"),
            Just("/api/catalog/entity-facets"),
            Just("/api/search/query"),
        ],
        raw in "[a-zA-Z0-9=&%+,.:$_~!*'()\\[\\]/?-]{0,80}",
    ) {
        // Not every such text is a valid URI (a stray `%`); those never reach the router.
        if let Some(request) = get(&format!("{route}?{raw}")) {
            check(request)?;
        }
    }

    #[test]
    fn search_never_fails_on_hostile_params(
        pairs in prop::collection::vec((search_key(), search_value()), 0..6),
    ) {
        let request = get(&format!("/api/search/query?{}", encode_query(&pairs)));
        prop_assert!(request.is_some(), "an encoded query must form a valid URI");
        check(request.unwrap())?;
    }

    #[test]
    fn search_parser_never_panics(raw in any::<String>()) {
        let settings = stagedoor_server::api::SearchSettings::default();
        let _ = stagedoor_server::api::parse_search_query(&raw, &settings);
    }

    #[test]
    fn client_search_queries_parse_back_the_same(query in search_query()) {
        // `term` is limited in characters, so only queries within the limit are expected back.
        prop_assume!(query.term.chars().count() <= 100);
        let raw = encode_query(&stagedoor_server::client::search_query_pairs(&query));
        let settings = stagedoor_server::api::SearchSettings::default();
        let parsed = stagedoor_server::api::parse_search_query(&raw, &settings);
        prop_assert_eq!(parsed.ok(), Some(query));
    }

    #[test]
    fn post_by_query_never_fails_on_hostile_bodies(body in by_query_body()) {
        check(post_json("/api/catalog/entities/by-query", body))?;
    }

    #[test]
    fn post_facets_never_fails_on_hostile_filters(
        query in prop::option::of(prop_oneof![
            json_value(),
            predicate().prop_map(|p| p.to_json())
        ]),
        facets in prop::option::of(prop_oneof![
            3 => prop::collection::vec(prop_oneof![field_key(), any::<String>()], 0..3)
                .prop_map(|f| json!(f)),
            1 => json_value()
        ]),
    ) {
        let mut b = Map::new();
        if let Some(q) = query {
            b.insert("query".into(), q);
        }
        if let Some(f) = facets {
            b.insert("facets".into(), f);
        }
        check(post_json("/api/catalog/entity-facets", Value::Object(b).to_string()))?;
    }

    #[test]
    fn cursors_from_a_real_page_survive_tampering(
        flip in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        // A genuine next cursor, then corrupted: one byte replaced, and truncated.
        let first = check_page("/api/catalog/entities/by-query?limit=2&orderField=metadata.name,asc")?;
        let Some(cursor) = first else { return Ok(()) };
        let mut bytes = cursor.clone().into_bytes();
        let i = flip.index(bytes.len());
        bytes[i] = byte;
        let corrupted = String::from_utf8_lossy(&bytes).into_owned();
        let truncated = cursor[..cut.index(cursor.len())].to_string();
        for c in [cursor.clone(), corrupted, truncated] {
            let q = encode_query(&[("cursor".to_string(), c.clone())]);
            check(get(&format!("/api/catalog/entities/by-query?{q}")).unwrap())?;
            check(post_json(
                "/api/catalog/entities/by-query",
                json!({"cursor": c}).to_string(),
            ))?;
        }
    }
}

/// GETs a by-query page and returns its next cursor.
fn check_page(uri: &str) -> Result<Option<String>, TestCaseError> {
    SHARED.with(|cell| {
        let mut slot = cell.borrow_mut();
        let shared = slot.get_or_insert_with(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let fixture = rt.block_on(fixture());
            Shared { rt, fixture }
        });
        let reply = shared
            .rt
            .block_on(call(&shared.fixture.app, Method::GET, uri, None));
        prop_assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
        Ok(reply.body["pageInfo"]["nextCursor"]
            .as_str()
            .map(str::to_string))
    })
}

/// Nesting far past serde_json's recursion limit, in a body and inside a cursor: refused with 400, no
/// stack overflow. Just under the limit it is served.
#[test]
fn deeply_nested_predicates_are_refused_not_crashed() {
    for depth in [100usize, 127, 200, 100_000] {
        let query = format!("{}{{}}{}", "{\"$not\":".repeat(depth), "}".repeat(depth));
        let status = check(post_json(
            "/api/catalog/entities/by-query",
            format!("{{\"query\":{query}}}"),
        ))
        .unwrap();
        assert!(status == 200 || status == 400, "depth {depth}: {status}");
        let cursor = b64(&format!(
            "{{\"orderFields\":[{{\"field\":\"metadata.name\",\"order\":\"asc\"}}],\"filter\":{query},\"orderFieldValues\":[],\"isPrevious\":false}}"
        ));
        // In the body: a URI this long is refused before it reaches the router.
        let status = check(post_json(
            "/api/catalog/entities/by-query",
            json!({ "cursor": cursor }).to_string(),
        ))
        .unwrap();
        assert!(
            matches!(status, 200 | 400 | 413),
            "cursor depth {depth}: {status}"
        );
    }
    let arrays = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let status = check(post_json(
        "/api/catalog/entities/by-query",
        format!("{{\"query\":{{\"kind\":{arrays}}}}}"),
    ))
    .unwrap();
    assert_eq!(status, 400);
}
