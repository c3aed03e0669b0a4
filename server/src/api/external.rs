//! JWT callers of `/api/*`, configured as in Backstage's `backend.auth.externalAccess`:
//!
//! - `type: legacy`, `options: {secret, subject}`: HS256 tokens signed with the base64 `secret`, with
//!   `sub: backstage-server` and no `aud`; `exp` and `nbf` are checked when present (as `jose` checks
//!   them). The older `backend.auth.keys[].secret` entries are read the same way, as subject
//!   `external:backstage-plugin`.
//! - `type: jwks`, `options: {url, issuer?, algorithm?, audience?, subjectPrefix?}` (each of `issuer`,
//!   `algorithm`, `audience` a string or a list): tokens signed by a key of the remote set at `url` (see
//!   [`super::jwks`]), with `iss` and `aud` required among the listed ones when those are configured; the
//!   caller is `external:<subjectPrefix>:<sub>` (or `external:<sub>`).
//!
//! Both honour the entry's `accessRestrictions` as static tokens do. Config mistakes are errors naming the
//! key; a key set that cannot be fetched only refuses the tokens it would verify.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde_json::Value;
use stagedoor_core::config::Config;
use stagedoor_core::PortalError;
use url::Url;

use super::auth::{access_restrictions, AccessRestriction};
use super::jwks::{RemoteKeySet, DEFAULT_COOLDOWN};

/// The subject of `backend.auth.keys[]` callers, as in Backstage.
const LEGACY_KEYS_SUBJECT: &str = "external:backstage-plugin";
/// The `sub` every legacy token carries.
const LEGACY_SUB: &str = "backstage-server";

/// One `type: legacy` entry (or `backend.auth.keys[]` item).
#[derive(Clone)]
struct LegacyKey {
    key: Vec<u8>,
    subject: String,
    restrictions: Option<Vec<AccessRestriction>>,
}

impl std::fmt::Debug for LegacyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegacyKey")
            .field("key", &"<redacted>")
            .field("subject", &self.subject)
            .field("restrictions", &self.restrictions)
            .finish()
    }
}

/// One `type: jwks` entry.
#[derive(Debug, Clone)]
struct JwksEntry {
    /// `backend.auth.externalAccess[i]`, for logs.
    at: String,
    keys: Arc<RemoteKeySet>,
    algorithms: Option<Vec<Algorithm>>,
    issuers: Option<Vec<String>>,
    audiences: Option<Vec<String>>,
    subject_prefix: Option<String>,
    restrictions: Option<Vec<AccessRestriction>>,
}

/// A verified JWT caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified<'a> {
    pub subject: String,
    pub restrictions: Option<&'a [AccessRestriction]>,
}

/// The legacy and JWKS entries of `backend.auth`.
#[derive(Debug, Clone, Default)]
pub struct ExternalAccess {
    legacy: Vec<LegacyKey>,
    jwks: Vec<JwksEntry>,
}

fn bad(message: String) -> PortalError {
    PortalError::Input(message)
}

/// Base64 as Node decodes it for Backstage: either alphabet, padding optional.
fn decode_secret(secret: &str) -> Option<Vec<u8>> {
    let engine = GeneralPurpose::new(
        &alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let url_safe: String = secret
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    engine.decode(url_safe).ok().filter(|k| !k.is_empty())
}

fn non_space(text: &str) -> bool {
    !text.is_empty() && !text.chars().any(char::is_whitespace)
}

/// `options.<name>`: a string, a list of strings, or absent.
fn strings(
    options: Option<&Value>,
    name: &str,
    at: &str,
) -> Result<Option<Vec<String>>, PortalError> {
    let wrong = || {
        bad(format!(
            "{at}.options.{name} must be a string or a list of strings"
        ))
    };
    match options.and_then(|o| o.get(name)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(wrong))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(wrong()),
    }
}

fn required_string<'v>(
    options: Option<&'v Value>,
    name: &str,
    at: &str,
) -> Result<&'v str, PortalError> {
    options
        .and_then(|o| o.get(name))
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("{at}.options.{name} must be a string")))
}

