//! `backend.database`: which store to open.
//!
//! Backstage's keys are kept (`client`, `connection`, and `plugin.catalog.*` overrides); stagedoor has a single
//! catalog database, so a SQLite `directory` gives `<directory>/catalog.sqlite` as Backstage's per-plugin
//! file for the catalog plugin would be.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::catalog::resolve_against;
use super::{Config, ConfigError};

/// The SQLite file used when `backend.database` (or its `connection`) is absent, relative to the base dir.
pub const DEFAULT_SQLITE_FILE: &str = ".stagedoor/catalog.sqlite";
/// The file name inside a `connection.directory`.
pub const SQLITE_FILE_NAME: &str = "catalog.sqlite";
/// The PostgreSQL database used when the connection names none: Backstage's per-plugin database name.
pub const DEFAULT_PG_DATABASE: &str = "backstage_plugin_catalog";

const ALLOWED_CLIENTS: &str = "better-sqlite3, sqlite3 or pg";

#[derive(Debug, Clone, PartialEq)]
pub enum DatabaseConfig {
    Sqlite(SqliteLocation),
    /// `client: pg`; the connection as a URL (an object form is turned into one).
    Postgres {
        url: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqliteLocation {
    Memory,
    File(PathBuf),
}

pub fn from_config(config: &Config) -> Result<DatabaseConfig, ConfigError> {
    let base = &config.base_dir;
    let default = || DatabaseConfig::Sqlite(SqliteLocation::File(base.join(DEFAULT_SQLITE_FILE)));
    let Some(section) = config.get("backend.database").filter(|v| !v.is_null()) else {
        return Ok(default());
    };
    let section = section
        .as_object()
        .ok_or_else(|| ConfigError::new("backend.database: expected a mapping"))?;

    let mut client_key = "backend.database.client";
    let mut connection_key = "backend.database.connection";
    let mut client = section.get("client").filter(|v| !v.is_null());
    let mut connection = section.get("connection").filter(|v| !v.is_null()).cloned();

    // Backstage lets `plugin.catalog` override the client and connection for the catalog plugin; a
    // connection object with the same client merges over the shared one.
    if let Some(plugin) = config
        .get("backend.database.plugin.catalog")
        .and_then(Value::as_object)
    {
        if let Some(c) = plugin.get("client").filter(|v| !v.is_null()) {
            let changed = client != Some(c);
            client = Some(c);
            client_key = "backend.database.plugin.catalog.client";
            if changed {
                connection = None;
            }
        }
        if let Some(pc) = plugin.get("connection").filter(|v| !v.is_null()) {
            connection_key = "backend.database.plugin.catalog.connection";
            connection = Some(match (connection, pc) {
                (Some(Value::Object(mut base_conn)), Value::Object(over)) => {
                    for (k, v) in over {
                        base_conn.insert(k.clone(), v.clone());
                    }
                    Value::Object(base_conn)
                }
                (_, other) => other.clone(),
            });
        }
    }

    let client = match client {
        None => {
            return Err(ConfigError::new(format!(
                "{client_key}: missing; expected {ALLOWED_CLIENTS}"
            )))
        }
        Some(Value::String(s)) => s.as_str(),
        Some(other) => {
            return Err(ConfigError::new(format!(
                "{client_key}: expected {ALLOWED_CLIENTS}, found {other}"
            )))
        }
    };

    match client {
        "better-sqlite3" | "sqlite3" => sqlite(connection.as_ref(), connection_key, base),
        "pg" => postgres(connection.as_ref(), connection_key, section)
            .map(|url| DatabaseConfig::Postgres { url }),
        other => Err(ConfigError::new(format!(
            "{client_key}: unsupported client '{other}'; expected {ALLOWED_CLIENTS}"
        ))),
    }
}

fn sqlite(
    connection: Option<&Value>,
    at: &str,
    base: &Path,
) -> Result<DatabaseConfig, ConfigError> {
    let location = match connection {
        None | Some(Value::Null) => SqliteLocation::File(base.join(DEFAULT_SQLITE_FILE)),
        Some(Value::String(s)) => sqlite_file_or_memory(s, base),
        Some(Value::Object(obj)) => {
            if let Some(dir) = obj.get("directory") {
                let dir = dir.as_str().filter(|d| !d.is_empty()).ok_or_else(|| {
                    ConfigError::new(format!(
                        "{at}.directory: expected a directory path, found {dir}"
                    ))
                })?;
                SqliteLocation::File(resolve_against(base, dir).join(SQLITE_FILE_NAME))
            } else if let Some(file) = obj.get("filename") {
                let file = file.as_str().filter(|f| !f.is_empty()).ok_or_else(|| {
                    ConfigError::new(format!("{at}.filename: expected a file path, found {file}"))
                })?;
                sqlite_file_or_memory(file, base)
            } else {
                SqliteLocation::File(base.join(DEFAULT_SQLITE_FILE))
            }
        }
        Some(other) => {
            return Err(ConfigError::new(format!(
                "{at}: expected ':memory:', a file path or {{directory: DIR}}, found {other}"
            )))
        }
    };
    Ok(DatabaseConfig::Sqlite(location))
}

fn sqlite_file_or_memory(s: &str, base: &Path) -> SqliteLocation {
    if s == ":memory:" {
        SqliteLocation::Memory
    } else {
        SqliteLocation::File(resolve_against(base, s))
    }
}

fn postgres(
    connection: Option<&Value>,
    at: &str,
    section: &Map<String, Value>,
) -> Result<String, ConfigError> {
    match connection {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(Value::Object(obj)) => {
            let text = |key: &str| -> Result<Option<String>, ConfigError> {
                match obj.get(key) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.clone())),
                    Some(other) => Err(ConfigError::new(format!(
                        "{at}.{key}: expected a string, found {other}"
                    ))),
                }
            };
            let host = text("host")?.unwrap_or_else(|| "localhost".to_string());
            let port = match obj.get("port") {
                None | Some(Value::Null) => 5432,
                Some(Value::Number(n)) => n
                    .as_u64()
                    .and_then(|p| u16::try_from(p).ok())
                    .ok_or_else(|| ConfigError::new(format!("{at}.port: {n} is not a port number")))?,
                Some(Value::String(s)) => s.trim().parse::<u16>().map_err(|_| {
                    ConfigError::new(format!("{at}.port: '{s}' is not a port number"))
                })?,
                Some(other) => {
                    return Err(ConfigError::new(format!(
                        "{at}.port: expected a port number, found {other}"
                    )))
                }
            };
            let user = text("user")?;
            let password = text("password")?;
            let database = match text("database")? {
                Some(d) => d,
                None => {
                    let prefix = section
                        .get("prefix")
                        .and_then(Value::as_str)
                        .unwrap_or("backstage_plugin_");
                    if prefix == "backstage_plugin_" {
                        DEFAULT_PG_DATABASE.to_string()
                    } else {
                        format!("{prefix}catalog")
                    }
                }
            };

            let mut url = String::from("postgresql://");
            if let Some(user) = &user {
                url.push_str(&encode_component(user));
                if let Some(password) = &password {
                    url.push(':');
                    url.push_str(&encode_component(password));
                }
                url.push('@');
            }
            if host.contains(':') && !host.starts_with('[') {
                url.push_str(&format!("[{host}]"));
            } else {
                url.push_str(&host);
            }
            url.push_str(&format!(":{port}/{}", encode_component(&database)));
            if matches!(obj.get("ssl"), Some(Value::Bool(true)) | Some(Value::Object(_))) {
                url.push_str("?sslmode=require");
            }
            Ok(url)
        }
        None | Some(Value::Null) => Err(ConfigError::new(format!(
            "{at}: missing; client pg needs a connection URL or {{host, port, user, password, database}}"
        ))),
        Some(other) => Err(ConfigError::new(format!(
            "{at}: expected a connection URL or {{host, port, user, password, database}}, found {other}"
        ))),
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so any user, password or database
/// name survives inside a URL.
fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn db(root: Value) -> Result<DatabaseConfig, ConfigError> {
        from_config(&Config::from_value(root, PathBuf::from("/srv/portal")))
    }

