//! Deterministic generated catalogs (`stagedoor dev gen-catalog`) for benchmarks and scale tests.
//!
//! [`generate_catalog`] writes `all.yaml` (a Location listing every other file) and `entities-NNNN.yaml` files of
//! at most [`ENTITIES_PER_FILE`] documents. The organisation looks like a real one (a group tree, users in teams,
//! domains, systems, resources, APIs with inline OpenAPI/AsyncAPI/GraphQL/gRPC definitions, components) and every
//! reference in it resolves. The only source of variety is a splitmix64 generator with a fixed seed, so the same
//! entity count always gives byte-identical files.
//!
//! [`generate_docs_site`] writes a TechDocs source tree (`mkdocs.yml`, `docs/…`) of a given number of pages in
//! the same deterministic way, for the docs build benchmarks.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::store::scratch::ScratchDatabase;

/// Documents per generated file (the root `all.yaml` holds only the Location).
pub const ENTITIES_PER_FILE: usize = 500;

const SEED: u64 = 0x5747_4745_444f_4f52;

/// What [`generate_catalog`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenSummary {
    /// Documents written, the root Location included: always the requested count.
    pub entities: usize,
    /// Files written, `all.yaml` included.
    pub files: usize,
    /// Documents per kind.
    pub kinds: BTreeMap<String, usize>,
    /// `out/all.yaml`, the file to register as a location.
    pub root: PathBuf,
}

/// splitmix64: tiny, fast, and good enough to vary names and links; not for anything secret.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const FIRST_NAMES: &[&str] = &[
    "ada",
    "alan",
    "grace",
    "linus",
    "margaret",
    "dennis",
    "barbara",
    "ken",
    "radia",
    "edsger",
    "frances",
    "john",
    "katherine",
    "tim",
    "hedy",
    "donald",
    "sophie",
    "guido",
    "yukihiro",
    "anders",
    "bjarne",
    "james",
    "lynn",
    "niklaus",
    "shafi",
    "leslie",
    "jean",
    "carol",
    "marvin",
    "claude",
];
const LAST_NAMES: &[&str] = &[
    "lovelace",
    "turing",
    "hopper",
    "torvalds",
    "hamilton",
    "ritchie",
    "liskov",
    "thompson",
    "perlman",
    "dijkstra",
    "allen",
    "mccarthy",
    "johnson",
    "berners-lee",
    "lamarr",
    "knuth",
    "wilson",
    "van-rossum",
    "matsumoto",
    "hejlsberg",
    "stroustrup",
    "gosling",
    "conway",
    "wirth",
    "goldwasser",
    "lamport",
    "sammet",
    "shaw",
    "minsky",
    "shannon",
];
const AREAS: &[&str] = &[
    "payments",
    "checkout",
    "search",
    "identity",
    "billing",
    "catalog",
    "shipping",
    "inventory",
    "pricing",
    "messaging",
    "analytics",
    "recommendations",
    "fraud",
    "onboarding",
    "support",
    "media",
    "ads",
    "loyalty",
    "reporting",
    "notifications",
    "storage",
    "observability",
    "platform",
    "security",
];
const NOUNS: &[&str] = &[
    "gateway",
    "ledger",
    "worker",
    "scheduler",
    "indexer",
    "router",
    "exporter",
    "importer",
    "engine",
    "proxy",
    "store",
    "cache",
    "resolver",
    "collector",
    "dispatcher",
    "tracker",
    "validator",
    "renderer",
    "bridge",
    "broker",
    "planner",
    "auditor",
    "emitter",
    "sync",
];
const TEAM_WORDS: &[&str] = &[
    "falcons", "otters", "pandas", "lynx", "herons", "badgers", "wolves", "orcas", "ravens",
    "foxes", "bison", "koalas", "geckos", "puffins", "tigers", "cranes",
];
const TAGS: &[&str] = &[
    "java",
    "kotlin",
    "go",
    "rust",
    "typescript",
    "python",
    "ruby",
    "scala",
    "kafka",
    "grpc",
    "graphql",
    "postgres",
    "redis",
    "react",
    "spring",
    "k8s",
    "serverless",
    "pci",
    "gdpr",
    "tier:1",
    "tier:2",
    "c++",
    "c#",
];
const COMPONENT_TYPES: &[&str] = &["service", "service", "service", "website", "library"];
const LIFECYCLES: &[&str] = &[
    "production",
    "production",
    "production",
    "experimental",
    "deprecated",
];
const RESOURCE_TYPES: &[&str] = &["database", "s3-bucket", "cluster", "queue", "cache"];
const API_TYPES: &[&str] = &[
    "openapi", "openapi", "openapi", "asyncapi", "graphql", "grpc",
];
const SYSTEM_TYPES: &[&str] = &["product", "service", "feature-set"];
const COST_CENTERS: &[&str] = &["cc-1001", "cc-1002", "cc-2001", "cc-3107", "cc-4410"];

