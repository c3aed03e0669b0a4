//! Reading config files: merge order, `${VAR}` substitution, `$env`, `$file`, `$include`.
//!
//! Each file is parsed and transformed on its own (includes resolve relative to the file that contains them),
//! then the files are deep-merged in order: objects merge key by key, arrays and scalars are replaced.
//! Substitution follows Backstage's config-loader: a string containing a `${VAR}` whose variable is unset
//! (with no `:-` fallback) becomes undefined, so its key disappears (or its array element is dropped).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;
use serde_json::{Map, Number, Value};

use super::{Config, ConfigError};

/// The file Backstage (and stagedoor) reads when no `--config` is given.
pub const DEFAULT_CONFIG_FILE: &str = "app-config.yaml";
/// Read after [`DEFAULT_CONFIG_FILE`] when present, for local overrides.
pub const LOCAL_CONFIG_FILE: &str = "app-config.local.yaml";

/// Includes can include files that include files; a bound turns a cycle into an error instead of a stack
/// overflow.
const MAX_INCLUDE_DEPTH: usize = 32;

pub fn load(files: &[PathBuf], dir: &Path) -> Result<Config, ConfigError> {
    let files: Vec<PathBuf> = if files.is_empty() {
        let main = dir.join(DEFAULT_CONFIG_FILE);
        if !main.is_file() {
            return Err(ConfigError::new(format!(
                "{DEFAULT_CONFIG_FILE} not found in {} (pass --config to name a configuration file)",
                display_dir(dir)
            )));
        }
        let mut list = vec![main];
        let local = dir.join(LOCAL_CONFIG_FILE);
        if local.is_file() {
            list.push(local);
        }
        list
    } else {
        files.to_vec()
    };

    let mut root = Value::Object(Map::new());
    for file in &files {
        let value = load_file(file)?;
        merge(&mut root, value);
    }

    let first = &files[0];
    let parent = match first.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let base_dir = parent.canonicalize().map_err(|e| {
        ConfigError::new(format!(
            "{}: could not resolve its directory: {}",
            display_path(first),
            io_message(&e)
        ))
    })?;

    Ok(Config {
        root,
        files,
        base_dir,
    })
}

/// Reads, parses and transforms one file; the result is always an object.
pub fn load_file(path: &Path) -> Result<Value, ConfigError> {
    let shown = display_path(path);
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(format!("{shown}: could not read: {}", io_message(&e))))?;
    let raw = parse_yaml(&text).map_err(|msg| ConfigError::new(format!("{shown}: {msg}")))?;
    // A file of only comments is an empty configuration, not an error: people keep such local overrides.
    let raw = if raw.is_null() {
        Value::Object(Map::new())
    } else {
        raw
    };
    if !raw.is_object() {
        return Err(ConfigError::new(format!(
            "{shown}: expected a mapping at the root, found {}",
            kind_name(&raw)
        )));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let transformed = transform(raw, "", &dir, 0, &|var| std::env::var(var).ok())
        .map_err(|e| ConfigError::new(format!("{shown}: {e}")))?;
    match transformed {
        Some(v @ Value::Object(_)) => Ok(v),
        _ => Err(ConfigError::new(format!(
            "{shown}: expected a mapping at the root"
        ))),
    }
}

/// Deep-merges `over` into `base`: objects merge key by key, anything else replaces.
pub fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (key, value) in o {
                match b.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        b.insert(key, value);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

/// Parses YAML text into JSON, rejecting what JSON cannot hold. Errors carry the parser's line and column.
fn parse_yaml(text: &str) -> Result<Value, String> {
    let yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| match e.location() {
        Some(loc) => {
            // serde_yaml repeats the position inside its message; say it once, up front.
            let position = format!(" at line {} column {}", loc.line(), loc.column());
            let message = e.to_string().replacen(&position, "", 1);
            format!("invalid YAML{position}: {message}")
        }
        None => format!("invalid YAML: {e}"),
    })?;
    yaml_to_json(yaml, "")
}