impl ExternalAccess {
    /// Reads the `legacy` and `jwks` entries of `backend.auth.externalAccess` and `backend.auth.keys`.
    pub fn from_config(config: &Config) -> Result<ExternalAccess, PortalError> {
        let mut access = ExternalAccess::default();
        if let Some(Value::Array(keys)) = config.get("backend.auth.keys") {
            for (i, item) in keys.iter().enumerate() {
                let at = format!("backend.auth.keys[{i}].secret");
                let secret = item
                    .get("secret")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad(format!("{at} must be a string")))?;
                access.add_legacy(secret, LEGACY_KEYS_SUBJECT, None, &at)?;
            }
        }
        let entries = match config.get("backend.auth.externalAccess") {
            Some(Value::Array(items)) => items.as_slice(),
            // AuthPolicy::from_config reports a wrong shape.
            _ => &[][..],
        };
        for (i, entry) in entries.iter().enumerate() {
            let at = format!("backend.auth.externalAccess[{i}]");
            let options = entry.get("options");
            match entry.get("type").and_then(Value::as_str) {
                Some("legacy") => {
                    let secret = required_string(options, "secret", &at)?;
                    let subject = required_string(options, "subject", &at)?;
                    if !non_space(subject) {
                        return Err(bad(format!(
                            "{at}.options.subject: Illegal subject, must be a set of non-space characters"
                        )));
                    }
                    let restrictions = access_restrictions(entry, &at)?;
                    access.add_legacy(
                        secret,
                        subject,
                        restrictions,
                        &format!("{at}.options.secret"),
                    )?;
                }
                Some("jwks") => access.jwks.push(jwks_entry(entry, options, &at)?),
                _ => {}
            }
        }
        Ok(access)
    }

    fn add_legacy(
        &mut self,
        secret: &str,
        subject: &str,
        restrictions: Option<Vec<AccessRestriction>>,
        at: &str,
    ) -> Result<(), PortalError> {
        let key = non_space(secret)
            .then(|| decode_secret(secret))
            .flatten()
            .ok_or_else(|| {
                bad(format!(
                    "{at}: Illegal secret, must be a valid base64 string"
                ))
            })?;
        if self.legacy.iter().any(|l| l.key == key) {
            return Err(bad(format!(
                "{at}: Legacy externalAccess token was declared more than once"
            )));
        }
        self.legacy.push(LegacyKey {
            key,
            subject: subject.to_string(),
            restrictions,
        });
        Ok(())
    }

    /// Whether any entry is configured.
    pub fn is_empty(&self) -> bool {
        self.legacy.is_empty() && self.jwks.is_empty()
    }

    /// How long a key set waits after a fetch before a token with an unknown key fetches it again
    /// (30 s by default, as in Backstage).
    pub fn set_jwks_refetch_cooldown(&mut self, cooldown: Duration) {
        for entry in &mut self.jwks {
            if let Ok(keys) = RemoteKeySet::new(entry.keys.url().clone(), cooldown) {
                entry.keys = Arc::new(keys);
            }
        }
    }

    /// Fetches every key set once, so an unreachable or broken URL shows at startup; returns one line per
    /// failure (also logged). Failures are not fatal: Backstage, too, starts and refuses those tokens.
    pub async fn prefetch(&self) -> Vec<String> {
        let mut failures = Vec::new();
        for entry in &self.jwks {
            match entry.keys.prefetch().await {
                Ok(n) => tracing::info!(entry = %entry.at, keys = n, "JWKS fetched"),
                Err(e) => {
                    let line = format!(
                        "{}: {e}; its tokens are refused until it can be fetched",
                        entry.at
                    );
                    tracing::warn!("{line}");
                    failures.push(line);
                }
            }
        }
        failures
    }

    /// Verifies `token` against the legacy and JWKS entries. `Ok(None)`: no entry accepts it;
    /// `Err(message)`: a legacy token with a valid signature that is expired or not yet valid.
    pub async fn verify(&self, token: &str) -> Result<Option<Verified<'_>>, String> {
        if self.is_empty() {
            return Ok(None);
        }
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return Ok(None);
        };
        if let Some(found) = self.verify_legacy(token, &header)? {
            return Ok(Some(found));
        }
        for entry in &self.jwks {
            if let Some(found) = entry.verify(token, &header).await {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    fn verify_legacy(&self, token: &str, header: &Header) -> Result<Option<Verified<'_>>, String> {
        if self.legacy.is_empty() || header.alg != Algorithm::HS256 {
            return Ok(None);
        }
        // As Backstage, look at the claims before any signature check: only `sub: backstage-server`
        // without `aud` is a legacy token.
        let claims = unverified_claims(token);
        if claims
            .as_ref()
            .and_then(|c| c.get("sub"))
            .and_then(Value::as_str)
            != Some(LEGACY_SUB)
            || claims.as_ref().is_some_and(|c| c.get("aud").is_some())
        {
            return Ok(None);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.required_spec_claims = HashSet::new();
        validation.leeway = 0;
        validation.validate_nbf = true;
        validation.validate_aud = false;
        for legacy in &self.legacy {
            match jsonwebtoken::decode::<Value>(
                token,
                &DecodingKey::from_secret(&legacy.key),
                &validation,
            ) {
                Ok(_) => {
                    return Ok(Some(Verified {
                        subject: legacy.subject.clone(),
                        restrictions: legacy.restrictions.as_deref(),
                    }))
                }
                Err(e) => match e.kind() {
                    ErrorKind::InvalidSignature => continue,
                    // jose's messages for the claims it checks after a good signature.
                    ErrorKind::ExpiredSignature => {
                        return Err("\"exp\" claim timestamp check failed".into())
                    }
                    ErrorKind::ImmatureSignature => {
                        return Err("\"nbf\" claim timestamp check failed".into())
                    }
                    _ => return Ok(None),
                },
            }
        }
        Ok(None)
    }
}

/// The payload of a compact JWS, without checking anything.
fn unverified_claims(token: &str) -> Option<serde_json::Map<String, Value>> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

fn jwks_entry(entry: &Value, options: Option<&Value>, at: &str) -> Result<JwksEntry, PortalError> {
    let url_text = required_string(options, "url", at)?;
    if !non_space(url_text) {
        return Err(bad(format!(
            "{at}.options.url: Illegal JWKS URL, must be a set of non-space characters"
        )));
    }
    let url = Url::parse(url_text)
        .map_err(|e| bad(format!("{at}.options.url: Invalid URL {url_text}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(format!(
            "{at}.options.url: Invalid URL {url_text}: the scheme must be http or https"
        )));
    }
    // Backstage reads `algorithm`; `algorithms` is accepted too, since the value may be a list.
    let mut names = strings(options, "algorithm", at)?;
    if let Some(more) = strings(options, "algorithms", at)? {
        names.get_or_insert_with(Vec::new).extend(more);
    }
    let algorithms = names
        .map(|names| {
            names
                .iter()
                .map(|n| match n.parse::<Algorithm>() {
                    Ok(Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) => Err(bad(format!(
                        "{at}.options.algorithm: {n} is symmetric and cannot be verified with a published key set"
                    ))),
                    Ok(a) => Ok(a),
                    Err(_) => Err(bad(format!(
                        "{at}.options.algorithm: unknown algorithm {n:?}"
                    ))),
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let subject_prefix = match options.and_then(|o| o.get("subjectPrefix")) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(bad(format!("{at}.options.subjectPrefix must be a string"))),
    };
    let keys = RemoteKeySet::new(url, DEFAULT_COOLDOWN)
        .map_err(|e| PortalError::Internal(format!("{at}.options.url: {e}")))?;
    Ok(JwksEntry {
        at: at.to_string(),
        keys: Arc::new(keys),
        algorithms,
        issuers: strings(options, "issuer", at)?,
        audiences: strings(options, "audience", at)?,
        subject_prefix,
        restrictions: access_restrictions(entry, at)?,
    })
}

impl JwksEntry {
    async fn verify(&self, token: &str, header: &Header) -> Option<Verified<'_>> {
        if self
            .algorithms
            .as_ref()
            .is_some_and(|algs| !algs.contains(&header.alg))
        {
            return None;
        }
        let keys = match self.keys.candidates(header).await {
            Ok(keys) => keys,
            Err(e) => {
                tracing::warn!(entry = %self.at, error = %e, "cannot verify a token: no key set");
                return None;
            }
        };
        let mut validation = Validation::new(header.alg);
        validation.leeway = 0;
        validation.validate_nbf = true;
        validation.required_spec_claims = HashSet::new();
        if let Some(issuers) = &self.issuers {
            validation.set_issuer(issuers);
            // jsonwebtoken only compares an `iss` that is present; jose requires it.
            validation.required_spec_claims.insert("iss".into());
        }
        match &self.audiences {
            Some(audiences) => {
                validation.set_audience(audiences);
                validation.required_spec_claims.insert("aud".into());
            }
            // jose ignores `aud` when no audience is configured.
            None => validation.validate_aud = false,
        }
        for jwk in keys {
            let Ok(key) = DecodingKey::from_jwk(&jwk) else {
                continue;
            };
            match jsonwebtoken::decode::<Value>(token, &key, &validation) {
                Ok(data) => {
                    let sub = data.claims.get("sub").and_then(Value::as_str)?;
                    if sub.is_empty() {
                        return None;
                    }
                    let subject = match &self.subject_prefix {
                        Some(prefix) => format!("external:{prefix}:{sub}"),
                        None => format!("external:{sub}"),
                    };
                    return Some(Verified {
                        subject,
                        restrictions: self.restrictions.as_deref(),
                    });
                }
                Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) => continue,
                Err(e) => {
                    tracing::debug!(entry = %self.at, error = %e, "JWKS token refused");
                    return None;
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(entries: Value) -> Config {
        Config::from_value(
            json!({"backend": {"auth": {"externalAccess": entries}}}),
            ".".into(),
        )
    }

    fn error(entries: Value) -> String {
        ExternalAccess::from_config(&config(entries))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn bad_entries_name_their_config_key() {
        let stat = json!({"type": "static", "options": {"token": "abcdefgh12", "subject": "ci"}});
        let e = error(json!([stat, {"type": "legacy", "options": {"subject": "x"}}]));
        assert!(
            e.contains("backend.auth.externalAccess[1].options.secret must be a string"),
            "{e}"
        );
        let e = error(
            json!([stat, {"type": "legacy", "options": {"secret": "not base64!", "subject": "x"}}]),
        );
        assert!(
            e.contains("backend.auth.externalAccess[1].options.secret: Illegal secret, must be a valid base64 string"),
            "{e}"
        );
        let e = error(json!([{"type": "legacy", "options": {"secret": "%%%%", "subject": "x"}}]));
        assert!(
            e.contains("externalAccess[0].options.secret: Illegal secret"),
            "{e}"
        );
        let e = error(json!([{"type": "legacy", "options": {"secret": "c2VjcmV0"}}]));
        assert!(
            e.contains("externalAccess[0].options.subject must be a string"),
            "{e}"
        );
        let e = error(json!([
            {"type": "legacy", "options": {"secret": "c2VjcmV0", "subject": "a"}},
            {"type": "legacy", "options": {"secret": "c2VjcmV0", "subject": "b"}}
        ]));
        assert!(e.contains("declared more than once"), "{e}");
        let e = error(json!([stat, stat.clone(), {"type": "jwks", "options": {}}]));
        assert!(
            e.contains("backend.auth.externalAccess[2].options.url must be a string"),
            "{e}"
        );
        let e = error(json!([{"type": "jwks", "options": {"url": "not a url"}}]));
        assert!(e.contains("Illegal JWKS URL"), "{e}");
        let e = error(json!([{"type": "jwks", "options": {"url": "nope"}}]));
        assert!(
            e.contains("externalAccess[0].options.url: Invalid URL nope"),
            "{e}"
        );
        let e = error(json!([{"type": "jwks", "options": {"url": "ftp://h/j"}}]));
        assert!(e.contains("http or https"), "{e}");
        let e =
            error(json!([{"type": "jwks", "options": {"url": "https://h/j", "algorithm": "XX1"}}]));
        assert!(e.contains("options.algorithm: unknown algorithm"), "{e}");
        let e = error(
            json!([{"type": "jwks", "options": {"url": "https://h/j", "algorithm": ["RS256", "HS256"]}}]),
        );
        assert!(e.contains("HS256 is symmetric"), "{e}");
        let e = error(json!([{"type": "jwks", "options": {"url": "https://h/j", "issuer": 3}}]));
        assert!(
            e.contains("options.issuer must be a string or a list of strings"),
            "{e}"
        );
    }

    #[test]
    fn good_entries_are_read_and_secrets_redacted() {
        let access = ExternalAccess::from_config(&config(json!([
            {"type": "legacy", "options": {"secret": "c2VjcmV0LWtleS0x", "subject": "legacy-caller"},
             "accessRestrictions": [{"plugin": "catalog"}]},
            // URL-safe and unpadded base64 decode as Node decodes them.
            {"type": "legacy", "options": {"secret": "-_8", "subject": "other"}},
            {"type": "jwks", "options": {"url": "https://idp.example/jwks", "issuer": "https://idp.example",
             "algorithm": ["RS256", "ES256"], "audience": ["backstage"], "subjectPrefix": "idp"}}
        ])))
        .unwrap();
        assert_eq!(access.legacy.len(), 2);
        assert_eq!(access.legacy[0].key, b"secret-key-1");
        assert_eq!(access.legacy[1].key, [0xfb, 0xff]);
        assert_eq!(access.jwks.len(), 1);
        assert_eq!(
            access.jwks[0].algorithms,
            Some(vec![Algorithm::RS256, Algorithm::ES256])
        );
        assert!(!format!("{access:?}").contains("secret-key"));
    }

    #[tokio::test]
    async fn non_jwts_and_other_tokens_are_not_verified() {
        let access = ExternalAccess::from_config(&config(json!([
            {"type": "legacy", "options": {"secret": "c2VjcmV0LWtleS0x", "subject": "s"}}
        ])))
        .unwrap();
        assert_eq!(access.verify("plain-token").await, Ok(None));
        assert_eq!(access.verify("a.b.c").await, Ok(None));
    }
}
