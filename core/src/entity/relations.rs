//! Relations an entity's spec implies (ownedBy/ownerOf, partOf/hasPart, ...), with Backstage's default kinds.
//!
//! Follows BuiltinKindsEntityProcessor (plus the scaffolder module for Template and the AI module for AiResource):
//! each reference in a known spec field gives the forward relation from the entity and the reverse one from the
//! target. Kinds are matched case-sensitively, as the processor does. AiResource follows the AI module's model
//! layer: owner and system for every type, `dependsOn` for skills, `skills` (plugin) and `plugins` (marketplace)
//! as hasPart/partOf.

use serde_json::Value;

use super::reference::RefError;
use super::{Entity, EntityRef};

/// One directed relation between two entities.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RelationEdge {
    pub source: EntityRef,
    pub relation_type: &'static str,
    pub target: EntityRef,
}

/// The seven relation pairs, forward and reverse.
pub const RELATION_PAIRS: [(&str, &str); 7] = [
    ("ownedBy", "ownerOf"),
    ("partOf", "hasPart"),
    ("providesApi", "apiProvidedBy"),
    ("consumesApi", "apiConsumedBy"),
    ("dependsOn", "dependencyOf"),
    ("parentOf", "childOf"),
    ("memberOf", "hasMember"),
];

pub const RELATION_OWNED_BY: &str = "ownedBy";
pub const RELATION_OWNER_OF: &str = "ownerOf";
pub const RELATION_PART_OF: &str = "partOf";
pub const RELATION_HAS_PART: &str = "hasPart";
pub const RELATION_PROVIDES_API: &str = "providesApi";
pub const RELATION_API_PROVIDED_BY: &str = "apiProvidedBy";
pub const RELATION_CONSUMES_API: &str = "consumesApi";
pub const RELATION_API_CONSUMED_BY: &str = "apiConsumedBy";
pub const RELATION_DEPENDS_ON: &str = "dependsOn";
pub const RELATION_DEPENDENCY_OF: &str = "dependencyOf";
pub const RELATION_PARENT_OF: &str = "parentOf";
pub const RELATION_CHILD_OF: &str = "childOf";
pub const RELATION_MEMBER_OF: &str = "memberOf";
pub const RELATION_HAS_MEMBER: &str = "hasMember";

/// The reverse of a relation type (`ownedBy` → `ownerOf` and back); `None` for unknown types.
pub fn reverse_of(relation_type: &str) -> Option<&'static str> {
    RELATION_PAIRS.iter().find_map(|(a, b)| {
        if *a == relation_type {
            Some(*b)
        } else if *b == relation_type {
            Some(*a)
        } else {
            None
        }
    })
}

/// One spec field the processor reads: where, the default kind for refs without one, and the relation pair.
struct Field {
    name: &'static str,
    default_kind: Option<&'static str>,
    outgoing: &'static str,
    incoming: &'static str,
}

const fn field(
    name: &'static str,
    default_kind: Option<&'static str>,
    outgoing: &'static str,
    incoming: &'static str,
) -> Field {
    Field {
        name,
        default_kind,
        outgoing,
        incoming,
    }
}

const OWNER: Field = field("owner", Some("Group"), RELATION_OWNED_BY, RELATION_OWNER_OF);
const SYSTEM: Field = field(
    "system",
    Some("System"),
    RELATION_PART_OF,
    RELATION_HAS_PART,
);
const DEPENDS_ON: Field = field(
    "dependsOn",
    None,
    RELATION_DEPENDS_ON,
    RELATION_DEPENDENCY_OF,
);
const DEPENDENCY_OF: Field = field(
    "dependencyOf",
    None,
    RELATION_DEPENDENCY_OF,
    RELATION_DEPENDS_ON,
);