fn yaml_to_json(yaml: serde_yaml::Value, path: &str) -> Result<Value, String> {
    use serde_yaml::Value as Y;
    Ok(match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Number(i.into())
            } else if let Some(u) = n.as_u64() {
                Value::Number(u.into())
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                match Number::from_f64(f) {
                    Some(num) => Value::Number(num),
                    None => {
                        return Err(format!(
                            "{}: {n} is not a finite number",
                            path_or_root(path)
                        ))
                    }
                }
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| yaml_to_json(v, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = match k {
                    Y::String(s) => s,
                    other => {
                        let shown = serde_yaml::to_string(&other)
                            .map(|s| s.trim().to_string())
                            .unwrap_or_else(|_| "?".to_string());
                        return Err(format!(
                            "{}: key {shown} is not a string (quote it)",
                            path_or_root(path)
                        ));
                    }
                };
                let child = join_key(path, &key);
                let value = yaml_to_json(v, &child)?;
                out.insert(key, value);
            }
            Value::Object(out)
        }
        // Backstage's YAML parser ignores custom tags' meaning; keep the tagged value.
        Y::Tagged(tagged) => yaml_to_json(tagged.value, path)?,
    })
}

const INCLUDE_KEYS: [&str; 3] = ["$file", "$env", "$include"];

/// Resolves substitutions and includes below `value`. `Ok(None)` means the value became undefined.
/// Errors are `<key path>: <message>`; the caller prefixes the file.
fn transform(
    value: Value,
    path: &str,
    dir: &Path,
    depth: usize,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Value>, String> {
    match value {
        Value::String(s) => Ok(substitute(&s, env).map(Value::String)),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                if let Some(v) = transform(item, &format!("{path}[{i}]"), dir, depth, env)? {
                    out.push(v);
                }
            }
            Ok(Some(Value::Array(out)))
        }
        Value::Object(map) => {
            let include_key = map
                .keys()
                .find(|k| INCLUDE_KEYS.contains(&k.as_str()))
                .cloned();
            if let Some(key) = include_key {
                return resolve_include(&key, map, path, dir, depth, env);
            }
            let mut out = Map::new();
            for (k, v) in map {
                let child = join_key(path, &k);
                if let Some(v) = transform(v, &child, dir, depth, env)? {
                    out.insert(k, v);
                }
            }
            Ok(Some(Value::Object(out)))
        }
        other => Ok(Some(other)),
    }
}

fn resolve_include(
    key: &str,
    map: Map<String, Value>,
    path: &str,
    dir: &Path,
    depth: usize,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Value>, String> {
    let at = path_or_root(path);
    if map.len() != 1 {
        return Err(format!(
            "{at}: include key {key} should not have adjacent keys"
        ));
    }
    let raw = match map.get(key) {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(format!("{at}: {key} include value is not a string")),
    };
    let Some(target) = substitute(&raw, env) else {
        return Err(format!(
            "{at}: {key}: substitution in '{raw}' refers to an unset environment variable"
        ));
    };

    match key {
        "$env" => Ok(env_value(target.trim(), env).map(Value::String)),
        "$file" => {
            let file = dir.join(&target);
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("{at}: $file: could not read {target}: {}", io_message(&e)))?;
            Ok(Some(Value::String(text.trim_end().to_string())))
        }
        _ => {
            if depth >= MAX_INCLUDE_DEPTH {
                return Err(format!(
                    "{at}: $include: more than {MAX_INCLUDE_DEPTH} nested includes (is there a cycle?)"
                ));
            }
            let (file_part, key_path) = match target.split_once('#') {
                Some((f, k)) => (f.to_string(), k.to_string()),
                None => (target.clone(), String::new()),
            };
            let file = dir.join(&file_part);
            let ext = file
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .unwrap_or_default();
            if !matches!(ext.as_str(), "json" | "yaml" | "yml") {
                return Err(format!(
                    "{at}: $include: no configuration parser for {file_part} (expected .yaml, .yml or .json)"
                ));
            }
            let text = std::fs::read_to_string(&file).map_err(|e| {
                format!(
                    "{at}: $include: could not read {file_part}: {}",
                    io_message(&e)
                )
            })?;
            let mut value = match ext.as_str() {
                "json" => serde_json::from_str::<Value>(&text).map_err(|e| {
                    format!(
                        "{at}: $include: could not parse {file_part}: invalid JSON at line {} column {}: {e}",
                        e.line(),
                        e.column()
                    )
                })?,
                _ => parse_yaml(&text)
                    .map_err(|msg| format!("{at}: $include: could not parse {file_part}: {msg}"))?,
            };
            if !key_path.is_empty() {
                let mut walked = String::new();
                for part in key_path.split('.') {
                    let Value::Object(mut obj) = value else {
                        return Err(format!(
                            "{at}: $include: value at '{walked}' in included file {file_part} is not an object"
                        ));
                    };
                    match obj.remove(part) {
                        Some(v) => value = v,
                        // Like any other undefined value, a missing key removes the including key.
                        None => return Ok(None),
                    }
                    walked = join_key(&walked, part);
                }
            }
            let new_dir = match file.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            transform(value, path, &new_dir, depth + 1, env)
        }
    }
}

