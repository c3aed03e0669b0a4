//! `stagedoor` with no subcommand when stdout is not a terminal: refreshes the catalog and prints what it
//! holds, so scripts keep working (on a terminal the same command opens the terminal UI).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use stagedoor_core::portal::RefreshReport;
use stagedoor_core::store::Facets;
use stagedoor_core::Portal;

use crate::{output, progress, setup};

const HINT: &str = "\
commands:
  stagedoor catalog list [--kind KIND] [--filter FILTER]... [--limit N] [-o table|json|yaml]
  stagedoor catalog get KIND:[NAMESPACE/]NAME [-o yaml|json]
  stagedoor catalog import
  stagedoor catalog validate PATH...
  stagedoor dev gen-catalog --entities N --out DIR
  stagedoor docs build [REF]
  stagedoor docs show REF [PAGE] [--raw]
(run stagedoor in a terminal for the terminal UI; stagedoor --help for more)
";

pub async fn run(config_files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let portal = setup::portal_from_args(config_files)?;
    let report = progress::refresh(&portal).await.context("refresh failed")?;
    let facets = portal
        .facets(&["kind".to_string()], None)
        .await
        .context("cannot count entities")?;
    output::emit(&render(&report, &facets))?;
    Ok(ExitCode::SUCCESS)
}

pub fn render(report: &RefreshReport, facets: &Facets) -> String {
    let mut kinds = facets.get("kind").cloned().unwrap_or_default();
    kinds.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    let total: u64 = kinds.iter().map(|k| k.count).sum();
    let mut out = format!(
        "stagedoor: {total} entities in the catalog, refreshed from {} root locations\n",
        report.roots
    );
    let width = kinds
        .iter()
        .map(|k| k.value.chars().count())
        .max()
        .unwrap_or(0);
    for k in &kinds {
        out.push_str(&format!(
            "  {:<width$}  {}\n",
            crate::output::cell(&k.value, None),
            k.count
        ));
    }
    if !report.problems.is_empty() {
        out.push_str(&format!("{} problems:\n", report.problems.len()));
        for p in &report.problems {
            out.push_str(&format!("  {p}\n"));
        }
    }
    if !report.dangling_relations.is_empty() {
        out.push_str(&format!(
            "{} relations point at entities not in the catalog (stagedoor catalog import lists them)\n",
            report.dangling_relations.len()
        ));
    }
    out.push('\n');
    out.push_str(HINT);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagedoor_core::store::FacetCount;

    #[test]
    fn counts_kinds_most_first() {
        let mut facets = Facets::new();
        facets.insert(
            "kind".into(),
            vec![
                FacetCount {
                    value: "Group".into(),
                    count: 2,
                },
                FacetCount {
                    value: "Component".into(),
                    count: 10,
                },
            ],
        );
        let report = RefreshReport {
            roots: 1,
            ..RefreshReport::default()
        };
        let text = render(&report, &facets);
        assert!(text.starts_with(
            "stagedoor: 12 entities in the catalog, refreshed from 1 root locations\n  Component  10\n  Group      2\n"
        ));
        assert!(text.contains("stagedoor catalog list"));
    }
}
