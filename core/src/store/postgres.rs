//! [`PostgresStore`]: the catalog store on PostgreSQL through tokio-postgres, for production and for several
//! server replicas sharing one database.
//!
//! The store logic is [`SqlStore`]'s, written against the synchronous [`SqlConn`] and run on tokio's blocking
//! pool (as for SQLite). [`PgConn`] bridges to tokio-postgres: its connections are driven by a small runtime
//! of the store's own, on its own thread, and each call waits on it with `Handle::block_on`. That keeps one
//! implementation of every catalog rule for both databases, and keeps the store independent of whichever
//! runtime (or none) its caller runs on. Statements are prepared once per connection, with parameter types
//! taken from the values bound, and bulk row inserts go as one `UNNEST` of typed arrays.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::Arc;

use bytes::BytesMut;
use postgres_types::{to_sql_checked, IsNull, ToSql, Type};
use tokio::runtime::Handle;
use tokio_postgres::{Client, NoTls, Statement};

use super::migrations;
use super::sql::{numbered_placeholders, Cell, ColumnType, Dialect, Param, SqlConn, SqlRow};
use super::sql_store::SqlStore;
use super::StoreError;

/// The PostgreSQL catalog store.
pub type PostgresStore = SqlStore<PgConn>;

/// Read connections opened beside the writer, unless the options say otherwise.
pub const DEFAULT_READERS: usize = 4;
/// Prepared statements kept per connection before the cache starts over (filters make many shapes).
const STATEMENT_CACHE: usize = 512;

/// How to reach the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgOptions {
    /// A `postgres://user:password@host:port/database` URL or a `host=... user=...` string.
    pub url: String,
    /// A schema to keep the catalog's tables in (created if missing); `None` uses the connection's default
    /// search path. Tests give each run a schema of its own.
    pub schema: Option<String>,
    /// Read connections beside the one writer.
    pub readers: usize,
}

impl PgOptions {
    pub fn new(url: impl Into<String>) -> Self {
        PgOptions {
            url: url.into(),
            schema: None,
            readers: DEFAULT_READERS,
        }
    }

    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }
}

/// The URL with any password replaced, for messages and logs.
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_string(),
        Err(_) if url.contains("password") => "(connection string with a password)".into(),
        Err(_) => url.to_string(),
    }
}

/// The runtime that drives a store's connections. Its thread ends (and drops the runtime there, outside any
/// async context) when the last connection holding it is gone.
struct Driver {
    handle: Handle,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Driver {
    fn start() -> Result<Arc<Driver>, StoreError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("stagedoor-pg-io")
            .enable_all()
            .build()
            .map_err(|e| {
                StoreError::Database(format!("cannot start the PostgreSQL driver: {e}"))
            })?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("stagedoor-pg".into())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })
            .map_err(|e| {
                StoreError::Database(format!("cannot start the PostgreSQL driver: {e}"))
            })?;
        Ok(Arc::new(Driver {
            handle,
            _stop: stop,
        }))
    }
}

/// One PostgreSQL connection as the store's [`SqlConn`]. A connection the server closed (a restart, a
/// failover, an idle timeout) is opened again on its next use.
pub struct PgConn {
    client: Client,
    driver: Arc<Driver>,
    options: Arc<PgOptions>,
    statements: HashMap<(String, Vec<Type>), Statement>,
    /// Inside a transaction a lost connection is an error, never a silent reconnect: the statements after it
    /// would run outside the transaction.
    in_transaction: bool,
}

fn pg(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => StoreError::Database(format!("PostgreSQL: {}", db.message())),
        None => StoreError::Database(format!("PostgreSQL: {e}")),
    }
}

impl ToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self {
            Param::Null => Ok(IsNull::Yes),
            Param::Int(v) => v.to_sql(ty, out),
            Param::Text(t) => t.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        <i64 as ToSql>::accepts(ty) || <&str as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

fn param_type(p: &Param<'_>) -> Type {
    match p {
        Param::Int(_) => Type::INT8,
        Param::Null | Param::Text(_) => Type::TEXT,
    }
}

fn cell(row: &tokio_postgres::Row, i: usize) -> Result<Cell, StoreError> {
    let ty = row.columns()[i].type_().clone();
    let cell = match ty {
        Type::INT8 => row.try_get::<_, Option<i64>>(i).map(|v| v.map(Cell::Int)),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)
            .map(|v| v.map(|v| Cell::Int(v.into()))),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)
            .map(|v| v.map(|v| Cell::Int(v.into()))),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)
            .map(|v| v.map(|v| Cell::Int(v.into()))),
        Type::VOID => return Ok(Cell::Null),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => row
            .try_get::<_, Option<String>>(i)
            .map(|v| v.map(Cell::Text)),
        other => {
            return Err(StoreError::Database(format!(
                "PostgreSQL: column {i} has type {other}, which the store does not read"
            )))
        }
    };
    Ok(cell.map_err(pg)?.unwrap_or(Cell::Null))
}

