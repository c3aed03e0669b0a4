//! The filters a template may call: Nunjucks' built-ins with Nunjucks' results (`dump`, `default`, `title`,
//! `length`, `join`, `replace`, `indent`, `string`), minijinja built-ins that match Nunjucks already (each
//! behind a size guard), and Backstage's own (`parseRepoUrl`, `parseEntityRef`, `pick`, `projectSlug`).
//! Every filter bounds what it allocates: a filter argument can never turn a small template into gigabytes.

use minijinja::value::{Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};
use serde_json::Value as Json;

use super::budget;
use super::convert::{from_json, js_string, to_json, MAX_ITEMS};
use crate::entity::reference::{EntityRef, DEFAULT_NAMESPACE};

/// Largest string a filter accepts or produces.
pub(crate) const MAX_STRING: usize = 4 * 1024 * 1024;

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

fn too_long() -> Error {
    invalid(format!(
        "result is too large (more than {MAX_STRING} bytes)"
    ))
}

/// Every filter minijinja's `Environment::new()` registers; all are removed, then the safe ones come back.
const MINIJINJA_FILTERS: &[&str] = &[
    "abs",
    "attr",
    "batch",
    "bool",
    "capitalize",
    "chain",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "first",
    "float",
    "format",
    "groupby",
    "indent",
    "int",
    "items",
    "join",
    "last",
    "length",
    "lines",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "pprint",
    "reject",
    "rejectattr",
    "replace",
    "reverse",
    "round",
    "safe",
    "select",
    "selectattr",
    "slice",
    "sort",
    "split",
    "string",
    "sum",
    "title",
    "tojson",
    "trim",
    "unique",
    "upper",
    "urlencode",
    "zip",
];

/// Installs the filter set on `env`; `compat` adds cookiecutter's `jsonify`.
pub(crate) fn install(env: &mut Environment<'static>, compat: bool) {
    for name in MINIJINJA_FILTERS {
        env.remove_filter(name);
    }
    // minijinja built-ins whose results already match Nunjucks (or that Nunjucks lacks but are harmless),
    // each behind the size guard. `tojson`, `format`, `pprint` and `urlencode` stay out (they either
    // allocate what an argument asks for or are not Nunjucks); the rest are Nunjucks-exact versions below.
    macro_rules! kept {
        ($($name:literal => $f:path),* $(,)?) => {$(
            let original = Value::from_function($f);
            env.add_filter($name, move |state: &State, args: Rest<Value>| {
                guard(&args)?;
                budget::charged(state, original.call(state, &args)?)
            });
        )*};
    }
    // Ours bound each result themselves; the render's budget still counts what they produce, so a filter
    // applied over and over (in `map`, in a loop, on many `set` lines) cannot pile results up.
    macro_rules! charged {
        ($($name:literal => $f:path),* $(,)?) => {$(
            let original = Value::from_function($f);
            env.add_filter($name, move |state: &State, args: Rest<Value>| {
                budget::charged(state, original.call(state, &args)?)
            });
        )*};
    }
    kept!(
        "abs" => minijinja::filters::abs,
        "batch" => minijinja::filters::batch,
        "bool" => minijinja::filters::bool,
        "capitalize" => minijinja::filters::capitalize,
        "dictsort" => minijinja::filters::dictsort,
        "e" => minijinja::filters::escape,
        "escape" => minijinja::filters::escape,
        "first" => minijinja::filters::first,
        "float" => minijinja::filters::float,
        "groupby" => minijinja::filters::groupby,
        "int" => minijinja::filters::int,
        "items" => minijinja::filters::items,
        "last" => minijinja::filters::last,
        "lines" => minijinja::filters::lines,
        "list" => minijinja::filters::list,
        "lower" => minijinja::filters::lower,
        "map" => minijinja::filters::map,
        "max" => minijinja::filters::max,
        "min" => minijinja::filters::min,
        "reject" => minijinja::filters::reject,
        "rejectattr" => minijinja::filters::rejectattr,
        "reverse" => minijinja::filters::reverse,
        "round" => minijinja::filters::round,
        "safe" => minijinja::filters::safe,
        "select" => minijinja::filters::select,
        "selectattr" => minijinja::filters::selectattr,
        "slice" => minijinja::filters::slice,
        "sort" => minijinja::filters::sort,
        "split" => minijinja::filters::split,
        "sum" => minijinja::filters::sum,
        "trim" => minijinja::filters::trim,
        "unique" => minijinja::filters::unique,
        "upper" => minijinja::filters::upper,
    );
    // These hand back a value that already exists (or a number): nothing new to charge.
    env.add_filter("default", default);
    env.add_filter("d", default);
    env.add_filter("length", length);
    env.add_filter("count", length);
    env.add_filter("_js_length", js_length);
    env.add_filter("pick", pick);
    charged!(
        "dump" => dump,
        "title" => title,
        "_nj_pairs" => nj_pairs,
        "join" => join,
        "replace" => replace,
        "indent" => indent,
        "string" => string,
        "parseRepoUrl" => parse_repo_url_filter,
        "parseEntityRef" => parse_entity_ref_filter,
        "projectSlug" => project_slug,
    );
    if compat {
        charged!("jsonify" => dump);
    }
}

