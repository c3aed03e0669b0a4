//! The small SQL surface the catalog's store logic is written against, so one implementation of writing,
//! stitching and querying runs on SQLite ([`super::sqlite::SqliteConn`]) and on PostgreSQL
//! ([`super::postgres::PgConn`]).
//!
//! The statements themselves are written once, in the dialect both accept: `?`/`?N` placeholders (the
//! PostgreSQL side renumbers them to `$N`), text or 64-bit integer parameters, `ON CONFLICT ... DO NOTHING`,
//! `RETURNING`. Where the two really differ (transactions, change detection, bulk inserts, DDL types) the
//! connection says how, and [`Dialect`] tells the few callers that must choose.

use super::StoreError;

/// Which database a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A statement parameter. Texts and integers are all the store binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param<'a> {
    Null,
    Int(i64),
    Text(&'a str),
}

impl From<i64> for Param<'_> {
    fn from(v: i64) -> Self {
        Param::Int(v)
    }
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(v: &'a str) -> Self {
        Param::Text(v)
    }
}

impl<'a> From<&'a String> for Param<'a> {
    fn from(v: &'a String) -> Self {
        Param::Text(v)
    }
}

impl<'a> From<Option<&'a str>> for Param<'a> {
    fn from(v: Option<&'a str>) -> Self {
        v.map_or(Param::Null, Param::Text)
    }
}

impl<'a> From<&'a Option<String>> for Param<'a> {
    fn from(v: &'a Option<String>) -> Self {
        v.as_deref().map_or(Param::Null, Param::Text)
    }
}

/// Builds a `&[Param]` from mixed values: `sql_params![id, "x", name]`.
#[macro_export]
#[doc(hidden)]
macro_rules! sql_params {
    ($($v:expr),* $(,)?) => {
        &[$($crate::store::sql::Param::from($v)),*][..]
    };
}

/// One value read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
}

/// One result row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlRow(pub Vec<Cell>);

impl SqlRow {
    fn cell(&self, i: usize) -> Result<&Cell, StoreError> {
        self.0
            .get(i)
            .ok_or_else(|| StoreError::Database(format!("result has no column {i}")))
    }

    pub fn int(&self, i: usize) -> Result<i64, StoreError> {
        match self.cell(i)? {
            Cell::Int(v) => Ok(*v),
            other => Err(StoreError::Database(format!(
                "column {i}: expected an integer, found {other:?}"
            ))),
        }
    }

    pub fn text(&self, i: usize) -> Result<String, StoreError> {
        match self.cell(i)? {
            Cell::Text(v) => Ok(v.clone()),
            other => Err(StoreError::Database(format!(
                "column {i}: expected text, found {other:?}"
            ))),
        }
    }

    pub fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.cell(i)? {
            Cell::Null => Ok(None),
            _ => self.text(i).map(Some),
        }
    }

    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.cell(i)? {
            Cell::Null => Ok(None),
            _ => self.int(i).map(Some),
        }
    }

    /// An integer or a text column as text (a cursor's tiebreaker is either).
    pub fn any_text(&self, i: usize) -> Result<String, StoreError> {
        match self.cell(i)? {
            Cell::Int(v) => Ok(v.to_string()),
            _ => self.text(i),
        }
    }
}

/// The type of a column a bulk insert fills (PostgreSQL binds each column as one typed array).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Int,
    Text,
}

/// A synchronous database connection. Store calls run on tokio's blocking pool, each holding one
/// connection for its whole transaction.
pub trait SqlConn: Send {
    fn dialect(&self) -> Dialect;

    /// Runs one statement; the number of rows it changed.
    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, StoreError>;

    /// Runs one query and reads every row.
    fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<SqlRow>, StoreError>;

    /// Runs several `;`-separated statements without parameters (migrations, index rebuilds).
    fn batch(&mut self, sql: &str) -> Result<(), StoreError>;

    /// Starts a transaction; `write` takes the write lock at once where the database has one (SQLite).
    fn begin(&mut self, write: bool) -> Result<(), StoreError>;

    fn commit(&mut self) -> Result<(), StoreError>;

    /// Rolls back an open transaction; harmless when none is open.
    fn rollback(&mut self) -> Result<(), StoreError>;

    /// A value that changes whenever any committed write (from any connection or process) may have changed
    /// the data, so per-connection caches know when to drop their entries.
    fn change_stamp(&mut self) -> Result<String, StoreError>;

    /// Inserts rows into `table`: `values` holds `columns.len()` parameters per row, row after row.
    fn insert_rows(
        &mut self,
        table: &str,
        columns: &[(&str, ColumnType)],
        values: &[Param<'_>],
    ) -> Result<(), StoreError>;

    /// The first row of a query, if any.
    fn query_opt(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Option<SqlRow>, StoreError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// The single integer a query like `SELECT COUNT(*) ...` returns.
    fn query_int(&mut self, sql: &str, params: &[Param<'_>]) -> Result<i64, StoreError> {
        match self.query_opt(sql, params)? {
            Some(row) => row.int(0),
            None => Err(StoreError::Database(format!("no row from {sql}"))),
        }
    }
}

/// Runs `f` in a transaction: committed when it returns `Ok`, rolled back when it returns an error.
pub fn transaction<T>(
    conn: &mut dyn SqlConn,
    write: bool,
    f: impl FnOnce(&mut dyn SqlConn) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.begin(write)?;
    match f(conn) {
        Ok(value) => {
            conn.commit()?;
            Ok(value)
        }
        Err(e) => {
            // The error that stopped the work is the one to report; a failed rollback ends with the
            // connection (the server discards the transaction anyway).
            let _ = conn.rollback();
            Err(e)
        }
    }
}

/// Rewrites `?` and `?N` placeholders to PostgreSQL's `$N`, leaving quoted text alone. A bare `?` takes the
/// next number after the highest used so far, as SQLite numbers them.
pub fn numbered_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    let mut highest = 0u32;
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            out.push(c);
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => {
                quote = Some(c);
                out.push(c);
            }
            '?' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                let n = match digits.parse::<u32>() {
                    Ok(n) => n,
                    Err(_) => highest + 1,
                };
                highest = highest.max(n);
                out.push('$');
                out.push_str(&n.to_string());
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_like_sqlite() {
        assert_eq!(
            numbered_placeholders("a = ?1 AND b = ?1 AND c = ?2"),
            "a = $1 AND b = $1 AND c = $2"
        );
        assert_eq!(
            numbered_placeholders("x IN (?, ?) AND y LIKE ? ESCAPE '\\' AND z = '?'"),
            "x IN ($1, $2) AND y LIKE $3 ESCAPE '\\' AND z = '?'"
        );
        assert_eq!(
            numbered_placeholders("a = ?2 AND b = ?"),
            "a = $2 AND b = $3"
        );
    }

    #[test]
    fn rows_read_typed_cells() {
        let row = SqlRow(vec![Cell::Int(7), Cell::Text("x".into()), Cell::Null]);
        assert_eq!(row.int(0).unwrap(), 7);
        assert_eq!(row.text(1).unwrap(), "x");
        assert_eq!(row.opt_text(2).unwrap(), None);
        assert_eq!(row.any_text(0).unwrap(), "7");
        assert!(row.int(1).is_err());
        assert!(row.text(5).is_err());
    }
}
