//! `stagedoor catalog list`: entities matching a kind and Backstage filters, ordered by name, page after page.

use std::process::ExitCode;

use anyhow::Context as _;
use stagedoor_core::store::{EntityPredicate, EntityQuery, OrderField, SortOrder};
use stagedoor_core::{Entity, Portal};

use crate::cli::{ListArgs, ListFormat, UsageError};
use crate::{output, setup};

/// Largest page asked of the portal; a bigger `--limit` follows cursors.
const PAGE_SIZE: u64 = 200;

/// The GET filter strings for `--kind` and `--filter`: the kind joins every filter set (or stands alone).
pub fn filter_params(kind: Option<&str>, filters: &[String]) -> Vec<String> {
    match (kind, filters.is_empty()) {
        (None, _) => filters.to_vec(),
        (Some(kind), true) => vec![format!("kind={kind}")],
        (Some(kind), false) => filters
            .iter()
            .map(|f| {
                if f.trim().is_empty() {
                    format!("kind={kind}")
                } else {
                    format!("{f},kind={kind}")
                }
            })
            .collect(),
    }
}

pub fn build_query(args: &ListArgs) -> anyhow::Result<EntityQuery> {
    let params = filter_params(args.kind.as_deref(), &args.filter);
    let filter = if params.is_empty() {
        None
    } else {
        EntityPredicate::from_filter_params(&params)
            .map_err(|e| UsageError(format!("invalid --filter: {e}")))?
    };
    Ok(EntityQuery {
        filter,
        order_fields: vec![OrderField {
            field: "metadata.name".to_string(),
            order: SortOrder::Asc,
        }],
        limit: Some(args.limit.min(PAGE_SIZE) as usize),
        ..EntityQuery::default()
    })
}

/// Up to `limit` entities of the query, following cursors; also the total number of matches.
pub async fn fetch(
    portal: &dyn Portal,
    query: EntityQuery,
    limit: u64,
) -> anyhow::Result<(Vec<Entity>, u64)> {
    let limit = limit as usize;
    let mut page = portal
        .query_entities(query)
        .await
        .context("cannot query the catalog")?;
    let total = page.total_items;
    let mut items = std::mem::take(&mut page.items);
    while items.len() < limit {
        let Some(cursor) = page.page_info.next_cursor.take() else {
            break;
        };
        let want = (limit - items.len()).min(PAGE_SIZE as usize);
        page = portal
            .query_entities(EntityQuery {
                cursor: Some(cursor),
                limit: Some(want),
                ..EntityQuery::default()
            })
            .await
            .context("cannot query the catalog")?;
        if page.items.is_empty() {
            break;
        }
        items.append(&mut page.items);
    }
    items.truncate(limit);
    Ok((items, total))
}

pub fn render(items: &[Entity], total: u64, format: ListFormat) -> anyhow::Result<String> {
    match format {
        ListFormat::Json => Ok(output::to_json(items)? + "\n"),
        ListFormat::Yaml => output::to_yaml(items),
        ListFormat::Table => {
            let rows: Vec<Vec<String>> = items.iter().map(output::entity_row).collect();
            let mut text = output::table(output::ENTITY_COLUMNS, &rows);
            text.push_str(&format!("{} of {} entities\n", items.len(), total));
            Ok(text)
        }
    }
}

pub async fn run(source: &setup::Source, args: &ListArgs) -> anyhow::Result<ExitCode> {
    let query = build_query(args)?;
    let portal = setup::reading_portal(source).await?;
    let (items, total) = fetch(portal.as_ref(), query, args.limit).await?;
    output::emit(&render(&items, total, args.output)?)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kind_joins_every_filter_set() {
        assert_eq!(filter_params(None, &[]), Vec::<String>::new());
        assert_eq!(filter_params(Some("API"), &[]), vec!["kind=API"]);
        assert_eq!(
            filter_params(
                Some("component"),
                &[
                    "spec.type=service".into(),
                    "spec.lifecycle=production".into()
                ]
            ),
            vec![
                "spec.type=service,kind=component",
                "spec.lifecycle=production,kind=component"
            ]
        );
    }

    #[test]
    fn table_has_a_footer() {
        let e = Entity::from_value(json!({
            "kind": "Component",
            "metadata": {"name": "a", "description": "Does things"},
            "spec": {"type": "service", "owner": "team-a", "lifecycle": "production"}
        }))
        .unwrap();
        let text = render(&[e], 7, ListFormat::Table).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "KIND       NAMESPACE  NAME  TYPE     OWNER   LIFECYCLE   DESCRIPTION"
        );
        assert_eq!(
            lines[1],
            "Component  default    a     service  team-a  production  Does things"
        );
        assert_eq!(lines[2], "1 of 7 entities");
    }
}