/// How many of each kind an entity count gives (the root Location is not among them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Plan {
    domains: usize,
    systems: usize,
    groups: usize,
    users: usize,
    resources: usize,
    apis: usize,
    components: usize,
}

impl Plan {
    fn for_total(total: usize) -> Plan {
        let rest = total.saturating_sub(1);
        if rest == 0 {
            return Plan {
                domains: 0,
                systems: 0,
                groups: 0,
                users: 0,
                resources: 0,
                apis: 0,
                components: 0,
            };
        }
        // Tiny catalogs: one owning group, the rest components.
        if rest < 20 {
            return Plan {
                domains: 0,
                systems: 0,
                groups: 1,
                users: 0,
                resources: 0,
                apis: 0,
                components: rest - 1,
            };
        }
        let domains = (rest / 250).max(1);
        let systems = (rest / 40).max(1);
        let groups = (rest * 3 / 100).max(1);
        let users = rest * 14 / 100;
        let resources = rest * 6 / 100;
        let apis = rest * 13 / 100;
        let components = rest - domains - systems - groups - users - resources - apis;
        Plan {
            domains,
            systems,
            groups,
            users,
            resources,
            apis,
            components,
        }
    }
}

/// Names of every entity, by kind, decided before any entity is written so references always resolve.
struct Names {
    domains: Vec<String>,
    systems: Vec<String>,
    groups: Vec<String>,
    users: Vec<String>,
    resources: Vec<String>,
    apis: Vec<String>,
    components: Vec<String>,
}

impl Names {
    fn new(plan: &Plan, rng: &mut SplitMix64) -> Names {
        let domains = (0..plan.domains)
            .map(|i| format!("{}-domain-{i}", AREAS[i % AREAS.len()]))
            .collect();
        let systems = (0..plan.systems)
            .map(|i| format!("{}-{}-system-{i}", rng.pick(AREAS), rng.pick(NOUNS)))
            .collect();
        let groups = (0..plan.groups)
            .map(|i| match i {
                0 => "engineering".to_string(),
                _ => format!("{}-{}-{i}", rng.pick(AREAS), rng.pick(TEAM_WORDS)),
            })
            .collect();
        let users = (0..plan.users)
            .map(|i| format!("{}.{}{i}", rng.pick(FIRST_NAMES), rng.pick(LAST_NAMES)))
            .collect();
        let resources = (0..plan.resources)
            .map(|i| format!("{}-{}-{i}", rng.pick(AREAS), rng.pick(RESOURCE_TYPES)))
            .collect();
        let apis = (0..plan.apis)
            .map(|i| format!("{}-{}-api-{i}", rng.pick(AREAS), rng.pick(NOUNS)))
            .collect();
        let components = (0..plan.components)
            .map(|i| format!("{}-{}-{i}", rng.pick(AREAS), rng.pick(NOUNS)))
            .collect();
        Names {
            domains,
            systems,
            groups,
            users,
            resources,
            apis,
            components,
        }
    }
}

/// Groups form a tree with up to four children per node; group 0 is the root.
fn group_parent(i: usize) -> Option<usize> {
    (i > 0).then(|| (i - 1) / 4)
}

fn group_children(i: usize, count: usize) -> Vec<usize> {
    (4 * i + 1..=4 * i + 4).filter(|c| *c < count).collect()
}

fn group_depth(mut i: usize) -> usize {
    let mut depth = 0;
    while let Some(p) = group_parent(i) {
        depth += 1;
        i = p;
    }
    depth
}

fn envelope(kind: &str, metadata: Value, spec: Value) -> Value {
    json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": kind,
        "metadata": metadata,
        "spec": spec,
    })
}

fn tags(rng: &mut SplitMix64) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for _ in 0..rng.below(4) {
        let tag = rng.pick(TAGS).to_string();
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    out
}

