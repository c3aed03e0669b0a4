//! The `catalog` section: locations, rules, orphan strategy, processing interval, readonly.
//!
//! Rules follow Backstage's DefaultCatalogRulesEnforcer: a rule applies when its `locations` matchers (if any)
//! match the origin location, and then allows the entity when one of its `allow` entries matches the kind
//! (case-insensitively) and, when given, `spec.type` (exactly).

use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use glob::{MatchOptions, Pattern};
use regex::Regex;
use serde_json::{Map, Value};

use crate::entity::Entity;
use crate::store::OrphanStrategy;

use super::{Config, ConfigError};

/// Backstage's default when `catalog.processingInterval` is not set (it then picks 100–150 s at random).
pub const DEFAULT_PROCESSING_INTERVAL: Duration = Duration::from_secs(100);

/// The kinds allowed when `catalog.rules` is absent.
pub const DEFAULT_ALLOWED_KINDS: [&str; 3] = ["Component", "API", "Location"];

#[derive(Debug, Clone, PartialEq)]
pub struct CatalogConfig {
    pub locations: Vec<ConfigLocation>,
    /// `catalog.rules` (or Backstage's default `allow: [Component, API, Location]`), followed by one rule per
    /// `catalog.locations[].rules` entry, restricted to that location.
    pub rules: Vec<CatalogRule>,
    pub orphan_strategy: OrphanStrategy,
    /// `None` when `processingInterval: false`.
    pub processing_interval: Option<Duration>,
    pub readonly: bool,
}

/// A `catalog.locations[]` entry; a relative `file` target is already resolved to an absolute path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigLocation {
    pub location_type: String,
    pub target: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogRule {
    pub allow: Vec<AllowKind>,
    /// `None` applies to every location.
    pub locations: Option<Vec<LocationMatcher>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowKind {
    pub kind: String,
    pub spec_type: Option<String>,
}

/// `{type, exact}` or `{type, pattern}` (minimatch, case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationMatcher {
    pub location_type: String,
    pub exact: Option<String>,
    pub pattern: Option<String>,
}

impl Default for CatalogConfig {
    /// What an absent `catalog` section means.
    fn default() -> Self {
        CatalogConfig {
            locations: Vec::new(),
            rules: default_rules(),
            orphan_strategy: OrphanStrategy::Delete,
            processing_interval: Some(DEFAULT_PROCESSING_INTERVAL),
            readonly: false,
        }
    }
}

/// Backstage's default rule set: `[{allow: [Component, API, Location]}]` for every location.
pub fn default_rules() -> Vec<CatalogRule> {
    vec![CatalogRule {
        allow: DEFAULT_ALLOWED_KINDS
            .iter()
            .map(|k| AllowKind {
                kind: (*k).to_string(),
                spec_type: None,
            })
            .collect(),
        locations: None,
    }]
}

impl CatalogConfig {
    /// Whether an entity emitted under the origin location (`type`, `target`) passes the rules, as
    /// Backstage's DefaultCatalogRulesEnforcer decides.
    pub fn is_allowed(&self, entity: &Entity, origin_type: &str, origin_target: &str) -> bool {
        self.rules
            .iter()
            .any(|rule| rule.matches_location(origin_type, origin_target) && rule.allows(entity))
    }
}

impl CatalogRule {
    /// No `locations` matches every location; an empty list matches none.
    pub fn matches_location(&self, location_type: &str, target: &str) -> bool {
        match &self.locations {
            None => true,
            Some(matchers) => matchers.iter().any(|m| m.matches(location_type, target)),
        }
    }

    pub fn allows(&self, entity: &Entity) -> bool {
        self.allow.iter().any(|a| a.matches(entity))
    }
}

impl AllowKind {
    pub fn matches(&self, entity: &Entity) -> bool {
        if !entity.kind().eq_ignore_ascii_case(&self.kind) {
            return false;
        }
        match self.spec_type.as_deref() {
            // Backstage skips the check for an empty `spec.type`, as it does for an absent one.
            Some(t) if !t.is_empty() => entity.spec_str("type") == Some(t),
            _ => true,
        }
    }
}

