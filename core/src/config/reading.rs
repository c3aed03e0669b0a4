//! Which URLs the catalog may read: `backend.reading.allow` plus configured integration hosts.
//!
//! Unlike Backstage, nothing is implicitly readable (not even github.com): a host must be listed or belong
//! to a configured integration. Link-local addresses and cloud metadata hosts are refused even when a
//! wildcard would match them; only a rule naming that exact host lets them through.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::Value;
use url::{Host, Url};

use super::{Config, ConfigError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadingAllowRule {
    /// `example.com`, `example.com:8080` or `*.example.com`.
    pub host: String,
    /// Path prefixes matched on segment boundaries; empty allows every path.
    pub paths: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadPolicy {
    pub rules: Vec<ReadingAllowRule>,
}

/// Integration kinds whose hosts become readable, with the host Backstage assumes when an entry has none.
const INTEGRATIONS: [(&str, Option<&str>); 5] = [
    ("github", Some("github.com")),
    ("gitlab", Some("gitlab.com")),
    ("bitbucketServer", None),
    ("azure", Some("dev.azure.com")),
    ("gitea", None),
];

/// Host names of cloud instance-metadata services (IPs in 169.254.0.0/16 are covered as link-local).
const METADATA_HOSTS: [&str; 3] = ["metadata.google.internal", "metadata.goog", "metadata"];

/// Backstage's UrlReader refusal, word for word.
pub fn not_allowed_message(url: &str) -> String {
    format!(
        "Reading from '{url}' is not allowed. You may need to configure an integration for the target host, \
         or add it to the configured list of allowed hosts at 'backend.reading.allow'"
    )
}

impl ReadPolicy {
    /// `Err` with Backstage's NotAllowed message when `url` may not be read.
    pub fn check(&self, url: &Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(not_allowed_message(url.as_str()));
        }
        let Some(host) = url.host() else {
            return Err(not_allowed_message(url.as_str()));
        };
        let host_name = normalise_host(&host_string(&host));
        let port = url.port();
        let sensitive = is_sensitive_host(&host, &host_name);

        let allowed = self.rules.iter().any(|rule| {
            let (pattern, rule_port) = split_host_port(&rule.host);
            if rule_port != port {
                return false;
            }
            let pattern = normalise_host(pattern);
            let host_ok = match pattern.strip_prefix("*.") {
                // Metadata and link-local hosts must be named exactly, never reached through a wildcard.
                Some(suffix) => {
                    !sensitive
                        && host_name.len() > suffix.len() + 1
                        && host_name.ends_with(suffix)
                        && host_name[..host_name.len() - suffix.len()].ends_with('.')
                }
                None => pattern == host_name,
            };
            host_ok && path_allowed(&rule.paths, url.path())
        });
        if allowed {
            Ok(())
        } else if sensitive {
            Err(format!(
                "{} (link-local and cloud metadata hosts are only readable when listed by exact host)",
                not_allowed_message(url.as_str())
            ))
        } else {
            Err(not_allowed_message(url.as_str()))
        }
    }

    /// Whether a rule names `host` exactly (no wildcard): only such hosts may resolve to link-local or
    /// metadata addresses.
    pub fn lists_exactly(&self, host: &str) -> bool {
        let host = normalise_host(host);
        self.rules.iter().any(|rule| {
            let (pattern, _) = split_host_port(&rule.host);
            !pattern.starts_with("*.") && normalise_host(pattern) == host
        })
    }

    /// Whether `url` may be read; [`ReadPolicy::check`] without the message.
    pub fn allows(&self, url: &Url) -> bool {
        self.check(url).is_ok()
    }
}

pub fn from_config(config: &Config) -> Result<ReadPolicy, ConfigError> {
    let mut rules = Vec::new();

    if let Some(allow) = config.get("backend.reading.allow").filter(|v| !v.is_null()) {
        let items = allow.as_array().ok_or_else(|| {
            ConfigError::new("backend.reading.allow: expected a list of {host, paths?}")
        })?;
        for (i, item) in items.iter().enumerate() {
            let at = format!("backend.reading.allow[{i}]");
            let obj = item
                .as_object()
                .ok_or_else(|| ConfigError::new(format!("{at}: expected a mapping with host")))?;
            let host = match obj.get("host") {
                Some(Value::String(h)) => validate_host(h, &format!("{at}.host"))?,
                Some(other) => {
                    return Err(ConfigError::new(format!(
                        "{at}.host: expected a host name, found {other}"
                    )))
                }
                None => return Err(ConfigError::new(format!("{at}.host: missing; required"))),
            };
            let paths = match obj.get("paths") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(list)) => list
                    .iter()
                    .enumerate()
                    .map(|(j, p)| match p {
                        Value::String(s) if s.starts_with('/') => Ok(normalise_rule_path(s)),
                        other => Err(ConfigError::new(format!(
                            "{at}.paths[{j}]: expected a path starting with '/', found {other}"
                        ))),
                    })
                    .collect::<Result<_, _>>()?,
                Some(other) => {
                    return Err(ConfigError::new(format!(
                        "{at}.paths: expected a list of paths, found {other}"
                    )))
                }
            };
            rules.push(ReadingAllowRule { host, paths });
        }
    }

    for (kind, default_host) in INTEGRATIONS {
        let key = format!("integrations.{kind}");
        let Some(value) = config.get(&key).filter(|v| !v.is_null()) else {
            continue;
        };
        let entries = value
            .as_array()
            .ok_or_else(|| ConfigError::new(format!("{key}: expected a list")))?;
        for (i, entry) in entries.iter().enumerate() {
            let at = format!("{key}[{i}].host");
            let host = match entry.get("host") {
                Some(Value::String(h)) => validate_host(h, &at)?,
                None => match default_host {
                    Some(h) => h.to_string(),
                    None => return Err(ConfigError::new(format!("{at}: missing; required"))),
                },
                Some(other) => {
                    return Err(ConfigError::new(format!(
                        "{at}: expected a host name, found {other}"
                    )))
                }
            };
            rules.push(ReadingAllowRule {
                host,
                paths: Vec::new(),
            });
        }
    }

    Ok(ReadPolicy { rules })
}