const COMPONENT: &[Field] = &[
    OWNER,
    field(
        "subcomponentOf",
        Some("Component"),
        RELATION_PART_OF,
        RELATION_HAS_PART,
    ),
    field(
        "providesApis",
        Some("API"),
        RELATION_PROVIDES_API,
        RELATION_API_PROVIDED_BY,
    ),
    field(
        "consumesApis",
        Some("API"),
        RELATION_CONSUMES_API,
        RELATION_API_CONSUMED_BY,
    ),
    DEPENDS_ON,
    DEPENDENCY_OF,
    SYSTEM,
];
const API: &[Field] = &[OWNER, SYSTEM];
const RESOURCE: &[Field] = &[OWNER, DEPENDS_ON, DEPENDENCY_OF, SYSTEM];
const USER: &[Field] = &[field(
    "memberOf",
    Some("Group"),
    RELATION_MEMBER_OF,
    RELATION_HAS_MEMBER,
)];
const GROUP: &[Field] = &[
    field(
        "parent",
        Some("Group"),
        RELATION_CHILD_OF,
        RELATION_PARENT_OF,
    ),
    field(
        "children",
        Some("Group"),
        RELATION_PARENT_OF,
        RELATION_CHILD_OF,
    ),
    field(
        "members",
        Some("User"),
        RELATION_HAS_MEMBER,
        RELATION_MEMBER_OF,
    ),
];
const SYSTEM_KIND: &[Field] = &[
    OWNER,
    field(
        "domain",
        Some("Domain"),
        RELATION_PART_OF,
        RELATION_HAS_PART,
    ),
];
const DOMAIN: &[Field] = &[
    OWNER,
    field(
        "subdomainOf",
        Some("Domain"),
        RELATION_PART_OF,
        RELATION_HAS_PART,
    ),
];
const TEMPLATE: &[Field] = &[OWNER];
const AI_RESOURCE: &[Field] = &[OWNER, SYSTEM];
const AI_SKILL: &[Field] = &[
    OWNER,
    SYSTEM,
    field(
        "dependsOn",
        Some("AiResource"),
        RELATION_DEPENDS_ON,
        RELATION_DEPENDENCY_OF,
    ),
];
const AI_PLUGIN: &[Field] = &[
    OWNER,
    SYSTEM,
    field(
        "skills",
        Some("AiResource"),
        RELATION_HAS_PART,
        RELATION_PART_OF,
    ),
];
const AI_MARKETPLACE: &[Field] = &[
    OWNER,
    SYSTEM,
    field(
        "plugins",
        Some("AiResource"),
        RELATION_HAS_PART,
        RELATION_PART_OF,
    ),
];

/// Array fields the processor sorts before emitting.
const SORTED_FIELDS: [&str; 7] = [
    "providesApis",
    "consumesApis",
    "dependsOn",
    "dependencyOf",
    "memberOf",
    "children",
    "members",
];

fn fields_for(entity: &Entity) -> &'static [Field] {
    match entity.kind() {
        "Component" => COMPONENT,
        "API" => API,
        "Resource" => RESOURCE,
        "User" => USER,
        "Group" => GROUP,
        "System" => SYSTEM_KIND,
        "Domain" => DOMAIN,
        "Template" => TEMPLATE,
        "AiResource" => match entity.spec_str("type") {
            Some("skill") => AI_SKILL,
            Some("plugin") => AI_PLUGIN,
            Some("marketplace") => AI_MARKETPLACE,
            _ => AI_RESOURCE,
        },
        _ => &[],
    }
}

/// Parses one spec value as `parseEntityRef(value, {defaultKind, defaultNamespace})` does: a string, or the
/// `{kind?, namespace?, name}` object form.
fn parse_target(
    value: &Value,
    default_kind: Option<&str>,
    default_namespace: &str,
) -> Result<EntityRef, RefError> {
    match value {
        Value::String(text) => {
            EntityRef::parse_with_defaults(text, default_kind, default_namespace)
        }
        Value::Object(map) => {
            let part = |key: &str| map.get(key).and_then(Value::as_str);
            let shown = value.to_string();
            let name = part("name").filter(|n| !n.is_empty());
            let kind = part("kind").or(default_kind).filter(|k| !k.is_empty());
            let namespace = part("namespace").unwrap_or(default_namespace);
            match (kind, name) {
                (_, None) => Err(RefError::BadForm(shown)),
                (None, Some(_)) => Err(RefError::MissingKind(shown)),
                (Some(kind), Some(name)) => Ok(EntityRef::new(kind, namespace, name)),
            }
        }
        other => Err(RefError::BadForm(other.to_string())),
    }
}