fn title_case(name: &str) -> String {
    name.split(['-', '.'])
        .filter(|w| !w.is_empty() && !w.chars().all(|c| c.is_ascii_digit()))
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Metadata shared by software entities: description, tags, labels, annotations and links.
fn software_metadata(name: &str, what: &str, rng: &mut SplitMix64) -> Value {
    let mut meta = Map::new();
    meta.insert("name".into(), json!(name));
    meta.insert("title".into(), json!(title_case(name)));
    let title = title_case(name);
    let description = match rng.below(4) {
        0 => format!("{title} {what} owned and operated in-house."),
        1 => format!("The {what} behind {} {}.", rng.pick(AREAS), rng.pick(NOUNS)),
        2 => format!(
            "{title}: handles {} for the {} team.",
            rng.pick(NOUNS),
            rng.pick(AREAS)
        ),
        _ => format!(
            "Legacy {what} for {}; see the runbook before changing it.",
            rng.pick(AREAS)
        ),
    };
    meta.insert("description".into(), json!(description));
    let tags = tags(rng);
    if !tags.is_empty() {
        meta.insert("tags".into(), json!(tags));
    }
    meta.insert(
        "labels".into(),
        json!({
            "tier": (1 + rng.below(3)).to_string(),
            "cost-center": rng.pick(COST_CENTERS),
        }),
    );
    let mut annotations = Map::new();
    annotations.insert(
        "github.com/project-slug".into(),
        json!(format!("acme/{name}")),
    );
    if rng.chance(40) {
        annotations.insert("backstage.io/techdocs-ref".into(), json!("dir:."));
    }
    if rng.chance(30) {
        annotations.insert(
            "pagerduty.com/service-id".into(),
            json!(format!("P{:06X}", rng.next() & 0xff_ffff)),
        );
    }
    meta.insert("annotations".into(), Value::Object(annotations));
    let mut links = vec![json!({
        "url": format!("https://github.com/acme/{name}"),
        "title": "Repository",
        "icon": "github",
    })];
    if rng.chance(50) {
        links.push(json!({
            "url": format!("https://grafana.acme.example/d/{name}"),
            "title": "Dashboard",
            "icon": "dashboard",
            "type": "dashboard",
        }));
    }
    meta.insert("links".into(), Value::Array(links));
    Value::Object(meta)
}

fn api_definition(name: &str, api_type: &str) -> String {
    match api_type {
        "asyncapi" => format!(
            "asyncapi: 2.6.0\ninfo:\n  title: {name}\n  version: 1.0.0\nchannels:\n  {name}.events:\n    subscribe:\n      message:\n        payload:\n          type: object\n          properties:\n            id:\n              type: string\n"
        ),
        "graphql" => format!(
            "type Query {{\n  item(id: ID!): Item\n}}\n\n# {name}\ntype Item {{\n  id: ID!\n  name: String\n}}\n"
        ),
        "grpc" => {
            let service = title_case(name).replace(' ', "");
            format!(
                "syntax = \"proto3\";\n\nservice {service} {{\n  rpc Get (GetRequest) returns (GetResponse);\n}}\n\nmessage GetRequest {{ string id = 1; }}\nmessage GetResponse {{ string name = 1; }}\n"
            )
        }
        _ => format!(
            "openapi: 3.0.3\ninfo:\n  title: {name}\n  version: 1.0.0\npaths:\n  /items/{{id}}:\n    get:\n      summary: Get one item\n      parameters:\n        - name: id\n          in: path\n          required: true\n          schema:\n            type: string\n      responses:\n        \"200\":\n          description: The item\n"
        ),
    }
}

/// Builds every entity but the root Location, in file order.
fn build_entities(plan: &Plan, rng: &mut SplitMix64) -> Vec<Value> {
    let names = Names::new(plan, rng);
    let group_ref = |i: usize| format!("group:default/{}", names.groups[i]);
    let mut out = Vec::with_capacity(
        plan.domains
            + plan.systems
            + plan.groups
            + plan.users
            + plan.resources
            + plan.apis
            + plan.components,
    );
    // Half the owners are written as full refs, half as bare names (Backstage defaults the kind to Group).
    let owner = |rng: &mut SplitMix64| {
        let i = rng.below(names.groups.len().max(1));
        if rng.chance(50) {
            group_ref(i)
        } else {
            names.groups[i].clone()
        }
    };

    for (i, name) in names.groups.iter().enumerate() {
        let group_type = match group_depth(i) {
            0 => "business-unit",
            1 => "product-area",
            _ => "team",
        };
        let mut spec = Map::new();
        spec.insert("type".into(), json!(group_type));
        spec.insert(
            "profile".into(),
            json!({
                "displayName": title_case(name),
                "email": format!("{name}@acme.example"),
            }),
        );
        if let Some(parent) = group_parent(i) {
            spec.insert("parent".into(), json!(names.groups[parent]));
        }
        let children: Vec<&str> = group_children(i, names.groups.len())
            .into_iter()
            .map(|c| names.groups[c].as_str())
            .collect();
        spec.insert("children".into(), json!(children));
        out.push(envelope(
            "Group",
            json!({"name": name, "description": format!("The {} {group_type}.", title_case(name))}),
            Value::Object(spec),
        ));
    }

    for (i, name) in names.users.iter().enumerate() {
        let mut member_of = vec![names.groups[(i * 7 + 3) % names.groups.len()].clone()];
        if rng.chance(10) {
            let other = names.groups[rng.below(names.groups.len())].clone();
            if !member_of.contains(&other) {
                member_of.push(other);
            }
        }
        let display = title_case(name);
        out.push(envelope(
            "User",
            json!({"name": name}),
            json!({
                "profile": {"displayName": display, "email": format!("{name}@acme.example")},
                "memberOf": member_of,
            }),
        ));
    }

    for (i, name) in names.domains.iter().enumerate() {
        let mut spec = Map::new();
        spec.insert("owner".into(), json!(owner(rng)));
        spec.insert("type".into(), json!("product-group"));
        if i > 0 && rng.chance(20) {
            spec.insert("subdomainOf".into(), json!(names.domains[rng.below(i)]));
        }
        out.push(envelope(
            "Domain",
            json!({"name": name, "description": format!("Everything about {}.", AREAS[i % AREAS.len()])}),
            Value::Object(spec),
        ));
    }

    for (i, name) in names.systems.iter().enumerate() {
        let mut spec = Map::new();
        spec.insert("owner".into(), json!(owner(rng)));
        spec.insert("type".into(), json!(rng.pick(SYSTEM_TYPES)));
        if !names.domains.is_empty() {
            spec.insert(
                "domain".into(),
                json!(names.domains[i % names.domains.len()]),
            );
        }
        out.push(envelope(
            "System",
            json!({"name": name, "description": format!("The {} system.", title_case(name))}),
            Value::Object(spec),
        ));
    }

    let system = |rng: &mut SplitMix64| -> Option<String> {
        (!names.systems.is_empty()).then(|| names.systems[rng.below(names.systems.len())].clone())
    };

    for (i, name) in names.resources.iter().enumerate() {
        let mut spec = Map::new();
        let kind_word = name.rsplit('-').nth(1).unwrap_or("database");
        let resource_type = if RESOURCE_TYPES.contains(&kind_word) {
            kind_word
        } else {
            "database"
        };
        spec.insert("type".into(), json!(resource_type));
        spec.insert("owner".into(), json!(owner(rng)));
        if let Some(s) = system(rng) {
            spec.insert("system".into(), json!(s));
        }
        if i > 0 && rng.chance(15) {
            spec.insert(
                "dependsOn".into(),
                json!([format!(
                    "resource:default/{}",
                    names.resources[rng.below(i)]
                )]),
            );
        }
        out.push(envelope(
            "Resource",
            software_metadata(name, "resource", rng),
            Value::Object(spec),
        ));
    }

    for name in &names.apis {
        let api_type = rng.pick(API_TYPES);
        let mut spec = Map::new();
        spec.insert("type".into(), json!(api_type));
        spec.insert("lifecycle".into(), json!(rng.pick(LIFECYCLES)));
        spec.insert("owner".into(), json!(owner(rng)));
        if let Some(s) = system(rng) {
            spec.insert("system".into(), json!(s));
        }
        spec.insert("definition".into(), json!(api_definition(name, api_type)));
        out.push(envelope(
            "API",
            software_metadata(name, "API", rng),
            Value::Object(spec),
        ));
    }

    for (i, name) in names.components.iter().enumerate() {
        let mut spec = Map::new();
        spec.insert("type".into(), json!(rng.pick(COMPONENT_TYPES)));
        spec.insert("lifecycle".into(), json!(rng.pick(LIFECYCLES)));
        spec.insert("owner".into(), json!(owner(rng)));
        if let Some(s) = system(rng) {
            spec.insert("system".into(), json!(s));
        }
        if i > 0 && rng.chance(5) {
            spec.insert(
                "subcomponentOf".into(),
                json!(names.components[rng.below(i)]),
            );
        }
        // Each API is provided by exactly one component: API j by component j (mod components).
        let provides: Vec<&str> = (i..names.apis.len())
            .step_by(names.components.len().max(1))
            .map(|j| names.apis[j].as_str())
            .collect();
        if !provides.is_empty() {
            spec.insert("providesApis".into(), json!(provides));
        }
        if !names.apis.is_empty() && rng.chance(60) {
            let mut consumes: Vec<&str> = Vec::new();
            for _ in 0..1 + rng.below(3) {
                let api = names.apis[rng.below(names.apis.len())].as_str();
                if !consumes.contains(&api) && !provides.contains(&api) {
                    consumes.push(api);
                }
            }
            if !consumes.is_empty() {
                spec.insert("consumesApis".into(), json!(consumes));
            }
        }
        let mut depends: Vec<String> = Vec::new();
        if !names.resources.is_empty() && rng.chance(50) {
            depends.push(format!(
                "resource:default/{}",
                names.resources[rng.below(names.resources.len())]
            ));
        }
        if i > 0 && rng.chance(25) {
            let other = format!("component:default/{}", names.components[rng.below(i)]);
            if !depends.contains(&other) {
                depends.push(other);
            }
        }
        if !depends.is_empty() {
            spec.insert("dependsOn".into(), json!(depends));
        }
        out.push(envelope(
            "Component",
            software_metadata(name, "component", rng),
            Value::Object(spec),
        ));
    }
    out
}

fn entities_file_name(index: usize) -> String {
    format!("entities-{:04}.yaml", index + 1)
}

fn to_yaml(value: &Value) -> std::io::Result<String> {
    serde_yaml::to_string(value).map_err(std::io::Error::other)
}

/// Writes a catalog of exactly `entities` documents (the root Location included) into `out`, creating it.
/// Files this generator wrote there before (`entities-*.yaml`) are removed first, so a smaller catalog does not
/// leave stale files behind.
pub fn generate_catalog(entities: usize, out: &Path) -> std::io::Result<GenSummary> {
    fs::create_dir_all(out)?;
    for entry in fs::read_dir(out)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("entities-") && name.ends_with(".yaml") {
            fs::remove_file(entry.path())?;
        }
    }

    let plan = Plan::for_total(entities);
    let mut rng = SplitMix64(SEED);
    let docs = build_entities(&plan, &mut rng);

    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut file_names = Vec::new();
    for (index, chunk) in docs.chunks(ENTITIES_PER_FILE).enumerate() {
        let mut text = String::new();
        for doc in chunk {
            if let Some(kind) = doc.get("kind").and_then(Value::as_str) {
                *kinds.entry(kind.to_string()).or_default() += 1;
            }
            text.push_str("---\n");
            text.push_str(&to_yaml(doc)?);
        }
        let file_name = entities_file_name(index);
        fs::write(out.join(&file_name), text)?;
        file_names.push(file_name);
    }

    let mut root_text = String::new();
    if entities > 0 {
        let targets: Vec<String> = file_names.iter().map(|f| format!("./{f}")).collect();
        let location = json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Location",
            "metadata": {
                "name": "generated-catalog",
                "description": format!("A generated catalog of {entities} entities (stagedoor dev gen-catalog)."),
            },
            "spec": {"type": "file", "targets": targets},
        });
        *kinds.entry("Location".to_string()).or_default() += 1;
        let _ = writeln!(
            root_text,
            "# Generated by `stagedoor dev gen-catalog --entities {entities}`."
        );
        root_text.push_str("---\n");
        root_text.push_str(&to_yaml(&location)?);
    }
    let root = out.join("all.yaml");
    fs::write(&root, root_text)?;

    Ok(GenSummary {
        entities: kinds.values().sum(),
        files: file_names.len() + 1,
        kinds,
        root,
    })
}

