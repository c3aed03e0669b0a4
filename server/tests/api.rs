//! The HTTP API driven through the router (no socket), plus one run of the real server on 127.0.0.1:0.

mod common;

use axum::http::{header, Method, StatusCode};
use common::*;
use serde_json::{json, Value};

// ---- health, routing, errors ----

#[tokio::test]
async fn health_needs_no_credentials() {
    let f = fixture().await;
    for path in [
        "/.backstage/health/v1/readiness",
        "/.backstage/health/v1/liveness",
    ] {
        let r = call_as(&f.app, None, Method::GET, path, None).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body, json!({"status": "ok"}));
    }
}

#[tokio::test]
async fn unknown_routes_get_the_error_shape() {
    let f = fixture().await;
    let r = call(&f.app, Method::GET, "/api/catalog/nope?x=1", None).await;
    r.error(404, "NotFoundError");
    assert_eq!(
        r.body["request"],
        json!({"method": "GET", "url": "/api/catalog/nope?x=1"})
    );
    let r = call(&f.app, Method::GET, "/elsewhere", None).await;
    r.error(404, "NotFoundError");
    let r = call(&f.app, Method::PATCH, "/api/catalog/entities", None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.body["response"]["statusCode"], 405);
}

// ---- entities ----

#[tokio::test]
async fn legacy_entities_list_all_and_filter_fields_order() {
    let f = fixture().await;
    let r = call(&f.app, Method::GET, "/api/catalog/entities", None).await;
    assert_eq!(r.status, StatusCode::OK);
    // The catalog's entities and the Location entity generated for the root.
    assert_eq!(r.body.as_array().unwrap().len(), CATALOG_SIZE + 1);
    assert!(r.headers.get(header::LINK).is_none());

    let r = call(
        &f.app,
        Method::GET,
        "/api/catalog/entities?filter=kind=component,spec.type=service&fields=metadata.name&order=desc:metadata.name",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(names(&r.body), ["svc-d", "svc-b", "svc-a"]);
    assert!(r.body[0].get("spec").is_none());
}

#[tokio::test]
async fn legacy_entities_page_with_link_headers() {
    let f = fixture().await;
    let mut uri =
        "/api/catalog/entities?limit=2&order=asc:metadata.name&filter=kind=component,kind=api,kind=group"
            .to_string();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let r = call(&f.app, Method::GET, &uri, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert!(r.body.as_array().unwrap().len() <= 2);
        seen.extend(names(&r.body));
        pages += 1;
        assert!(pages < 10, "paging does not end");
        let Some(link) = r.headers.get(header::LINK) else {
            break;
        };
        let link = link.to_str().unwrap();
        // Backstage's link is relative to the catalog router's mount (`req.url` in Express), with the
        // query re-serialised form-encoded and `after` replaced in place or appended.
        assert!(
            link.starts_with(
                "</entities?limit=2&order=asc%3Ametadata.name&filter=kind%3Dcomponent%2Ckind%3Dapi%2Ckind%3Dgroup&after="
            ),
            "{link}"
        );
        assert!(link.ends_with(">; rel=\"next\""), "{link}");
        uri = format!("/api/catalog{}", &link[1..link.find('>').unwrap()]);
    }
    assert_eq!(
        seen,
        ["api-a", "svc-a", "svc-b", "svc-c", "svc-d", "team-a"]
    );

    let r = call(&f.app, Method::GET, "/api/catalog/entities?limit=2&offset=5&order=asc:metadata.name&filter=kind=component,kind=api,kind=group", None).await;
    assert_eq!(names(&r.body), ["team-a"]);

    // `offset` is dropped from the link and `after` takes the place of the first one.
    let r = call(
        &f.app,
        Method::GET,
        "/api/catalog/entities?offset=1&limit=1&fields=metadata.name&order=asc:metadata.name",
        None,
    )
    .await;
    let link = r.headers[header::LINK].to_str().unwrap().to_string();
    let (head, tail) = link.split_once("&after=").unwrap();
    assert_eq!(
        head,
        "</entities?limit=1&fields=metadata.name&order=asc%3Ametadata.name"
    );
    assert!(
        tail.ends_with(">; rel=\"next\"") && !tail.contains('&'),
        "{link}"
    );
    let after = &link[link.find("&after=").unwrap() + 7..link.find('>').unwrap()];
    let r = call(
        &f.app,
        Method::GET,
        &format!("/api/catalog/entities?after={after}&limit=1&after=x&fields=metadata.name"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let link = r.headers[header::LINK].to_str().unwrap();
    assert!(link.starts_with("</entities?after="), "{link}");
    assert!(
        link.ends_with("&limit=1&fields=metadata.name>; rel=\"next\""),
        "{link}"
    );
}

#[tokio::test]
async fn limit_and_offset_errors() {
    let f = fixture().await;
    for q in ["limit=abc", "limit=1.5", "limit=+2", "limit=02"] {
        let r = call(
            &f.app,
            Method::GET,
            &format!("/api/catalog/entities?{q}"),
            None,
        )
        .await;
        assert_eq!(r.error(400, "InputError"), "Invalid limit, not an integer");
    }
    let r = call(&f.app, Method::GET, "/api/catalog/entities?after=", None).await;
    assert_eq!(
        r.error(400, "InputError"),
        "Invalid after, must not be empty"
    );
    for q in ["limit=0", "limit=-3"] {
        let r = call(
            &f.app,
            Method::GET,
            &format!("/api/catalog/entities?{q}"),
            None,
        )
        .await;
        assert_eq!(
            r.error(400, "InputError"),
            "Invalid limit, must be greater than zero"
        );
        let r = call(
            &f.app,
            Method::GET,
            &format!("/api/catalog/entities/by-query?{q}"),
            None,
        )
        .await;
        assert_eq!(
            r.error(400, "InputError"),
            "Invalid limit, must be greater than zero"
        );
    }
    let r = call(&f.app, Method::GET, "/api/catalog/entities?offset=-1", None).await;
    assert_eq!(
        r.error(400, "InputError"),
        "Invalid offset, must be zero or greater"
    );
    let r = call(
        &f.app,
        Method::POST,
        "/api/catalog/entities/by-query",
        Some(json!({"limit": 0})),
    )
    .await;
    assert_eq!(
        r.error(400, "InputError"),
        "Invalid limit, must be greater than zero"
    );
}

#[tokio::test]
async fn by_query_get_pages_with_cursors() {
    let f = fixture().await;
    let r = call(
        &f.app,
        Method::GET,
        "/api/catalog/entities/by-query?filter=kind=component&limit=2&orderField=metadata.name,asc",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["totalItems"], 4);
    assert_eq!(names(&r.body["items"]), ["svc-a", "svc-b"]);
    let cursor = r.body["pageInfo"]["nextCursor"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(r.body["pageInfo"].get("prevCursor").is_none());

    let r = call(
        &f.app,
        Method::GET,
        &format!(
            "/api/catalog/entities/by-query?cursor={}",
            urlencode(&cursor)
        ),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(names(&r.body["items"]), ["svc-c", "svc-d"]);
    assert!(r.body["pageInfo"]["prevCursor"].is_string());
    assert!(r.body["pageInfo"].get("nextCursor").is_none());

    let r = call(
        &f.app,
        Method::GET,
        "/api/catalog/entities/by-query?cursor=garbage!",
        None,
    )
    .await;
    assert!(r.error(400, "InputError").starts_with("Malformed cursor"));

    let r = call(
        &f.app,
        Method::GET,
        "/api/catalog/entities/by-query?fullTextFilterTerm=SVC-C&fullTextFilterFields=metadata.name&totalItems=exclude",
        None,
    )
    .await;
    assert_eq!(names(&r.body["items"]), ["svc-c"]);
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn by_query_post_with_predicate() {
    let f = fixture().await;
    let r = call(
        &f.app,
        Method::POST,
        "/api/catalog/entities/by-query",
        Some(json!({
            "query": {"kind": "component", "spec.type": {"$in": ["website", "service"]}},
            "orderBy": [{"field": "metadata.name", "order": "desc"}],
            "limit": 3,
            "fields": ["metadata.name", "kind"]
        })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["totalItems"], 4);
    assert_eq!(names(&r.body["items"]), ["svc-d", "svc-c", "svc-b"]);
    assert!(r.body["items"][0].get("spec").is_none());
    let cursor = r.body["pageInfo"]["nextCursor"].as_str().unwrap();
    let r = call(
        &f.app,
        Method::POST,
        "/api/catalog/entities/by-query",
        Some(json!({"cursor": cursor})),
    )
    .await;
    assert_eq!(names(&r.body["items"]), ["svc-a"]);

    let r = call(
        &f.app,
        Method::POST,
        "/api/catalog/entities/by-query",
        Some(json!({"query": {"kind": {"$bogus": 1}}})),
    )
    .await;
    r.error(400, "InputError");
}

#[tokio::test]
async fn max_page_limit_is_clamped() {
    let f = fixture_with(json!({}), |s| s.limits.max_page_limit = 3).await;
    let r = call(
        &f.app,
        Method::GET,
        "/api/catalog/entities/by-query?limit=100",
        None,
    )
    .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 3);
    assert!(r.body["pageInfo"]["nextCursor"].is_string());
}

#[tokio::test]
async fn by_name_by_uid_and_delete() {
    let f = fixture().await;
    let r = call(
        &f.app,
        Method::GET,
        "/api/catalog/entities/by-name/component/default/svc-a",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["metadata"]["name"], "svc-a");
    assert!(r.body["relations"].is_array());
    let uid = r.body["metadata"]["uid"].as_str().unwrap().to_string();

    let r = call(
        &f.app,
        Method::GET,
        "/api/catalog/entities/by-name/component/default/nope",
        None,
    )
    .await;
    assert_eq!(
        r.error(404, "NotFoundError"),
        "No entity named 'nope' found, with kind 'component' in namespace 'default'"
    );

    let r = call(
        &f.app,
        Method::GET,
        &format!("/api/catalog/entities/by-uid/{uid}"),
        None,
    )
    .await;
    assert_eq!(r.body["metadata"]["name"], "svc-a");

    let r = call(
        &f.app,
        Method::DELETE,
        &format!("/api/catalog/entities/by-uid/{uid}"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.text.is_empty());
    let r = call(
        &f.app,
        Method::GET,
        &format!("/api/catalog/entities/by-uid/{uid}"),
        None,
    )
    .await;
    assert_eq!(
        r.error(404, "NotFoundError"),
        format!("No entity with uid {uid}")
    );
    let r = call(
        &f.app,
        Method::DELETE,
        &format!("/api/catalog/entities/by-uid/{uid}"),
        None,
    )
    .await;
    r.error(404, "NotFoundError");
}

#[tokio::test]
async fn ancestry_shape() {
    let f = fixture().await;
    let r = call(
        &f.app,
        Method::GET,
        "/api/catalog/entities/by-name/component/default/svc-b/ancestry",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["rootEntityRef"], "component:default/svc-b");
    assert_eq!(r.body["items"][0]["entity"]["metadata"]["name"], "svc-b");
    assert!(r.body["items"][0]["parentEntityRefs"].is_array());
    let r = call(
        &f.app,
        Method::GET,
        "/api/catalog/entities/by-name/component/default/ghost/ancestry",
        None,
    )
    .await;
    r.error(404, "NotFoundError");
}

#[tokio::test]
async fn by_refs_in_input_order_with_nulls_and_filter() {
    let f = fixture().await;
    let r = call(
        &f.app,
        Method::POST,
        "/api/catalog/entities/by-refs",
        Some(json!({"entityRefs": ["component:default/svc-c", "component:default/ghost", "api:default/api-a"],
                    "fields": ["metadata.name"]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["metadata"]["name"], "svc-c");
    assert!(items[1].is_null());
    assert_eq!(items[2]["metadata"]["name"], "api-a");
    assert!(items[0].get("spec").is_none());

    let r = call(
        &f.app,
        Method::POST,
        "/api/catalog/entities/by-refs?filter=kind=api",
        Some(json!({"entityRefs": ["component:default/svc-c", "api:default/api-a"]})),
    )
    .await;
    let items = r.body["items"].as_array().unwrap();
    assert!(items[0].is_null());
    assert_eq!(items[1]["metadata"]["name"], "api-a");

    let r = call(
        &f.app,
        Method::POST,
        "/api/catalog/entities/by-refs",
        Some(json!({"entityRefs": ["svc-c"]})),
    )
    .await;
    r.error(400, "InputError");
}

#[tokio::test]
async fn facets_get_and_post() {
    let f = fixture().await;
    let r = call(
        &f.app,
        Method::GET,
        "/api/catalog/entity-facets?facet=spec.type&filter=kind=component",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let types = &r.body["facets"]["spec.type"];
    assert!(types
        .as_array()
        .unwrap()
        .contains(&json!({"value": "service", "count": 3})));
    let r = call(
        &f.app,
        Method::POST,
        "/api/catalog/entity-facets",
        Some(json!({"facets": ["kind"], "query": {"spec.lifecycle": "production"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["facets"]["kind"].as_array().unwrap().len() >= 2);

    let r = call(&f.app, Method::GET, "/api/catalog/entity-facets", None).await;
    assert_eq!(r.error(400, "InputError"), "Missing facet parameter");
}

#[tokio::test]
async fn refresh_an_entity() {
    let f = fixture().await;
    let r = call(
        &f.app,
        Method::POST,
        "/api/catalog/refresh",
        Some(json!({"entityRef": "component:default/svc-a"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = call(
        &f.app,
        Method::POST,
        "/api/catalog/refresh",
        Some(json!({"entityRef": "component:default/ghost"})),
    )
    .await;
    r.error(404, "NotFoundError");
}

// ---- locations ----

#[tokio::test]
async fn location_lifecycle() {
    let f = fixture().await;
    let target = f.path("extra.yaml").display().to_string();
    let body = json!({"type": "file", "target": target});

    let r = call(
        &f.app,
        Method::POST,
        "/api/catalog/locations?dryRun=true",
        Some(body.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(names(&r.body["entities"]).contains(&"extra-svc".to_string()));
    assert_eq!(r.body["exists"], false);
    let r = call(
        &f.app,
        Method::GET,
        "/api/catalog/entities/by-name/component/default/extra-svc",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let r = call(
        &f.app,
        Method::POST,
        "/api/catalog/locations",
        Some(body.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["location"]["type"], "file");
    assert_eq!(r.body["location"]["target"], target.as_str());
    assert!(r.body.get("exists").is_none());
    // The file's entity and the Location entity generated for the registered root.
    let mut registered = names(&r.body["entities"]);
    registered.sort();
    assert_eq!(registered.len(), 2, "{registered:?}");
    assert_eq!(registered[0], "extra-svc");
    assert!(registered[1].starts_with("generated-"));
    let id = r.body["location"]["id"].as_str().unwrap().to_string();

    let r = call(
        &f.app,
        Method::GET,
        "/api/catalog/entities/by-name/component/default/extra-svc",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);

    let r = call(
        &f.app,
        Method::POST,
        "/api/catalog/locations",
        Some(body.clone()),
    )
    .await;
    r.error(409, "ConflictError");
    // The file changed since registration: onConflict=refresh re-reads it.
    std::fs::write(
        f.path("extra.yaml"),
        EXTRA.replace("lifecycle: production", "lifecycle: retired"),
    )
    .unwrap();
    let r = call(
        &f.app,
        Method::POST,
        "/api/catalog/locations?onConflict=refresh",
        Some(body.clone()),
    )
    .await;
    let r2 = call(
        &f.app,
        Method::GET,
        "/api/catalog/entities/by-name/component/default/extra-svc",
        None,
    )
    .await;
    assert_eq!(r2.body["spec"]["lifecycle"], "retired");
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["exists"], true);
    assert_eq!(r.body["location"]["id"], id.as_str());

    let r = call(&f.app, Method::GET, "/api/catalog/locations", None).await;
    assert_eq!(
        r.body,
        json!([{"data": {"id": id, "type": "file", "target": target}}])
    );
    let r = call(
        &f.app,
        Method::GET,
        &format!("/api/catalog/locations/{id}"),
        None,
    )
    .await;
    assert_eq!(r.body, json!({"id": id, "type": "file", "target": target}));
    let r = call(
        &f.app,
        Method::GET,
        "/api/catalog/locations/by-entity/component/default/extra-svc",
        None,
    )
    .await;
    assert_eq!(r.body["id"], id.as_str(), "{}", r.text);

    let r = call(
        &f.app,
        Method::DELETE,
        &format!("/api/catalog/locations/{id}"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = call(
        &f.app,
        Method::GET,
        &format!("/api/catalog/locations/{id}"),
        None,
    )
    .await;
    assert_eq!(
        r.error(404, "NotFoundError"),
        format!("Found no location with ID {id}")
    );
    let r = call(
        &f.app,
        Method::GET,
        "/api/catalog/entities/by-name/component/default/extra-svc",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let r = call(
        &f.app,
        Method::POST,
        "/api/catalog/locations?onConflict=maybe",
        Some(body),
    )
    .await;
    r.error(400, "InputError");
}

#[tokio::test]
async fn put_location_replaces_it() {
    let f = fixture().await;
    std::fs::write(
        f.path("other.yaml"),
        EXTRA.replace("extra-svc", "other-svc"),
    )
    .unwrap();
    let r = call(
        &f.app,
        Method::POST,
        "/api/catalog/locations",
        Some(json!({"type": "file", "target": f.path("extra.yaml")})),
    )
    .await;
    let id = r.body["location"]["id"].as_str().unwrap().to_string();
    let r = call(
        &f.app,
        Method::PUT,
        &format!("/api/catalog/locations/{id}"),
        Some(json!({"type": "file", "target": f.path("other.yaml")})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["target"], f.path("other.yaml").display().to_string());
    let r = call(
        &f.app,
        Method::GET,
        "/api/catalog/entities/by-name/component/default/other-svc",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = call(
        &f.app,
        Method::GET,
        "/api/catalog/entities/by-name/component/default/extra-svc",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// Registers `n` file locations, each holding one component `loc-svc-<i>`; returns their ids.
async fn register_locations(f: &Fixture, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let path = f.path(&format!("loc-{i}.yaml"));
        std::fs::write(
            &path,
            format!(
                "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {{name: loc-svc-{i}}}\nspec: {{type: service, lifecycle: production, owner: team-a}}\n"
            ),
        )
        .unwrap();
        let r = call(
            &f.app,
            Method::POST,
            "/api/catalog/locations",
            Some(json!({"type": "file", "target": path})),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        ids.push(r.body["location"]["id"].as_str().unwrap().to_string());
    }
    ids
}

#[tokio::test]
async fn locations_by_query_filters_and_pages() {
    let f = fixture().await;
    let mut ids = register_locations(&f, 5).await;
    ids.sort();
    let uri = "/api/catalog/locations/by-query";

    // No body at all: every location, in id order, Backstage's shape.
    let r = call(&f.app, Method::POST, uri, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["totalItems"], 5);
    assert_eq!(r.body["pageInfo"], json!({}));
    let got: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, ids);
    assert_eq!(r.body["items"][0]["type"], "file");
    assert!(r.body["items"][0].get("data").is_none());

    // Paged with a predicate (matched case-insensitively); the cursor carries it.
    let mut body = json!({
        "limit": 2,
        "query": {"$all": [
            {"TYPE": "FILE"},
            {"target": {"$hasPrefix": f.dir.path().display().to_string().to_uppercase()}},
            {"$not": {"target": {"$in": [f.path("loc-4.yaml").display().to_string()]}}}
        ]}
    });
    let mut seen = Vec::new();
    for page in 0.. {
        assert!(page < 5, "paging does not end");
        let r = call(&f.app, Method::POST, uri, Some(body)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["totalItems"], 4);
        assert!(r.body["items"].as_array().unwrap().len() <= 2);
        seen.extend(
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["target"].as_str().unwrap().to_string()),
        );
        match r.body["pageInfo"]["nextCursor"].as_str() {
            Some(cursor) => body = json!({ "cursor": cursor }),
            None => break,
        }
    }
    assert_eq!(seen.len(), 4);
    assert!(!seen.iter().any(|t| t.ends_with("loc-4.yaml")));

    let r = call(
        &f.app,
        Method::POST,
        uri,
        Some(json!({"query": {"id": ids[3]}})),
    )
    .await;
    assert_eq!(r.body["items"][0]["id"], ids[3].as_str());
    assert_eq!(r.body["totalItems"], 1);
}

#[tokio::test]
async fn locations_by_query_through_the_client() {
    use stagedoor_server::client::HttpPortal;
    use stagedoor_server::locations::LocationQueryRequest;
    let f = fixture().await;
    let mut ids = register_locations(&f, 3).await;
    ids.sort();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = f.app.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let client = HttpPortal::new(&format!("http://{addr}"), Some(TOKEN.into())).unwrap();
    let mut request = LocationQueryRequest {
        limit: Some(2.into()),
        query: Some(json!({"type": "file"})),
        cursor: None,
    };
    let mut seen = Vec::new();
    loop {
        let page = client.query_locations(&request).await.unwrap();
        assert_eq!(page.total_items, 3);
        seen.extend(page.items.into_iter().map(|l| l.id));
        match page.page_info.next_cursor {
            Some(cursor) => {
                request = LocationQueryRequest {
                    cursor: Some(cursor),
                    ..Default::default()
                }
            }
            None => break,
        }
    }
    assert_eq!(seen, ids);
}

#[tokio::test]
async fn locations_by_query_errors_are_backstage_input_errors() {
    let f = fixture().await;
    let uri = "/api/catalog/locations/by-query";
    for (body, message) in [
        (json!({"limit": 0}), "Limit must be a positive integer >= 1"),
        (
            json!({"limit": 1.5}),
            "Limit must be a positive integer >= 1",
        ),
        (json!({"query": "file"}), "Query must be an object"),
        (json!({"cursor": ""}), "Cursor cannot be empty"),
        (
            json!({"cursor": "!!not-base64!!"}),
            "Malformed cursor, unknown encoding",
        ),
    ] {
        let r = call(&f.app, Method::POST, uri, Some(body)).await;
        assert_eq!(r.error(400, "InputError"), message);
    }
    let r = call(
        &f.app,
        Method::POST,
        uri,
        Some(json!({"query": {"type": {"$regex": "x"}}})),
    )
    .await;
    assert!(r.error(400, "InputError").starts_with("Invalid query: "));
    let r = call(&f.app, Method::POST, uri, Some(json!({"bogus": 1}))).await;
    r.error(400, "InputError");
    // The other methods reach `/locations/:id` with the id `by-query`, as in Backstage's router.
    let r = call(&f.app, Method::GET, uri, None).await;
    r.error(404, "NotFoundError");
}

#[tokio::test]
async fn locations_by_query_is_a_read() {
    // Allowed for a read-only token and in readonly mode.
    let f = fixture_with(json!({"catalog": {"readonly": true}}), |_| {}).await;
    let r = call_as(
        &f.app,
        Some(READ_TOKEN),
        Method::POST,
        "/api/catalog/locations/by-query",
        Some(json!({"query": {"type": "url"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"items": [], "totalItems": 0, "pageInfo": {}})
    );
    let r = call_as(
        &f.app,
        None,
        Method::POST,
        "/api/catalog/locations/by-query",
        Some(json!({})),
    )
    .await;
    r.error(401, "AuthenticationError");
}

#[tokio::test]
async fn disallowed_location_type_is_input_error() {
    let f = fixture().await;
    let r = call(
        &f.app,
        Method::POST,
        "/api/catalog/locations",
        Some(json!({"type": "github-org", "target": "x"})),
    )
    .await;
    assert!(r
        .error(400, "InputError")
        .starts_with("Registered locations must be of an allowed type"));
}

#[tokio::test]
async fn readonly_refuses_location_writes() {
    let f = fixture_with(json!({"catalog": {"readonly": true}}), |_| {}).await;
    let r = call(
        &f.app,
        Method::POST,
        "/api/catalog/locations",
        Some(json!({"type": "file", "target": f.path("extra.yaml")})),
    )
    .await;
    assert_eq!(
        r.error(403, "NotAllowedError"),
        "This operation not allowed in readonly mode"
    );
    let r = call(
        &f.app,
        Method::DELETE,
        "/api/catalog/locations/some-id",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(&f.app, Method::GET, "/api/catalog/entities", None).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn analyze_location_lists_existing_entity_files() {
    let f = fixture().await;
    let r = call(
        &f.app,
        Method::POST,
        "/api/catalog/analyze-location",
        Some(json!({"location": {"type": "file", "target": f.path("extra.yaml")}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let files = r.body["existingEntityFiles"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["entity"]["metadata"]["name"], "extra-svc");
    assert_eq!(files[0]["isRegistered"], false);
    assert_eq!(files[0]["location"]["type"], "file");
    assert_eq!(r.body["generateEntities"], json!([]));
}

#[tokio::test]
async fn validate_entity() {
    let f = fixture().await;
    let good = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
        "metadata": {"name": "ok"}, "spec": {"type": "service", "lifecycle": "x", "owner": "me"}});
    let r = call(
        &f.app,
        Method::POST,
        "/api/catalog/validate-entity",
        Some(json!({"entity": good, "location": "url:https://example.com/catalog-info.yaml"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let bad = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
        "metadata": {"name": "not valid!"}, "spec": {}});
    let r = call(
        &f.app,
        Method::POST,
        "/api/catalog/validate-entity",
        Some(json!({"entity": bad, "location": "url:https://example.com/x.yaml"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.body["errors"][0]["name"], "InputError");
    assert!(r.body["errors"][0]["message"].is_string());

    let r = call(
        &f.app,
        Method::POST,
        "/api/catalog/validate-entity",
        Some(json!({"entity": good, "location": "file:/x.yaml"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.body["errors"][0]["message"],
        "Invalid location ref file:/x.yaml, only 'url:<target>' is supported, e.g. url:https://host/path"
    );
    let r = call_raw(
        &f.app,
        Method::POST,
        "/api/catalog/validate-entity",
        Some("application/json"),
        "[]",
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.body["errors"][0]["message"],
        "Expected body to be a JSON object"
    );
}

// ---- bad input and limits ----

#[tokio::test]
async fn body_checks_use_backstage_messages() {
    let f = fixture().await;
    let uri = "/api/catalog/entities/by-refs";
    let r = call_raw(&f.app, Method::POST, uri, None, r#"{"entityRefs":[]}"#).await;
    assert_eq!(r.error(400, "InputError"), "Content-Type missing");
    let r = call_raw(
        &f.app,
        Method::POST,
        uri,
        Some("text/plain"),
        r#"{"entityRefs":[]}"#,
    )
    .await;
    assert_eq!(r.error(400, "InputError"), "Illegal Content-Type");
    let r = call_raw(&f.app, Method::POST, uri, Some("application/json"), "{").await;
    assert!(r
        .error(400, "InputError")
        .starts_with("Malformed request: "));
    let r = call_raw(&f.app, Method::POST, uri, Some("application/json"), "[1,2]").await;
    assert_eq!(
        r.error(400, "InputError"),
        "Expected body to be a JSON object"
    );
    let r = call_raw(&f.app, Method::POST, uri, Some("application/json"), "").await;
    assert_eq!(r.error(400, "InputError"), "Empty request body");
    let r = call_raw(
        &f.app,
        Method::POST,
        uri,
        Some("application/json"),
        r#"{"entityRefs":[],"bogus":1}"#,
    )
    .await;
    let message = r.error(400, "InputError");
    assert!(
        message.starts_with("Malformed request body (did you remember to specify an application/json content type?), unknown field `bogus`"),
        "{message}"
    );
    let r = call(
        &f.app,
        Method::POST,
        "/api/catalog/locations",
        Some(json!({})),
    )
    .await;
    assert_eq!(r.error(400, "InputError"), "Empty request body");
    let r = call(
        &f.app,
        Method::POST,
        "/api/catalog/locations",
        Some(json!({"type": "url", "target": "https://example.com/x.yaml", "extra": true})),
    )
    .await;
    let message = r.error(400, "InputError");
    assert!(
        message.starts_with("Malformed request: unknown field `extra`"),
        "{message}"
    );
}

#[tokio::test]
async fn invalid_filter_is_input_error() {
    let f = fixture().await;
    let r = call(&f.app, Method::GET, "/api/catalog/entities?filter==x", None).await;
    r.error(400, "InputError");
}

#[tokio::test]
async fn oversized_body_is_413() {
    let f = fixture_with(json!({}), |s| s.limits.max_body_bytes = 64).await;
    let refs: Vec<String> = (0..50).map(|i| format!("component:default/c{i}")).collect();
    let r = call(
        &f.app,
        Method::POST,
        "/api/catalog/entities/by-refs",
        Some(json!({"entityRefs": refs})),
    )
    .await;
    r.error(413, "PayloadTooLargeError");
}

#[tokio::test]
async fn long_query_string_is_414() {
    let f = fixture().await;
    let filter = "filter=kind=component&".repeat(2000);
    let r = call(
        &f.app,
        Method::GET,
        &format!("/api/catalog/entities?{filter}"),
        None,
    )
    .await;
    assert!(r
        .error(414, "URITooLongError")
        .starts_with("Query string too long"));
}

// ---- auth ----

#[tokio::test]
async fn missing_or_wrong_token_is_401() {
    let f = fixture().await;
    let r = call_as(&f.app, None, Method::GET, "/api/catalog/entities", None).await;
    assert_eq!(r.error(401, "AuthenticationError"), "Missing credentials");
    let r = call_as(
        &f.app,
        Some("not-the-token"),
        Method::GET,
        "/api/catalog/entities",
        None,
    )
    .await;
    assert_eq!(r.error(401, "AuthenticationError"), "Illegal token");
    assert!(!r.text.contains("not-the-token") || r.text.contains("\"url\""));
    let r = call_as(
        &f.app,
        Some(TOKEN),
        Method::GET,
        "/api/catalog/entities",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    // Unknown /api routes need credentials only when they exist; a 404 says nothing either way.
    let r = call_as(&f.app, None, Method::POST, "/api/catalog/locations", None).await;
    r.error(401, "AuthenticationError");
}

#[tokio::test]
async fn restricted_token_reads_but_cannot_write() {
    let f = fixture().await;
    let r = call_as(
        &f.app,
        Some(READ_TOKEN),
        Method::GET,
        "/api/catalog/entities",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = call_as(
        &f.app,
        Some(READ_TOKEN),
        Method::POST,
        "/api/catalog/entities/by-query",
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let uid = call(
        &f.app,
        Method::GET,
        "/api/catalog/entities/by-name/component/default/svc-a",
        None,
    )
    .await
    .body["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    let writes: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/api/catalog/locations".into(),
            Some(json!({"type": "file", "target": f.path("extra.yaml")})),
        ),
        (Method::DELETE, "/api/catalog/locations/x".into(), None),
        (
            Method::PUT,
            "/api/catalog/locations/x".into(),
            Some(json!({"type": "file", "target": "/x"})),
        ),
        (
            Method::DELETE,
            format!("/api/catalog/entities/by-uid/{uid}"),
            None,
        ),
        (
            Method::POST,
            "/api/catalog/refresh".into(),
            Some(json!({"entityRef": "component:default/svc-a"})),
        ),
    ];
    for (method, uri, body) in writes {
        let r = call_as(&f.app, Some(READ_TOKEN), method.clone(), &uri, body).await;
        r.error(403, "NotAllowedError");
    }
    // Nothing was deleted.
    let r = call(
        &f.app,
        Method::GET,
        &format!("/api/catalog/entities/by-uid/{uid}"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn disabled_default_policy_lets_anonymous_requests_in() {
    let f = fixture_with(
        json!({"backend": {"auth": {"dangerouslyDisableDefaultAuthPolicy": true}}}),
        |_| {},
    )
    .await;
    let r = call_as(&f.app, None, Method::GET, "/api/catalog/entities", None).await;
    assert_eq!(r.status, StatusCode::OK);
    // A token that is sent must still be valid.
    let r = call_as(
        &f.app,
        Some("wrong-token"),
        Method::GET,
        "/api/catalog/entities",
        None,
    )
    .await;
    assert_eq!(r.error(401, "AuthenticationError"), "Illegal token");
}

#[tokio::test]
async fn token_for_another_plugin_is_403() {
    let f = fixture_with(
        json!({"backend": {"auth": {"externalAccess": [
            {"type": "static", "options": {"token": "scaffolder-only-1", "subject": "s"},
             "accessRestrictions": [{"plugin": "scaffolder"}]}]}}}),
        |_| {},
    )
    .await;
    let r = call_as(
        &f.app,
        Some("scaffolder-only-1"),
        Method::GET,
        "/api/catalog/entities",
        None,
    )
    .await;
    assert_eq!(
        r.error(403, "NotAllowedError"),
        "This token's access is restricted to plugin(s) 'scaffolder'"
    );
}

#[test]
fn server_binary_help() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stagedoor-server"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--config"), "{help}");
}

#[test]
fn server_binary_without_config_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stagedoor-server"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: no configuration"), "{err}");
}

// ---- the real server ----

#[tokio::test]
async fn serves_on_a_socket_and_shuts_down() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("catalog.yaml"), CATALOG).unwrap();
    let config = common::config(dir.path(), json!({}));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(stagedoor_server::api::serve_on(listener, config, async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let base = format!("http://{address}");
    let health = client
        .get(format!("{base}/.backstage/health/v1/readiness"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let entity: Value = client
        .get(format!(
            "{base}/api/catalog/entities/by-name/component/default/svc-a"
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(entity["metadata"]["name"], "svc-a");
    let denied = client
        .get(format!("{base}/api/catalog/entities"))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 401);
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

// ---- no input makes it fall over ----

/// A small deterministic generator, so a failure replays.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

#[tokio::test]
async fn random_queries_and_cursors_never_fail_the_server() {
    use base64::Engine as _;
    let f = fixture().await;
    let keys = [
        "filter",
        "fields",
        "limit",
        "offset",
        "after",
        "cursor",
        "orderField",
        "order",
        "fullTextFilterTerm",
        "fullTextFilterFields",
        "totalItems",
        "facet",
    ];
    let values = [
        "",
        "=",
        "==",
        ",",
        "kind",
        "kind=",
        "kind=component",
        "a=b,c",
        "metadata.name,desc",
        "asc:metadata.name",
        "desc:",
        "0",
        "-1",
        "99999999999999999999",
        "1e3",
        "%00",
        "%FF",
        "relations.ownedBy=group:default/team-a",
        "spec.type=service,kind=component",
        "[0]",
        "metadata.annotations[x]",
        "\u{1F600}",
        "include",
        "exclude",
        "x,y,z",
    ];
    let cursors = [
        json!({}),
        json!({"orderFields": "x"}),
        json!({"orderFields": [], "orderFieldValues": [], "isPrevious": false}),
        json!({"orderFields": [{"field": "metadata.name", "order": "sideways"}], "orderFieldValues": [null], "isPrevious": true}),
        json!([1, 2, 3]),
        json!("string"),
    ];
    let paths = [
        "/api/catalog/entities",
        "/api/catalog/entities/by-query",
        "/api/catalog/entity-facets",
    ];
    let mut rng = XorShift(0x5eed_cafe_f00d_beef);
    for round in 0..400 {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for _ in 0..(rng.next() % 5) {
            let key = rng.pick(&keys);
            let value = if key == "cursor" || key == "after" {
                let c = &cursors[(rng.next() % cursors.len() as u64) as usize];
                base64::engine::general_purpose::STANDARD.encode(c.to_string())
            } else {
                rng.pick(&values).to_string()
            };
            pairs.push((key.to_string(), value));
        }
        let qs = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        let path = rng.pick(&paths);
        let uri = format!("{path}?{qs}");
        let r = call(&f.app, Method::GET, &uri, None).await;
        assert!(
            r.status.as_u16() < 500,
            "round {round}: {uri} -> {} {}",
            r.status,
            r.text
        );
        if r.status.is_client_error() {
            r.error(r.status.as_u16(), r.body["error"]["name"].as_str().unwrap());
        }
    }
}

/// A random JSON value of bounded depth, biased towards predicate-looking objects.
fn random_json(rng: &mut XorShift, depth: u32) -> Value {
    let keys = [
        "kind",
        "$all",
        "$any",
        "$not",
        "$exists",
        "$in",
        "$contains",
        "$hasPrefix",
        "spec.type",
        "metadata.name",
        "",
        "relations.ownedBy",
    ];
    match (rng.next() % if depth == 0 { 4 } else { 7 }, depth) {
        (0, _) => Value::Null,
        (1, _) => json!(rng.next().is_multiple_of(3)),
        (2, _) => json!(rng.next() as i64 % 1000 - 500),
        (3, _) => json!(rng.pick(&["component", "", "x", "service", "$in"])),
        (4 | 5, d) => {
            let mut map = serde_json::Map::new();
            for _ in 0..(rng.next() % 3) {
                map.insert(rng.pick(&keys).to_string(), random_json(rng, d - 1));
            }
            Value::Object(map)
        }
        (_, d) => Value::Array(
            (0..rng.next() % 3)
                .map(|_| random_json(rng, d - 1))
                .collect(),
        ),
    }
}

#[tokio::test]
async fn random_bodies_never_fail_the_server() {
    let f = fixture().await;
    let mut rng = XorShift(0x0dd_ba11_5eed);
    for round in 0..300 {
        let (path, body) = match rng.next() % 4 {
            0 => (
                "/api/catalog/entities/by-query",
                json!({"query": random_json(&mut rng, 3), "limit": random_json(&mut rng, 0)}),
            ),
            1 => (
                "/api/catalog/entity-facets",
                json!({"facets": ["kind"], "query": random_json(&mut rng, 3)}),
            ),
            2 => (
                "/api/catalog/entities/by-refs",
                json!({"entityRefs": [rng.pick(&["", ":", "a:b/c", "component:default/svc-a", "/x", "k:"])],
                       "query": random_json(&mut rng, 2)}),
            ),
            _ => ("/api/catalog/entities/by-query", random_json(&mut rng, 3)),
        };
        let r = call(&f.app, Method::POST, path, Some(body.clone())).await;
        assert!(
            r.status.as_u16() < 500,
            "round {round}: {path} {body} -> {} {}",
            r.status,
            r.text
        );
    }
}
