//! `stagedoor catalog get REF`: prints one entity as YAML or JSON.

use std::process::ExitCode;

use anyhow::{anyhow, Context as _};
use stagedoor_core::{EntityRef, Portal};

use crate::cli::{EntityFormat, GetArgs, UsageError};
use crate::{output, setup};

pub async fn run(source: &setup::Source, args: &GetArgs) -> anyhow::Result<ExitCode> {
    // A malformed ref is the caller's mistake: say so before touching config or database.
    let entity_ref = EntityRef::parse(&args.entity_ref).map_err(|e| UsageError(e.to_string()))?;
    let portal = setup::reading_portal(source).await?;
    output::emit(&render(portal.as_ref(), &entity_ref, args.output).await?)?;
    Ok(ExitCode::SUCCESS)
}

pub async fn render(
    portal: &dyn Portal,
    entity_ref: &EntityRef,
    format: EntityFormat,
) -> anyhow::Result<String> {
    let entity = portal
        .entity_by_ref(entity_ref)
        .await
        .with_context(|| format!("cannot read {entity_ref}"))?
        .ok_or_else(|| anyhow!("no entity named '{entity_ref}'"))?;
    match format {
        EntityFormat::Yaml => output::to_yaml(&entity),
        EntityFormat::Json => Ok(output::to_json(&entity)? + "\n"),
    }
}
