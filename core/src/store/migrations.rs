//! The versioned schema migrations, applied in order at open.
//!
//! Each migration is plain SQL written for SQLite; [`ddl_for`] turns it into PostgreSQL's: `INTEGER PRIMARY
//! KEY` becomes an identity column, other integers `BIGINT`, `WITHOUT ROWID` is dropped (a plain table with that
//! primary key), and text columns compare bytewise (`COLLATE "C"`), as SQLite's do, so both sort and page
//! alike.
//! The applied version lives in `schema_version`, one row per applied migration.
//!
//! Layout, chosen for ingest speed and small indexes: every entity ref (stored or only named by a relation)
//! is interned in `refs`, and an entity's integer `id` is its ref's id; every other table joins on it (`uid`
//! stays the API's identifier, unique). Relations name their source and target by ref id, so a relation
//! may point at an entity that is not stored (yet). `search` and `relations` rows are clustered by their
//! entity (`(entity_id, key_id, seq)`, `(origin_id, seq)`), so writing an entity appends, deleting its rows
//! is one range, and a per-entity probe (`entity_id = ? AND key_id = ?`, as filters and sort values ask
//! while walking) is one seek. Search keys are interned in `search_keys`, and `original_value` is stored only when
//! it differs from the lowercased `value`. The store deletes an entity's rows itself, so there are no
//! foreign keys to check on every insert.

use super::sql::{transaction, Dialect, SqlConn};
use super::StoreError;
use crate::sql_params;

/// The advisory lock PostgreSQL processes take while migrating, so two replicas starting at once do not both
/// create the schema.
const PG_MIGRATION_LOCK: i64 = 0x5374_6167_6544_6f6f; // "StageDoo"

/// `(version, SQL)` in ascending order. Never edit an entry once released; add a new one.
pub const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "
CREATE TABLE refs (
    id         INTEGER PRIMARY KEY,
    entity_ref TEXT NOT NULL UNIQUE
);

CREATE TABLE entities (
    id           INTEGER PRIMARY KEY,
    uid          TEXT NOT NULL UNIQUE,
    entity_ref   TEXT NOT NULL UNIQUE,
    body         TEXT NOT NULL,
    hash         TEXT NOT NULL,
    etag         TEXT NOT NULL,
    location_key TEXT NOT NULL,
    origin       TEXT NOT NULL,
    parent_ref   TEXT,
    errors       TEXT NOT NULL,
    search_error TEXT,
    orphan       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX entities_origin ON entities (origin);

CREATE TABLE relations (
    origin_id  INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    source_id  INTEGER NOT NULL,
    type       TEXT NOT NULL,
    type_key   TEXT NOT NULL,
    target_id  INTEGER NOT NULL,
    PRIMARY KEY (origin_id, seq)
) WITHOUT ROWID;
CREATE INDEX relations_source ON relations (source_id, type_key, target_id);
CREATE INDEX relations_type_target ON relations (type_key, target_id, source_id);

CREATE TABLE search_keys (
    id  INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE
);

CREATE TABLE search (
    entity_id      INTEGER NOT NULL,
    seq            INTEGER NOT NULL,
    key_id         INTEGER NOT NULL,
    value          TEXT,
    original_value TEXT,
    PRIMARY KEY (entity_id, key_id, seq)
) WITHOUT ROWID;
CREATE INDEX search_key_value ON search (key_id, value, entity_id, original_value);

CREATE TABLE locations (
    id     TEXT PRIMARY KEY,
    type   TEXT NOT NULL,
    target TEXT NOT NULL,
    UNIQUE (type, target)
);
",
    ),
    (
        2,
        "
CREATE TABLE refresh_claims (
    origin        TEXT PRIMARY KEY,
    holder        TEXT NOT NULL,
    claimed_until INTEGER NOT NULL,
    next_due      INTEGER NOT NULL
);
",
    ),
    (
        3,
        "
CREATE TABLE docs_sites (
    entity_ref TEXT PRIMARY KEY,
    etag       TEXT NOT NULL,
    built_at   INTEGER NOT NULL
);

CREATE TABLE docs_files (
    entity_ref   TEXT NOT NULL,
    path         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    encoding     TEXT NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (entity_ref, path)
);
",
    ),
    (
        4,
        // The search index diffs `(entity_ref, etag)` of every entity against its own after each refresh. In
        // the table, `etag` sits after the large `body`, so a scan reads every body's overflow pages to get
        // at it; this covering index makes the listing an index-only scan.
        "
CREATE INDEX entities_ref_etag ON entities (entity_ref, etag);
",
    ),
    (
        5,
        // Scaffolder tasks and their append-only event log. A task's secrets are deliberately not stored
        // (they stay in the creating process's memory; see `scaffolder::tasks`). Times are epoch milliseconds.
        "
CREATE TABLE tasks (
    id                TEXT PRIMARY KEY,
    spec              TEXT NOT NULL,
    status            TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    last_heartbeat_at INTEGER,
    created_by        TEXT,
    holder            TEXT,
    state             TEXT
);
CREATE INDEX tasks_status ON tasks (status, created_at);
CREATE INDEX tasks_created_by ON tasks (created_by, created_at);

CREATE TABLE task_events (
    id         INTEGER PRIMARY KEY,
    task_id    TEXT NOT NULL,
    event_type TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX task_events_task ON task_events (task_id, id);
",
    ),
];