/// The configuration that serves a generated catalog from a new SQLite file in `db_dir`: every kind the
/// generator writes is allowed, and nothing refreshes in the background (benchmarks measure one thing).
pub fn catalog_config(catalog_root: &Path, db_dir: &Path) -> crate::config::Config {
    catalog_config_with_database(
        catalog_root,
        db_dir,
        serde_json::json!({
            "client": "better-sqlite3",
            "connection": {"directory": db_dir.display().to_string()}
        }),
    )
}

/// As [`catalog_config`], on the PostgreSQL database `url` names (the store creates it if it is missing).
pub fn catalog_config_postgres(catalog_root: &Path, url: &str) -> crate::config::Config {
    let base_dir = catalog_root.parent().unwrap_or(catalog_root);
    catalog_config_with_database(
        catalog_root,
        base_dir,
        serde_json::json!({"client": "pg", "connection": url}),
    )
}

/// As [`catalog_config`], with `database` as the `backend.database` section and `base_dir` as the directory
/// relative paths in the configuration resolve against.
pub fn catalog_config_with_database(
    catalog_root: &Path,
    base_dir: &Path,
    database: Value,
) -> crate::config::Config {
    crate::config::Config::from_value(
        serde_json::json!({
            "backend": {"database": database},
            "catalog": {
                "rules": [{"allow": [
                    "Component", "API", "Location", "System", "Domain", "Group", "User", "Resource", "Template"
                ]}],
                "locations": [{"type": "file", "target": catalog_root.display().to_string()}],
                "processingInterval": false
            }
        }),
        base_dir.to_path_buf(),
    )
}

