//! A remote JSON Web Key Set, fetched over HTTP and cached, for `backend.auth.externalAccess` entries of
//! `type: jwks`. As `jose`'s `createRemoteJWKSet` (what Backstage uses): the set is fetched on first use,
//! kept for ten minutes, and fetched again early when a token names a key it does not hold, at most once
//! per cooldown, so a flood of tokens with made-up `kid`s cannot turn into a flood of fetches.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, Header};
use serde_json::Value;
use tokio::sync::Mutex;
use url::Url;

/// How long a fetched set is used before it is fetched again (jose's `cacheMaxAge`).
const MAX_AGE: Duration = Duration::from_secs(600);
/// The least time between two fetches caused by an unknown key (jose's `cooldownDuration`).
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(30);
/// Bound on one fetch (jose's `timeoutDuration`).
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// A key set larger than this is refused rather than read whole.
const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("cannot fetch {url}: {cause}")]
    Fetch { url: String, cause: String },
    #[error("{url} answered {status}")]
    Status { url: String, status: u16 },
    #[error("{url} is not a JSON Web Key Set: {cause}")]
    Parse { url: String, cause: String },
}

#[derive(Debug, Default)]
struct Cache {
    keys: Vec<Jwk>,
    fetched_at: Option<Instant>,
    /// Why the last fetch failed, reported until a fetch succeeds.
    error: Option<JwksError>,
}

/// One remote key set.
#[derive(Debug)]
pub struct RemoteKeySet {
    url: Url,
    client: reqwest::Client,
    cooldown: Duration,
    cache: Mutex<Cache>,
}

