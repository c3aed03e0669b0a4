//! What each kind's page lists beyond the common About fields: a group's members, a system's parts, a
//! user's groups… Each section is one relation type, optionally narrowed to a target kind (a system's
//! `hasPart` splits into components, APIs and resources).

use stagedoor_core::entity::Relation;
use stagedoor_core::EntityRef;

/// One kind-specific section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Section {
    pub title: &'static str,
    pub relation: &'static str,
    /// Only targets of this kind (lowercase), when set.
    pub target_kind: Option<&'static str>,
}

const fn s(title: &'static str, relation: &'static str) -> Section {
    Section {
        title,
        relation,
        target_kind: None,
    }
}

const fn k(title: &'static str, relation: &'static str, kind: &'static str) -> Section {
    Section {
        title,
        relation,
        target_kind: Some(kind),
    }
}

const COMPONENT: &[Section] = &[
    s("Provided APIs", "providesApi"),
    s("Consumed APIs", "consumesApi"),
    s("Depends on", "dependsOn"),
    s("Dependency of", "dependencyOf"),
    k("Subcomponents", "hasPart", "component"),
];
const API: &[Section] = &[
    s("Provided by", "apiProvidedBy"),
    s("Consumed by", "apiConsumedBy"),
];
const RESOURCE: &[Section] = &[
    s("Depends on", "dependsOn"),
    s("Dependency of", "dependencyOf"),
];
const SYSTEM: &[Section] = &[
    k("Components", "hasPart", "component"),
    k("APIs", "hasPart", "api"),
    k("Resources", "hasPart", "resource"),
];
const DOMAIN: &[Section] = &[
    k("Systems", "hasPart", "system"),
    k("Subdomains", "hasPart", "domain"),
];
const GROUP: &[Section] = &[
    s("Parent", "childOf"),
    s("Children", "parentOf"),
    s("Members", "hasMember"),
    s("Owned entities", "ownerOf"),
];
const USER: &[Section] = &[s("Groups", "memberOf"), s("Owned entities", "ownerOf")];

/// The sections of `kind` (case-insensitive); none for kinds without any.
pub(crate) fn sections(kind: &str) -> &'static [Section] {
    match kind.to_ascii_lowercase().as_str() {
        "component" => COMPONENT,
        "api" => API,
        "resource" => RESOURCE,
        "system" => SYSTEM,
        "domain" => DOMAIN,
        "group" => GROUP,
        "user" => USER,
        _ => &[],
    }
}

/// A section with its targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filled {
    pub title: &'static str,
    pub targets: Vec<String>,
}

/// The sections of `kind` filled from `relations` (targets sorted, without duplicates).
pub(crate) fn fill(kind: &str, relations: &[Relation]) -> Vec<Filled> {
    sections(kind)
        .iter()
        .map(|section| {
            let mut targets: Vec<String> = relations
                .iter()
                .filter(|r| r.relation_type == section.relation)
                .filter(|r| match section.target_kind {
                    None => true,
                    Some(kind) => target_kind(&r.target_ref).as_deref() == Some(kind),
                })
                .map(|r| r.target_ref.clone())
                .collect();
            targets.sort();
            targets.dedup();
            Filled {
                title: section.title,
                targets,
            }
        })
        .collect()
}

/// The lowercase kind of a ref string.
pub(crate) fn target_kind(target: &str) -> Option<String> {
    EntityRef::parse(target)
        .ok()
        .map(|r| r.kind.to_ascii_lowercase())
}