/// Which database a benchmark's catalog lives in: SQLite always, PostgreSQL too when
/// `STAGEDOOR_BENCH_POSTGRES` names a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BenchBackend {
    Sqlite,
    /// A fresh scratch database per run on the server this URL names.
    Postgres(String),
}

impl BenchBackend {
    pub const POSTGRES_ENV: &'static str = "STAGEDOOR_BENCH_POSTGRES";

    /// SQLite, and PostgreSQL when `STAGEDOOR_BENCH_POSTGRES` is set (saying so when it is not).
    pub fn configured() -> Vec<BenchBackend> {
        let mut backends = vec![BenchBackend::Sqlite];
        match std::env::var(Self::POSTGRES_ENV) {
            Ok(url) if !url.trim().is_empty() => backends.push(BenchBackend::Postgres(url)),
            _ => eprintln!(
                "PostgreSQL benches skipped: {} is not set (e.g. postgres://postgres@127.0.0.1:5432/test)",
                Self::POSTGRES_ENV
            ),
        }
        backends
    }

    pub fn label(&self) -> &'static str {
        match self {
            BenchBackend::Sqlite => "sqlite",
            BenchBackend::Postgres(_) => "postgres",
        }
    }

    /// A configuration reading `catalog_root` into a fresh database: a SQLite file under `sqlite_dir`, or a
    /// scratch PostgreSQL database (returned: keep it until the portal is dropped, then it is dropped too).
    /// The PostgreSQL database is not created here; the store creates it, as Backstage's ensureExists does.
    pub fn config(
        &self,
        catalog_root: &Path,
        sqlite_dir: &Path,
    ) -> (crate::config::Config, Option<ScratchDatabase>) {
        match self {
            BenchBackend::Sqlite => (catalog_config(catalog_root, sqlite_dir), None),
            BenchBackend::Postgres(server) => {
                let db = ScratchDatabase::named(server, "stagedoor_bench");
                (catalog_config_postgres(catalog_root, &db.url), Some(db))
            }
        }
    }
}