impl LocationMatcher {
    /// Type and `exact` compare exactly; `pattern` is a case-insensitive glob in which `*` stops at `/`
    /// and dot-files match (minimatch's `nocase` and `dot`).
    pub fn matches(&self, location_type: &str, target: &str) -> bool {
        if self.location_type != location_type {
            return false;
        }
        if let Some(exact) = self.exact.as_deref().filter(|e| !e.is_empty()) {
            if exact != target {
                return false;
            }
        }
        if let Some(pattern) = self.pattern.as_deref().filter(|p| !p.is_empty()) {
            let options = MatchOptions {
                case_sensitive: false,
                require_literal_separator: true,
                require_literal_leading_dot: false,
            };
            // Patterns are validated when the config is read; one that still fails to compile matches nothing.
            match Pattern::new(pattern) {
                Ok(p) if p.matches_with(target, options) => {}
                _ => return false,
            }
        }
        true
    }
}

pub fn from_config(config: &Config) -> Result<CatalogConfig, ConfigError> {
    let mut out = CatalogConfig::default();
    let Some(section) = config.get("catalog").filter(|v| !v.is_null()) else {
        return Ok(out);
    };
    let section = section
        .as_object()
        .ok_or_else(|| ConfigError::new("catalog: expected a mapping"))?;

    if let Some(rules) = section.get("rules").filter(|v| !v.is_null()) {
        out.rules = parse_rules(rules, "catalog.rules")?;
    }

    if let Some(locations) = section.get("locations").filter(|v| !v.is_null()) {
        let items = locations
            .as_array()
            .ok_or_else(|| ConfigError::new("catalog.locations: expected a list"))?;
        for (i, item) in items.iter().enumerate() {
            let at = format!("catalog.locations[{i}]");
            let obj = item.as_object().ok_or_else(|| {
                ConfigError::new(format!("{at}: expected a mapping with type and target"))
            })?;
            let location_type = required_string(obj, &at, "type", "file or url")?;
            let target = required_string(obj, &at, "target", "a path or URL")?;
            let target = if location_type == "file" {
                resolve_against(&config.base_dir, &target)
                    .to_string_lossy()
                    .into_owned()
            } else {
                target
            };
            if let Some(rules) = obj.get("rules").filter(|v| !v.is_null()) {
                let list = rules
                    .as_array()
                    .ok_or_else(|| ConfigError::new(format!("{at}.rules: expected a list")))?;
                for (j, rule) in list.iter().enumerate() {
                    let rule_at = format!("{at}.rules[{j}]");
                    let rule_obj = rule.as_object().ok_or_else(|| {
                        ConfigError::new(format!("{rule_at}: expected a mapping with allow"))
                    })?;
                    let allow = parse_allow(rule_obj.get("allow"), &format!("{rule_at}.allow"))?;
                    out.rules.push(CatalogRule {
                        allow,
                        locations: Some(vec![LocationMatcher {
                            location_type: location_type.clone(),
                            exact: Some(target.clone()),
                            pattern: None,
                        }]),
                    });
                }
            }
            out.locations.push(ConfigLocation {
                location_type,
                target,
            });
        }
    }

    if let Some(v) = section.get("orphanStrategy").filter(|v| !v.is_null()) {
        out.orphan_strategy = match v.as_str() {
            Some("keep") => OrphanStrategy::Keep,
            Some("delete") => OrphanStrategy::Delete,
            _ => {
                return Err(ConfigError::new(format!(
                    "catalog.orphanStrategy: expected keep or delete, found {v}"
                )))
            }
        };
    }

    if let Some(v) = section.get("processingInterval").filter(|v| !v.is_null()) {
        out.processing_interval = match v {
            Value::Bool(false) => None,
            other => Some(parse_duration(other, "catalog.processingInterval")?),
        };
    }

    if let Some(v) = section.get("readonly").filter(|v| !v.is_null()) {
        out.readonly = v.as_bool().ok_or_else(|| {
            ConfigError::new(format!(
                "catalog.readonly: expected true or false, found {v}"
            ))
        })?;
    }

    Ok(out)
}

fn required_string(
    obj: &Map<String, Value>,
    at: &str,
    key: &str,
    what: &str,
) -> Result<String, ConfigError> {
    match obj.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(other) => Err(ConfigError::new(format!(
            "{at}.{key}: expected a non-empty string ({what}), found {other}"
        ))),
        None => Err(ConfigError::new(format!(
            "{at}.{key}: missing; required ({what})"
        ))),
    }
}