fn validate_host(raw: &str, at: &str) -> Result<String, ConfigError> {
    let host = raw.trim();
    if host.is_empty() {
        return Err(ConfigError::new(format!("{at}: must not be empty")));
    }
    if host.contains("://") || host.contains('/') {
        return Err(ConfigError::new(format!(
            "{at}: expected a host such as example.com or *.example.com, not a URL ('{host}')"
        )));
    }
    let (name, _) = split_host_port(host);
    let wildcard_rest = name.strip_prefix("*.");
    if name.contains('*') && wildcard_rest.is_none_or(|rest| rest.is_empty() || rest.contains('*'))
    {
        return Err(ConfigError::new(format!(
            "{at}: a wildcard is only allowed as a leading '*.' ('{host}')"
        )));
    }
    if host.contains(':') && !host.starts_with('[') && split_host_port(host).1.is_none() {
        return Err(ConfigError::new(format!(
            "{at}: invalid port in '{host}' (write IPv6 addresses in brackets)"
        )));
    }
    Ok(host.to_string())
}

/// `host[:port]`; IPv6 literals keep their brackets. A missing or unparsable port gives `None`.
fn split_host_port(s: &str) -> (&str, Option<u16>) {
    if s.starts_with('[') {
        if let Some(end) = s.find(']') {
            let port = s[end + 1..].strip_prefix(':').and_then(|p| p.parse().ok());
            return (&s[..=end], port);
        }
        return (s, None);
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, p.parse().ok()),
        _ => (s, None),
    }
}

fn host_string(host: &Host<&str>) -> String {
    match host {
        Host::Domain(d) => (*d).to_string(),
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => format!("[{ip}]"),
    }
}

/// Lower-case, without a trailing root dot, and IPv6 literals in the URL crate's canonical form so that
/// `[0:0::1]` in config equals `[::1]` in a URL.
fn normalise_host(h: &str) -> String {
    let lower = h.trim_end_matches('.').to_ascii_lowercase();
    if let Some(inner) = lower.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        if let Ok(ip) = inner.parse::<Ipv6Addr>() {
            return format!("[{ip}]");
        }
    }
    lower
}

