//! Splits a catalog file into its YAML documents, each with its index and starting line, and checks the
//! file's shape (size, text, YAML) the way Backstage's parser does.

use serde::Deserialize;
use serde_json::Value;

/// Catalog files larger than this are refused: real catalog files are kilobytes, and reading a huge file into
/// the parser would stall ingestion for everyone else.
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;

/// One YAML document of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Index in the file, from 0.
    pub index: usize,
    /// 1-based line the document's content starts on.
    pub line: usize,
    /// 1-based last line of the document.
    pub end_line: usize,
    /// The document as JSON, or why it is not an entity-shaped object.
    pub value: Result<Value, String>,
}

/// A failure of the whole file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub line: Option<usize>,
    pub message: String,
}

/// Parses a file's bytes into documents. `location` (`type:target`) is used in messages as Backstage does.
/// Empty (null) documents are skipped, as Backstage skips them.
pub fn parse_documents(bytes: &[u8], location: &str) -> Result<Vec<Document>, FileError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(FileError {
            line: None,
            message: format!(
                "File is {} bytes, larger than the {} byte limit for catalog files",
                bytes.len(),
                MAX_FILE_BYTES
            ),
        });
    }
    if bytes.contains(&0) {
        return Err(FileError {
            line: None,
            message: "File is binary, not YAML text".to_string(),
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| FileError {
        line: None,
        message: format!("File is not UTF-8 text: {e}"),
    })?;
    if text.trim().is_empty() {
        return Err(FileError {
            line: None,
            message: "File is empty: no entities found".to_string(),
        });
    }
    let starts = document_start_lines(text);
    let total_lines = text.lines().count().max(1);
    let values = match parse_as_json(text) {
        Some(values) => values,
        None => parse_as_yaml(text, location)?,
    };
    let mut documents = Vec::new();
    for (index, value) in values.into_iter().enumerate() {
        let Some(value) = value else { continue };
        let line = starts.get(index).copied().unwrap_or(1);
        let end_line = starts
            .get(index + 1)
            .map(|next| next.saturating_sub(1))
            .unwrap_or(total_lines);
        documents.push(Document {
            index,
            line,
            end_line,
            value,
        });
    }
    if documents.is_empty() {
        return Err(FileError {
            line: None,
            message: "File is empty: no entities found".to_string(),
        });
    }
    Ok(documents)
}

/// One entry per document: `None` for an empty (null) document, else the object or why it is not one.
type ParsedDocuments = Vec<Option<Result<Value, String>>>;

/// The fast path: YAML straight into JSON values. `None` when anything in the file needs the careful path
/// (a syntax error to report, or keys that are not strings).
fn parse_as_json(text: &str) -> Option<ParsedDocuments> {
    let mut out = Vec::new();
    for de in serde_yaml::Deserializer::from_str(text) {
        let value = Value::deserialize(de).ok()?;
        out.push(match value {
            Value::Null => None,
            Value::Object(_) => Some(Ok(value)),
            Value::Array(_) => Some(Err("Expected object at root, got array".to_string())),
            Value::String(_) => Some(Err("Expected object at root, got string".to_string())),
            Value::Number(_) => Some(Err("Expected object at root, got number".to_string())),
            Value::Bool(_) => Some(Err("Expected object at root, got boolean".to_string())),
        });
    }
    Some(out)
}

/// The careful path: YAML values first, so syntax errors carry their position and non-string keys become
/// strings as they do in Backstage.
fn parse_as_yaml(text: &str, location: &str) -> Result<ParsedDocuments, FileError> {
    let mut out = Vec::new();
    for de in serde_yaml::Deserializer::from_str(text) {
        let yaml = serde_yaml::Value::deserialize(de).map_err(|e| FileError {
            line: e.location().map(|l| l.line()),
            message: format!("YAML error at {location}, {e}"),
        })?;
        out.push(match yaml {
            serde_yaml::Value::Null => None,
            serde_yaml::Value::Mapping(_) => {
                Some(serde_json::to_value(&yaml).map_err(|e| format!("Invalid document: {e}")))
            }
            other => Some(Err(format!(
                "Expected object at root, got {}",
                yaml_type_name(&other)
            ))),
        });
    }
    Ok(out)
}

fn yaml_type_name(value: &serde_yaml::Value) -> &'static str {
    match value {
        serde_yaml::Value::Null => "null",
        serde_yaml::Value::Bool(_) => "boolean",
        serde_yaml::Value::Number(_) => "number",
        serde_yaml::Value::String(_) => "string",
        serde_yaml::Value::Sequence(_) => "array",
        serde_yaml::Value::Mapping(_) => "object",
        serde_yaml::Value::Tagged(_) => "tagged value",
    }
}