fn parse_rules(value: &Value, at: &str) -> Result<Vec<CatalogRule>, ConfigError> {
    let items = value
        .as_array()
        .ok_or_else(|| ConfigError::new(format!("{at}: expected a list")))?;
    let mut rules = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let rule_at = format!("{at}[{i}]");
        let obj = item
            .as_object()
            .ok_or_else(|| ConfigError::new(format!("{rule_at}: expected a mapping with allow")))?;
        let allow = parse_allow(obj.get("allow"), &format!("{rule_at}.allow"))?;
        let locations = match obj.get("locations") {
            None => None,
            Some(v) => {
                let list = v.as_array().ok_or_else(|| {
                    ConfigError::new(format!("{rule_at}.locations: expected a list"))
                })?;
                let mut matchers = Vec::with_capacity(list.len());
                for (j, m) in list.iter().enumerate() {
                    matchers.push(parse_matcher(m, &format!("{rule_at}.locations[{j}]"))?);
                }
                Some(matchers)
            }
        };
        rules.push(CatalogRule { allow, locations });
    }
    Ok(rules)
}

fn parse_matcher(value: &Value, at: &str) -> Result<LocationMatcher, ConfigError> {
    let obj = value
        .as_object()
        .ok_or_else(|| ConfigError::new(format!("{at}: expected a mapping with type")))?;
    let location_type = required_string(obj, at, "type", "file or url")?;
    let optional = |key: &str| -> Result<Option<String>, ConfigError> {
        match obj.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(ConfigError::new(format!(
                "{at}.{key}: expected a string, found {other}"
            ))),
        }
    };
    let exact = optional("exact")?;
    let pattern = optional("pattern")?;
    if exact.as_deref().is_some_and(|s| !s.is_empty())
        && pattern.as_deref().is_some_and(|s| !s.is_empty())
    {
        return Err(ConfigError::new(format!(
            "{at}: a catalog rule location cannot have both exact and pattern values"
        )));
    }
    if let Some(p) = pattern.as_deref() {
        Pattern::new(p)
            .map_err(|e| ConfigError::new(format!("{at}.pattern: invalid pattern '{p}': {e}")))?;
    }
    Ok(LocationMatcher {
        location_type,
        exact,
        pattern,
    })
}

fn parse_allow(value: Option<&Value>, at: &str) -> Result<Vec<AllowKind>, ConfigError> {
    let items = match value {
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(ConfigError::new(format!(
                "{at}: expected a list of kinds, found {other}"
            )))
        }
        None => return Err(ConfigError::new(format!("{at}: missing; required"))),
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(kind) => Ok(AllowKind {
                kind: kind.clone(),
                spec_type: None,
            }),
            Value::Object(obj) => {
                let kind = match obj.get("kind") {
                    Some(Value::String(k)) => k.clone(),
                    _ => {
                        return Err(ConfigError::new(format!(
                            "{at}[{i}].kind: missing; required (a string)"
                        )))
                    }
                };
                let spec_type = match obj.get("spec.type") {
                    None => None,
                    Some(Value::String(t)) => Some(t.clone()),
                    Some(other) => {
                        return Err(ConfigError::new(format!(
                            "{at}[{i}].spec.type: expected a string, found {other}"
                        )))
                    }
                };
                Ok(AllowKind { kind, spec_type })
            }
            other => Err(ConfigError::new(format!(
                "{at}[{i}]: expected a kind or {{kind, spec.type}}, found {other}"
            ))),
        })
        .collect()
}