fn is_sensitive_host(host: &Host<&str>, name: &str) -> bool {
    match host {
        Host::Ipv4(ip) => is_sensitive_v4(*ip),
        Host::Ipv6(ip) => {
            (ip.segments()[0] & 0xffc0) == 0xfe80
                || *ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)
                || ip.to_ipv4_mapped().is_some_and(is_sensitive_v4)
        }
        Host::Domain(_) => {
            METADATA_HOSTS.contains(&name)
                || name
                    .parse::<IpAddr>()
                    .is_ok_and(|ip| matches!(ip, IpAddr::V4(v4) if is_sensitive_v4(v4)))
        }
    }
}

/// Whether an address is link-local or a cloud metadata address, for checking what a host name resolved to.
pub fn is_sensitive_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_sensitive_v4(v4),
        IpAddr::V6(v6) => is_sensitive_host(&Host::Ipv6(v6), ""),
    }
}

/// Link-local 169.254.0.0/16 (AWS, Azure, GCP, OpenStack metadata live there) and Alibaba's metadata IP.
fn is_sensitive_v4(ip: Ipv4Addr) -> bool {
    ip.is_link_local() || ip == Ipv4Addr::new(100, 100, 100, 200)
}

/// Percent-encodes and removes dot segments the way the URL parser does for request paths, and drops a
/// trailing slash so that `/dir/` and `/dir` mean the same prefix.
fn normalise_rule_path(p: &str) -> String {
    let encoded = match Url::parse("http://placeholder/") {
        Ok(mut u) => {
            u.set_path(p);
            u.path().to_string()
        }
        Err(_) => p.to_string(),
    };
    let trimmed = encoded.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else {
        trimmed.to_string()
    }
}

