//! A corpus of bad catalog files, one per rule and failure. Each gives its expected message at the expected
//! line, from `validate_paths` and from ingestion, and what was stored before stays intact.

use std::path::Path;

use stagedoor_core::ingest::validate_paths;
use stagedoor_core::portal::RefreshRequest;
use stagedoor_core::{EntityRef, LocalPortal, Portal};
use stagedoor_tests::config;

const GOOD: &str = "apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: svc
  description: A service
spec:
  type: service
  lifecycle: production
  owner: team-a
";

struct Case {
    name: &'static str,
    content: Vec<u8>,
    message: &'static str,
    line: Option<usize>,
    /// Whether the document still names `component:default/svc`, so the error shows in its status.items.
    same_ref: bool,
}

fn case(
    name: &'static str,
    content: &str,
    message: &'static str,
    line: Option<usize>,
    same_ref: bool,
) -> Case {
    Case {
        name,
        content: content.as_bytes().to_vec(),
        message,
        line,
        same_ref,
    }
}

fn corpus() -> Vec<Case> {
    let mut big = String::from("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc\n  description: |\n");
    while big.len() < 10 * 1024 * 1024 {
        big.push_str(
            "    0123456789012345678901234567890123456789012345678901234567890123456789\n",
        );
    }
    vec![
        case(
            "bad name",
            &GOOD.replace("name: svc", "name: svc!"),
            "\"metadata.name\" is not valid; expected a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total but found \"svc!\"",
            Some(4),
            false,
        ),
        case(
            "bad namespace",
            &GOOD.replace("  description: A service\n", "  namespace: Team_A\n  description: A service\n"),
            "\"metadata.namespace\" is not valid",
            Some(5),
            false,
        ),
        case(
            "bad tag",
            &GOOD.replace("  description: A service\n", "  description: A service\n  tags:\n    - Java Script\n"),
            "is not valid; expected a string that is sequences of [a-z0-9+#] separated by [-]",
            Some(7),
            true,
        ),
        case(
            "bad label",
            &GOOD.replace("  description: A service\n", "  description: A service\n  labels:\n    tier: \"gold star\"\n"),
            "\"labels.tier\" is not valid",
            Some(7),
            true,
        ),
        case("missing spec.owner", &GOOD.replace("  owner: team-a\n", ""), "must have required property 'owner'", Some(1), true),
        case("unknown root field", &format!("{GOOD}extra: 1\n"), "Malformed envelope, <root> must NOT have additional properties", Some(10), true),
        case(
            "unknown apiVersion",
            &GOOD.replace("backstage.io/v1alpha1", "example.com/v9"),
            "No processor recognized the entity component:default/svc as valid, possibly caused by a foreign kind or apiVersion",
            Some(1),
            true,
        ),
        case("not YAML", "kind: [unclosed\nmetadata: {\n", "YAML error at file:", Some(2), false),
        case("a YAML list at the root", "- a\n- b\n", "Expected object at root, got array", Some(1), false),
        case("empty file", "", "File is empty: no entities found", None, false),
        Case { name: "binary file", content: b"\x7fELF\x02\x01\x01\x00\x00\x00garbage".to_vec(), message: "File is binary, not YAML text", line: None, same_ref: false },
        case("a 10 MB file", &big, "larger than the 5242880 byte limit for catalog files", None, false),
        case(
            "a placeholder escaping its directory",
            &GOOD.replace("  owner: team-a\n", "  owner: team-a\n  notes:\n    $text: ../secret.txt\n"),
            "Placeholder $text could not read location ../secret.txt, NotAllowedError: Placeholder may only reference files from the same repository as the entity",
            Some(11),
            true,
        ),
    ]
}