impl PgConn {
    /// Reconnects when the connection is gone. Prepared statements belonged to the old session.
    fn ensure_open(&mut self) -> Result<(), StoreError> {
        if !self.client.is_closed() {
            return Ok(());
        }
        if self.in_transaction {
            return Err(StoreError::Database(
                "PostgreSQL: the connection was lost during a transaction, which was rolled back"
                    .into(),
            ));
        }
        tracing::warn!(url = %redacted(&self.options.url), "PostgreSQL connection lost; reconnecting");
        let fresh = connect_one(&self.driver, &self.options)?;
        self.client = fresh.client;
        self.statements.clear();
        Ok(())
    }

    fn statement(&mut self, sql: &str, types: Vec<Type>) -> Result<Statement, StoreError> {
        self.ensure_open()?;
        let key = (sql.to_string(), types);
        if let Some(statement) = self.statements.get(&key) {
            return Ok(statement.clone());
        }
        let text = numbered_placeholders(sql);
        let statement = self
            .driver
            .handle
            .block_on(self.client.prepare_typed(&text, &key.1))
            .map_err(pg)?;
        if self.statements.len() >= STATEMENT_CACHE {
            self.statements.clear();
        }
        self.statements.insert(key, statement.clone());
        Ok(statement)
    }

    fn bound<'a>(params: &'a [Param<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
        params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
    }
}

impl SqlConn for PgConn {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, StoreError> {
        let statement = self.statement(sql, params.iter().map(param_type).collect())?;
        self.driver
            .handle
            .block_on(self.client.execute(&statement, &Self::bound(params)))
            .map_err(pg)
    }

    fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<SqlRow>, StoreError> {
        let statement = self.statement(sql, params.iter().map(param_type).collect())?;
        let rows = self
            .driver
            .handle
            .block_on(self.client.query(&statement, &Self::bound(params)))
            .map_err(pg)?;
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| cell(row, i))
                    .collect::<Result<_, _>>()
                    .map(SqlRow)
            })
            .collect()
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.ensure_open()?;
        self.driver
            .handle
            .block_on(self.client.batch_execute(sql))
            .map_err(pg)
    }

    fn begin(&mut self, _write: bool) -> Result<(), StoreError> {
        self.batch("BEGIN")?;
        self.in_transaction = true;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        let committed = self.batch("COMMIT");
        self.in_transaction = false;
        committed
    }

    fn rollback(&mut self) -> Result<(), StoreError> {
        self.in_transaction = false;
        if self.client.is_closed() {
            // The server discarded the transaction with the session.
            return Ok(());
        }
        // Outside a transaction PostgreSQL only warns.
        self.batch("ROLLBACK")
    }

    fn change_stamp(&mut self) -> Result<String, StoreError> {
        // The snapshot (oldest running transaction, next id, ids in flight) changes whenever any transaction
        // that wrote commits, and not when only reads happen.
        let row = self.query_opt("SELECT pg_current_snapshot()::text", &[])?;
        match row {
            Some(row) => row.text(0),
            None => Err(StoreError::Database(
                "PostgreSQL returned no snapshot".into(),
            )),
        }
    }

    fn insert_rows(
        &mut self,
        table: &str,
        columns: &[(&str, ColumnType)],
        values: &[Param<'_>],
    ) -> Result<(), StoreError> {
        if columns.is_empty() || values.is_empty() {
            return Ok(());
        }
        let width = columns.len();
        let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
        let arrays: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, (_, ty))| match ty {
                ColumnType::Int => format!("${}::int8[]", i + 1),
                ColumnType::Text => format!("${}::text[]", i + 1),
            })
            .collect();
        let sql = format!(
            "INSERT INTO {table} ({}) SELECT * FROM UNNEST({})",
            names.join(", "),
            arrays.join(", ")
        );
        let types = columns
            .iter()
            .map(|(_, ty)| match ty {
                ColumnType::Int => Type::INT8_ARRAY,
                ColumnType::Text => Type::TEXT_ARRAY,
            })
            .collect();
        let statement = self.statement(&sql, types)?;
        let mut ints: Vec<Vec<Option<i64>>> = Vec::new();
        let mut texts: Vec<Vec<Option<&str>>> = Vec::new();
        let mut slots = Vec::with_capacity(width);
        for (i, (_, ty)) in columns.iter().enumerate() {
            let column = values.iter().skip(i).step_by(width);
            match ty {
                ColumnType::Int => {
                    slots.push((true, ints.len()));
                    ints.push(
                        column
                            .map(|p| match p {
                                Param::Int(v) => Some(*v),
                                _ => None,
                            })
                            .collect(),
                    );
                }
                ColumnType::Text => {
                    slots.push((false, texts.len()));
                    texts.push(
                        column
                            .map(|p| match p {
                                Param::Text(t) => Some(*t),
                                _ => None,
                            })
                            .collect(),
                    );
                }
            }
        }
        let bound: Vec<&(dyn ToSql + Sync)> = slots
            .iter()
            .map(|(int, i)| {
                if *int {
                    &ints[*i] as &(dyn ToSql + Sync)
                } else {
                    &texts[*i] as &(dyn ToSql + Sync)
                }
            })
            .collect();
        self.driver
            .handle
            .block_on(self.client.execute(&statement, &bound))
            .map_err(pg)?;
        Ok(())
    }
}