    fn file(p: &str) -> DatabaseConfig {
        DatabaseConfig::Sqlite(SqliteLocation::File(PathBuf::from(p)))
    }

    #[test]
    fn absent_gives_default_file() {
        assert_eq!(
            db(json!({})).unwrap(),
            file("/srv/portal/.stagedoor/catalog.sqlite")
        );
        assert_eq!(
            db(json!({"backend": {"database": null}})).unwrap(),
            file("/srv/portal/.stagedoor/catalog.sqlite")
        );
        assert_eq!(
            db(json!({"backend": {"database": {"client": "better-sqlite3"}}})).unwrap(),
            file("/srv/portal/.stagedoor/catalog.sqlite")
        );
    }

    #[test]
    fn sqlite_forms() {
        let sq = |conn: Value| {
            db(json!({"backend": {"database": {"client": "better-sqlite3", "connection": conn}}}))
        };
        assert_eq!(
            sq(json!(":memory:")).unwrap(),
            DatabaseConfig::Sqlite(SqliteLocation::Memory)
        );
        assert_eq!(
            sq(json!({"directory": "./db"})).unwrap(),
            file("/srv/portal/db/catalog.sqlite")
        );
        assert_eq!(
            sq(json!({"directory": "/var/lib/sd"})).unwrap(),
            file("/var/lib/sd/catalog.sqlite")
        );
        assert_eq!(
            sq(json!("data/cat.sqlite")).unwrap(),
            file("/srv/portal/data/cat.sqlite")
        );
        assert_eq!(
            sq(json!({"filename": ":memory:"})).unwrap(),
            DatabaseConfig::Sqlite(SqliteLocation::Memory)
        );
        let err = sq(json!(3)).unwrap_err();
        assert!(
            err.message
                .starts_with("backend.database.connection: expected"),
            "{err}"
        );
        let err = sq(json!({"directory": 1})).unwrap_err();
        assert!(
            err.message
                .starts_with("backend.database.connection.directory"),
            "{err}"
        );

        let sqlite3 =
            db(json!({"backend": {"database": {"client": "sqlite3", "connection": ":memory:"}}}))
                .unwrap();
        assert_eq!(sqlite3, DatabaseConfig::Sqlite(SqliteLocation::Memory));
    }