/// What [`generate_docs_site`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocsGenSummary {
    /// Markdown pages written, `docs/index.md` included.
    pub pages: usize,
    /// Their total size in bytes.
    pub bytes: usize,
}

/// First line of a generated `mkdocs.yml`: regenerating into a directory that has it replaces `docs/`.
const DOCS_MARKER: &str = "# Generated by stagedoor devgen::generate_docs_site.";

/// Writes a TechDocs source tree of exactly `pages` markdown pages into `out`: `mkdocs.yml` (no nav, so the
/// build derives it from the tree, as most real sites do) and `docs/index.md` plus pages nested two levels
/// deep (`docs/<area>/<topic>/<page>.md`), each 2–5 KB of headings, paragraphs, lists, fenced code, a table,
/// admonitions, details, a GitHub alert and links to other pages. A `docs/` this generator wrote before is
/// replaced; any other existing `docs/` is an error, never deleted.
pub fn generate_docs_site(pages: usize, out: &Path) -> std::io::Result<DocsGenSummary> {
    let config = out.join("mkdocs.yml");
    let docs = out.join("docs");
    if docs.exists() {
        let ours = fs::read_to_string(&config).is_ok_and(|c| c.starts_with(DOCS_MARKER));
        if !ours {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{} exists and was not generated", docs.display()),
            ));
        }
        fs::remove_dir_all(&docs)?;
    }
    fs::create_dir_all(&docs)?;
    fs::write(
        &config,
        format!(
            "{DOCS_MARKER}\nsite_name: Generated documentation\nsite_description: {pages} generated pages\nplugins:\n  - techdocs-core\n"
        ),
    )?;
    let mut rng = SplitMix64(SEED ^ pages as u64);
    // Locations first, so pages can link to any other.
    let locations: Vec<String> = (0..pages)
        .map(|i| {
            if i == 0 {
                "index.md".to_string()
            } else {
                let area = AREAS[(i - 1) / 100 % AREAS.len()];
                let topic = NOUNS[(i - 1) / 10 % NOUNS.len()];
                format!(
                    "{area}-{}/{topic}-{}/page-{i:04}.md",
                    (i - 1) / 100,
                    (i - 1) / 10 % 10
                )
            }
        })
        .collect();
    let mut bytes = 0;
    for (i, location) in locations.iter().enumerate() {
        let text = docs_page(i, location, &locations, &mut rng);
        let path = docs.join(location);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&path, &text)?;
        bytes += text.len();
    }
    Ok(DocsGenSummary { pages, bytes })
}

/// A sentence of `words` generated words, capitalised, with a full stop.
fn sentence(rng: &mut SplitMix64, words: usize) -> String {
    let mut out = String::new();
    for w in 0..words {
        let word = match rng.below(4) {
            0 => rng.pick(AREAS),
            1 => rng.pick(NOUNS),
            2 => rng.pick(TAGS),
            _ => rng.pick(&[
                "the", "a", "with", "for", "when", "and", "to", "from", "each",
            ]),
        };
        if w == 0 {
            out.push_str(&title_case(word));
        } else {
            out.push(' ');
            out.push_str(word);
        }
    }
    out.push('.');
    out
}

/// A paragraph hard-wrapped near 72 columns, as docs in repositories usually are.
fn paragraph(rng: &mut SplitMix64, sentences: usize) -> String {
    let mut text = String::new();
    let mut column = 0;
    for _ in 0..sentences {
        let words = 6 + rng.below(10);
        for word in sentence(rng, words).split(' ') {
            if column > 0 && column + word.len() > 72 {
                text.push('\n');
                column = 0;
            } else if column > 0 {
                text.push(' ');
                column += 1;
            }
            text.push_str(word);
            column += word.len();
        }
    }
    text.push_str("\n\n");
    text
}