/// `target` made absolute against `base` and normalised lexically (`.` and `..` removed), like Node's
/// `path.resolve`; the file need not exist.
pub fn resolve_against(base: &Path, target: &str) -> PathBuf {
    let joined = base.join(target);
    let mut out = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                // `..` at the root stays at the root, as path.resolve does.
                let is_root = out.parent().is_none();
                if !is_root {
                    out.pop();
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Reads a Backstage duration: a HumanDuration object (`{minutes: 2}`), an ISO-8601 string (`PT2M`) or an
/// `ms`-style string (`2m`, `100 seconds`).
pub fn parse_duration(value: &Value, at: &str) -> Result<Duration, ConfigError> {
    let millis = match value {
        Value::Object(obj) => human_duration_millis(obj, at)?,
        Value::String(s) => {
            let s = s.trim();
            let parsed = if s.starts_with('P') {
                iso_duration_millis(s)
            } else {
                ms_duration_millis(s)
            };
            parsed.ok_or_else(|| {
                ConfigError::new(format!(
                    "{at}: invalid duration '{s}' (use e.g. {{minutes: 2}}, PT2M or 2m)"
                ))
            })?
        }
        other => {
            return Err(ConfigError::new(format!(
            "{at}: expected a duration such as {{seconds: 100}} or PT2M, or false, found {other}"
        )))
        }
    };
    if !millis.is_finite() || millis.round() < 1.0 {
        return Err(ConfigError::new(format!(
            "{at}: the duration must be greater than zero"
        )));
    }
    // Sub-millisecond precision means nothing for these settings; rounding keeps float noise out.
    Ok(Duration::from_millis(
        millis.round().min(u64::MAX as f64) as u64
    ))
}

const SECOND: f64 = 1000.0;
const MINUTE: f64 = 60.0 * SECOND;
const HOUR: f64 = 60.0 * MINUTE;
const DAY: f64 = 24.0 * HOUR;

/// HumanDuration keys with Luxon's casual conversion (a month is 30 days, a year 365), which is what
/// Backstage uses to turn them into milliseconds.
const HUMAN_UNITS: [(&str, f64); 8] = [
    ("years", 365.0 * DAY),
    ("months", 30.0 * DAY),
    ("weeks", 7.0 * DAY),
    ("days", DAY),
    ("hours", HOUR),
    ("minutes", MINUTE),
    ("seconds", SECOND),
    ("milliseconds", 1.0),
];

fn human_duration_millis(obj: &Map<String, Value>, at: &str) -> Result<f64, ConfigError> {
    let names = HUMAN_UNITS
        .iter()
        .map(|(n, _)| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut total = 0.0;
    let mut found = false;
    for (key, value) in obj {
        let Some((_, unit)) = HUMAN_UNITS.iter().find(|(n, _)| n == key) else {
            return Err(ConfigError::new(format!(
                "{at}: unknown property '{key}'; only {names} are allowed"
            )));
        };
        let n = value.as_f64().ok_or_else(|| {
            ConfigError::new(format!("{at}.{key}: expected a number, found {value}"))
        })?;
        total += n * unit;
        found = true;
    }
    if !found {
        return Err(ConfigError::new(format!(
            "{at}: needs one or more of {names}"
        )));
    }
    Ok(total)
}

fn iso_duration_millis(s: &str) -> Option<f64> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        let n = r"(\d+(?:[.,]\d+)?)";
        Regex::new(&format!(
            r"^P(?:{n}Y)?(?:{n}M)?(?:{n}W)?(?:{n}D)?(?:T(?:{n}H)?(?:{n}M)?(?:{n}S)?)?$"
        ))
        .unwrap_or_else(|_| unreachable!())
    });
    if s == "P" || s.ends_with('T') {
        return None;
    }
    let caps = re.captures(s)?;
    let units = [
        365.0 * DAY,
        30.0 * DAY,
        7.0 * DAY,
        DAY,
        HOUR,
        MINUTE,
        SECOND,
    ];
    let mut total = 0.0;
    for (i, unit) in units.iter().enumerate() {
        if let Some(m) = caps.get(i + 1) {
            let n: f64 = m.as_str().replace(',', ".").parse().ok()?;
            total += n * unit;
        }
    }
    Some(total)
}