/// Every relation the entity's spec implies, both directions (the forward one from the entity and the
/// reverse one from the target), as Backstage's BuiltinKindsEntityProcessor emits them.
pub fn relations_of(entity: &Entity) -> Result<Vec<RelationEdge>, RefError> {
    let fields = fields_for(entity);
    let Some(spec) = entity.spec() else {
        return Ok(Vec::new());
    };
    let self_ref = entity.entity_ref();
    let namespace = entity.namespace().to_string();
    let mut edges = Vec::new();
    for f in fields {
        let targets: Vec<&Value> = match spec.get(f.name) {
            // The processor skips falsy values: absent, null, "" (and, for arrays, has nothing to iterate).
            None | Some(Value::Null) | Some(Value::Bool(false)) => continue,
            Some(Value::String(s)) if s.is_empty() => continue,
            Some(Value::Array(items)) => {
                let mut items: Vec<&Value> = items.iter().collect();
                if SORTED_FIELDS.contains(&f.name) {
                    // Array.prototype.sort() compares strings by UTF-16 code units; for refs this is byte order.
                    items.sort_by_key(|v| js_sort_key(v));
                }
                items
            }
            Some(one) => vec![one],
        };
        for target in targets {
            let target = parse_target(target, f.default_kind, &namespace)?;
            edges.push(RelationEdge {
                source: self_ref.clone(),
                relation_type: f.outgoing,
                target: target.clone(),
            });
            edges.push(RelationEdge {
                source: target,
                relation_type: f.incoming,
                target: self_ref.clone(),
            });
        }
    }
    Ok(edges)
}