/// Only plain identifiers are accepted as a schema name, so it can be spliced into `SET search_path`.
fn check_schema(schema: &str) -> Result<(), StoreError> {
    let ok = !schema.is_empty()
        && schema.len() <= 63
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !schema.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(StoreError::Input(format!(
            "PostgreSQL schema {schema:?} is not a plain lowercase identifier"
        )))
    }
}

fn connect_error(options: &PgOptions, e: impl std::fmt::Display) -> StoreError {
    StoreError::Database(format!(
        "cannot connect to PostgreSQL at {}: {e}",
        redacted(&options.url)
    ))
}

fn parse_config(options: &PgOptions) -> Result<tokio_postgres::Config, StoreError> {
    options
        .url
        .parse::<tokio_postgres::Config>()
        .map_err(|e| connect_error(options, e))
}

/// Creates the configured database when the server says it does not exist, as Backstage's database manager
/// does (`ensureExists`), by connecting to the `postgres` maintenance database.
fn ensure_database(driver: &Arc<Driver>, options: &PgOptions) -> Result<(), StoreError> {
    let config = parse_config(options)?;
    let Some(name) = config.get_dbname().map(str::to_string) else {
        return Ok(());
    };
    let missing = match driver.handle.block_on(config.connect(NoTls)) {
        Ok(_) => false,
        Err(e) => e.code() == Some(&tokio_postgres::error::SqlState::INVALID_CATALOG_NAME),
    };
    if !missing {
        return Ok(());
    }
    let mut maintenance = config.clone();
    maintenance.dbname("postgres");
    let (client, connection) = driver
        .handle
        .block_on(maintenance.connect(NoTls))
        .map_err(|e| connect_error(options, e))?;
    driver.handle.spawn(connection);
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    match driver
        .handle
        .block_on(client.batch_execute(&format!("CREATE DATABASE {quoted}")))
    {
        Ok(()) => Ok(()),
        // Another replica created it meanwhile.
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) => Ok(()),
        Err(e) => Err(StoreError::Database(format!(
            "cannot create PostgreSQL database {quoted}: {}",
            pg(e)
        ))),
    }
}

fn connect_one(driver: &Arc<Driver>, options: &Arc<PgOptions>) -> Result<PgConn, StoreError> {
    let config = parse_config(options)?;
    let (client, connection) = driver
        .handle
        .block_on(config.connect(NoTls))
        .map_err(|e| connect_error(options, e))?;
    driver.handle.spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "PostgreSQL connection closed");
        }
    });
    let mut conn = PgConn {
        client,
        driver: driver.clone(),
        options: options.clone(),
        statements: HashMap::new(),
        in_transaction: false,
    };
    if let Some(schema) = &options.schema {
        conn.batch(&format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}; SET search_path TO {schema}"
        ))?;
    }
    Ok(conn)
}

impl SqlStore<PgConn> {
    /// Connects the writer and the readers and brings the schema up to date (under an advisory lock, so
    /// replicas starting together migrate once). Callable from async code and from plain threads alike.
    pub fn connect(options: &PgOptions) -> Result<Self, StoreError> {
        if let Some(schema) = &options.schema {
            check_schema(schema)?;
        }
        // Connecting waits on the driver's runtime, which must not happen on a thread that is running async
        // code, so it happens on a thread of its own.
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let driver = Driver::start()?;
                    ensure_database(&driver, options)?;
                    let options = Arc::new(options.clone());
                    let mut writer = connect_one(&driver, &options)?;
                    migrations::migrate(&mut writer, &redacted(&options.url))?;
                    let readers = (0..options.readers)
                        .map(|_| connect_one(&driver, &options))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(Self::from_connections(writer, readers))
                })
                .join()
                .unwrap_or_else(|_| {
                    Err(StoreError::Database(
                        "connecting to PostgreSQL panicked".into(),
                    ))
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redacted("postgres://app:s3cret@db:5432/catalog"),
            "postgres://app:***@db:5432/catalog"
        );
        assert_eq!(
            redacted("postgres://app@db/catalog"),
            "postgres://app@db/catalog"
        );
        assert!(!redacted("host=db password=s3cret").contains("s3cret"));
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(check_schema("stagedoor_test_1").is_ok());
        for bad in ["", "Public", "a;drop", "1abc", "a-b"] {
            assert!(check_schema(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unreachable_servers_are_a_clear_error() {
        let err = PostgresStore::connect(&PgOptions::new(
            "postgres://nobody:pw@127.0.0.1:1/none?connect_timeout=2",
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("cannot connect to PostgreSQL at postgres://nobody:***@127.0.0.1:1/none"),
            "{err}"
        );
        assert!(!err.contains(":pw@"), "{err}");
    }
}