    #[test]
    fn postgres_forms() {
        let pg = |conn: Value| {
            db(json!({"backend": {"database": {"client": "pg", "connection": conn}}}))
        };
        assert_eq!(
            pg(json!("postgresql://u:p@db:5433/x")).unwrap(),
            DatabaseConfig::Postgres {
                url: "postgresql://u:p@db:5433/x".into()
            }
        );
        assert_eq!(
            pg(json!({"host": "db.internal", "user": "back stage", "password": "p@ss:w/rd%", "database": "cat"})).unwrap(),
            DatabaseConfig::Postgres {
                url: "postgresql://back%20stage:p%40ss%3Aw%2Frd%25@db.internal:5432/cat".into()
            }
        );
        assert_eq!(
            pg(json!({"host": "::1", "port": "6543", "user": "u"})).unwrap(),
            DatabaseConfig::Postgres {
                url: "postgresql://u@[::1]:6543/backstage_plugin_catalog".into()
            }
        );
        assert_eq!(
            pg(json!({"host": "h", "port": 5444, "ssl": true, "database": "d"})).unwrap(),
            DatabaseConfig::Postgres {
                url: "postgresql://h:5444/d?sslmode=require".into()
            }
        );
        assert!(pg(json!({"host": "h", "port": 70000}))
            .unwrap_err()
            .message
            .starts_with("backend.database.connection.port"));
        assert!(db(json!({"backend": {"database": {"client": "pg"}}}))
            .unwrap_err()
            .message
            .starts_with("backend.database.connection: missing"));
    }

    #[test]
    fn plugin_override() {
        let c = db(json!({"backend": {"database": {
            "client": "pg",
            "connection": {"host": "a", "user": "u", "password": "p"},
            "plugin": {"catalog": {"connection": {"host": "b", "database": "cat"}}}
        }}}))
        .unwrap();
        assert_eq!(
            c,
            DatabaseConfig::Postgres {
                url: "postgresql://u:p@b:5432/cat".into()
            }
        );

        let c = db(json!({"backend": {"database": {
            "client": "pg",
            "connection": {"host": "a"},
            "plugin": {"catalog": {"client": "better-sqlite3"}}
        }}}))
        .unwrap();
        assert_eq!(c, file("/srv/portal/.stagedoor/catalog.sqlite"));
    }

    #[test]
    fn unknown_client_names_the_key_and_allowed_values() {
        let err = db(json!({"backend": {"database": {"client": "mysql2"}}})).unwrap_err();
        assert_eq!(
            err.message,
            "backend.database.client: unsupported client 'mysql2'; expected better-sqlite3, sqlite3 or pg"
        );
        let err = db(json!({"backend": {"database": {"connection": ":memory:"}}})).unwrap_err();
        assert!(
            err.message.starts_with("backend.database.client: missing"),
            "{err}"
        );
    }
}
