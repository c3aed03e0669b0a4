//! The dependency view: a tree of the entity's dependency-like relations (dependsOn/dependencyOf,
//! partOf/hasPart, providesApi/apiProvidedBy, consumesApi/apiConsumedBy) and, one level out, the same
//! relations of each fetched neighbour.

use stagedoor_core::entity::Relation;
use stagedoor_core::{Entity, EntityRef};

use super::relations::label;
use super::rows::{entity_cells, Related, Role, Row};

/// The relation types the tree follows, in display order.
pub(crate) const DEP_TYPES: [&str; 8] = [
    "dependsOn",
    "dependencyOf",
    "partOf",
    "hasPart",
    "providesApi",
    "apiProvidedBy",
    "consumesApi",
    "apiConsumedBy",
];

/// A tree node before it is drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub cells: Vec<(String, Role)>,
    pub target: Option<EntityRef>,
    pub children: Vec<Node>,
}

fn dep_relations(relations: &[Relation]) -> Vec<(&'static str, Vec<String>)> {
    DEP_TYPES
        .iter()
        .filter_map(|t| {
            let mut targets: Vec<String> = relations
                .iter()
                .filter(|r| r.relation_type == *t)
                .map(|r| r.target_ref.clone())
                .collect();
            targets.sort();
            targets.dedup();
            (!targets.is_empty()).then_some((*t, targets))
        })
        .collect()
}

/// The neighbour `target`, with its own dependency relations (except those leading back to `root`).
fn neighbour(target: &str, root: &str, related: &Related) -> Node {
    let Ok(r) = EntityRef::parse(target) else {
        return Node {
            cells: vec![(target.to_string(), Role::Error)],
            target: None,
            children: vec![],
        };
    };
    let mut children = Vec::new();
    if let Some(Some(e)) = related.get(&r.canonical()) {
        for (t, targets) in dep_relations(&e.relations()) {
            for next in targets {
                let Ok(nr) = EntityRef::parse(&next) else {
                    continue;
                };
                if nr.canonical() == root {
                    continue;
                }
                let mut cells = vec![(format!("{} → ", label(t).to_lowercase()), Role::Muted)];
                cells.extend(entity_cells(&nr, related));
                children.push(Node {
                    cells,
                    target: Some(nr),
                    children: vec![],
                });
            }
        }
    }
    Node {
        cells: entity_cells(&r, related),
        target: Some(r),
        children,
    }
}

/// The tree rooted at `e`: one branch per relation type, its targets under it, their relations under them.
pub(crate) fn tree(e: &Entity, related: &Related) -> Node {
    let root_ref = e.entity_ref();
    let root = root_ref.canonical();
    let children = dep_relations(&e.relations())
        .into_iter()
        .map(|(t, targets)| Node {
            cells: vec![(format!("{} ({})", label(t), targets.len()), Role::Heading)],
            target: None,
            children: targets
                .iter()
                .map(|target| neighbour(target, &root, related))
                .collect(),
        })
        .collect();
    let cells = entity_cells(&root_ref, &Related::new());
    Node {
        cells,
        target: None,
        children,
    }
}

/// The tree as rows with box-drawing prefixes.
pub(crate) fn rows(e: &Entity, related: &Related) -> Vec<Row> {
    let root = tree(e, related);
    let mut rows = vec![Row::new(root.cells.clone())];
    if root.children.is_empty() {
        rows.push(Row::text("  No dependencies, parts or APIs.", Role::Muted));
    }
    flatten(&root.children, "", &mut rows);
    rows
}

fn flatten(nodes: &[Node], prefix: &str, rows: &mut Vec<Row>) {
    for (i, node) in nodes.iter().enumerate() {
        let last = i + 1 == nodes.len();
        let mut cells = vec![(
            format!("{prefix}{}", if last { "└─ " } else { "├─ " }),
            Role::Muted,
        )];
        cells.extend(node.cells.iter().cloned());
        rows.push(Row {
            cells,
            target: node.target.clone(),
        });
        let child_prefix = format!("{prefix}{}", if last { "   " } else { "│  " });
        flatten(&node.children, &child_prefix, rows);
    }
}