impl RemoteKeySet {
    pub fn new(url: Url, cooldown: Duration) -> Result<RemoteKeySet, JwksError> {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .user_agent(concat!("stagedoor/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| JwksError::Client(e.to_string()))?;
        Ok(RemoteKeySet {
            url,
            client,
            cooldown,
            cache: Mutex::default(),
        })
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    async fn fetch(&self) -> Result<Vec<Jwk>, JwksError> {
        let url = self.url.to_string();
        let fetch_error = |e: reqwest::Error| {
            let mut cause = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                cause.push_str(": ");
                cause.push_str(&s.to_string());
                source = s.source();
            }
            JwksError::Fetch {
                url: url.clone(),
                cause,
            }
        };
        let response = self
            .client
            .get(self.url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(fetch_error)?;
        if !response.status().is_success() {
            return Err(JwksError::Status {
                url,
                status: response.status().as_u16(),
            });
        }
        let bytes = response.bytes().await.map_err(fetch_error)?;
        if bytes.len() > MAX_BODY_BYTES {
            return Err(JwksError::Parse {
                url,
                cause: format!("larger than {MAX_BODY_BYTES} bytes"),
            });
        }
        parse_key_set(&bytes).map_err(|cause| JwksError::Parse { url, cause })
    }

    /// Fetches the set now, replacing the cached one; on failure the cached keys stay in use.
    async fn refresh(&self, cache: &mut Cache) -> Result<(), JwksError> {
        // A failed fetch also starts the cooldown, so an unreachable server is not asked on every request.
        let result = self.fetch().await;
        cache.fetched_at = Some(Instant::now());
        match result {
            Ok(keys) => {
                cache.keys = keys;
                cache.error = None;
                Ok(())
            }
            Err(e) => {
                cache.error = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Fetches the set unless a fresh one is cached (used at startup to report an unreachable URL early).
    pub async fn prefetch(&self) -> Result<usize, JwksError> {
        let mut cache = self.cache.lock().await;
        self.refresh(&mut cache).await?;
        Ok(cache.keys.len())
    }

    /// The keys that may have signed a token with this header, fetching or refetching the set as needed.
    pub async fn candidates(&self, header: &Header) -> Result<Vec<Jwk>, JwksError> {
        let mut cache = self.cache.lock().await;
        let stale = cache.fetched_at.is_none_or(|t| t.elapsed() >= MAX_AGE);
        if stale {
            if let Err(e) = self.refresh(&mut cache).await {
                if cache.keys.is_empty() {
                    return Err(e);
                }
                tracing::warn!(error = %e, "JWKS refetch failed; using the keys fetched before");
            }
        }
        let found = select(&cache.keys, header);
        if !found.is_empty()
            || cache
                .fetched_at
                .is_some_and(|t| t.elapsed() < self.cooldown)
        {
            return match (&cache.error, found.is_empty() && cache.keys.is_empty()) {
                (Some(e), true) => Err(e.clone()),
                _ => Ok(found),
            };
        }
        self.refresh(&mut cache).await?;
        Ok(select(&cache.keys, header))
    }
}

/// Reads `{keys: [...]}`, skipping keys this library cannot use (unknown types or curves) as jose does.
fn parse_key_set(bytes: &[u8]) -> Result<Vec<Jwk>, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let keys = value
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| "no \"keys\" array".to_string())?;
    Ok(keys
        .iter()
        .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
        .collect())
}

/// Whether a key of this type can verify `alg`.
fn fits(jwk: &Jwk, alg: Algorithm) -> bool {
    use Algorithm::*;
    match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => {
            matches!(alg, RS256 | RS384 | RS512 | PS256 | PS384 | PS512)
        }
        AlgorithmParameters::EllipticCurve(_) => matches!(alg, ES256 | ES384),
        AlgorithmParameters::OctetKeyPair(_) => alg == EdDSA,
        // A symmetric key in a published set would let anyone who reads the set sign tokens.
        AlgorithmParameters::OctetKey(_) => false,
    }
}

fn select(keys: &[Jwk], header: &Header) -> Vec<Jwk> {
    // `KeyAlgorithm` and `Algorithm` are different enums; both serialise to the JOSE name.
    let alg_name = serde_json::to_value(header.alg).ok();
    keys.iter()
        .filter(|k| match &header.kid {
            Some(kid) => k.common.key_id.as_deref() == Some(kid.as_str()),
            None => true,
        })
        .filter(|k| fits(k, header.alg))
        .filter(|k| {
            k.common
                .key_algorithm
                .as_ref()
                .is_none_or(|a| serde_json::to_value(a).ok() == alg_name)
        })
        .filter(|k| !matches!(k.common.public_key_use, Some(PublicKeyUse::Encryption)))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set() -> Vec<Jwk> {
        parse_key_set(
            json!({"keys": [
                {"kty": "EC", "crv": "P-256", "kid": "ec", "alg": "ES256", "use": "sig",
                 "x": "WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis", "y": "y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE"},
                {"kty": "RSA", "kid": "rsa", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw", "e": "AQAB"},
                {"kty": "oct", "kid": "sym", "k": "c2VjcmV0"},
                {"kty": "nonsense", "kid": "bad"}
            ]})
            .to_string()
            .as_bytes(),
        )
        .unwrap()
    }

    fn header(alg: Algorithm, kid: Option<&str>) -> Header {
        let mut h = Header::new(alg);
        h.kid = kid.map(str::to_string);
        h
    }

    fn kids(keys: &[Jwk]) -> Vec<String> {
        keys.iter()
            .map(|k| k.common.key_id.clone().unwrap_or_default())
            .collect()
    }

    #[test]
    fn unusable_keys_are_skipped_and_selection_follows_kid_and_alg() {
        let keys = set();
        assert_eq!(kids(&keys), ["ec", "rsa", "sym"]);
        assert_eq!(
            kids(&select(&keys, &header(Algorithm::ES256, None))),
            ["ec"]
        );
        assert_eq!(
            kids(&select(&keys, &header(Algorithm::RS256, Some("rsa")))),
            ["rsa"]
        );
        assert!(select(&keys, &header(Algorithm::RS256, Some("ec"))).is_empty());
        assert!(select(&keys, &header(Algorithm::ES384, Some("ec"))).is_empty());
        assert!(select(&keys, &header(Algorithm::HS256, None)).is_empty());
        assert!(parse_key_set(b"[]").is_err());
        assert!(parse_key_set(b"not json").is_err());
    }

    #[tokio::test]
    async fn an_unreachable_url_is_an_error_not_a_panic() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let url = Url::parse(&format!("http://127.0.0.1:{port}/jwks")).unwrap();
        let set = RemoteKeySet::new(url, DEFAULT_COOLDOWN).unwrap();
        let e = set.prefetch().await.unwrap_err();
        assert!(
            matches!(&e, JwksError::Fetch { url, .. } if url.contains(&port.to_string())),
            "{e}"
        );
        assert!(set
            .candidates(&header(Algorithm::ES256, None))
            .await
            .is_err_and(|e| matches!(e, JwksError::Fetch { .. })));
    }
}
