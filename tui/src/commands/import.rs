//! `stagedoor catalog import`: refreshes every configured location into the database and reports what changed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use stagedoor_core::portal::RefreshReport;

use crate::{output, progress, setup};

pub async fn run(config_files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let portal = setup::portal_from_args(config_files)?;
    let report = progress::refresh(&portal).await.context("refresh failed")?;
    output::emit(&render(&report))?;
    Ok(ExitCode::SUCCESS)
}

/// The summary line, then each problem and conflict on its own line.
pub fn render(report: &RefreshReport) -> String {
    let s = &report.stats;
    let mut out = format!(
        "imported {} entities ({} locations) from {} root locations: {} new, {} updated, {} unchanged, {} orphaned, {} deleted; {} errors\n",
        report.entities,
        report.locations,
        report.roots,
        s.inserted,
        s.updated,
        s.unchanged,
        s.orphaned,
        s.deleted,
        report.problems.len()
    );
    for problem in &report.problems {
        out.push_str(&format!("{problem}\n"));
    }
    for conflict in &s.conflicts {
        out.push_str(&format!("conflict: {conflict}\n"));
    }
    // A relation to a missing entity is kept (Backstage shows it as missing); list them so typos are found.
    for (source, relation, target) in &report.dangling_relations {
        out.push_str(&format!("missing entity: {source} {relation} {target}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagedoor_core::portal::Problem;
    use stagedoor_core::store::WriteStats;

    #[test]
    fn renders_counts_problems_and_conflicts() {
        let report = RefreshReport {
            roots: 1,
            entities: 3,
            locations: 1,
            stats: WriteStats {
                inserted: 2,
                unchanged: 1,
                conflicts: vec!["Detected conflicting entityRef x".into()],
                ..WriteStats::default()
            },
            problems: vec![Problem {
                location: "/c/bad.yaml".into(),
                document: Some(0),
                line: Some(4),
                name: "InputError".into(),
                message: "boom".into(),
            }],
            dangling_relations: vec![(
                "component:default/a".into(),
                "dependsOn".into(),
                "resource:default/db".into(),
            )],
        };
        assert_eq!(
            render(&report),
            "imported 3 entities (1 locations) from 1 root locations: 2 new, 0 updated, 1 unchanged, 0 orphaned, 0 deleted; 1 errors\n/c/bad.yaml:4: boom\nconflict: Detected conflicting entityRef x\nmissing entity: component:default/a dependsOn resource:default/db\n"
        );
    }
}
