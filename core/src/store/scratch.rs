//! Throwaway PostgreSQL databases for tests and benchmarks: a uniquely named database on a given server,
//! dropped (with any sessions still connected) when the handle is dropped.

use std::sync::atomic::{AtomicUsize, Ordering};

/// A database named `<prefix>_<pid>_<n>` on the server a URL names. Not created until something connects:
/// the store creates a missing database itself (as Backstage's `ensureExists` does); [`ScratchDatabase::create`]
/// creates it at once.
pub struct ScratchDatabase {
    /// URL of the scratch database: the server URL with its database path replaced.
    pub url: String,
    name: String,
    server: String,
}

impl ScratchDatabase {
    /// A fresh name on `server`; any database left with that name by an earlier process is dropped first.
    pub fn named(server: &str, prefix: &str) -> ScratchDatabase {
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "{prefix}_{}_{}",
            std::process::id(),
            RUNS.fetch_add(1, Ordering::Relaxed)
        );
        let db = ScratchDatabase {
            url: with_database(server, &name),
            name,
            server: server.to_string(),
        };
        db.admin(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", db.name));
        db
    }

    /// [`ScratchDatabase::named`], created now.
    pub fn create(server: &str, prefix: &str) -> ScratchDatabase {
        let db = ScratchDatabase::named(server, prefix);
        db.admin(&format!("CREATE DATABASE {}", db.name));
        db
    }

    /// Another scratch database on the same server, not created (for testing database creation).
    pub fn sibling(&self, suffix: &str) -> ScratchDatabase {
        ScratchDatabase::named(&self.server, &format!("{}_{suffix}", self.name))
    }

    /// Ends every session connected to this database (what a server restart or failover does to clients).
    pub fn terminate_connections(&self) {
        self.admin(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
            self.name
        ));
    }

    /// Runs one statement on the server URL's own database, on a thread and runtime of its own so it works
    /// from sync and async callers alike. Panics on failure: this is test and benchmark tooling.
    fn admin(&self, sql: &str) {
        let (server, sql) = (self.server.clone(), sql.to_string());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for scratch database setup");
            runtime.block_on(async {
                let (client, connection) = tokio_postgres::connect(&server, tokio_postgres::NoTls)
                    .await
                    .unwrap_or_else(|e| {
                        panic!(
                            "cannot connect to {}: {e}",
                            super::postgres::redacted(&server)
                        )
                    });
                tokio::spawn(connection);
                client
                    .batch_execute(&sql)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            });
        })
        .join()
        .expect("scratch database statement");
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        self.admin(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
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
