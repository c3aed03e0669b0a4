//! PostgreSQL for tests: a fresh database per test on the server `STAGEDOOR_TEST_POSTGRES` names, dropped
//! when the test ends. Without the variable, tests say they were skipped and pass.

use std::time::{SystemTime, UNIX_EPOCH};

/// The variable holding the server's URL, e.g. `postgres://postgres@127.0.0.1:5432/test`.
pub const ENV: &str = "STAGEDOOR_TEST_POSTGRES";

/// The configured server URL, or `None` after printing that `test` was skipped.
pub fn server_url(test: &str) -> Option<String> {
    match std::env::var(ENV) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            eprintln!("skipped {test} on PostgreSQL: {ENV} is not set");
            None
        }
    }
}

/// A database created for one test and dropped (with any connections still open) when this is dropped.
pub struct TestDatabase {
    /// URL of the new database.
    pub url: String,
    name: String,
    server: String,
}

impl TestDatabase {
    /// Creates `stagedoor_test_<unique>` on the configured server; `None` (test skipped) without one.
    pub fn create(test: &str) -> Option<TestDatabase> {
        let server = server_url(test)?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let name = format!("stagedoor_test_{}_{nanos}", std::process::id());
        admin(&server, &format!("CREATE DATABASE {name}"));
        let url = with_database(&server, &name);
        Some(TestDatabase { url, name, server })
    }

    /// Ends every session connected to this database (what a server restart or failover does to clients).
    pub fn terminate_connections(&self) {
        admin(
            &self.server,
            &format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
                self.name
            ),
        );
    }

    /// A URL for the same server naming another, not yet existing database (the store must create it).
    pub fn sibling_url(&self, suffix: &str) -> (String, TestDatabase) {
        let name = format!("{}_{suffix}", self.name);
        let guard = TestDatabase {
            url: with_database(&self.server, &name),
            name,
            server: self.server.clone(),
        };
        (guard.url.clone(), guard)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        admin(
            &self.server,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// `server` with its database path replaced by `name`.
fn with_database(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (server, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    format!("{}/{name}{query}", &base[..host_end])
}

/// Runs one statement on the server's own database, on a thread and runtime of its own so it can be called
/// from sync and async tests alike.
fn admin(server: &str, sql: &str) {
    let server = server.to_string();
    let sql = sql.to_string();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for test database setup");
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&server, tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("cannot connect to {ENV}: {e}"));
            tokio::spawn(connection);
            client
                .batch_execute(&sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        });
    })
    .join()
    .expect("test database setup");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_replace_the_path() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/test?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h:1", "x"), "postgres://h:1/x");
    }
}
