//! `stagedoor search TERM`: one page of search results over the catalog and TechDocs, from the embedded
//! portal or, with `--server`, from `GET /api/search/query`. The table shows each result's rank, type,
//! title, location and a one-line snippet of the engine's highlight (the matched terms in bold on a
//! terminal, the tags dropped otherwise); `-o json` prints the search answer exactly as the API gives it.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::process::ExitCode;

use anyhow::Context as _;
use stagedoor_core::search::{SearchQuery, SearchResult, SearchResultSet};
use stagedoor_core::PortalError;
use stagedoor_server::api::SearchSettings;

use crate::cli::{SearchArgs, SearchFormat, UsageError};
use crate::{output, setup};

/// Longest TITLE and LOCATION cells, in characters.
const TITLE_WIDTH: usize = 40;
const LOCATION_WIDTH: usize = 60;
/// Longest SNIPPET cell, in visible characters.
const SNIPPET_WIDTH: usize = 60;

const COLUMNS: &[&str] = &["RANK", "TYPE", "TITLE", "LOCATION", "SNIPPET"];

/// Bold on and off (normal intensity), for highlighted terms on a terminal.
const BOLD: &str = "\u{1b}[1m";
const NORMAL: &str = "\u{1b}[22m";

/// `--filter field=value` options as the query's filters: repeated fields collect their values.
pub fn parse_filters(filters: &[String]) -> Result<BTreeMap<String, Vec<String>>, UsageError> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for filter in filters {
        let parsed = filter
            .split_once('=')
            .map(|(field, value)| (field.trim(), value.trim()))
            .filter(|(field, _)| !field.is_empty());
        let Some((field, value)) = parsed else {
            return Err(UsageError(format!(
                "invalid --filter '{filter}': expected FIELD=VALUE"
            )));
        };
        out.entry(field.to_string())
            .or_default()
            .push(value.to_string());
    }
    Ok(out)
}

pub fn build_query(args: &SearchArgs) -> Result<SearchQuery, UsageError> {
    let mut types: Vec<String> = Vec::new();
    for t in &args.types {
        let name = t.as_str().to_string();
        if !types.contains(&name) {
            types.push(name);
        }
    }
    Ok(SearchQuery {
        term: args.term.clone(),
        types,
        filters: parse_filters(&args.filter)?,
        page_cursor: None,
        page_limit: args.limit.map(|l| usize::try_from(l).unwrap_or(usize::MAX)),
    })
}

/// Pieces of a highlighted excerpt: `(text, highlighted)`, tags removed. An unclosed pre-tag highlights
/// the rest; empty tags mean no highlighting.
fn highlighted_parts(text: &str, pre: &str, post: &str) -> Vec<(String, bool)> {
    if pre.is_empty() || post.is_empty() {
        return vec![(text.to_string(), false)];
    }
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(pre) {
        parts.push((rest[..start].to_string(), false));
        let after = &rest[start + pre.len()..];
        match after.find(post) {
            Some(end) => {
                parts.push((after[..end].to_string(), true));
                rest = &after[end + post.len()..];
            }
            None => {
                parts.push((after.to_string(), true));
                rest = "";
            }
        }
    }
    parts.push((rest.to_string(), false));
    parts.retain(|(t, _)| !t.is_empty());
    parts
}

/// One line of at most `max` visible characters from a result's excerpt: whitespace runs (newlines too)
/// become one space, control characters are dropped (no escape sequence of a document reaches the
/// terminal), and highlighted terms are wrapped in bold when `bold`.
pub fn snippet(result: &SearchResult, max: usize, bold: bool) -> String {
    let (text, pre, post) = match result
        .highlight
        .as_ref()
        .and_then(|h| h.fields.get("text").map(|t| (t, h)))
    {
        Some((text, h)) => (text.as_str(), h.pre_tag.as_str(), h.post_tag.as_str()),
        None => (result.field("text").unwrap_or(""), "", ""),
    };
    // Visible characters with whether each is highlighted; cut before styling so escape codes never count.
    let mut chars: Vec<(char, bool)> = Vec::new();
    for (part, highlighted) in highlighted_parts(text, pre, post) {
        for c in part.chars() {
            let c = if c.is_whitespace() { ' ' } else { c };
            let after_space = chars.last().is_none_or(|(last, _)| *last == ' ');
            if c.is_control() || (c == ' ' && after_space) {
                continue;
            }
            chars.push((c, highlighted));
        }
    }
    let trim = |chars: &mut Vec<(char, bool)>| {
        while chars.last().is_some_and(|(c, _)| *c == ' ') {
            chars.pop();
        }
    };
    trim(&mut chars);
    if chars.len() > max {
        chars.truncate(max.saturating_sub(1));
        trim(&mut chars);
        chars.push(('…', false));
    }
    let mut out = String::new();
    let mut in_bold = false;
    for (c, highlighted) in chars {
        let want = highlighted && bold;
        if want != in_bold {
            out.push_str(if want { BOLD } else { NORMAL });
            in_bold = want;
        }
        out.push(c);
    }
    if in_bold {
        out.push_str(NORMAL);
    }
    out
}

fn or_dash(text: Option<&str>, max: usize) -> String {
    match text {
        Some(s) if !s.trim().is_empty() => output::cell(s, Some(max)),
        _ => "-".to_string(),
    }
}

