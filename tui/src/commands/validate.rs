//! `stagedoor catalog validate PATH...`: checks catalog files as ingestion would, without a database.

use std::process::ExitCode;

use stagedoor_core::ingest::validate_paths;

use crate::cli::ValidateArgs;
use crate::output;

pub fn run(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let summary = validate_paths(&args.paths);
    let mut text = String::new();
    for problem in &summary.problems {
        text.push_str(&format!("{problem}\n"));
    }
    if summary.problems.is_empty() {
        text.push_str(&format!(
            "ok: {} entities in {} files\n",
            summary.entities, summary.files
        ));
    }
    output::emit(&text)?;
    if summary.problems.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "{} problems; {} entities in {} files",
            summary.problems.len(),
            summary.entities,
            summary.files
        );
        Ok(ExitCode::from(1))
    }
}