fn docs_page(i: usize, location: &str, locations: &[String], rng: &mut SplitMix64) -> String {
    let mut md = String::with_capacity(4096);
    let name = if i == 0 {
        "Generated documentation".to_string()
    } else {
        format!(
            "{} {}",
            title_case(rng.pick(NOUNS)),
            title_case(rng.pick(AREAS))
        )
    };
    let depth = location.matches('/').count();
    let up = "../".repeat(depth);
    let _ = writeln!(md, "# {name}\n");
    md.push_str(&paragraph(rng, 3));
    let _ = writeln!(md, "## Overview\n");
    md.push_str(&paragraph(rng, 2));
    for _ in 0..3 + rng.below(3) {
        let target = &locations[rng.below(locations.len())];
        let _ = writeln!(
            md,
            "- [{}]({up}{target}): {}",
            title_case(rng.pick(NOUNS)),
            sentence(rng, 5)
        );
    }
    md.push('\n');
    let _ = writeln!(md, "## Usage\n");
    md.push_str(&paragraph(rng, 2));
    let _ = writeln!(
        md,
        "```yaml\n{}:\n  enabled: true\n  replicas: {}\n  owner: team-{}\n```\n",
        rng.pick(AREAS),
        1 + rng.below(9),
        rng.pick(NOUNS)
    );
    let _ = writeln!(
        md,
        "!!! note \"{}\"\n    {}\n",
        title_case(rng.pick(TAGS)),
        sentence(rng, 12)
    );
    let _ = writeln!(md, "### Configuration\n");
    md.push_str("| Key | Default | Description |\n|-----|---------|-------------|\n");
    for _ in 0..4 + rng.below(4) {
        let _ = writeln!(
            md,
            "| `{}` | `{}` | {} |",
            rng.pick(NOUNS),
            rng.below(1000),
            sentence(rng, 6)
        );
    }
    md.push('\n');
    md.push_str(&paragraph(rng, 2));
    let _ = writeln!(md, "### Steps\n");
    for step in 1..=3 + rng.below(4) {
        let _ = writeln!(md, "{step}. {}", sentence(rng, 8));
    }
    md.push('\n');
    if rng.chance(50) {
        let _ = writeln!(
            md,
            "??? tip \"More about {}\"\n    {}\n",
            rng.pick(AREAS),
            sentence(rng, 14)
        );
    }
    let _ = writeln!(md, "> [!WARNING]\n> {}\n", sentence(rng, 10));
    let _ = writeln!(md, "## Troubleshooting\n");
    let sentences = 3 + rng.below(4);
    md.push_str(&paragraph(rng, sentences));
    let _ = writeln!(
        md,
        "```rust\nfn main() {{\n    println!(\"{}\");\n}}\n```\n",
        rng.pick(NOUNS)
    );
    md.push_str(&paragraph(rng, 2));
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn a_generated_docs_site_is_deterministic_nested_and_sized_like_real_docs() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let summary = generate_docs_site(30, a.path()).unwrap();
        assert_eq!(summary, generate_docs_site(30, b.path()).unwrap());
        assert_eq!(summary.pages, 30);
        let average = summary.bytes / summary.pages;
        assert!((2000..=5000).contains(&average), "{average}");
        let nested = a.path().join("docs/payments-0/worker-2/page-0021.md");
        assert_eq!(
            fs::read(&nested).unwrap(),
            fs::read(b.path().join("docs/payments-0/worker-2/page-0021.md")).unwrap()
        );
        // Regenerating replaces its own tree; a foreign docs/ is left alone.
        assert_eq!(generate_docs_site(5, a.path()).unwrap().pages, 5);
        assert!(!nested.exists());
        let foreign = tempfile::tempdir().unwrap();
        fs::create_dir(foreign.path().join("docs")).unwrap();
        assert!(generate_docs_site(5, foreign.path()).is_err());
        assert!(foreign.path().join("docs").exists());
    }

    fn read_docs(dir: &Path) -> Vec<(String, Value)> {
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let mut docs = Vec::new();
        for file in files {
            let text = fs::read_to_string(&file).unwrap();
            for doc in serde_yaml::Deserializer::from_str(&text) {
                let value: Value = serde::Deserialize::deserialize(doc).unwrap();
                if !value.is_null() {
                    docs.push((file.display().to_string(), value));
                }
            }
        }
        docs
    }

    fn ref_of(doc: &Value) -> String {
        format!(
            "{}:default/{}",
            doc["kind"].as_str().unwrap().to_lowercase(),
            doc["metadata"]["name"].as_str().unwrap().to_lowercase()
        )
    }

    #[test]
    fn same_count_gives_identical_files() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let sa = generate_catalog(1234, a.path()).unwrap();
        let sb = generate_catalog(1234, b.path()).unwrap();
        assert_eq!(sa.kinds, sb.kinds);
        assert_eq!(sa.files, sb.files);
        let mut names: Vec<_> = fs::read_dir(a.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names.len(), sa.files);
        for name in names {
            let x = fs::read(a.path().join(&name)).unwrap();
            let y = fs::read(b.path().join(&name)).unwrap();
            assert!(x == y, "{name:?} differs");
        }
    }

    #[test]
    fn document_count_is_exact() {
        for n in [0, 1, 2, 7, 19, 21, 100, 999, 1001, 2500] {
            let dir = tempfile::tempdir().unwrap();
            let summary = generate_catalog(n, dir.path()).unwrap();
            let docs = read_docs(dir.path());
            assert_eq!(docs.len(), n, "documents for {n}");
            assert_eq!(summary.entities, n, "summary for {n}");
            for (_, doc) in &docs {
                assert!(doc["metadata"]["name"].is_string());
            }
        }
    }

    #[test]
    fn regenerating_smaller_removes_stale_files() {
        let dir = tempfile::tempdir().unwrap();
        generate_catalog(1600, dir.path()).unwrap();
        let summary = generate_catalog(300, dir.path()).unwrap();
        assert_eq!(read_docs(dir.path()).len(), 300);
        assert_eq!(summary.files, 2);
    }

    #[test]
    fn names_are_valid_and_unique() {
        let re = regex::Regex::new(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$").unwrap();
        let tag = regex::Regex::new(r"^[a-z0-9:+#]+(\-[a-z0-9:+#]+)*$").unwrap();
        let dir = tempfile::tempdir().unwrap();
        generate_catalog(3000, dir.path()).unwrap();
        let mut seen = HashSet::new();
        for (file, doc) in read_docs(dir.path()) {
            let name = doc["metadata"]["name"].as_str().unwrap();
            assert!(
                re.is_match(name) && name.len() <= 63,
                "{file}: bad name {name}"
            );
            assert!(seen.insert(ref_of(&doc)), "duplicate {}", ref_of(&doc));
            if let Some(tags) = doc["metadata"]["tags"].as_array() {
                for t in tags {
                    let t = t.as_str().unwrap();
                    assert!(tag.is_match(t) && t.len() <= 63, "bad tag {t}");
                }
            }
            if let Some(labels) = doc["metadata"]["labels"].as_object() {
                for v in labels.values() {
                    assert!(re.is_match(v.as_str().unwrap()));
                }
            }
        }
    }

    #[test]
    fn proportions_look_like_an_organisation() {
        let dir = tempfile::tempdir().unwrap();
        let summary = generate_catalog(10_000, dir.path()).unwrap();
        let components = summary.kinds["Component"];
        assert!((5_500..=6_500).contains(&components), "{components}");
        for kind in [
            "Domain", "System", "Group", "User", "API", "Resource", "Location",
        ] {
            assert!(summary.kinds.get(kind).copied().unwrap_or(0) > 0, "{kind}");
        }
        assert_eq!(summary.files, 1 + 10_000usize.div_ceil(ENTITIES_PER_FILE));
    }

    /// Every reference field names an entity of the catalog, with the kind Backstage defaults it to.
    #[test]
    fn references_resolve() {
        let dir = tempfile::tempdir().unwrap();
        generate_catalog(2000, dir.path()).unwrap();
        let docs = read_docs(dir.path());
        let refs: HashSet<String> = docs.iter().map(|(_, d)| ref_of(d)).collect();
        let resolve = |value: &str, default_kind: &str| -> String {
            if value.contains(':') {
                value.to_lowercase()
            } else {
                format!("{default_kind}:default/{}", value.to_lowercase())
            }
        };
        let fields: &[(&str, &str)] = &[
            ("owner", "group"),
            ("system", "system"),
            ("domain", "domain"),
            ("subdomainOf", "domain"),
            ("subcomponentOf", "component"),
            ("parent", "group"),
            ("children", "group"),
            ("memberOf", "group"),
            ("providesApis", "api"),
            ("consumesApis", "api"),
            ("dependsOn", "-"),
        ];
        let mut checked = 0;
        for (_, doc) in &docs {
            let Some(spec) = doc["spec"].as_object() else {
                continue;
            };
            for (field, kind) in fields {
                let values: Vec<&str> = match spec.get(*field) {
                    Some(Value::String(s)) => vec![s.as_str()],
                    Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
                    _ => continue,
                };
                for v in values {
                    let r = resolve(v, kind);
                    assert!(refs.contains(&r), "{} {field} -> {r}", ref_of(doc));
                    checked += 1;
                }
            }
            if doc["kind"] == "API" {
                assert!(spec["definition"].as_str().is_some_and(|d| !d.is_empty()));
            }
        }
        assert!(checked > 2000, "only {checked} references checked");
        // Every group's parent lists it among its children.
        for (_, doc) in &docs {
            if doc["kind"] != "Group" {
                continue;
            }
            if let Some(parent) = doc["spec"]["parent"].as_str() {
                let parent_doc = docs
                    .iter()
                    .find(|(_, d)| d["kind"] == "Group" && d["metadata"]["name"] == parent)
                    .unwrap();
                let children = parent_doc.1["spec"]["children"].as_array().unwrap();
                assert!(children.contains(&doc["metadata"]["name"]));
            }
        }
    }
}
