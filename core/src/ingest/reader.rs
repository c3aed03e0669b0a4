//! Reads location targets: local files (with globs) and URLs over HTTP, under the configured read policy.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::config::reading::is_sensitive_ip;
use crate::config::ReadPolicy;
use crate::error::PortalError;

use super::documents::MAX_FILE_BYTES;

/// How long one URL read may take before it is reported as unreachable.
const URL_TIMEOUT: Duration = Duration::from_secs(15);
const MAX_REDIRECTS: usize = 5;

/// Reads files and URLs for ingestion. Cheap to clone.
#[derive(Clone)]
pub struct LocationReader {
    policy: ReadPolicy,
    client: reqwest::Client,
}

impl LocationReader {
    pub fn new(policy: ReadPolicy) -> Result<Self, PortalError> {
        let redirect_policy = policy.clone();
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver {
                policy: policy.clone(),
            }))
            .timeout(URL_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            // Every hop is checked again, so an allowed host cannot bounce a read to a forbidden one.
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= MAX_REDIRECTS {
                    attempt.error("too many redirects")
                } else if let Err(msg) = redirect_policy.check(attempt.url()) {
                    attempt.error(msg)
                } else {
                    attempt.follow()
                }
            }))
            .user_agent(concat!("stagedoor/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PortalError::Internal(format!("could not build the HTTP client: {e}")))?;
        Ok(LocationReader { policy, client })
    }

    /// Expands a file target (a path or a glob) into the files it names, sorted. A plain path that does not
    /// exist, or a glob that matches nothing, is a NotFoundError in Backstage's words.
    pub fn expand_file_target(&self, target: &str) -> Result<Vec<PathBuf>, PortalError> {
        if target.contains(['*', '?', '[']) {
            let paths = glob::glob(target)
                .map_err(|e| PortalError::Input(format!("Invalid glob pattern {target}, {e}")))?;
            let mut files: Vec<PathBuf> = paths
                .filter_map(Result::ok)
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(PortalError::NotFound(format!(
                    "file {target} does not exist"
                )));
            }
            Ok(files)
        } else {
            let path = PathBuf::from(target);
            if path.is_file() {
                Ok(vec![path])
            } else {
                Err(PortalError::NotFound(format!(
                    "file {target} does not exist"
                )))
            }
        }
    }

    /// Reads a local file, refusing ones too large to be catalog files.
    pub async fn read_file(&self, path: &Path) -> Result<Vec<u8>, PortalError> {
        let meta = tokio::fs::metadata(path)
            .await
            .map_err(|e| io_error(path, e))?;
        if meta.len() as usize > MAX_FILE_BYTES {
            return Err(PortalError::Input(format!(
                "File is {} bytes, larger than the {} byte limit for catalog files",
                meta.len(),
                MAX_FILE_BYTES
            )));
        }
        tokio::fs::read(path).await.map_err(|e| io_error(path, e))
    }

    /// Reads a URL if the read policy allows it, stopping at the catalog file size limit.
    pub async fn read_url(&self, url: &Url) -> Result<Vec<u8>, PortalError> {
        self.policy.check(url).map_err(PortalError::NotAllowed)?;
        let mut response = self.client.get(url.clone()).send().await.map_err(|e| {
            PortalError::NotFound(format!("Unable to read url {url}, {}", describe(&e)))
        })?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(PortalError::NotFound(format!(
                "Unable to read url {url}, 404 Not Found"
            )));
        }
        if !status.is_success() {
            return Err(PortalError::Unavailable(format!(
                "Unable to read url {url}, {status}"
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            PortalError::Unavailable(format!("Unable to read url {url}, {}", describe(&e)))
        })? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_FILE_BYTES {
                return Err(PortalError::Input(format!(
                    "Unable to read url {url}, the response is larger than the {MAX_FILE_BYTES} byte limit"
                )));
            }
        }
        Ok(body)
    }
}

/// Resolves host names and drops link-local and metadata addresses unless the read policy names the host
/// exactly, so an allowed name cannot be pointed at the cloud metadata service through DNS.
struct GuardedResolver {
    policy: ReadPolicy,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let addrs = safe_addresses(&policy, &host, found)?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The resolved addresses a read may connect to.
fn safe_addresses(
    policy: &ReadPolicy,
    host: &str,
    found: Vec<SocketAddr>,
) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
    if policy.lists_exactly(host) {
        return Ok(found);
    }
    let safe: Vec<SocketAddr> = found
        .into_iter()
        .filter(|a| !is_sensitive_ip(a.ip()))
        .collect();
    if safe.is_empty() {
        return Err(format!(
            "{host} resolves only to link-local or cloud metadata addresses, which are read only when listed by exact host in backend.reading.allow"
        )
        .into());
    }
    Ok(safe)
}

fn io_error(path: &Path, e: std::io::Error) -> PortalError {
    let shown = path.display();
    match e.kind() {
        std::io::ErrorKind::NotFound => {
            PortalError::NotFound(format!("file {shown} does not exist"))
        }
        std::io::ErrorKind::PermissionDenied => {
            PortalError::NotAllowed(format!("Unable to read file {shown}, permission denied"))
        }
        _ => PortalError::Internal(format!("Unable to read file {shown}, {e}")),
    }
}

/// reqwest's Display hides the cause ("error sending request"); the chain says what actually happened.
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ReadingAllowRule;

    fn policy(hosts: &[&str]) -> ReadPolicy {
        ReadPolicy {
            rules: hosts
                .iter()
                .map(|h| ReadingAllowRule {
                    host: h.to_string(),
                    paths: vec![],
                })
                .collect(),
        }
    }

    #[test]
    fn names_resolving_to_metadata_addresses_are_refused_unless_listed_exactly() {
        let addrs = |list: &[&str]| -> Vec<SocketAddr> {
            list.iter().map(|a| a.parse().unwrap()).collect()
        };
        let metadata = addrs(&["169.254.169.254:0"]);
        let wildcard = policy(&["*.example.com"]);
        let err = safe_addresses(&wildcard, "evil.example.com", metadata.clone()).unwrap_err();
        assert!(
            err.to_string().contains("link-local or cloud metadata"),
            "{err}"
        );
        let v6 = addrs(&["[fe80::1]:0"]);
        assert!(safe_addresses(&wildcard, "evil.example.com", v6).is_err());
        // Mixed answers keep only the safe addresses.
        let mixed = addrs(&["169.254.169.254:0", "93.184.216.34:0"]);
        assert_eq!(
            safe_addresses(&wildcard, "a.example.com", mixed).unwrap(),
            addrs(&["93.184.216.34:0"])
        );
        // Listed by exact host: the operator asked for it.
        let exact = policy(&["metadata.internal.example.com"]);
        assert_eq!(
            safe_addresses(&exact, "metadata.internal.example.com", metadata.clone()).unwrap(),
            metadata
        );
    }
}
