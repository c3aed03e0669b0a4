//! `backend.auth.externalAccess` entries of `type: legacy` (HS256 with a shared secret) and `type: jwks`
//! (keys from a JWKS served here on 127.0.0.1:0, made from an EC P-256 key generated in the test).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use common::*;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};

const SECRET: &[u8] = b"a legacy shared secret";
const ENTITIES: &str = "/api/catalog/entities?limit=1";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn hs256(secret: &[u8], claims: Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

async fn legacy_fixture() -> Fixture {
    fixture_with(
        json!({"backend": {"auth": {"externalAccess": [
            {"type": "static", "options": {"token": TOKEN, "subject": "tests"}},
            {"type": "legacy", "options": {"secret": b64(b"another secret"), "subject": "other"}},
            {"type": "legacy", "options": {"secret": b64(SECRET), "subject": "legacy-caller"}},
            {"type": "legacy", "options": {"secret": b64(b"read only secret"), "subject": "reader"},
             "accessRestrictions": [{"plugin": "catalog", "permissionAttribute": {"action": "read"}}]}
        ]}}}),
        |_| {},
    )
    .await
}

#[tokio::test]
async fn legacy_tokens_signed_with_a_configured_secret_are_accepted() {
    let f = legacy_fixture().await;
    for claims in [
        json!({"sub": "backstage-server", "exp": now() + 3600}),
        // jose checks `exp` only when it is there, and so does Backstage.
        json!({"sub": "backstage-server"}),
    ] {
        let token = hs256(SECRET, claims);
        let r = call_as(&f.app, Some(&token), Method::GET, ENTITIES, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    // The static token still works beside them.
    let r = call(&f.app, Method::GET, ENTITIES, None).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn bad_legacy_tokens_are_401() {
    let f = legacy_fixture().await;
    let exp = now() + 3600;
    let cases = [
        (
            hs256(
                b"wrong secret",
                json!({"sub": "backstage-server", "exp": exp}),
            ),
            "Illegal token",
        ),
        (
            hs256(SECRET, json!({"sub": "someone-else", "exp": exp})),
            "Illegal token",
        ),
        (hs256(SECRET, json!({"exp": exp})), "Illegal token"),
        (
            hs256(
                SECRET,
                json!({"sub": "backstage-server", "aud": "catalog", "exp": exp}),
            ),
            "Illegal token",
        ),
        (
            hs256(
                SECRET,
                json!({"sub": "backstage-server", "exp": now() - 10}),
            ),
            "\"exp\" claim timestamp check failed",
        ),
        (
            hs256(
                SECRET,
                json!({"sub": "backstage-server", "nbf": now() + 600}),
            ),
            "\"nbf\" claim timestamp check failed",
        ),
        (
            encode(
                &Header::new(Algorithm::HS384),
                &json!({"sub": "backstage-server", "exp": exp}),
                &EncodingKey::from_secret(SECRET),
            )
            .unwrap(),
            "Illegal token",
        ),
    ];
    for (token, message) in cases {
        let r = call_as(&f.app, Some(&token), Method::GET, ENTITIES, None).await;
        assert_eq!(r.error(401, "AuthenticationError"), message);
    }
    // A tampered payload keeps the signature of another one.
    let good = hs256(SECRET, json!({"sub": "backstage-server", "exp": exp}));
    let mut parts: Vec<&str> = good.split('.').collect();
    let forged = b64url(
        json!({"sub": "backstage-server", "exp": exp + 1})
            .to_string()
            .as_bytes(),
    );
    parts[1] = &forged;
    let r = call_as(&f.app, Some(&parts.join(".")), Method::GET, ENTITIES, None).await;
    r.error(401, "AuthenticationError");
}

#[tokio::test]
async fn legacy_access_restrictions_apply() {
    let f = legacy_fixture().await;
    let token = hs256(
        b"read only secret",
        json!({"sub": "backstage-server", "exp": now() + 60}),
    );
    let r = call_as(&f.app, Some(&token), Method::GET, ENTITIES, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = call_as(
        &f.app,
        Some(&token),
        Method::POST,
        "/api/catalog/locations",
        Some(json!({"type": "file", "target": f.path("extra.yaml")})),
    )
    .await;
    assert_eq!(
        r.error(403, "NotAllowedError"),
        "This token's access restrictions do not permit catalog.location.create"
    );
}

// ---- jwks ----

struct Signer {
    kid: String,
    pkcs8: Vec<u8>,
    jwk: Value,
}

impl Signer {
    fn generate(kid: &str) -> Signer {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        // An uncompressed point: 0x04, then x and y.
        let point = pair.public_key().as_ref();
        assert_eq!(point.len(), 65);
        Signer {
            kid: kid.into(),
            pkcs8: pkcs8.as_ref().to_vec(),
            jwk: json!({
                "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
                "x": b64url(&point[1..33]), "y": b64url(&point[33..]),
            }),
        }
    }

    fn sign(&self, claims: Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        encode(&header, &claims, &EncodingKey::from_ec_der(&self.pkcs8)).unwrap()
    }
}

/// A JWKS endpoint whose key list the test can change, counting fetches.
struct KeyServer {
    url: String,
    keys: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<AtomicUsize>,
}

async fn key_server(keys: Vec<Value>) -> KeyServer {
    let keys = Arc::new(Mutex::new(keys));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (k, n) = (keys.clone(), fetches.clone());
    let app = axum::Router::new().route(
        "/.well-known/jwks.json",
        axum::routing::get(move || {
            let (k, n) = (k.clone(), n.clone());
            async move {
                n.fetch_add(1, Ordering::SeqCst);
                let keys = k.lock().unwrap().clone();
                axum::Json(json!({ "keys": keys }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    KeyServer {
        url: format!("http://{addr}/.well-known/jwks.json"),
        keys,
        fetches,
    }
}

const ISSUER: &str = "https://idp.test";
const AUDIENCE: &str = "stagedoor";

fn claims(sub: &str) -> Value {
    json!({"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 600})
}

async fn jwks_fixture(url: &str, cooldown: Duration) -> Fixture {
    fixture_with(
        json!({"backend": {"auth": {"externalAccess": [
            {"type": "jwks", "options": {"url": url, "issuer": ISSUER, "audience": [AUDIENCE, "other"],
             "algorithm": "ES256", "subjectPrefix": "idp"},
             "accessRestrictions": [{"plugin": "catalog", "permission": ["catalog.entity.read", "catalog.location.read"]}]}
        ]}}}),
        |settings| settings.external.set_jwks_refetch_cooldown(cooldown),
    )
    .await
}

#[tokio::test]
async fn jwks_tokens_are_verified_with_issuer_audience_and_cached_keys() {
    let first = Signer::generate("key-1");
    let server = key_server(vec![first.jwk.clone()]).await;
    let f = jwks_fixture(&server.url, Duration::ZERO).await;

    let token = first.sign(claims("ci-bot"));
    for _ in 0..3 {
        let r = call_as(&f.app, Some(&token), Method::GET, ENTITIES, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    // Fetched once, then served from the cache.
    assert_eq!(server.fetches.load(Ordering::SeqCst), 1);

    let mut refused = vec![
        first.sign(
            json!({"sub": "x", "iss": "https://elsewhere", "aud": AUDIENCE, "exp": now() + 60}),
        ),
        first.sign(json!({"sub": "x", "aud": AUDIENCE, "exp": now() + 60})),
        first.sign(json!({"sub": "x", "iss": ISSUER, "aud": "not-us", "exp": now() + 60})),
        first.sign(json!({"sub": "x", "iss": ISSUER, "exp": now() + 60})),
        first.sign(json!({"sub": "x", "iss": ISSUER, "aud": AUDIENCE, "exp": now() - 60})),
        first.sign(json!({"iss": ISSUER, "aud": AUDIENCE, "exp": now() + 60})),
        // Signed by a key the set does not hold, under a kid it does.
        Signer::generate("key-1").sign(claims("x")),
    ];
    // The right claims under HS256 with the key's public coordinates as the secret.
    refused.push(hs256(
        first.jwk["x"].as_str().unwrap().as_bytes(),
        claims("x"),
    ));
    for token in refused {
        let r = call_as(&f.app, Some(&token), Method::GET, ENTITIES, None).await;
        assert_eq!(r.error(401, "AuthenticationError"), "Illegal token");
    }

    // Access restrictions apply to JWKS callers too.
    let r = call_as(
        &f.app,
        Some(&token),
        Method::DELETE,
        "/api/catalog/locations/x",
        None,
    )
    .await;
    r.error(403, "NotAllowedError");
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_key_set() {
    let first = Signer::generate("key-1");
    let second = Signer::generate("key-2");
    let server = key_server(vec![first.jwk.clone()]).await;
    let f = jwks_fixture(&server.url, Duration::ZERO).await;
    let r = call_as(
        &f.app,
        Some(&first.sign(claims("a"))),
        Method::GET,
        ENTITIES,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(server.fetches.load(Ordering::SeqCst), 1);

    // The identity provider rotates its keys; a token under the new kid makes us fetch again.
    server.keys.lock().unwrap().push(second.jwk.clone());
    let r = call_as(
        &f.app,
        Some(&second.sign(claims("b"))),
        Method::GET,
        ENTITIES,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(server.fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn unknown_kids_do_not_refetch_within_the_cooldown() {
    let first = Signer::generate("key-1");
    let server = key_server(vec![first.jwk.clone()]).await;
    let f = jwks_fixture(&server.url, Duration::from_secs(3600)).await;
    let r = call_as(
        &f.app,
        Some(&first.sign(claims("a"))),
        Method::GET,
        ENTITIES,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    for i in 0..5 {
        let token = Signer::generate(&format!("made-up-{i}")).sign(claims("x"));
        let r = call_as(&f.app, Some(&token), Method::GET, ENTITIES, None).await;
        r.error(401, "AuthenticationError");
    }
    assert_eq!(server.fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_unreachable_key_set_refuses_tokens_and_is_reported() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/jwks");
    let f = jwks_fixture(&url, Duration::ZERO).await;
    let signer = Signer::generate("key-1");
    let r = call_as(
        &f.app,
        Some(&signer.sign(claims("a"))),
        Method::GET,
        ENTITIES,
        None,
    )
    .await;
    assert_eq!(r.error(401, "AuthenticationError"), "Illegal token");

    let config = config(
        f.dir.path(),
        json!({"backend": {"auth": {"externalAccess": [
            {"type": "jwks", "options": {"url": url}}
        ]}}}),
    );
    let settings = stagedoor_server::api::ApiSettings::from_config(&config).unwrap();
    let failures = settings.external.prefetch().await;
    assert_eq!(failures.len(), 1);
    assert!(
        failures[0].starts_with("backend.auth.externalAccess[0]: cannot fetch http://127.0.0.1:")
            && failures[0].contains("its tokens are refused"),
        "{failures:?}"
    );
}

#[tokio::test]
async fn bad_external_access_config_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        json!({"backend": {"auth": {"externalAccess": [
            {"type": "static", "options": {"token": TOKEN, "subject": "tests"}},
            {"type": "legacy", "options": {"secret": "***", "subject": "x"}}
        ]}}}),
    );
    let e = stagedoor_server::api::ApiSettings::from_config(&config).unwrap_err();
    assert_eq!(
        e.to_string(),
        "backend.auth.externalAccess[1].options.secret: Illegal secret, must be a valid base64 string"
    );
}