/// The `ms` package's string form: a number and an optional unit (milliseconds when absent).
fn ms_duration_millis(s: &str) -> Option<f64> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"(?i)^(-?\d*\.?\d+) *([a-z]+)?$").unwrap_or_else(|_| unreachable!())
    });
    let caps = re.captures(s)?;
    let n: f64 = caps.get(1)?.as_str().parse().ok()?;
    let unit = caps
        .get(2)
        .map(|m| m.as_str().to_ascii_lowercase())
        .unwrap_or_default();
    let factor = match unit.as_str() {
        "" | "ms" | "msec" | "msecs" | "millisecond" | "milliseconds" => 1.0,
        "s" | "sec" | "secs" | "second" | "seconds" => SECOND,
        "m" | "min" | "mins" | "minute" | "minutes" => MINUTE,
        "h" | "hr" | "hrs" | "hour" | "hours" => HOUR,
        "d" | "day" | "days" => DAY,
        "w" | "week" | "weeks" => 7.0 * DAY,
        "y" | "yr" | "yrs" | "year" | "years" => 365.25 * DAY,
        _ => return None,
    };
    Some(n * factor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(root: Value) -> Config {
        Config::from_value(root, PathBuf::from("/srv/portal"))
    }

    fn entity(kind: &str, spec_type: Option<&str>) -> Entity {
        let mut v =
            json!({"apiVersion": "backstage.io/v1alpha1", "kind": kind, "metadata": {"name": "x"}});
        if let Some(t) = spec_type {
            v["spec"] = json!({"type": t});
        }
        Entity::from_value(v).unwrap()
    }

    #[test]
    fn absent_section_gives_defaults() {
        let c = from_config(&config(json!({}))).unwrap();
        assert_eq!(c, CatalogConfig::default());
        assert_eq!(c.orphan_strategy, OrphanStrategy::Delete);
        assert_eq!(c.processing_interval, Some(Duration::from_secs(100)));
        assert!(!c.readonly);
        assert!(c.is_allowed(&entity("component", None), "url", "https://x"));
        assert!(c.is_allowed(&entity("API", None), "file", "/a"));
        assert!(c.is_allowed(&entity("Location", None), "file", "/a"));
        assert!(!c.is_allowed(&entity("User", None), "file", "/a"));
        assert!(!c.is_allowed(&entity("Group", None), "file", "/a"));
    }

    #[test]
    fn null_values_count_as_absent() {
        assert_eq!(
            from_config(&config(json!({"catalog": null}))).unwrap(),
            CatalogConfig::default()
        );
        let c = from_config(&config(
            json!({"catalog": {"rules": null, "locations": null, "readonly": null}}),
        ))
        .unwrap();
        assert_eq!(c, CatalogConfig::default());
    }

    #[test]
    fn locations_resolve_file_targets() {
        let c = from_config(&config(json!({"catalog": {"locations": [
            {"type": "file", "target": "./catalog/../catalog/./all.yaml"},
            {"type": "file", "target": "/abs/x.yaml"},
            {"type": "url", "target": "https://github.com/o/r/blob/main/catalog-info.yaml"},
            {"type": "file", "target": "../up.yaml"},
        ]}})))
        .unwrap();
        let targets: Vec<_> = c.locations.iter().map(|l| l.target.as_str()).collect();
        assert_eq!(
            targets,
            [
                "/srv/portal/catalog/all.yaml",
                "/abs/x.yaml",
                "https://github.com/o/r/blob/main/catalog-info.yaml",
                "/srv/up.yaml"
            ]
        );
        assert_eq!(c.locations[2].location_type, "url");
    }

    #[test]
    fn location_without_type_names_the_key() {
        let err = from_config(&config(json!({"catalog": {"locations": [
            {"type": "file", "target": "a"},
            {"type": "url", "target": "https://b"},
            {"target": "c"},
        ]}})))
        .unwrap_err();
        assert!(
            err.message
                .starts_with("catalog.locations[2].type: missing"),
            "{err}"
        );
        let err = from_config(&config(
            json!({"catalog": {"locations": [{"type": "file"}]}}),
        ))
        .unwrap_err();
        assert!(
            err.message.starts_with("catalog.locations[0].target"),
            "{err}"
        );
    }

    #[test]
    fn explicit_rules_replace_defaults_and_check_spec_type() {
        let c = from_config(&config(json!({"catalog": {"rules": [
            {"allow": ["Component", {"kind": "resource", "spec.type": "database"}]},
            {"allow": ["Template"], "locations": [{"type": "url", "pattern": "https://github.com/org/*/blob/main/template.yaml"}]},
            {"allow": ["System"], "locations": [{"type": "file", "exact": "/srv/portal/systems.yaml"}]},
            {"allow": ["Domain"], "locations": []},
        ]}})))
        .unwrap();
        assert!(c.is_allowed(&entity("Component", None), "file", "/x"));
        assert!(!c.is_allowed(&entity("API", None), "file", "/x"));
        assert!(c.is_allowed(&entity("Resource", Some("database")), "file", "/x"));
        assert!(!c.is_allowed(&entity("Resource", Some("Database")), "file", "/x"));
        assert!(!c.is_allowed(&entity("Resource", None), "file", "/x"));
        // Pattern: case-insensitive, `*` does not cross `/`.
        assert!(c.is_allowed(
            &entity("Template", None),
            "url",
            "https://GitHub.com/org/repo/blob/main/template.yaml"
        ));
        assert!(!c.is_allowed(
            &entity("Template", None),
            "url",
            "https://github.com/org/a/b/blob/main/template.yaml"
        ));
        assert!(!c.is_allowed(
            &entity("Template", None),
            "file",
            "https://github.com/org/repo/blob/main/template.yaml"
        ));
        // Exact.
        assert!(c.is_allowed(&entity("system", None), "file", "/srv/portal/systems.yaml"));
        assert!(!c.is_allowed(&entity("System", None), "file", "/srv/portal/other.yaml"));
        // An empty matcher list matches no location.
        assert!(!c.is_allowed(&entity("Domain", None), "file", "/x"));
    }

    #[test]
    fn per_location_rules_are_appended_and_restricted() {
        let c = from_config(&config(json!({"catalog": {"locations": [
            {"type": "file", "target": "./org.yaml", "rules": [{"allow": ["User", "Group"]}]},
            {"type": "url", "target": "https://example.com/s.yaml", "rules": [{"allow": ["System"]}]},
        ]}})))
        .unwrap();
        assert_eq!(c.rules.len(), 3);
        assert_eq!(c.rules[..1], default_rules()[..]);
        assert_eq!(
            c.rules[1].locations,
            Some(vec![LocationMatcher {
                location_type: "file".into(),
                exact: Some("/srv/portal/org.yaml".into()),
                pattern: None
            }])
        );
        assert!(c.is_allowed(&entity("User", None), "file", "/srv/portal/org.yaml"));
        assert!(!c.is_allowed(&entity("User", None), "file", "/srv/portal/other.yaml"));
        assert!(c.is_allowed(&entity("Component", None), "file", "/srv/portal/other.yaml"));
        assert!(c.is_allowed(&entity("System", None), "url", "https://example.com/s.yaml"));
        assert!(!c.is_allowed(&entity("System", None), "url", "https://example.com/t.yaml"));
    }

    #[test]
    fn rule_errors_name_the_key() {
        let cases = [
            (json!({"rules": {"allow": []}}), "catalog.rules: expected a list"),
            (json!({"rules": [{}]}), "catalog.rules[0].allow: missing"),
            (json!({"rules": [{"allow": [3]}]}), "catalog.rules[0].allow[0]: expected a kind"),
            (json!({"rules": [{"allow": [{"spec.type": "x"}]}]}), "catalog.rules[0].allow[0].kind"),
            (
                json!({"rules": [{"allow": ["A"], "locations": [{"type": "url", "exact": "a", "pattern": "b"}]}]}),
                "catalog.rules[0].locations[0]: a catalog rule location cannot have both exact and pattern values",
            ),
            (json!({"rules": [{"allow": ["A"], "locations": [{"exact": "a"}]}]}), "catalog.rules[0].locations[0].type"),
            (json!({"rules": [{"allow": ["A"], "locations": [{"type": "url", "pattern": "[a"}]}]}), "catalog.rules[0].locations[0].pattern: invalid"),
            (json!({"locations": [{"type": "file", "target": "a", "rules": [{"allow": "User"}]}]}), "catalog.locations[0].rules[0].allow: expected a list"),
        ];
        for (section, expected) in cases {
            let err = from_config(&config(json!({"catalog": section}))).unwrap_err();
            assert!(err.message.starts_with(expected), "{expected}: {err}");
        }
    }

    #[test]
    fn orphan_strategy_and_readonly() {
        let c = from_config(&config(
            json!({"catalog": {"orphanStrategy": "keep", "readonly": true}}),
        ))
        .unwrap();
        assert_eq!(c.orphan_strategy, OrphanStrategy::Keep);
        assert!(c.readonly);
        let c = from_config(&config(json!({"catalog": {"orphanStrategy": "delete"}}))).unwrap();
        assert_eq!(c.orphan_strategy, OrphanStrategy::Delete);
        let err = from_config(&config(json!({"catalog": {"orphanStrategy": "Keep"}}))).unwrap_err();
        assert!(
            err.message
                .starts_with("catalog.orphanStrategy: expected keep or delete"),
            "{err}"
        );
        let err = from_config(&config(json!({"catalog": {"readonly": "yes"}}))).unwrap_err();
        assert!(err.message.starts_with("catalog.readonly"), "{err}");
    }

    #[test]
    fn processing_interval_forms() {
        let interval = |v: Value| {
            from_config(&config(json!({"catalog": {"processingInterval": v}})))
                .map(|c| c.processing_interval)
        };
        assert_eq!(
            interval(json!({"minutes": 2})).unwrap(),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            interval(json!({"seconds": 100})).unwrap(),
            Some(Duration::from_secs(100))
        );
        assert_eq!(
            interval(json!({"hours": 1, "minutes": 1, "milliseconds": 500})).unwrap(),
            Some(Duration::from_millis(3_660_500))
        );
        assert_eq!(
            interval(json!({"days": 1})).unwrap(),
            Some(Duration::from_secs(86_400))
        );
        assert_eq!(
            interval(json!("PT2M")).unwrap(),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            interval(json!("P1DT1H30M15.5S")).unwrap(),
            Some(Duration::from_millis(91_815_500))
        );
        assert_eq!(
            interval(json!("90s")).unwrap(),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            interval(json!("2 minutes")).unwrap(),
            Some(Duration::from_secs(120))
        );
        assert_eq!(interval(json!(false)).unwrap(), None);

        for bad in [
            json!({"minute": 2}),
            json!({}),
            json!("PT"),
            json!("P"),
            json!("soon"),
            json!(100),
            json!(true),
            json!({"seconds": 0}),
            json!({"seconds": "1"}),
        ] {
            let err = interval(bad.clone()).unwrap_err();
            assert!(
                err.message.starts_with("catalog.processingInterval"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn config_locations_from_a_loaded_file() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("app-config.yaml");
        std::fs::write(
            &file,
            "catalog:\n  locations:\n    - type: file\n      target: ./examples/all.yaml\n      rules:\n        - allow: [User]\n",
        )
        .unwrap();
        let config = Config::load(&[file], tmp.path()).unwrap();
        let c = config.catalog().unwrap();
        let expected = tmp.path().canonicalize().unwrap().join("examples/all.yaml");
        assert_eq!(c.locations[0].target, expected.to_string_lossy());
        assert!(c.is_allowed(&entity("User", None), "file", &c.locations[0].target));
    }

    fn fixture_entities(dir: &Path) -> Vec<Entity> {
        use serde::Deserialize;
        let mut out = Vec::new();
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for doc in serde_yaml::Deserializer::from_str(&text) {
                let value = Value::deserialize(doc).unwrap();
                out.push(Entity::from_value(value).unwrap());
            }
        }
        out
    }

    #[test]
    fn backstage_example_org_needs_its_location_rule() {
        let examples = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/backstage/examples"
        );
        let base = Path::new(examples).canonicalize().unwrap();
        let c = from_config(&Config::from_value(
            json!({"catalog": {"locations": [
                {"type": "file", "target": "./all.yaml"},
                {"type": "file", "target": "acme-corp.yaml", "rules": [{"allow": ["User", "Group"]}]},
            ]}}),
            base.clone(),
        ))
        .unwrap();
        let all = base.join("all.yaml").to_string_lossy().into_owned();
        let acme = base.join("acme-corp.yaml").to_string_lossy().into_owned();
        assert_eq!(c.locations[1].target, acme);

        let org = fixture_entities(&base.join("acme"));
        assert_eq!(org.iter().filter(|e| e.kind() == "User").count(), 17);
        assert_eq!(org.iter().filter(|e| e.kind() == "Group").count(), 8);
        for e in &org {
            assert!(c.is_allowed(e, "file", &acme), "{}", e.name());
            let is_org_kind = matches!(e.kind(), "User" | "Group");
            assert_eq!(c.is_allowed(e, "file", &all), !is_org_kind, "{}", e.name());
        }
        let components = fixture_entities(&base.join("components"));
        assert!(!components.is_empty());
        for e in &components {
            assert!(c.is_allowed(e, "file", &all), "{}", e.name());
        }
    }

    #[test]
    fn resolve_against_normalises() {
        assert_eq!(
            resolve_against(Path::new("/a/b"), "../../../c"),
            PathBuf::from("/c")
        );
        assert_eq!(
            resolve_against(Path::new("/a/b"), "./c/./d/../e"),
            PathBuf::from("/a/b/c/e")
        );
        assert_eq!(
            resolve_against(Path::new("/a/b"), "/x/../y"),
            PathBuf::from("/y")
        );
    }
}
