//! Relations grouped by type, in a reading order (ownership, then structure, then APIs and dependencies,
//! then the org), each type with a human label.

use stagedoor_core::entity::Relation;

use super::rows::{entity_row, Related, Role, Row};

/// Known relation types in display order, with their labels.
pub(crate) const RELATION_TYPES: [(&str, &str); 14] = [
    ("ownedBy", "Owned by"),
    ("ownerOf", "Owner of"),
    ("partOf", "Part of"),
    ("hasPart", "Has part"),
    ("providesApi", "Provides API"),
    ("apiProvidedBy", "API provided by"),
    ("consumesApi", "Consumes API"),
    ("apiConsumedBy", "API consumed by"),
    ("dependsOn", "Depends on"),
    ("dependencyOf", "Dependency of"),
    ("childOf", "Child of"),
    ("parentOf", "Parent of"),
    ("memberOf", "Member of"),
    ("hasMember", "Has member"),
];

/// The label of a relation type; unknown types show as written.
pub(crate) fn label(relation_type: &str) -> String {
    RELATION_TYPES
        .iter()
        .find(|(t, _)| t.eq_ignore_ascii_case(relation_type))
        .map_or_else(
            || super::super::text::sanitize(relation_type),
            |(_, l)| l.to_string(),
        )
}

/// The targets of one relation type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RelationGroup {
    pub relation_type: String,
    /// Target refs, sorted, without duplicates.
    pub targets: Vec<String>,
}

/// `relations` grouped by type: known types in [`RELATION_TYPES`] order, then unknown ones alphabetically.
pub(crate) fn group(relations: &[Relation]) -> Vec<RelationGroup> {
    let mut groups: Vec<RelationGroup> = Vec::new();
    for r in relations {
        match groups
            .iter_mut()
            .find(|g| g.relation_type == r.relation_type)
        {
            Some(g) => g.targets.push(r.target_ref.clone()),
            None => groups.push(RelationGroup {
                relation_type: r.relation_type.clone(),
                targets: vec![r.target_ref.clone()],
            }),
        }
    }
    for g in &mut groups {
        g.targets.sort();
        g.targets.dedup();
    }
    let rank = |t: &str| {
        RELATION_TYPES
            .iter()
            .position(|(k, _)| *k == t)
            .unwrap_or(RELATION_TYPES.len())
    };
    groups.sort_by(|a, b| {
        (rank(&a.relation_type), &a.relation_type).cmp(&(rank(&b.relation_type), &b.relation_type))
    });
    groups
}

/// The Relations pane: a heading per type (`Owned by (1)`), then one followable row per target.
pub(crate) fn rows(relations: &[Relation], related: &Related) -> Vec<Row> {
    let groups = group(relations);
    if groups.is_empty() {
        return vec![Row::text("No relations.", Role::Muted)];
    }
    let mut rows = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        if i > 0 {
            rows.push(Row::blank());
        }
        rows.push(Row::new(vec![
            (label(&g.relation_type), Role::Heading),
            (format!(" ({})", g.targets.len()), Role::Muted),
        ]));
        for t in &g.targets {
            rows.push(entity_row("  ", t, related));
        }
    }
    rows
}
