//! Printing entities: YAML, JSON and aligned tables. Table cells are made safe for a terminal (control
//! characters, such as escape sequences an entity could carry, become spaces).

use anyhow::Context as _;
use serde::Serialize;
use stagedoor_core::Entity;

/// Longest DESCRIPTION cell, in characters, before it is cut with `…`.
pub const DESCRIPTION_WIDTH: usize = 60;

/// Writes a command's output to stdout. A closed pipe (`stagedoor catalog list | head`) is not an error.
pub fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write to stdout")
        }
        _ => Ok(()),
    }
}

pub fn to_yaml<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<String> {
    serde_yaml::to_string(value).context("cannot write YAML")
}

pub fn to_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<String> {
    serde_json::to_string_pretty(value).context("cannot write JSON")
}

/// One line of text fit for a table cell: control characters replaced, cut at `max` characters.
pub fn cell(text: &str, max: Option<usize>) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let clean = clean.trim();
    match max {
        Some(max) if clean.chars().count() > max => {
            let cut: String = clean.chars().take(max.saturating_sub(1)).collect();
            format!("{}…", cut.trim_end())
        }
        _ => clean.to_string(),
    }
}

/// Columns padded to their widest cell, two spaces apart; the last column is not padded.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, value) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(value.chars().count());
            }
        }
    }
    let header_row: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    let mut out = String::new();
    for row in std::iter::once(&header_row).chain(rows) {
        let mut line = String::new();
        for (i, value) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(value);
            if i + 1 < row.len() {
                let pad = widths[i].saturating_sub(value.chars().count());
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub const ENTITY_COLUMNS: &[&str] = &[
    "KIND",
    "NAMESPACE",
    "NAME",
    "TYPE",
    "OWNER",
    "LIFECYCLE",
    "DESCRIPTION",
];

/// An entity's row under [`ENTITY_COLUMNS`]; `-` marks a missing value.
pub fn entity_row(entity: &Entity) -> Vec<String> {
    let or_dash = |v: Option<&str>| match v {
        Some(s) if !s.trim().is_empty() => cell(s, Some(DESCRIPTION_WIDTH)),
        _ => "-".to_string(),
    };
    vec![
        or_dash(Some(entity.kind())),
        or_dash(Some(entity.namespace())),
        or_dash(Some(entity.name())),
        or_dash(entity.spec_str("type")),
        or_dash(entity.spec_str("owner")),
        or_dash(entity.spec_str("lifecycle")),
        or_dash(entity.description()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_align_and_do_not_trail() {
        let rows = vec![
            vec!["Component".to_string(), "a".to_string(), "x".to_string()],
            vec![
                "API".to_string(),
                "longer-name".to_string(),
                "-".to_string(),
            ],
        ];
        let text = table(&["KIND", "NAME", "DESC"], &rows);
        assert_eq!(
            text,
            "KIND       NAME         DESC\nComponent  a            x\nAPI        longer-name  -\n"
        );
    }

    #[test]
    fn cells_are_cut_and_cleaned() {
        assert_eq!(cell("a\u{1b}[31mred\nline", None), "a [31mred line");
        assert_eq!(cell("abcdefgh", Some(5)), "abcd…");
        assert_eq!(cell("abcde", Some(5)), "abcde");
    }

    #[test]
    fn rows_mark_missing_values() {
        let e = Entity::from_value(json!({
            "kind": "Group", "metadata": {"name": "team-a"}, "spec": {"type": "team"}
        }))
        .unwrap();
        assert_eq!(
            entity_row(&e),
            vec!["Group", "default", "team-a", "team", "-", "-", "-"]
        );
    }
}
