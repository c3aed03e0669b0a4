//! `stagedoor catalog validate PATH...`: checks catalog files as ingestion would, without a database.

use std::process::ExitCode;

use stagedoor_core::ingest::validate_paths;

use crate::cli::ValidateArgs;

pub fn run(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let summary = validate_paths(&args.paths);
    for problem in &summary.problems {
        println!("{problem}");
    }
    if summary.problems.is_empty() {
        println!(
            "ok: {} entities in {} files",
            summary.entities, summary.files
        );
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
