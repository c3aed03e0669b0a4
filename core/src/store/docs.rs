//! Built TechDocs sites in the store: one row per site (its etag and build time) and one per file, so
//! reading a page is one indexed lookup and never a rebuild. Bodies are kept as text (UTF-8 as is, anything
//! else base64) because the store's SQL surface binds text and integers only.

use base64::Engine;

use super::sql::{transaction, ColumnType, Param, SqlConn};
use super::StoreError;
use crate::sql_params;
use crate::techdocs::publish::DocsFile;

/// A built site to store, replacing whatever that entity had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDocs {
    /// The entity's ref, lower-cased (`component:default/name`).
    pub entity_ref: String,
    pub etag: String,
    /// Epoch milliseconds.
    pub built_at: i64,
    pub files: Vec<DocsFile>,
}

const UTF8: &str = "utf8";
const BASE64: &str = "base64";

fn encode(body: &[u8]) -> (&'static str, String) {
    match std::str::from_utf8(body) {
        // PostgreSQL text cannot hold NUL.
        Ok(text) if !text.contains('\0') => (UTF8, text.to_string()),
        _ => (
            BASE64,
            base64::engine::general_purpose::STANDARD.encode(body),
        ),
    }
}

fn decode(encoding: &str, body: String) -> Result<Vec<u8>, StoreError> {
    match encoding {
        UTF8 => Ok(body.into_bytes()),
        BASE64 => base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| StoreError::Database(format!("stored docs file is not base64: {e}"))),
        other => Err(StoreError::Database(format!(
            "stored docs file has unknown encoding {other:?}"
        ))),
    }
}

/// Replaces `docs`' site in one transaction.
pub(crate) fn put(conn: &mut dyn SqlConn, docs: &StoredDocs) -> Result<(), StoreError> {
    let encoded: Vec<(&str, String)> = docs.files.iter().map(|f| encode(&f.body)).collect();
    transaction(conn, true, |tx| {
        tx.execute(
            "DELETE FROM docs_files WHERE entity_ref = ?1",
            sql_params![&docs.entity_ref],
        )?;
        tx.execute(
            "DELETE FROM docs_sites WHERE entity_ref = ?1",
            sql_params![&docs.entity_ref],
        )?;
        tx.execute(
            "INSERT INTO docs_sites (entity_ref, etag, built_at) VALUES (?1, ?2, ?3)",
            sql_params![&docs.entity_ref, &docs.etag, docs.built_at],
        )?;
        let mut values: Vec<Param<'_>> = Vec::with_capacity(docs.files.len() * 5);
        for (file, (encoding, body)) in docs.files.iter().zip(&encoded) {
            values.extend([
                Param::Text(&docs.entity_ref),
                Param::Text(&file.path),
                Param::Text(&file.content_type),
                Param::Text(encoding),
                Param::Text(body),
            ]);
        }
        tx.insert_rows(
            "docs_files",
            &[
                ("entity_ref", ColumnType::Text),
                ("path", ColumnType::Text),
                ("content_type", ColumnType::Text),
                ("encoding", ColumnType::Text),
                ("body", ColumnType::Text),
            ],
            &values,
        )
    })
}

/// The stored site's etag, if the entity has one.
pub(crate) fn etag(conn: &mut dyn SqlConn, entity_ref: &str) -> Result<Option<String>, StoreError> {
    conn.query_opt(
        "SELECT etag FROM docs_sites WHERE entity_ref = ?1",
        sql_params![entity_ref],
    )?
    .map(|row| row.text(0))
    .transpose()
}

/// One stored file of the entity's site.
pub(crate) fn file(
    conn: &mut dyn SqlConn,
    entity_ref: &str,
    path: &str,
) -> Result<Option<DocsFile>, StoreError> {
    let Some(row) = conn.query_opt(
        "SELECT content_type, encoding, body FROM docs_files WHERE entity_ref = ?1 AND path = ?2",
        sql_params![entity_ref, path],
    )?
    else {
        return Ok(None);
    };
    Ok(Some(DocsFile {
        path: path.to_string(),
        content_type: row.text(0)?,
        body: decode(&row.text(1)?, row.text(2)?)?,
    }))
}

/// Removes the entity's site; false when it had none.
pub(crate) fn delete(conn: &mut dyn SqlConn, entity_ref: &str) -> Result<bool, StoreError> {
    transaction(conn, true, |tx| {
        tx.execute(
            "DELETE FROM docs_files WHERE entity_ref = ?1",
            sql_params![entity_ref],
        )?;
        Ok(tx.execute(
            "DELETE FROM docs_sites WHERE entity_ref = ?1",
            sql_params![entity_ref],
        )? > 0)
    })
}

/// Removes the sites of entities that are no longer stored; how many.
pub(crate) fn prune(conn: &mut dyn SqlConn) -> Result<u64, StoreError> {
    transaction(conn, true, |tx| {
        tx.execute(
            "DELETE FROM docs_files WHERE entity_ref NOT IN (SELECT entity_ref FROM entities)",
            &[],
        )?;
        tx.execute(
            "DELETE FROM docs_sites WHERE entity_ref NOT IN (SELECT entity_ref FROM entities)",
            &[],
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_as_text_or_base64() {
        for body in [
            b"<h1>hi</h1>".to_vec(),
            vec![0, 159, 146, 150, 255],
            "nul\0inside".as_bytes().to_vec(),
            Vec::new(),
        ] {
            let (encoding, text) = encode(&body);
            assert_eq!(decode(encoding, text).unwrap(), body);
        }
        assert!(decode("rot13", String::new()).is_err());
        assert!(decode(BASE64, "***".into()).is_err());
    }
}