fn path_allowed(paths: &[String], path: &str) -> bool {
    paths.is_empty()
        || paths.iter().any(|p| {
            p == "/"
                || path == p
                || path
                    .strip_prefix(p.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::PathBuf;

    fn policy(root: Value) -> ReadPolicy {
        from_config(&Config::from_value(root, PathBuf::from("/srv"))).unwrap()
    }

    fn ok(p: &ReadPolicy, url: &str) -> bool {
        p.check(&Url::parse(url).unwrap()).is_ok()
    }

    #[test]
    fn empty_config_allows_nothing_with_backstages_message() {
        let p = policy(json!({}));
        let err = p
            .check(&Url::parse("https://github.com/o/r/blob/main/x.yaml").unwrap())
            .unwrap_err();
        assert_eq!(
            err,
            "Reading from 'https://github.com/o/r/blob/main/x.yaml' is not allowed. You may need to configure an \
             integration for the target host, or add it to the configured list of allowed hosts at \
             'backend.reading.allow'"
        );
    }

    #[test]
    fn allow_list_hosts_ports_and_wildcards() {
        let p = policy(json!({"backend": {"reading": {"allow": [
            {"host": "example.com"},
            {"host": "internal.example.org:8080"},
            {"host": "*.corp.example"},
        ]}}}));
        assert!(ok(&p, "https://example.com/a/b.yaml"));
        assert!(ok(&p, "http://EXAMPLE.com/"));
        assert!(ok(&p, "https://example.com:443/x"));
        assert!(!ok(&p, "https://example.com:8443/x"));
        assert!(!ok(&p, "https://sub.example.com/x"));
        assert!(!ok(&p, "https://example.com.evil.net/x"));
        assert!(ok(&p, "http://internal.example.org:8080/x"));
        assert!(!ok(&p, "http://internal.example.org/x"));
        assert!(!ok(&p, "http://internal.example.org:8081/x"));
        assert!(ok(&p, "https://a.corp.example/x"));
        assert!(ok(&p, "https://a.b.corp.example/x"));
        assert!(!ok(&p, "https://corp.example/x"));
        assert!(!ok(&p, "https://xcorp.example/x"));
        assert!(!ok(&p, "https://a.corp.example:8080/x"));
        assert!(!ok(&p, "ftp://example.com/x"));
        assert!(!ok(&p, "file:///etc/passwd"));
    }

    #[test]
    fn paths_match_on_segment_boundaries() {
        let p = policy(json!({"backend": {"reading": {"allow": [
            {"host": "example.com", "paths": ["/dir", "/other/"]},
        ]}}}));
        assert!(ok(&p, "https://example.com/dir"));
        assert!(ok(&p, "https://example.com/dir/x.yaml"));
        assert!(ok(&p, "https://example.com/other/x.yaml"));
        assert!(ok(&p, "https://example.com/other"));
        assert!(!ok(&p, "https://example.com/dirx"));
        assert!(!ok(&p, "https://example.com/"));
        assert!(!ok(&p, "https://example.com/dir/../secret"));
        assert!(!ok(&p, "https://example.com/dir/%2e%2e/secret"));
    }

    #[test]
    fn integration_hosts_are_readable() {
        let p = policy(json!({"integrations": {
            "github": [{"host": "github.com", "token": "t"}, {"host": "ghe.example.com"}],
            "gitlab": [{}],
            "bitbucketServer": [{"host": "bitbucket.example.com"}],
            "azure": [{"host": "dev.azure.com"}],
            "gitea": [{"host": "gitea.example.com:3000"}],
        }}));
        assert!(ok(&p, "https://github.com/o/r/blob/main/catalog-info.yaml"));
        assert!(ok(&p, "https://ghe.example.com/o/r"));
        assert!(ok(&p, "https://gitlab.com/g/p/-/blob/main/x.yaml"));
        assert!(ok(&p, "https://bitbucket.example.com/projects/x"));
        assert!(ok(&p, "https://dev.azure.com/org/p/_git/r"));
        assert!(ok(&p, "https://gitea.example.com:3000/o/r"));
        assert!(!ok(&p, "https://raw.githubusercontent.com/o/r/main/x.yaml"));
        assert!(!ok(&p, "https://gitlab.example.com/x"));
    }

    #[test]
    fn link_local_and_metadata_need_an_exact_rule() {
        let wildcard = policy(json!({"backend": {"reading": {"allow": [
            {"host": "*.internal"}, {"host": "*.254"}, {"host": "*.google.internal"},
        ]}}}));
        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "http://2852039166/latest/meta-data/",
            "http://metadata.google.internal/computeMetadata/v1/",
            "http://metadata.google.internal./computeMetadata/v1/",
            "http://[fe80::1]/",
            "http://[::ffff:169.254.169.254]/",
            "http://[fd00:ec2::254]/",
        ] {
            let err = wildcard.check(&Url::parse(url).unwrap()).unwrap_err();
            assert!(
                err.contains("link-local and cloud metadata"),
                "{url}: {err}"
            );
        }
        assert!(ok(&wildcard, "http://other.internal/x"));

        let exact = policy(json!({"backend": {"reading": {"allow": [
            {"host": "169.254.169.254"}, {"host": "metadata.google.internal"}, {"host": "[fe80::1]"},
        ]}}}));
        assert!(ok(&exact, "http://169.254.169.254/latest/meta-data/"));
        assert!(ok(&exact, "http://metadata.google.internal/x"));
        assert!(ok(&exact, "http://[fe80::1]/x"));
        assert!(!ok(&exact, "http://169.254.169.253/x"));
    }

    #[test]
    fn config_errors_name_the_key() {
        let err = |root: Value| {
            from_config(&Config::from_value(root, PathBuf::from("/srv")))
                .unwrap_err()
                .message
        };
        assert!(
            err(json!({"backend": {"reading": {"allow": {"host": "a"}}}}))
                .starts_with("backend.reading.allow: expected a list")
        );
        assert!(
            err(json!({"backend": {"reading": {"allow": [{"host": "a"}, {}]}}}))
                .starts_with("backend.reading.allow[1].host: missing")
        );
        assert!(
            err(json!({"backend": {"reading": {"allow": [{"host": "https://a.com"}]}}}))
                .starts_with("backend.reading.allow[0].host: expected a host")
        );
        assert!(
            err(json!({"backend": {"reading": {"allow": [{"host": "a.*.com"}]}}}))
                .starts_with("backend.reading.allow[0].host: a wildcard")
        );
        assert!(err(
            json!({"backend": {"reading": {"allow": [{"host": "a.com", "paths": ["dir"]}]}}})
        )
        .starts_with("backend.reading.allow[0].paths[0]"));
        assert!(err(json!({"integrations": {"gitea": [{"token": "x"}]}}))
            .starts_with("integrations.gitea[0].host: missing"));
        assert!(err(json!({"integrations": {"github": {"host": "x"}}}))
            .starts_with("integrations.github: expected a list"));
    }
}