fn substitution_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // `$${...}` (escape) or `${...}` without nested braces, as Backstage splits strings.
    RE.get_or_init(|| Regex::new(r"\$?\$\{[^{}]*\}").unwrap_or_else(|_| unreachable!()))
}

/// `${VAR}`, `${VAR:-fallback}` and `$${x}` (literal `${x}`); `None` when a referenced variable is unset and
/// has no fallback.
pub fn substitute(input: &str, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let re = substitution_regex();
    let mut out = String::with_capacity(input.len());
    let mut last = 0;
    for m in re.find_iter(input) {
        out.push_str(&input[last..m.start()]);
        let token = m.as_str();
        if let Some(escaped) = token.strip_prefix('$').filter(|t| t.starts_with('$')) {
            out.push_str(escaped);
        } else {
            let inner = &token[2..token.len() - 1];
            let (name, fallback) = match inner.split_once(":-") {
                Some((n, f)) => (n.trim(), Some(f)),
                None => (inner.trim(), None),
            };
            match (env_value(name, env), fallback) {
                // `:-` uses the fallback for an empty variable too, as the shell does.
                (Some(v), Some(f)) if v.is_empty() => out.push_str(f),
                (Some(v), _) => out.push_str(&v),
                (None, Some(f)) => out.push_str(f),
                (None, None) => return None,
            }
        }
        last = m.end();
    }
    out.push_str(&input[last..]);
    Some(out)
}

/// Backstage trims substituted values: a stray newline in an env var is almost always a mistake.
fn env_value(name: &str, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    env(name).map(|v| v.trim().to_string())
}

fn join_key(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn path_or_root(path: &str) -> &str {
    if path.is_empty() {
        "<root>"
    } else {
        path
    }
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// The OS message without Rust's ` (os error N)` suffix, as users know it from other tools.
pub(crate) fn io_message(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) if s.ends_with(')') => s[..i].to_string(),
        _ => s,
    }
}

fn display_path(p: &Path) -> String {
    let s = p.display().to_string();
    match s.strip_prefix("./") {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => s,
    }
}