/// Refuses inputs that would let a built-in allocate without bound: long strings, huge sequences, and
/// large numeric arguments (counts for `batch`, `slice` and the like).
fn guard(args: &[Value]) -> Result<(), Error> {
    for (i, arg) in args.iter().enumerate() {
        match arg.kind() {
            ValueKind::String if arg.as_str().is_some_and(|s| s.len() > MAX_STRING) => {
                return Err(too_long())
            }
            ValueKind::Seq | ValueKind::Iterable | ValueKind::Map
                if arg.len().is_none_or(|n| n > MAX_ITEMS) =>
            {
                return Err(invalid(format!(
                    "value is too large (more than {MAX_ITEMS} items)"
                )))
            }
            ValueKind::Number if i > 0 => {
                if let Ok(n) = f64::try_from(arg.clone()) {
                    if n.abs() > MAX_ITEMS as f64 {
                        return Err(invalid(format!("argument {n} is too large")));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Nunjucks' `dump`: `JSON.stringify(value, null, spaces)`; undefined stays undefined (prints nothing).
/// A numeric indent is clamped to 10 and a string indent to its first 10 characters, as JavaScript does.
pub(crate) fn dump(value: Value, spaces: Option<Value>) -> Result<Value, Error> {
    let Some(json) = to_json(&value)? else {
        return Ok(Value::UNDEFINED);
    };
    let indent: String = match spaces {
        Some(s) if s.kind() == ValueKind::Number => {
            let n = f64::try_from(s).unwrap_or(0.0).clamp(0.0, 10.0) as usize;
            " ".repeat(n)
        }
        Some(s) if s.kind() == ValueKind::String => {
            s.as_str().unwrap_or("").chars().take(10).collect()
        }
        _ => String::new(),
    };
    let text = if indent.is_empty() {
        serde_json::to_string(&json)
    } else {
        let mut out = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
        let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
        serde::Serialize::serialize(&json, &mut ser)
            .map(|_| String::from_utf8_lossy(&out).into_owned())
    }
    .map_err(|e| invalid(format!("cannot serialize value: {e}")))?;
    if text.len() > MAX_STRING {
        return Err(too_long());
    }
    Ok(Value::from(text))
}

/// Nunjucks' `default(value, fallback, boolean)`: the fallback replaces undefined only (null is kept), or
/// any falsy value when `boolean` is true.
fn default(value: Value, fallback: Option<Value>, boolean: Option<bool>) -> Value {
    let fallback = fallback.unwrap_or(Value::UNDEFINED);
    if boolean.unwrap_or(false) {
        if value.is_true() {
            value
        } else {
            fallback
        }
    } else if value.is_undefined() {
        fallback
    } else {
        value
    }
}

/// Nunjucks' `title`: every space-separated word capitalised (first letter upper, rest lower).
fn title(value: Value) -> Result<Value, Error> {
    let s = js_string(&value)?;
    let words: Vec<String> = s.split(' ').map(capitalize_word).collect();
    Ok(Value::from(words.join(" ")))
}

fn capitalize_word(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

/// Nunjucks' `length`: characters of a string, members of an array, keys of an object, 0 otherwise.
fn length(value: Value) -> Value {
    Value::from(match value.kind() {
        ValueKind::String => value.as_str().map_or(0, utf16_len),
        _ => value.len().unwrap_or(0),
    })
}

/// JavaScript counts string length in UTF-16 units.
fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// `x.length` as JavaScript reads it: strings and arrays have one, an object only if it has the key.
fn js_length(value: Value) -> Result<Value, Error> {
    Ok(match value.kind() {
        ValueKind::String => Value::from(value.as_str().map_or(0, utf16_len)),
        ValueKind::Seq | ValueKind::Iterable => value.len().map_or(Value::UNDEFINED, Value::from),
        ValueKind::Map => value.get_attr("length")?,
        _ => Value::UNDEFINED,
    })
}

/// For `for k, v in obj`: an object's `[key, value]` entries; anything else unchanged.
fn nj_pairs(value: Value) -> Result<Value, Error> {
    if value.kind() != ValueKind::Map {
        return Ok(value);
    }
    if value.len().is_some_and(|n| n > MAX_ITEMS) {
        return Err(invalid("object is too large to iterate"));
    }
    let mut pairs = Vec::new();
    for key in value.try_iter()? {
        let v = value.get_item(&key)?;
        pairs.push(Value::from(vec![key, v]));
    }
    Ok(Value::from(pairs))
}

/// Nunjucks' `join(array, delimiter = "", attribute)`, as `Array.prototype.join`.
fn join(value: Value, delimiter: Option<Value>, attribute: Option<Value>) -> Result<Value, Error> {
    if value.is_undefined() || value.is_none() {
        return Ok(Value::from(""));
    }
    if value.kind() == ValueKind::String {
        return Ok(value);
    }
    guard(std::slice::from_ref(&value))?;
    let delimiter = match delimiter {
        Some(d) => js_string(&d)?,
        None => String::new(),
    };
    let mut out = String::new();
    for (i, item) in value.try_iter()?.enumerate() {
        if i > 0 {
            out.push_str(&delimiter);
        }
        let item = match &attribute {
            Some(attr) => item.get_item(attr)?,
            None => item,
        };
        out.push_str(&js_string(&item)?);
        if out.len() > MAX_STRING {
            return Err(too_long());
        }
    }
    Ok(Value::from(out))
}

/// Nunjucks' `replace(string, old, new, maxCount)`: every occurrence (or the first `maxCount`); an empty
/// `old` inserts `new` around every character (whatever `maxCount` says).
fn replace(value: Value, old: Value, new: Value, max_count: Option<i64>) -> Result<Value, Error> {
    let s = js_string(&value)?;
    let old = js_string(&old)?;
    let new = js_string(&new)?;
    let limit = match max_count {
        Some(n) if n >= 0 => n as usize,
        _ => usize::MAX,
    };
    let matches = if old.is_empty() {
        s.chars().count() + 1
    } else {
        s.matches(old.as_str()).count().min(limit)
    };
    let estimate = s.len().saturating_add(matches.saturating_mul(new.len()));
    if estimate > MAX_STRING {
        return Err(too_long());
    }
    if old.is_empty() {
        // Nunjucks ignores maxCount here: `new + str.split('').join(new) + new`.
        let mut out = String::with_capacity(estimate);
        for ch in s.chars() {
            out.push_str(&new);
            out.push(ch);
        }
        out.push_str(&new);
        return Ok(Value::from(out));
    }
    Ok(Value::from(s.replacen(old.as_str(), &new, limit)))
}

/// Nunjucks' `indent(string, width = 4, indentfirst = false)`: every line but the first gets `width` spaces.
fn indent(value: Value, width: Option<usize>, indent_first: Option<bool>) -> Result<Value, Error> {
    let s = js_string(&value)?;
    let width = width.unwrap_or(4);
    let lines = s.split('\n').count();
    if width.saturating_mul(lines).saturating_add(s.len()) > MAX_STRING {
        return Err(too_long());
    }
    let pad = " ".repeat(width);
    let first = indent_first.unwrap_or(false);
    let out: Vec<String> = s
        .split('\n')
        .enumerate()
        .map(|(i, line)| {
            if i == 0 && !first {
                line.to_string()
            } else {
                format!("{pad}{line}")
            }
        })
        .collect();
    Ok(Value::from(out.join("\n")))
}

/// Nunjucks' `string`: `String(value)`.
fn string(value: Value) -> Result<Value, Error> {
    let s = js_string(&value)?;
    if s.len() > MAX_STRING {
        return Err(too_long());
    }
    Ok(Value::from(s))
}

/// A repository location as the `RepoUrlPicker` writes it (`host?owner=o&repo=r`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoUrl {
    pub host: String,
    pub owner: Option<String>,
    pub repo: String,
    pub organization: Option<String>,
    pub workspace: Option<String>,
    pub project: Option<String>,
}

impl RepoUrl {
    /// The JSON Backstage's filter returns: absent parts are left out.
    pub fn to_json(&self) -> Json {
        let mut map = serde_json::Map::new();
        map.insert("host".into(), Json::String(self.host.clone()));
        if let Some(o) = &self.owner {
            map.insert("owner".into(), Json::String(o.clone()));
        }
        map.insert("repo".into(), Json::String(self.repo.clone()));
        for (k, v) in [
            ("organization", &self.organization),
            ("workspace", &self.workspace),
            ("project", &self.project),
        ] {
            if let Some(v) = v {
                map.insert(k.into(), Json::String(v.clone()));
            }
        }
        Json::Object(map)
    }
}

/// Backstage's `parseRepoUrl`: parses `https://<repoUrl>`, reads `owner`, `organization`, `workspace`,
/// `project` and `repo` from the query (trimmed of `/`) and checks the parameters the host's provider needs.
/// Without integration config, the provider is guessed from the host name (GitHub rules otherwise).
pub fn parse_repo_url(repo_url: &str) -> Result<RepoUrl, String> {
    let parsed = url::Url::parse(&format!("https://{repo_url}"))
        .map_err(|e| format!("Invalid repo URL passed to publisher, got {repo_url}, {e}"))?;
    let host = match (parsed.host_str(), parsed.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        (None, _) => {
            return Err(format!(
                "Invalid repo URL passed to publisher, got {repo_url}"
            ))
        }
    };
    let param = |name: &str| -> Option<String> {
        parsed
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim_matches('/').to_string())
    };
    let required = |names: &[&str]| -> Result<(), String> {
        for name in names {
            if param(name).is_none_or(|v| v.is_empty()) {
                return Err(format!(
                    "Invalid repo URL passed to publisher: {parsed}, missing {name}"
                ));
            }
        }
        Ok(())
    };
    let lower = host.to_ascii_lowercase();
    if lower.contains("bitbucket") {
        if lower == "www.bitbucket.org" {
            required(&["workspace"])?;
        }
        required(&["project", "repo"])?;
    } else if lower == "dev.azure.com" || lower.ends_with(".visualstudio.com") {
        required(&["project", "repo"])?;
    } else if lower.contains("gitlab") {
        if param("project").is_none() {
            required(&["owner", "repo"])?;
        }
    } else if lower.contains("gitea") || lower.contains("gerrit") {
        required(&["repo"])?;
    } else {
        required(&["repo", "owner"])?;
    }
    Ok(RepoUrl {
        host,
        owner: param("owner"),
        repo: param("repo").unwrap_or_default(),
        organization: param("organization"),
        workspace: param("workspace"),
        project: param("project"),
    })
}

fn repo_url_arg(value: &Value) -> Result<String, Error> {
    match value.as_str() {
        Some(s) => Ok(s.to_string()),
        None if value.is_undefined() || value.is_none() => {
            Err(invalid("parseRepoUrl: the repo URL is undefined"))
        }
        None => Ok(js_string(value)?),
    }
}

fn parse_repo_url_filter(value: Value) -> Result<Value, Error> {
    let url = repo_url_arg(&value)?;
    let parsed = parse_repo_url(&url).map_err(invalid)?;
    Ok(from_json(&parsed.to_json()))
}

/// `${owner}/${repo}`, with JavaScript's `undefined` for a missing owner.
fn project_slug(value: Value) -> Result<Value, Error> {
    let url = repo_url_arg(&value)?;
    let parsed = parse_repo_url(&url).map_err(invalid)?;
    let owner = parsed.owner.as_deref().unwrap_or("undefined");
    Ok(Value::from(format!("{owner}/{}", parsed.repo)))
}

/// Backstage's `parseEntityRef(ref, {defaultKind, defaultNamespace})`: `{kind, namespace, name}` with the
/// parts as written.
fn parse_entity_ref_filter(value: Value, context: Option<Value>) -> Result<Value, Error> {
    let Some(text) = value.as_str() else {
        return Err(invalid(format!(
            "Entity reference must be a string, got {}",
            value.kind()
        )));
    };
    let opt = |key: &str| -> Result<Option<String>, Error> {
        match &context {
            Some(ctx) if ctx.kind() == ValueKind::Map => {
                let v = ctx.get_attr(key)?;
                Ok(v.as_str().map(str::to_string))
            }
            _ => Ok(None),
        }
    };
    let default_kind = opt("defaultKind")?;
    let default_namespace = opt("defaultNamespace")?;
    let parsed = EntityRef::parse_with_defaults(
        text,
        default_kind.as_deref(),
        default_namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE),
    )
    .map_err(|e| invalid(e.to_string()))?;
    Ok(from_json(&serde_json::json!({
        "kind": parsed.kind,
        "namespace": parsed.namespace,
        "name": parsed.name,
    })))
}

/// lodash `get(obj, path)`: a dotted path with `[index]` segments; undefined when any step is missing.
fn pick(value: Value, path: Value) -> Result<Value, Error> {
    let path = js_string(&path)?;
    let mut current = value;
    for part in path
        .split(['.', '[', ']'])
        .map(|p| p.trim_matches(['"', '\'']))
        .filter(|p| !p.is_empty())
    {
        if current.is_undefined() || current.is_none() {
            return Ok(Value::UNDEFINED);
        }
        current = match current.kind() {
            ValueKind::Seq => match part.parse::<usize>() {
                Ok(i) => current.get_item(&Value::from(i))?,
                Err(_) => Value::UNDEFINED,
            },
            ValueKind::Map => current.get_attr(part)?,
            _ => Value::UNDEFINED,
        };
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_urls_parse_like_backstage() {
        let gh = parse_repo_url("github.com?repo=backstage&owner=backstage").unwrap();
        assert_eq!(
            gh.to_json(),
            serde_json::json!({"host": "github.com", "owner": "backstage", "repo": "backstage"})
        );
        let bb = parse_repo_url("bitbucket.org?workspace=w&project=p&repo=r").unwrap();
        assert_eq!(
            bb.to_json(),
            serde_json::json!({"host": "bitbucket.org", "repo": "r", "workspace": "w", "project": "p"})
        );
        let az = parse_repo_url("dev.azure.com?organization=o&project=p&repo=r").unwrap();
        assert_eq!(az.organization.as_deref(), Some("o"));
        let gl = parse_repo_url("gitlab.com?project=42").unwrap();
        assert_eq!(gl.project.as_deref(), Some("42"));
        assert_eq!(
            parse_repo_url("ghe.example.com:8443?owner=/o/&repo=r")
                .unwrap()
                .owner
                .as_deref(),
            Some("o")
        );
        let err = parse_repo_url("github.com?repo=r").unwrap_err();
        assert!(err.contains("missing owner"), "{err}");
        let err = parse_repo_url("github.com?owner=o").unwrap_err();
        assert!(err.contains("missing repo"), "{err}");
        assert!(parse_repo_url("bad host?repo=r&owner=o").is_err());
    }
}