/// The 1-based line each document starts on: a document begins at the first content line of the file, and
/// after each `---` marker.
fn document_start_lines(text: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut awaiting_content = true;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_end();
        let is_marker = trimmed == "---" || trimmed.starts_with("--- ");
        if is_marker {
            awaiting_content = true;
            // Content may sit on the marker line itself (`--- {a: 1}`).
            if trimmed.len() > 4 && !trimmed[4..].trim_start().starts_with('#') {
                starts.push(i + 1);
                awaiting_content = false;
            }
            continue;
        }
        let blank = trimmed.trim_start().is_empty()
            || trimmed.trim_start().starts_with('#')
            || trimmed.starts_with('%');
        if awaiting_content && !blank {
            starts.push(i + 1);
            awaiting_content = false;
        }
    }
    starts
}

/// The first line in `doc` whose text contains `needle`, for pointing a validation error at its value.
pub fn find_line(text: &str, doc: &Document, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    text.lines()
        .enumerate()
        .skip(doc.line.saturating_sub(1))
        .take(doc.end_line + 1 - doc.line.min(doc.end_line))
        .find(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_carry_index_and_line() {
        let text =
            "# comment\napiVersion: v1\nkind: A\n---\n\nkind: B\nmetadata:\n  name: x\n---\n";
        let docs = parse_documents(text.as_bytes(), "file:/x.yaml").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!((docs[0].index, docs[0].line), (0, 2));
        assert_eq!((docs[1].index, docs[1].line), (1, 6));
        assert_eq!(find_line(text, &docs[1], "name: x"), Some(8));
    }

    #[test]
    fn non_string_keys_become_strings() {
        let docs =
            parse_documents(b"kind: A\nspec:\n  200: ok\n  true: yes\n", "file:/x.yaml").unwrap();
        let value = docs[0].value.as_ref().unwrap();
        assert_eq!(value["spec"]["200"], "ok");
        assert_eq!(value["spec"]["true"], "yes");
    }

    #[test]
    fn refuses_non_objects_and_broken_files() {
        let docs = parse_documents(b"- a\n- b\n", "file:/x.yaml").unwrap();
        assert_eq!(
            docs[0].value,
            Err("Expected object at root, got array".to_string())
        );
        let err = parse_documents(b"a: [1,\n", "file:/x.yaml").unwrap_err();
        assert!(
            err.message.starts_with("YAML error at file:/x.yaml, "),
            "{err:?}"
        );
        assert!(err.line.is_some());
        assert_eq!(
            parse_documents(b"  \n", "file:/x.yaml")
                .unwrap_err()
                .message,
            "File is empty: no entities found"
        );
        assert_eq!(
            parse_documents(b"\x00\x01ELF", "file:/x.yaml")
                .unwrap_err()
                .message,
            "File is binary, not YAML text"
        );
        let big = vec![b'a'; MAX_FILE_BYTES + 1];
        assert!(parse_documents(&big, "file:/x.yaml")
            .unwrap_err()
            .message
            .contains("larger than the"));
    }
}