fn display_dir(p: &Path) -> String {
    if p.as_os_str().is_empty() {
        ".".to_string()
    } else {
        p.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::fs;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&p, text).unwrap();
        p
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn default_files_merge_local_over_main() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            tmp.path(),
            "app-config.yaml",
            "app:\n  title: Main\n  baseUrl: http://a\nlist: [1, 2, 3]\nkeep: {a: 1}\n",
        );
        write(
            tmp.path(),
            "app-config.local.yaml",
            "app:\n  title: Local\nlist: [9]\nkeep: {b: 2}\n",
        );
        let config = load(&[], tmp.path()).unwrap();
        assert_eq!(
            config.root,
            json!({"app": {"title": "Local", "baseUrl": "http://a"}, "list": [9], "keep": {"a": 1, "b": 2}})
        );
        assert_eq!(config.files.len(), 2);
        assert_eq!(config.base_dir, tmp.path().canonicalize().unwrap());
    }

    #[test]
    fn default_without_local_reads_main_only() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "app-config.yaml", "a: 1\n");
        let config = load(&[], tmp.path()).unwrap();
        assert_eq!(config.root, json!({"a": 1}));
        assert_eq!(config.files, vec![tmp.path().join("app-config.yaml")]);
    }

    #[test]
    fn missing_default_file_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let err = load(&[], tmp.path()).unwrap_err();
        assert!(err.message.contains("app-config.yaml not found"), "{err}");
    }

    #[test]
    fn explicit_files_in_order_and_base_dir_from_first() {
        let tmp = tempfile::tempdir().unwrap();
        let a = write(tmp.path(), "one/a.yaml", "x: 1\ny: {z: [1]}\n");
        let b = write(tmp.path(), "two/b.yaml", "x: 2\ny: {w: true}\n");
        let config = load(&[b.clone(), a.clone()], Path::new("/nonexistent")).unwrap();
        assert_eq!(config.root, json!({"x": 1, "y": {"z": [1], "w": true}}));
        assert_eq!(
            config.base_dir,
            tmp.path().join("two").canonicalize().unwrap()
        );
        assert_eq!(config.files, vec![b, a]);
    }

    #[test]
    fn missing_explicit_file_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let err = load(&[tmp.path().join("nope.yaml")], tmp.path()).unwrap_err();
        assert!(
            err.message
                .contains("nope.yaml: could not read: No such file or directory"),
            "{err}"
        );
    }

    #[test]
    fn substitution_forms() {
        let env = |name: &str| match name {
            "HOST" => Some("example.com".to_string()),
            "PADDED" => Some("  v \n".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        assert_eq!(
            substitute("https://${HOST}/x", &env).as_deref(),
            Some("https://example.com/x")
        );
        assert_eq!(
            substitute("${ HOST }", &env).as_deref(),
            Some("example.com")
        );
        assert_eq!(substitute("[${PADDED}]", &env).as_deref(), Some("[v]"));
        assert_eq!(
            substitute("${NOPE:-fallback}", &env).as_deref(),
            Some("fallback")
        );
        assert_eq!(substitute("${EMPTY:-fb}", &env).as_deref(), Some("fb"));
        assert_eq!(
            substitute("${HOST:-fb}", &env).as_deref(),
            Some("example.com")
        );
        assert_eq!(
            substitute("$${HOST} and ${HOST}", &env).as_deref(),
            Some("${HOST} and example.com")
        );
        assert_eq!(substitute("a ${NOPE} b", &env), None);
        assert_eq!(
            substitute("plain $ text {x}", &env).as_deref(),
            Some("plain $ text {x}")
        );
    }

    #[test]
    fn unset_variable_drops_the_key_and_array_element() {
        let tmp = tempfile::tempdir().unwrap();
        std::env::set_var("SD_LOADER_T1_SET", "yes");
        let f = write(
            tmp.path(),
            "c.yaml",
            "a:\n  set: ${SD_LOADER_T1_SET}\n  unset: x-${SD_LOADER_T1_UNSET_XYZ}\n  esc: $${SD_LOADER_T1_SET}\nlist: [a, '${SD_LOADER_T1_UNSET_XYZ}', b]\n",
        );
        let config = load(&[f], tmp.path()).unwrap();
        assert_eq!(
            config.root,
            json!({"a": {"set": "yes", "esc": "${SD_LOADER_T1_SET}"}, "list": ["a", "b"]})
        );
    }

    #[test]
    fn unset_variable_in_later_file_keeps_earlier_value() {
        let tmp = tempfile::tempdir().unwrap();
        let a = write(tmp.path(), "a.yaml", "k: base\n");
        let b = write(tmp.path(), "b.yaml", "k: ${SD_LOADER_T2_UNSET_XYZ}\n");
        let config = load(&[a, b], tmp.path()).unwrap();
        assert_eq!(config.root, json!({"k": "base"}));
    }

    #[test]
    fn env_file_and_include() {
        let tmp = tempfile::tempdir().unwrap();
        std::env::set_var("SD_LOADER_T3_TOKEN", " tok \n");
        std::env::set_var("SD_LOADER_T3_NAME", "secret");
        write(tmp.path(), "secret.txt", "s3cr3t\n\n  ");
        write(
            tmp.path(),
            "sub/other.yaml",
            "db:\n  conn:\n    host: h\n    pw: {$file: ./pw.txt}\n  port: 5432\n",
        );
        write(tmp.path(), "sub/pw.txt", "pw\n");
        write(tmp.path(), "data.json", "{\"a\": {\"b\": [1, 2]}}");
        let f = write(
            tmp.path(),
            "app-config.yaml",
            "token: {$env: SD_LOADER_T3_TOKEN}\nmissing: {$env: SD_LOADER_T3_UNSET_XYZ}\nsecret: {$file: './${SD_LOADER_T3_NAME}.txt'}\nconn: {$include: ./sub/other.yaml#db.conn}\nport: {$include: sub/other.yaml#db.port}\nall: {$include: ./data.json}\nnone: {$include: ./data.json#a.zzz}\n",
        );
        let config = load(&[f], tmp.path()).unwrap();
        assert_eq!(
            config.root,
            json!({
                "token": "tok",
                "secret": "s3cr3t",
                "conn": {"host": "h", "pw": "pw"},
                "port": 5432,
                "all": {"a": {"b": [1, 2]}},
            })
        );
    }

    #[test]
    fn file_error_names_file_and_key() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            tmp.path(),
            "app-config.yaml",
            "backend:\n  auth:\n    secret: {$file: ./nope.txt}\n",
        );
        let err = load(&[], tmp.path()).unwrap_err();
        assert!(
            err.message.ends_with(
                "app-config.yaml: backend.auth.secret: $file: could not read ./nope.txt: No such file or directory"
            ),
            "{err}"
        );
    }

    #[test]
    fn include_errors_name_file_and_key() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "scalar.yaml", "a: 3\n");
        write(tmp.path(), "bad.yaml", "a: [\n");
        let cases = [
            (
                "x: {$include: ./missing.yaml}",
                "x: $include: could not read ./missing.yaml",
            ),
            (
                "x: {$include: ./scalar.yaml#a.b}",
                "x: $include: value at 'a' in included file ./scalar.yaml is not an object",
            ),
            (
                "x: {$include: ./bad.yaml}",
                "x: $include: could not parse ./bad.yaml: invalid YAML at line",
            ),
            (
                "x: {$include: ./scalar.txt}",
                "x: $include: no configuration parser for ./scalar.txt",
            ),
            (
                "x: {y: [{$env: A, other: 1}]}",
                "x.y[0]: include key $env should not have adjacent keys",
            ),
            ("x: {$file: 3}", "x: $file include value is not a string"),
            (
                "x: {$file: '${SD_LOADER_T4_UNSET_XYZ}'}",
                "x: $file: substitution",
            ),
        ];
        for (text, expected) in cases {
            let f = write(tmp.path(), "c.yaml", text);
            let err = load(&[f], tmp.path()).unwrap_err();
            assert!(
                err.message.starts_with("c.yaml: ") || err.message.contains("/c.yaml: "),
                "{err}"
            );
            assert!(err.message.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn include_cycle_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let f = write(tmp.path(), "loop.yaml", "x: {$include: ./loop.yaml}\n");
        let err = load(&[f], tmp.path()).unwrap_err();
        assert!(err.message.contains("nested includes"), "{err}");
    }

    #[test]
    fn bad_yaml_gives_line_and_column() {
        let tmp = tempfile::tempdir().unwrap();
        let f = write(tmp.path(), "app-config.yaml", "a: 1\nb: [unclosed\n");
        let err = load(&[f], tmp.path()).unwrap_err();
        assert!(
            err.message
                .contains("app-config.yaml: invalid YAML at line "),
            "{err}"
        );
        assert!(
            err.message
                .contains("invalid YAML at line 3 column 1: did not find expected"),
            "{err}"
        );
        assert_eq!(err.message.matches("line 3 column 1").count(), 1, "{err}");
    }

    #[test]
    fn non_mapping_root_and_non_string_keys() {
        let tmp = tempfile::tempdir().unwrap();
        let f = write(tmp.path(), "list.yaml", "- a\n- b\n");
        let err = load(&[f], tmp.path()).unwrap_err();
        assert!(
            err.message
                .contains("list.yaml: expected a mapping at the root, found a list"),
            "{err}"
        );

        let f = write(tmp.path(), "keys.yaml", "a:\n  b:\n    1: x\n");
        let err = load(&[f], tmp.path()).unwrap_err();
        assert!(
            err.message
                .contains("keys.yaml: a.b: key 1 is not a string"),
            "{err}"
        );
    }

    #[test]
    fn empty_file_is_an_empty_config() {
        let tmp = tempfile::tempdir().unwrap();
        let a = write(tmp.path(), "a.yaml", "x: 1\n");
        let b = write(tmp.path(), "b.yaml", "# nothing here\n");
        let config = load(&[a, b], tmp.path()).unwrap();
        assert_eq!(config.root, json!({"x": 1}));
    }

    #[test]
    fn transform_of_included_nested_value_is_relative_to_included_file() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "deep/inner/v.txt", "inner\n");
        write(tmp.path(), "deep/x.yaml", "k: {$include: ./inner/y.yaml}\n");
        write(tmp.path(), "deep/inner/y.yaml", "v: {$file: v.txt}\n");
        let value = transform(
            json!({"top": {"$include": "deep/x.yaml#k"}}),
            "",
            tmp.path(),
            0,
            &no_env,
        )
        .unwrap();
        assert_eq!(value, Some(json!({"top": {"v": "inner"}})));
    }

    #[test]
    fn merge_replaces_arrays_and_scalars() {
        let mut base = json!({"a": {"b": 1, "c": [1, 2]}, "d": "x"});
        merge(&mut base, json!({"a": {"c": [3]}, "d": {"e": 1}}));
        assert_eq!(base, json!({"a": {"b": 1, "c": [3]}, "d": {"e": 1}}));
    }
}