pub fn render(set: &SearchResultSet, format: SearchFormat, bold: bool) -> anyhow::Result<String> {
    match format {
        SearchFormat::Json => Ok(output::to_json(set)? + "\n"),
        SearchFormat::Table => {
            if set.results.is_empty() {
                return Ok("No results\n".to_string());
            }
            let rows: Vec<Vec<String>> = set
                .results
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    vec![
                        r.rank.unwrap_or(i + 1).to_string(),
                        output::cell(&r.doc_type, Some(TITLE_WIDTH)),
                        or_dash(r.field("title"), TITLE_WIDTH),
                        or_dash(r.field("location"), LOCATION_WIDTH),
                        snippet(r, SNIPPET_WIDTH, bold),
                    ]
                })
                .collect();
            let mut text = output::table(COLUMNS, &rows);
            let shown = set.results.len();
            match set.number_of_results {
                Some(total) => text.push_str(&format!("{shown} of {total} results")),
                None => text.push_str(&format!("{shown} results")),
            }
            if set.next_page_cursor.is_some() {
                text.push_str(" (more with a larger --limit)");
            }
            text.push('\n');
            Ok(text)
        }
    }
}

pub async fn run(source: &setup::Source, args: &SearchArgs) -> anyhow::Result<ExitCode> {
    let query = build_query(args)?;
    if source.server.is_none() {
        // The server checks its own limits; the embedded portal is held to the configuration's the same
        // way, so a term that is too long fails here as it would over HTTP.
        let config = setup::load_config(&source.config)?;
        let settings = SearchSettings::from_config(&config).context("invalid search settings")?;
        settings.check(&query).map_err(UsageError)?;
    }
    let portal = setup::reading_portal(source).await?;
    let set = match portal.search(query).await {
        Ok(set) => set,
        // A refused query (too long a term, a limit over the server's) is the caller's to fix.
        Err(PortalError::Input(message)) => return Err(UsageError(message).into()),
        Err(e) => return Err(e).context("cannot search"),
    };
    let bold = std::io::stdout().is_terminal()
        && !matches!(std::env::var_os("NO_COLOR"), Some(v) if !v.is_empty());
    output::emit(&render(&set, args.output, bold)?)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use stagedoor_core::search::Highlight;

    fn result(text: &str, highlight: Option<&str>) -> SearchResult {
        SearchResult {
            doc_type: "software-catalog".into(),
            document: json!({"title": "Shipment Tracker", "text": text,
                             "location": "/catalog/default/component/shipment-tracker"})
            .as_object()
            .unwrap()
            .clone(),
            highlight: highlight.map(|h| Highlight {
                pre_tag: "<em>".into(),
                post_tag: "</em>".into(),
                fields: [("text".to_string(), h.to_string())].into_iter().collect(),
            }),
            rank: Some(1),
        }
    }

    #[test]
    fn filters_collect_values_per_field() {
        let f = parse_filters(&[
            "kind=Component".into(),
            "kind=API".into(),
            "lifecycle = production".into(),
            "owner=".into(),
        ])
        .unwrap();
        assert_eq!(f["kind"], vec!["Component", "API"]);
        assert_eq!(f["lifecycle"], vec!["production"]);
        assert_eq!(f["owner"], vec![""]);
        for bad in ["kind", "=x", " =x"] {
            assert!(parse_filters(&[bad.into()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn snippets_strip_or_embolden_highlights() {
        let r = result(
            "Tracks shipments",
            Some("Tracks <em>shipments</em>\nin\u{1b}[31m flight"),
        );
        assert_eq!(snippet(&r, 80, false), "Tracks shipments in[31m flight");
        assert_eq!(
            snippet(&r, 80, true),
            "Tracks \u{1b}[1mshipments\u{1b}[22m in[31m flight"
        );
        assert_eq!(snippet(&r, 10, false), "Tracks sh…");
        assert_eq!(snippet(&r, 10, true), "Tracks \u{1b}[1msh\u{1b}[22m…");
        // Without a highlight, the document's text.
        let plain = result("Tracks   every\tparcel", None);
        assert_eq!(snippet(&plain, 80, true), "Tracks every parcel");
        assert_eq!(snippet(&result("", None), 80, false), "");
        // An unclosed tag highlights the rest.
        let open = result("", Some("a <em>b"));
        assert_eq!(snippet(&open, 80, true), "a \u{1b}[1mb\u{1b}[22m");
    }

    #[test]
    fn tables_have_a_footer_and_json_is_the_answer() {
        let set = SearchResultSet {
            results: vec![result("Tracks shipments", None)],
            next_page_cursor: Some("MQ==".into()),
            previous_page_cursor: None,
            number_of_results: Some(3),
        };
        let text = render(&set, SearchFormat::Table, false).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("RANK  TYPE"), "{text}");
        assert!(lines[1].contains("Shipment Tracker"), "{text}");
        assert!(lines[1].ends_with("Tracks shipments"), "{text}");
        assert_eq!(lines[2], "1 of 3 results (more with a larger --limit)");
        let json: serde_json::Value =
            serde_json::from_str(&render(&set, SearchFormat::Json, false).unwrap()).unwrap();
        assert_eq!(json["nextPageCursor"], "MQ==");
        assert_eq!(json["numberOfResults"], 3);
        assert_eq!(json["results"][0]["type"], "software-catalog");
        assert_eq!(
            render(&SearchResultSet::default(), SearchFormat::Table, false).unwrap(),
            "No results\n"
        );
    }
}