fn js_sort_key(value: &Value) -> Vec<u16> {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    text.encode_utf16().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    fn fixture(relative: &str, name: &str) -> Entity {
        let path = format!(
            "{}/../../shared/fixtures/backstage/examples/{relative}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(path).unwrap();
        let found = serde_yaml::Deserializer::from_str(&text)
            .map(|doc| serde_yaml::Value::deserialize(doc).unwrap())
            .map(|doc| Entity::from_value(serde_json::to_value(doc).unwrap()).unwrap())
            .find(|e| e.name() == name);
        found.unwrap()
    }

    fn edges(entity: &Entity) -> Vec<(String, &'static str, String)> {
        relations_of(entity)
            .unwrap()
            .into_iter()
            .map(|e| (e.source.to_string(), e.relation_type, e.target.to_string()))
            .collect()
    }

    fn edge(s: &str, t: &'static str, d: &str) -> (String, &'static str, String) {
        (s.to_string(), t, d.to_string())
    }

    #[test]
    fn artist_lookup_component() {
        let e = fixture("components/artist-lookup-component.yaml", "artist-lookup");
        let me = "component:default/artist-lookup";
        assert_eq!(
            edges(&e),
            vec![
                edge(me, "ownedBy", "group:default/team-a"),
                edge("group:default/team-a", "ownerOf", me),
                edge(me, "dependsOn", "resource:default/artists-db"),
                edge("resource:default/artists-db", "dependencyOf", me),
                edge(me, "partOf", "system:default/artist-engagement-portal"),
                edge("system:default/artist-engagement-portal", "hasPart", me),
            ]
        );
    }

    #[test]
    fn group_with_parent_and_children() {
        let e = fixture("acme/backstage-group.yaml", "backstage");
        let me = "group:default/backstage";
        assert_eq!(
            edges(&e),
            vec![
                edge(me, "childOf", "group:default/infrastructure"),
                edge("group:default/infrastructure", "parentOf", me),
                edge(me, "parentOf", "group:default/team-a"),
                edge("group:default/team-a", "childOf", me),
                edge(me, "parentOf", "group:default/team-b"),
                edge("group:default/team-b", "childOf", me),
            ]
        );
    }

    #[test]
    fn user_member_of() {
        let e = fixture("acme/team-a-group.yaml", "breanna.davison");
        let me = "user:default/breanna.davison";
        assert_eq!(
            edges(&e),
            vec![
                edge(me, "memberOf", "group:default/team-a"),
                edge("group:default/team-a", "hasMember", me),
            ]
        );
    }

    #[test]
    fn default_namespace_is_the_entitys_own_and_arrays_are_sorted() {
        let e = Entity::from_value(json!({
            "apiVersion": "backstage.io/v1alpha1", "kind": "Group",
            "metadata": {"name": "g", "namespace": "ops"},
            "spec": {"type": "team", "children": [], "members": ["zed", "other/amy", "User:Ops/Bob"]}
        }))
        .unwrap();
        let got: Vec<_> = relations_of(&e)
            .unwrap()
            .into_iter()
            .filter(|r| r.relation_type == "hasMember")
            .map(|r| r.target.to_string())
            .collect();
        assert_eq!(got, vec!["user:ops/bob", "user:other/amy", "user:ops/zed"]);
    }

    #[test]
    fn domain_system_template_and_ai_resources() {
        let e = fixture("domains/artists-domain.yaml", "artists");
        let got = edges(&e);
        assert!(got.contains(&edge(
            "domain:default/artists",
            "partOf",
            "domain:default/audio"
        )));
        let e = fixture(
            "ai-resources/company-ai-marketplace.yaml",
            "company-ai-tools",
        );
        let got = edges(&e);
        assert!(got.contains(&edge(
            "airesource:default/company-ai-tools",
            "hasPart",
            "airesource:default/code-review-plugin"
        )));
        assert!(got.contains(&edge(
            "airesource:default/code-review-plugin",
            "partOf",
            "airesource:default/company-ai-tools"
        )));
        let skill = Entity::from_value(json!({
            "apiVersion": "backstage.io/v1alpha1", "kind": "AiResource", "metadata": {"name": "s"},
            "spec": {"type": "skill", "lifecycle": "l", "owner": "o", "dependsOn": ["base"]}
        }))
        .unwrap();
        assert!(edges(&skill).contains(&edge(
            "airesource:default/s",
            "dependsOn",
            "airesource:default/base"
        )));
        let t = Entity::from_value(json!({
            "apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template",
            "metadata": {"name": "t"}, "spec": {"owner": "user:guest", "type": "service", "steps": []}
        }))
        .unwrap();
        assert_eq!(
            edges(&t),
            vec![
                edge("template:default/t", "ownedBy", "user:default/guest"),
                edge("user:default/guest", "ownerOf", "template:default/t"),
            ]
        );
    }

    #[test]
    fn malformed_refs_are_errors() {
        let mut e = fixture("components/artist-lookup-component.yaml", "artist-lookup");
        e.0["spec"]["dependsOn"] = json!(["artists-db"]);
        assert_eq!(
            relations_of(&e).unwrap_err(),
            RefError::MissingKind("artists-db".into())
        );
        e.0["spec"]["dependsOn"] = json!([]);
        e.0["spec"]["owner"] = json!("group:/x");
        assert_eq!(
            relations_of(&e).unwrap_err(),
            RefError::BadForm("group:/x".into())
        );
    }

    #[test]
    fn reverse_pairs() {
        assert_eq!(reverse_of("ownedBy"), Some("ownerOf"));
        assert_eq!(reverse_of("childOf"), Some("parentOf"));
        assert_eq!(reverse_of("nope"), None);
    }
}