/// The secondary indexes a bulk write may drop and rebuild (see `sqlite::apply`): `(name, CREATE statement)`,
/// exactly as the migrations create them. Building an index from sorted rows is several times faster than
/// growing it one random insert at a time.
pub const BULK_INDEXES: &[(&str, &str)] = &[
    (
        "relations_source",
        "CREATE INDEX relations_source ON relations (source_id, type_key, target_id)",
    ),
    (
        "relations_type_target",
        "CREATE INDEX relations_type_target ON relations (type_key, target_id, source_id)",
    ),
    (
        "search_key_value",
        "CREATE INDEX search_key_value ON search (key_id, value, entity_id, original_value)",
    ),
];

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |(v, _)| *v)
}

/// A migration's SQL in `dialect`'s terms.
pub fn ddl_for(dialect: Dialect, sql: &str) -> String {
    match dialect {
        Dialect::Sqlite => sql.to_string(),
        Dialect::Postgres => {
            let sql = sql
                .replace(
                    "INTEGER PRIMARY KEY",
                    "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
                )
                .replace("INTEGER", "BIGINT")
                .replace(") WITHOUT ROWID", ")");
            let words = regex::Regex::new(r"\bTEXT\b").expect("a fixed pattern");
            words.replace_all(&sql, r#"TEXT COLLATE "C""#).into_owned()
        }
    }
}

/// Brings the schema up to date in one transaction; refuses a database from a newer stagedoor.
/// `path` only names the database in the error.
pub fn migrate(conn: &mut dyn SqlConn, path: &str) -> Result<(), StoreError> {
    let dialect = conn.dialect();
    transaction(conn, true, |tx| {
        if dialect == Dialect::Postgres {
            tx.query(
                "SELECT pg_advisory_xact_lock(?1)",
                sql_params![PG_MIGRATION_LOCK],
            )?;
        }
        tx.batch(&ddl_for(
            dialect,
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)",
        ))?;
        let current = match tx.query_opt("SELECT MAX(version) FROM schema_version", &[])? {
            Some(row) => row.opt_int(0)?.unwrap_or(0),
            None => 0,
        };
        let known = latest_version();
        if current > known {
            return Err(StoreError::SchemaTooNew {
                path: path.to_string(),
                found: current,
                known,
            });
        }
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
            tx.batch(&ddl_for(dialect, sql))?;
            tx.execute(
                "INSERT INTO schema_version (version) VALUES (?1)",
                sql_params![*version],
            )?;
        }
        Ok(())
    })
}

pub(crate) fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::sqlite::SqliteConn;
    use super::*;

    fn memory() -> SqliteConn {
        SqliteConn(rusqlite::Connection::open_in_memory().unwrap())
    }

    #[test]
    fn bulk_indexes_match_the_schema() {
        let mut conn = memory();
        migrate(&mut conn, ":memory:").unwrap();
        for (name, create) in BULK_INDEXES {
            let sql = conn
                .query_opt(
                    "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1",
                    sql_params![*name],
                )
                .unwrap()
                .unwrap()
                .text(0)
                .unwrap();
            assert_eq!(&sql, create);
        }
    }

    #[test]
    fn migrates_once_and_refuses_newer() {
        let mut conn = memory();
        migrate(&mut conn, ":memory:").unwrap();
        migrate(&mut conn, ":memory:").unwrap();
        let n = conn
            .query_int("SELECT COUNT(*) FROM schema_version", &[])
            .unwrap();
        assert_eq!(n, MIGRATIONS.len() as i64);
        conn.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            sql_params![latest_version() + 1],
        )
        .unwrap();
        match migrate(&mut conn, "x.db") {
            Err(StoreError::SchemaTooNew { path, found, known }) => {
                assert_eq!(path, "x.db");
                assert_eq!(found, known + 1);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn postgres_ddl_uses_identity_bigint_and_bytewise_text() {
        let ddl = ddl_for(Dialect::Postgres, MIGRATIONS[0].1);
        assert!(ddl.contains("id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"));
        assert!(ddl.contains(r#"entity_ref TEXT COLLATE "C" NOT NULL UNIQUE"#));
        assert!(ddl.contains("seq        BIGINT NOT NULL"));
        assert!(!ddl.contains("WITHOUT ROWID"));
        assert!(!ddl.contains("INTEGER"));
        assert_eq!(ddl_for(Dialect::Sqlite, MIGRATIONS[0].1), MIGRATIONS[0].1);
    }
}