fn write_catalog(root: &Path) {
    std::fs::create_dir_all(root.join("svc")).unwrap();
    std::fs::write(
        root.join("all.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: root\nspec:\n  targets:\n    - ./svc/entity.yaml\n    - ./other.yaml\n",
    )
    .unwrap();
    std::fs::write(root.join("svc/entity.yaml"), GOOD).unwrap();
    std::fs::write(
        root.join("other.yaml"),
        GOOD.replace("name: svc", "name: other"),
    )
    .unwrap();
    std::fs::write(root.join("secret.txt"), "do not read").unwrap();
}

#[test]
fn validate_reports_each_bad_file_with_its_message_and_line() {
    let dir = tempfile::tempdir().unwrap();
    for case in corpus() {
        let file = dir.path().join("svc").join("entity.yaml");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(dir.path().join("secret.txt"), "x").unwrap();
        std::fs::write(&file, &case.content).unwrap();
        let summary = validate_paths(std::slice::from_ref(&file));
        assert_eq!(
            summary.problems.len(),
            1,
            "{}: {:#?}",
            case.name,
            summary.problems
        );
        let problem = &summary.problems[0];
        assert!(
            problem.message.contains(case.message),
            "{}: expected {:?} in {:?}",
            case.name,
            case.message,
            problem.message
        );
        if case.line.is_some() {
            assert_eq!(problem.line, case.line, "{}: {problem:?}", case.name);
        }
        assert_eq!(problem.location, file.display().to_string());
        let shown = problem.to_string();
        assert!(shown.starts_with(&file.display().to_string()), "{shown}");
    }
    // And the good file passes.
    let file = dir.path().join("good.yaml");
    std::fs::write(&file, GOOD).unwrap();
    let summary = validate_paths(&[file]);
    assert!(summary.problems.is_empty(), "{:?}", summary.problems);
    assert_eq!(summary.entities, 1);
}

#[tokio::test]
async fn a_bad_file_never_loses_what_was_stored_before() {
    for case in corpus() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = dir.path().join("catalog");
        write_catalog(&catalog);
        let all = catalog.join("all.yaml").display().to_string();
        let portal =
            LocalPortal::from_config(config(&[("file", &all)], dir.path(), serde_json::json!({})))
                .unwrap();
        let first = portal.refresh(RefreshRequest::default()).await.unwrap();
        assert!(first.problems.is_empty(), "{:?}", first.problems);
        let svc = EntityRef::parse("component:default/svc").unwrap();
        let before = portal.entity_by_ref(&svc).await.unwrap().expect("stored");

        std::fs::write(catalog.join("svc/entity.yaml"), &case.content).unwrap();
        let report = portal.refresh(RefreshRequest::default()).await.unwrap();
        let problem = report
            .problems
            .iter()
            .find(|p| p.message.contains(case.message))
            .unwrap_or_else(|| {
                panic!(
                    "{}: {:?} not in {:#?}",
                    case.name, case.message, report.problems
                )
            });
        if case.line.is_some() {
            assert_eq!(problem.line, case.line, "{}", case.name);
        }
        assert_eq!(report.stats.deleted, 0, "{}", case.name);

        let after = portal
            .entity_by_ref(&svc)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{}: svc lost", case.name));
        assert_eq!(after.spec(), before.spec(), "{}", case.name);
        assert_eq!(after.uid(), before.uid(), "{}", case.name);
        assert!(portal
            .entity_by_ref(&EntityRef::parse("component:default/other").unwrap())
            .await
            .unwrap()
            .is_some());
        let status = after
            .as_map()
            .get("status")
            .cloned()
            .unwrap_or_default()
            .to_string();
        if case.same_ref {
            assert!(
                status.contains("backstage.io/catalog-processing"),
                "{}: {status}",
                case.name
            );
        }
        // The emitting Location shows the error too.
        let root = portal
            .entity_by_ref(&EntityRef::parse("location:default/root").unwrap())
            .await
            .unwrap()
            .unwrap();
        let root_status = root
            .as_map()
            .get("status")
            .cloned()
            .unwrap_or_default()
            .to_string();
        assert!(
            root_status.contains("\"level\":\"error\""),
            "{}: {root_status}",
            case.name
        );

        // Fixing the file clears the errors.
        std::fs::write(catalog.join("svc/entity.yaml"), GOOD).unwrap();
        let fixed = portal.refresh(RefreshRequest::default()).await.unwrap();
        assert!(
            fixed.problems.is_empty(),
            "{}: {:?}",
            case.name,
            fixed.problems
        );
        let healed = portal.entity_by_ref(&svc).await.unwrap().unwrap();
        assert!(
            healed.as_map().get("status").is_none(),
            "{}: {:?}",
            case.name,
            healed.as_map().get("status")
        );
    }
}
