//! `stagedoor dev gen-catalog`: writes a deterministic generated catalog for benchmarks and scale tests.

use std::process::ExitCode;

use anyhow::Context as _;
use stagedoor_core::devgen::generate_catalog;

use crate::cli::GenCatalogArgs;
use crate::output;

pub fn run(args: &GenCatalogArgs) -> anyhow::Result<ExitCode> {
    let summary = generate_catalog(args.entities, &args.out)
        .with_context(|| format!("cannot write the catalog to {}", args.out.display()))?;
    let kinds = summary
        .kinds
        .iter()
        .map(|(kind, count)| format!("{count} {kind}"))
        .collect::<Vec<_>>()
        .join(", ");
    output::emit(&format!(
        "generated {} entities in {} files under {} ({})\nregister it in app-config.yaml: catalog.locations: [{{type: file, target: {}}}]\n",
        summary.entities,
        summary.files,
        args.out.display(),
        if kinds.is_empty() { "empty" } else { &kinds },
        summary.root.display()
    ))?;
    Ok(ExitCode::SUCCESS)
}
