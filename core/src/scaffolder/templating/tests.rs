//! The templater against Backstage's documented behaviour, the sandbox payloads and the fixture templates.

use super::*;
use serde_json::json;

fn t() -> Templater {
    Templater::new()
}

fn ctx() -> Value {
    json!({
        "parameters": {
            "name": "my-service",
            "count": 3,
            "ratio": 1.5,
            "enabled": true,
            "off": false,
            "tags": ["a", "b"],
            "empty": [],
            "nothing": null,
            "blank": "",
            "owner": "group:default/team-a",
            "repoUrl": "github.com?repo=r&owner=o",
            "nested": {"deep": {"x": 1}},
            "cloud": "AWS",
        },
        "steps": {"publish": {"output": {"remoteUrl": "https://github.com/o/r", "n": 2}}},
    })
}

fn render(src: &str) -> String {
    match t().render_str(src, &ctx()) {
        Ok(s) => s,
        Err(e) => panic!("{src:?} failed: {e}"),
    }
}

fn value(src: &str) -> Option<Value> {
    match t().render_value(&json!(src), &ctx()) {
        Ok(v) => v,
        Err(e) => panic!("{src:?} failed: {e}"),
    }
}

#[test]
fn variables_and_undefined() {
    assert_eq!(render("${{ parameters.name }}"), "my-service");
    assert_eq!(render("${{parameters.name}}!"), "my-service!");
    assert_eq!(render("[${{ parameters.missing }}]"), "[]");
    assert_eq!(render("[${{ parameters.missing.deeper.still }}]"), "[]");
    assert_eq!(render("[${{ parameters.nothing.x }}]"), "[]");
    assert_eq!(render("[${{ parameters.nothing }}]"), "[]");
    assert_eq!(render("${{ parameters.tags }}"), "a,b");
    assert_eq!(render("${{ parameters.nested }}"), "[object Object]");
    assert_eq!(render("${{ parameters.enabled }}"), "true");
    assert_eq!(render("${{ 6 / 2 }}"), "3");
    // Plain `{{ }}` is text in the `${{ }}` engine.
    assert_eq!(render("{{ parameters.name }}"), "{{ parameters.name }}");
}

#[test]
fn property_access_forms() {
    assert_eq!(
        render("${{ steps['publish'].output.remoteUrl }}"),
        "https://github.com/o/r"
    );
    assert_eq!(
        render("${{ steps.publish.output.remoteUrl }}"),
        "https://github.com/o/r"
    );
    assert_eq!(render("${{ parameters['name'] }}"), "my-service");
    assert_eq!(render("${{ steps.missing.output.x }}"), "");
}

#[test]
fn control_flow_whitespace_and_comments() {
    let src = "a:\n  {%- if parameters.name %}\n  b: ${{ parameters.name }}\n  {%- endif %}\nc{# note #}\n";
    assert_eq!(render(src), "a:\n  b: my-service\nc\n");
    assert_eq!(
        render("{% for t in parameters.tags %}${{ loop.index }}${{ t }}{% endfor %}"),
        "1a2b"
    );
    assert_eq!(
        render("{% for k, v in parameters.nested %}${{ k }}={{ v.x }}{% endfor %}"),
        "deep={{ v.x }}"
    );
    assert_eq!(
        render("{% if parameters.off %}x{% elseif parameters.enabled %}y{% endif %}"),
        "y"
    );
    assert_eq!(render("{% raw %}${{ x }}{% endraw %}"), "${{ x }}");
    assert_eq!(render("{% set n = 2 %}${{ n * 2 }}"), "4");
    // Nunjucks keeps the final newline.
    assert_eq!(render("x\n"), "x\n");
}

#[test]
fn nunjucks_and_js_operators() {
    assert_eq!(render("${{ parameters.cloud === 'AWS' }}"), "true");
    assert_eq!(render("${{ parameters.cloud !== 'AWS' }}"), "false");
    assert_eq!(
        render("${{ parameters.cloud == 'AWS' and not parameters.off }}"),
        "true"
    );
    assert_eq!(
        render("${{ parameters.off or parameters.enabled }}"),
        "true"
    );
    assert_eq!(render("${{ 'a' in parameters.tags }}"), "true");
    assert_eq!(
        render("${{ 'yes' if parameters.enabled else 'no' }}"),
        "yes"
    );
    assert_eq!(
        render("[${{ parameters.description if parameters.description }}]"),
        "[]"
    );
    assert_eq!(
        render("${{ parameters.name + '/' + parameters.cloud }}"),
        "my-service/AWS"
    );
    assert_eq!(
        render("${{ parameters.name ~ '-' ~ parameters.count }}"),
        "my-service-3"
    );
    assert_eq!(render("${{ parameters.name.length }}"), "10");
    assert_eq!(render("${{ parameters.tags.length }}"), "2");
    assert_eq!(render("${{ parameters.tags.length > 1 }}"), "true");
    assert_eq!(render("${{ parameters.name | upper }}"), "MY-SERVICE");
    assert_eq!(
        render("{% if parameters.cloud === 'AWS' %}aws{% endif %}"),
        "aws"
    );
    assert_eq!(render("${{ parameters.dryRun !== true }}"), "true");
}

#[test]
fn type_preservation() {
    assert_eq!(value("${{ parameters.count }}"), Some(json!(3)));
    assert_eq!(value("${{ parameters.ratio }}"), Some(json!(1.5)));
    assert_eq!(value("${{ parameters.enabled }}"), Some(json!(true)));
    assert_eq!(value("${{ parameters.tags }}"), Some(json!(["a", "b"])));
    assert_eq!(
        value("${{ parameters.nested }}"),
        Some(json!({"deep": {"x": 1}}))
    );
    assert_eq!(value("${{ parameters.nothing }}"), Some(json!(null)));
    assert_eq!(value("${{ parameters.name }}"), Some(json!("my-service")));
    assert_eq!(value("${{- parameters.count -}}"), Some(json!(3)));
    // Backstage JSON-parses the dumped value, so a sole expression that is "" stays "".
    assert_eq!(value("${{ parameters.blank }}"), Some(json!("")));
    assert_eq!(value("${{ parameters.missing }}"), None);
    // Anything but a sole expression is text.
    assert_eq!(value("n=${{ parameters.count }}"), Some(json!("n=3")));
    assert_eq!(
        value("${{ parameters.count }}${{ parameters.count }}"),
        Some(json!("33"))
    );
    assert_eq!(value(" ${{ parameters.count }}"), Some(json!(" 3")));
    assert_eq!(
        value("${{ parameters.missing }}${{ parameters.missing }}"),
        None
    );
    assert_eq!(value(""), None);
    assert_eq!(value("plain"), Some(json!("plain")));
    assert_eq!(
        value("${{ parameters.repoUrl | parseRepoUrl }}"),
        Some(json!({"host": "github.com", "owner": "o", "repo": "r"}))
    );
}

#[test]
fn nested_values_render_and_drop_keys() {
    let input = json!({
        "count": "${{ parameters.count }}",
        "gone": "${{ parameters.missing }}",
        "keep": 7,
        "flag": false,
        "list": ["${{ parameters.name }}", "${{ parameters.missing }}", "${{ parameters.tags }}", 1],
        "deep": {"a": {"b": "x-${{ parameters.count }}", "c": ""}},
    });
    let out = t().render_value(&input, &ctx()).unwrap();
    assert_eq!(
        out,
        Some(json!({
            "count": 3,
            "keep": 7,
            "flag": false,
            "list": ["my-service", ["a", "b"], 1],
            "deep": {"a": {"b": "x-3"}},
        }))
    );
}

#[test]
fn truthiness_for_if() {
    let cond = |s: &str| is_truthy(t().render_value(&json!(s), &ctx()).unwrap().as_ref());
    assert!(cond("${{ parameters.enabled }}"));
    assert!(!cond("${{ parameters.off }}"));
    assert!(!cond("${{ parameters.empty }}"));
    assert!(cond("${{ parameters.tags }}"));
    assert!(!cond("${{ parameters.missing }}"));
    assert!(!cond("${{ parameters.nothing }}"));
    assert!(!cond("${{ parameters.blank }}"));
    assert!(!cond("${{ parameters.count - 3 }}"));
    assert!(cond("${{ parameters.cloud === 'AWS' }}"));
    assert!(!cond("${{ parameters.dryRun }}"));
    assert!(cond("${{ parameters.dryRun !== true }}"));
}

#[test]
fn builtin_filters_match_nunjucks() {
    assert_eq!(render("${{ parameters.name | dump }}"), "\"my-service\"");
    assert_eq!(
        render("${{ parameters.nested | dump }}"),
        r#"{"deep":{"x":1}}"#
    );
    assert_eq!(
        render("${{ parameters.tags | dump(2) }}"),
        "[\n  \"a\",\n  \"b\"\n]"
    );
    assert_eq!(render("${{ '<a&b>' | dump }}"), "\"<a&b>\"");
    assert_eq!(render("[${{ parameters.missing | dump }}]"), "[]");
    assert_eq!(render("${{ 'My-Value' | lower }}"), "my-value");
    assert_eq!(
        render("${{ 'my-value' | replace('my-', 'our-') }}"),
        "our-value"
    );
    assert_eq!(render("${{ 'aaa' | replace('a', 'b', 2) }}"), "bba");
    assert_eq!(render("${{ 'ab' | replace('', '.') }}"), ".a.b.");
    assert_eq!(render("${{ parameters.tags | join(', ') }}"), "a, b");
    assert_eq!(render("${{ parameters.tags | join }}"), "ab");
    assert_eq!(render("${{ parameters.missing | default('x') }}"), "x");
    assert_eq!(render("${{ parameters.missing | d('x') }}"), "x");
    assert_eq!(render("[${{ parameters.nothing | default('x') }}]"), "[]");
    assert_eq!(render("${{ parameters.blank | default('x', true) }}"), "x");
    assert_eq!(render("${{ '  hi  ' | trim }}"), "hi");
    assert_eq!(render("${{ parameters.tags | first }}"), "a");
    assert_eq!(render("${{ parameters.tags | last }}"), "b");
    assert_eq!(render("${{ parameters.tags | length }}"), "2");
    assert_eq!(render("${{ parameters.missing | length }}"), "0");
    assert_eq!(render("${{ parameters.nested | length }}"), "1");
    assert_eq!(render("${{ 'hELLO wORLD' | capitalize }}"), "Hello world");
    assert_eq!(
        render("${{ 'hello wORLD-foo' | title }}"),
        "Hello World-foo"
    );
    assert_eq!(render("${{ 'a\nb' | indent(2) }}"), "a\n  b");
    assert_eq!(render("${{ parameters.tags | string }}"), "a,b");
    assert_eq!(
        render("${{ parameters.tags | sort | reverse | join }}"),
        "ba"
    );
    // jsonify exists only in cookiecutter mode.
    let err = t().render_str("${{ 1 | jsonify }}", &ctx()).unwrap_err();
    assert!(err.0.contains("jsonify"), "{err}");
}

#[test]
fn backstage_filters() {
    assert_eq!(
        render("${{ parameters.repoUrl | parseRepoUrl | dump }}"),
        r#"{"host":"github.com","owner":"o","repo":"r"}"#
    );
    assert_eq!(
        render("${{ 'github.com?repo=backstage&owner=backstage' | projectSlug }}"),
        "backstage/backstage"
    );
    assert_eq!(
        render("${{ 'group:techdocs' | parseEntityRef | dump }}"),
        r#"{"kind":"group","namespace":"default","name":"techdocs"}"#
    );
    assert_eq!(
        render(
            r#"${{ 'techdocs' | parseEntityRef({ defaultKind:"group", defaultNamespace:"another-namespace" }) | dump }}"#
        ),
        r#"{"kind":"group","namespace":"another-namespace","name":"techdocs"}"#
    );
    assert_eq!(
        render("${{ parameters.owner | parseEntityRef | pick('name') }}"),
        "team-a"
    );
    assert_eq!(
        render("${{ parameters.owner | parseEntityRef | pick('kind') }}"),
        "group"
    );
    assert_eq!(render("${{ steps | pick('publish.output.n') }}"), "2");
    assert_eq!(render("${{ parameters | pick('tags[1]') }}"), "b");
    assert_eq!(render("[${{ parameters | pick('no.such') }}]"), "[]");
    let err = t()
        .render_str("${{ 'github.com?repo=r' | parseRepoUrl }}", &ctx())
        .unwrap_err();
    assert!(err.0.contains("missing owner"), "{err}");
    let err = t()
        .render_str("${{ 'techdocs' | parseEntityRef }}", &ctx())
        .unwrap_err();
    assert!(err.0.contains("missing or empty kind"), "{err}");
}

#[test]
fn cookiecutter_compat_mode() {
    let c = Templater::with_options(TemplaterOptions {
        cookiecutter_compat: true,
        ..Default::default()
    });
    let ctx = json!({"cookiecutter": {"name": "n", "tags": ["a"]}});
    assert_eq!(c.render_str("{{ 1 | jsonify }}", &ctx).unwrap(), "1");
    assert_eq!(
        c.render_str("{{ cookiecutter.name | jsonify }}", &ctx)
            .unwrap(),
        "\"n\""
    );
    assert_eq!(
        c.render_str("{{ cookiecutter.tags | jsonify }}", &ctx)
            .unwrap(),
        "[\"a\"]"
    );
    assert_eq!(
        c.render_str("${{ cookiecutter.name }}", &ctx).unwrap(),
        "$n"
    );
    assert_eq!(
        c.render_value(&json!("{{ cookiecutter.tags }}"), &ctx)
            .unwrap(),
        Some(json!(["a"]))
    );
}

#[test]
fn trim_and_lstrip_blocks() {
    let opts = TemplaterOptions {
        trim_blocks: true,
        lstrip_blocks: true,
        ..Default::default()
    };
    let src = "a\n  {% if true %}\nb\n  {% endif %}\nc";
    assert_eq!(
        Templater::with_options(opts)
            .render_str(src, &json!({}))
            .unwrap(),
        "a\nb\nc"
    );
    assert_eq!(t().render_str(src, &json!({})).unwrap(), "a\n  \nb\n  \nc");
}

#[test]
fn no_loader_no_includes() {
    for src in [
        "{% include 'x.txt' %}",
        "{% import 'macros.njk' as m %}",
        "{% from 'macros.njk' import m %}",
        "{% extends 'base.njk' %}",
        "{% include '/etc/passwd' %}",
    ] {
        let err = t().render_str(src, &ctx()).unwrap_err();
        assert!(err.0.contains("template not found"), "{src}: {err}");
        assert!(err.0.contains("not available"), "{src}: {err}");
    }
}

#[test]
fn templater_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Templater>();
    assert_send_sync::<TemplateContext>();
}

#[test]
fn more_nunjucks_forms() {
    assert_eq!(
        render("{% for a, b in [['x', 1], ['y', 2]] %}${{ a }}${{ b }}{% endfor %}"),
        "x1y2"
    );
    assert_eq!(
        render("{% verbatim %}${{ a }}{% endverbatim %}"),
        "${{ a }}"
    );
    assert_eq!(render("${{ null }}|${{ none }}"), "|");
    assert_eq!(value("${{ null }}"), Some(json!(null)));
    assert_eq!(
        render("${{ {a: 1, 'b': parameters.count} | dump }}"),
        r#"{"a":1,"b":3}"#
    );
    assert_eq!(render("${{ parameters.nested.length }}"), "");
    assert_eq!(render("${{ {length: 4}.length }}"), "4");
    let err = t().render_str("{% if %}", &ctx()).unwrap_err();
    assert!(err.0.contains("syntax error"), "{err}");
    let err = t()
        .render_str("{% for x in parameters.tags %}", &ctx())
        .unwrap_err();
    assert!(err.0.contains("syntax error"), "{err}");
}

/// Classic SSTI and sandbox-escape payloads: each must fail or render harmlessly, never reach the host.
#[test]
fn sandbox_payloads_render_nothing_of_the_host() {
    std::env::set_var("STAGEDOOR_TEMPLATING_CANARY", "host-secret-canary");
    let payloads = [
        "${{ ''.__class__ }}",
        "${{ ''.__class__.__mro__[1].__subclasses__() }}",
        "${{ ''.__class__.__mro__[2].__subclasses__()[40]('/etc/passwd').read() }}",
        "${{ config.items() }}",
        "${{ self }}",
        "${{ self.__init__.__globals__ }}",
        "${{ self._TemplateReference__context }}",
        "${{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "${{ joiner.__init__.__globals__.os.environ }}",
        "${{ namespace.__init__.__globals__.os.environ }}",
        "${{ lipsum.__globals__['os'].popen('id').read() }}",
        "${{ request.application.__globals__.__builtins__ }}",
        "${{ range.constructor('return process')() }}",
        "${{ range.constructor(\"return process.env\")() }}",
        "${{ ({}).constructor.constructor('return process')() }}",
        "${{ ({}).constructor.constructor(\"parseRepoUrl = () => JSON.stringify(`inject`)\")() }}",
        "${{ [].constructor.constructor('return this')().process.mainModule.require('child_process').execSync('id') }}",
        "${{ process.env }}",
        "${{ process.env.STAGEDOOR_TEMPLATING_CANARY }}",
        "${{ env.STAGEDOOR_TEMPLATING_CANARY }}",
        "${{ environ }}",
        "${{ require('fs').readFileSync('/etc/passwd') }}",
        "${{ debug() }}",
        "${{ namespace(a=1) }}",
        "${{ 'x' | attr('__class__') }}",
        "${{ 'x' | format('%s') }}",
        "${{ [1] | tojson }}",
        "${{ parameters | pprint }}",
        "{% set x = ''.__class__ %}${{ x }}",
        "{% for c in [].__class__.__base__.__subclasses__() %}${{ c }}{% endfor %}",
        "${{ 'a'.constructor.constructor('return process')() }}",
        "${{ parameters.constructor.constructor('return process')() }}",
        "${{ parameters.__proto__ }}",
    ];
    for src in payloads {
        match t().render_str(src, &ctx()) {
            Ok(out) => {
                assert!(
                    !out.contains("host-secret-canary")
                        && !out.contains("root:")
                        && !out.contains("uid=")
                        && !out.contains("PATH")
                        && !out.contains("State")
                        && !out.contains("Environment"),
                    "{src} rendered host data: {out}"
                );
                assert!(out.trim().is_empty(), "{src} rendered {out:?}");
            }
            Err(e) => assert!(!e.0.contains("host-secret-canary"), "{src}: {e}"),
        }
    }
}

/// Bombs stop with an error (fuel, size and recursion limits) instead of running away.
#[test]
fn bombs_fail_fast() {
    let bombs = [
        "{% for i in range(100000000) %}x{% endfor %}".to_string(),
        "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"
            .to_string(),
        "${{ 'x' * 1000000000 }}".to_string(),
        "${{ 'x' * 100000000 }}".to_string(),
        "${{ [1, 2] | batch(100000000000) }}".to_string(),
        "${{ [1, 2] | slice(100000000000) }}".to_string(),
        "${{ 'a' | indent(100000000000) }}".to_string(),
        "${{ [1, 2] | dump(100000000000) | length > 100 }}".to_string(),
        "${{ ('x' * 3000000) | replace('x', 'yyyyyyyyyyy') }}".to_string(),
        "${{ ['x' * 1000000] * 100000 | join }}".to_string(),
        "${{ ['x' * 1000000] * 100000 }}".to_string(),
        "{% macro f(n) %}${{ f(n + 1) }}{% endmacro %}${{ f(1) }}".to_string(),
        format!("${{{{ {}1{} }}}}", "(".repeat(10_000), ")".repeat(10_000)),
        format!("${{{{ {}1{} }}}}", "[".repeat(10_000), "]".repeat(10_000)),
        "{% for i in range(100000) %}${{ 'x' * 1000 }}{% endfor %}".to_string(),
    ];
    for src in &bombs {
        let res = t().render_str(src, &ctx());
        // `dump(huge)` clamps the indent like JSON.stringify, so it renders (harmlessly).
        if src.contains("dump(") {
            assert_eq!(res.as_deref(), Ok("false"));
            continue;
        }
        assert!(res.is_err(), "{} should fail", &src[..src.len().min(80)]);
    }
    let err = t().render_str(&bombs[0], &ctx()).unwrap_err();
    assert!(!err.0.is_empty());
    // The same bombs through render_value (the expression path) fail too.
    let err = t().render_value(&json!("${{ ['x' * 1000000] * 100000 }}"), &ctx());
    assert!(err.is_err());
}

#[test]
fn errors_are_bare_messages_with_lines() {
    let err = t()
        .render_str("line1\n${{ invalid...syntax }}", &ctx())
        .unwrap_err();
    assert!(err.0.contains("syntax error"), "{err}");
    assert!(err.0.contains("line 2"), "{err}");
    assert!(!err.0.contains("---"), "{err}");
    let err = t()
        .render_str("${{ x | nosuchfilter }}", &ctx())
        .unwrap_err();
    assert!(err.0.contains("unknown filter"), "{err}");
}

/// Every `${{ }}` skeleton file, file name and template.yaml step in the fixtures renders.
#[test]
fn fixture_templates_render() {
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/templates");
    if !root.is_dir() {
        eprintln!("skipped: no fixtures at {}", root.display());
        return;
    }
    let values = json!({
        "name": "svc", "component_id": "svc", "description": "A service", "owner": "group:team-a",
        "destination": {"host": "github.com", "owner": "o", "repo": "r"},
        "module": "example.com/svc", "go_version": "1.22", "port": 8080, "http_port": 8080,
        "java_package_name": "svc", "artifact_id": "svc", "projectType": "rest", "package": "co.svc",
        "coverage": true, "lombok": false, "metrics": true,
    });
    let plain = Templater::new();
    let compat = Templater::with_options(TemplaterOptions {
        cookiecutter_compat: true,
        ..Default::default()
    });
    let mut rendered = 0;
    let mut files = Vec::new();
    collect(&root, &mut files);
    for path in files {
        let rel = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .to_string_lossy()
            .to_string();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // binary
        };
        let in_skeleton = rel.contains("/skeleton/") || rel.contains("/template/");
        if in_skeleton {
            let (engine, ctx) = if rel.contains("cookiecutter") {
                (&compat, json!({"cookiecutter": values}))
            } else {
                (&plain, json!({"values": values}))
            };
            let out = engine
                .render_str(&text, &ctx)
                .unwrap_or_else(|e| panic!("{rel}: {e}"));
            engine
                .render_str(&rel, &ctx)
                .unwrap_or_else(|e| panic!("{rel} (path): {e}"));
            assert!(!out.contains("${{"), "{rel} left a tag: {out}");
            rendered += 1;
        } else if rel.ends_with(".yaml") {
            render_template_yaml(&plain, &rel, &text);
            rendered += 1;
        }
    }
    assert!(rendered > 20, "only {rendered} fixture files rendered");
    // The skeleton's `{%- if %}` and `${{ a + "/" + b }}` come out as Backstage writes them.
    let skel = std::fs::read_to_string(
        root.join("sample-templates/local-template/gin-golan-template/skeleton/catalog-info.yaml"),
    )
    .unwrap_or_default();
    if !skel.is_empty() {
        let out = plain.render_str(&skel, &json!({"values": values})).unwrap();
        assert!(
            out.contains("  name: \"svc\"\n  description: \"A service\"\n  annotations:"),
            "{out}"
        );
        assert!(out.contains("github.com/project-slug: o/r"), "{out}");
        let no_desc =
            json!({"values": {"component_id": "svc", "destination": {"owner": "o", "repo": "r"}}});
        let out = plain.render_str(&skel, &no_desc).unwrap();
        assert!(out.contains("  name: \"svc\"\n  annotations:"), "{out}");
    }
    // A templated path from the springboot skeleton (OMITTED.txt keeps such paths).
    assert_eq!(
        plain
            .render_str(
                "src/main/java/com/example/${{values.java_package_name}}/Application.java",
                &json!({"values": values})
            )
            .unwrap(),
        "src/main/java/com/example/svc/Application.java"
    );
}

fn collect(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Renders each step's `if`, `input` and the `output` of every Template document in `text`.
fn render_template_yaml(engine: &Templater, rel: &str, text: &str) {
    use serde::Deserialize;
    let ctx = json!({
        "parameters": {
            "name": "svc", "component_id": "svc", "description": "d", "owner": "group:team-a",
            "repoUrl": "github.com?owner=o&repo=r", "dryRun": false, "targetPath": "",
            "recipients": "broadcast", "entityRefs": ["user:default/a"], "title": "t", "link": "",
            "severity": "normal", "scope": "", "serviceName": "s", "environment": "dev",
            "ownerRef": "group:default/a", "region": "eu", "features": ["a"], "module": "m",
            "go_version": "1.22", "port": 8080, "java_package_name": "p", "package": "p",
            "projectType": "rest", "coverage": true, "lombok": true, "metrics": true,
            "system": "s", "railsArguments": {}, "branchName": "b", "assignee": "a",
            "advanced_section": {"replicas": 2, "memoryLimit": "1Gi", "enableMetrics": true,
                "nested_section": {"port": 80, "ingressEnabled": false}},
        },
        "secrets": {"USER_OAUTH_TOKEN": "t"},
        "steps": {
            "publish": {"output": {"remoteUrl": "https://x", "repoContentsUrl": "https://x/blob/main", "mergeRequestUrl": "https://x/mr"}},
            "register": {"output": {"entityRef": "component:default/svc"}},
        },
        "user": {"ref": "user:default/me"},
    });
    for doc in serde_yaml::Deserializer::from_str(text) {
        let Ok(doc) = serde_yaml::Value::deserialize(doc) else {
            continue;
        };
        let Ok(doc) = serde_json::to_value(doc) else {
            continue;
        };
        if doc.get("kind").and_then(Value::as_str) != Some("Template") {
            continue;
        }
        let spec = &doc["spec"];
        for step in spec["steps"].as_array().into_iter().flatten() {
            for key in ["if", "input", "each"] {
                if let Some(v) = step.get(key) {
                    engine
                        .render_value(v, &ctx)
                        .unwrap_or_else(|e| panic!("{rel} step {}.{key}: {e}", step["id"]));
                }
            }
        }
        if let Some(output) = spec.get("output") {
            engine
                .render_value(output, &ctx)
                .unwrap_or_else(|e| panic!("{rel} output: {e}"));
        }
    }
}

#[test]
fn rails_demo_if_conditions() {
    let c = json!({"parameters": {"dryRun": true}});
    let r = |s: &str, c: &Value| is_truthy(t().render_value(&json!(s), c).unwrap().as_ref());
    assert!(!r("${{ parameters.dryRun !== true }}", &c));
    assert!(r("${{ parameters.dryRun }}", &c));
    assert!(r(
        "${{ parameters.dryRun !== true }}",
        &json!({"parameters": {}})
    ));
}

#[test]
fn many_small_strings_reuse_one_engine() {
    let engine = t();
    let c = engine.context(&ctx());
    for i in 0..2000 {
        let out = engine
            .render_value_in(&json!(format!("n-{i}-${{{{ parameters.count }}}}")), &c)
            .unwrap();
        assert_eq!(
            engine.render_str_in("${{ parameters.name }}", &c).unwrap(),
            "my-service"
        );
        assert_eq!(out, Some(json!(format!("n-{i}-3"))));
    }
}

#[test]
fn large_file_with_many_tags() {
    let line = "{% if parameters.enabled %}x{% endif %}{# c #}${{ parameters.name }}\n";
    let src = line.repeat(20_000);
    let out = t().render_str(&src, &ctx()).unwrap();
    assert_eq!(out, "xmy-service\n".repeat(20_000));
}

#[test]
fn unvetted_minijinja_filters_and_globals_are_gone() {
    for name in [
        "tojson",
        "format",
        "pprint",
        "attr",
        "urlencode",
        "zip",
        "chain",
    ] {
        let err = t()
            .render_str(&format!("${{{{ 'x' | {name} }}}}"), &ctx())
            .unwrap_err();
        assert!(err.0.contains("unknown filter"), "{name}: {err}");
    }
    for name in ["debug", "namespace"] {
        assert_eq!(render(&format!("[${{{{ {name} }}}}]")), "[]", "{name}");
        assert!(
            t().render_str(&format!("${{{{ {name}() }}}}"), &ctx())
                .is_err(),
            "{name}"
        );
    }
}

/// `+` is JavaScript's: strings win, `undefined`/`null` spell themselves, numbers add as numbers.
#[test]
fn plus_is_javascript_addition() {
    let c = json!({"a": 2, "b": 3, "s": "x", "arr": [1, 2], "obj": {"k": 1}, "t": true, "n": null});
    let r = |src: &str| {
        t().render_str(src, &c)
            .unwrap_or_else(|e| panic!("{src:?} failed: {e}"))
    };
    assert_eq!(
        r("${{ values.destination.owner + '/' + values.destination.repo }}"),
        "undefined/undefined"
    );
    assert_eq!(r(r#"${{ "port " + 8080 }}"#), "port 8080");
    assert_eq!(r(r#"${{ 1 + "a" }}"#), "1a");
    assert_eq!(r(r#"${{ null + "x" }}"#), "nullx");
    assert_eq!(r(r#"${{ n + "x" }}"#), "nullx");
    assert_eq!(r("${{ true + 1 }}"), "2");
    assert_eq!(r("${{ t + 1 }}"), "2");
    assert_eq!(r(r#"${{ [1,2] + "x" }}"#), "1,2x");
    assert_eq!(r(r#"${{ arr + "x" }}"#), "1,2x");
    assert_eq!(r("${{ obj + 1 }}"), "[object Object]1");
    assert_eq!(r("${{ 2 + 3 }}"), "5");
    assert_eq!(r("${{ 1.5 + 1 }}"), "2.5");
    assert_eq!(r("${{ undefined + 1 }}"), "NaN");
    assert_eq!(r("${{ 'a + b' }}"), "a + b");
    assert_eq!(r(r#"${{ s + "+" + '+' }}"#), "x++");
    // Precedence as Jinja (and Nunjucks) parse it.
    assert_eq!(r("${{ a * 2 + 1 }}"), "5");
    assert_eq!(r("${{ 1 + 2 * 3 }}"), "7");
    assert_eq!(r(r#"${{ "a" ~ 1 + 2 }}"#), "a3");
    assert_eq!(r("${{ a + 1 == 3 }}"), "true");
    assert_eq!(r("${{ a + b if t else 0 }}"), "5");
    assert_eq!(r("${{ a + b if n else 'no' }}"), "no");
    assert_eq!(r("${{ (s + 'y') | upper }}"), "XY");
    assert_eq!(r("${{ s + 'y' | upper }}"), "xY");
    assert_eq!(r("${{ arr | length + 1 }}"), "3");
    assert_eq!(r("${{ -1 + 2 }}"), "1");
    assert_eq!(r("${{ a - b + 10 }}"), "9");
    assert_eq!(r("${{ a + b - 10 }}"), "-5");
    // Nunjucks subtracts before it adds: "x" + (5 - 2).
    assert_eq!(r("${{ s + 5 - 2 }}"), "x3");
    assert_eq!(r("${{ not a + b }}"), "false");
    assert_eq!(r("${{ not n + n }}"), "true");
    assert_eq!(r("${{ a + b is defined }}"), "true");
    assert_eq!(r("${{ 2 ** 3 + 1 }}"), "9");
    assert_eq!(r("${{- a + b -}}"), "5");
    // Statements, arguments and filter arguments.
    assert_eq!(r("{% set x = s + 1 %}${{ x }}"), "x1");
    assert_eq!(r("{%- set x = a + b -%} ${{ x }}"), "5");
    assert_eq!(r("{% if s + 1 == 'x1' %}yes{% endif %}"), "yes");
    assert_eq!(r("{% if n %}{% elif a + b == 5 %}five{% endif %}"), "five");
    assert_eq!(r("{% for i in arr + [3] %}${{ i }}{% endfor %}"), "1,23");
    assert_eq!(r("{% for i in range(a + 1) %}${{ i }}{% endfor %}"), "012");
    assert_eq!(r(r#"${{ s | replace("x", s + a) }}"#), "x2");
    assert_eq!(r("${{ [a + 1, s + 1] | join('-') }}"), "3-x1");
    assert_eq!(r("${{ {'k': a + 1}.k }}"), "3");
    assert_eq!(r("${{ arr[a - 1 + 0] }}"), "2");
    assert_eq!(
        r("{% for k, v in {'p': s + 1} %}${{ k }}=${{ v }}{% endfor %}"),
        "p=x1"
    );
    assert_eq!(
        r("{% for i in arr %}${{ loop.index + i }}{% endfor %}"),
        "24"
    );
}

/// The single-expression path keeps the sum's JSON type.
#[test]
fn plus_keeps_types_in_single_expressions() {
    assert_eq!(value("${{ parameters.count + 1 }}"), Some(json!(4)));
    assert_eq!(value("${{ parameters.ratio + 1 }}"), Some(json!(2.5)));
    assert_eq!(value("${{ parameters.count + '1' }}"), Some(json!("31")));
    assert_eq!(
        value("${{ parameters.missing + '/x' }}"),
        Some(json!("undefined/x"))
    );
    // JSON.stringify(NaN) is null.
    assert_eq!(value("${{ parameters.missing + 1 }}"), Some(json!(null)));
    assert_eq!(
        t().eval_expression("parameters.name + '-' + parameters.count", &ctx())
            .unwrap(),
        Some(json!("my-service-3"))
    );
}

/// The rewrite's function is no door: called by name it adds, and nothing else.
#[test]
fn plus_function_is_only_addition() {
    assert_eq!(render("${{ __sd_js_add(1, 2) }}"), "3");
    assert!(t().render_str("${{ __sd_js_add(1) }}", &ctx()).is_err());
    assert!(t()
        .render_str("${{ __sd_js_add(1, 2, 3) }}", &ctx())
        .is_err());
    assert_eq!(value("${{ __sd_js_add }}"), None);
    for src in [
        "${{ __sd_js_add.__globals__ }}",
        "${{ __sd_js_add.constructor('return process')() }}",
        "${{ (1 + 2).__class__ }}",
    ] {
        if let Ok(out) = t().render_str(src, &ctx()) {
            assert!(out.trim().is_empty(), "{src} rendered {out:?}");
        }
    }
    // Sums are bounded like the output: each half fits, the whole does not.
    assert_eq!(render("${{ ('x' * 9000000) | length }}"), "9000000");
    let err = t()
        .render_str(
            "${{ (('x' * 9000000) + ('x' * 9000000)) | length }}",
            &ctx(),
        )
        .unwrap_err();
    assert!(err.0.contains("too large"), "{err}");
}

/// The gin skeleton's `values.destination.owner + "/" + values.destination.repo`, as Nunjucks prints it.
#[test]
fn gin_skeleton_project_slug() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../shared/fixtures/templates/sample-templates/local-template/gin-golan-template/skeleton/catalog-info.yaml",
    );
    let Ok(skel) = std::fs::read_to_string(&path) else {
        eprintln!("skipped: no fixture at {}", path.display());
        return;
    };
    let out = t()
        .render_str(
            &skel,
            &json!({"values": {"component_id": "svc", "owner": "group:a"}}),
        )
        .unwrap();
    assert!(
        out.contains("github.com/project-slug: undefined/undefined\n"),
        "{out}"
    );
    let out = t()
        .render_str(
            &skel,
            &json!({"values": {"component_id": "svc", "destination": {"owner": "o", "repo": "r"}}}),
        )
        .unwrap();
    assert!(out.contains("github.com/project-slug: o/r\n"), "{out}");
}

/// `~` and `*` go through capped functions that keep minijinja's results for ordinary values.
#[test]
fn concat_and_multiply_keep_their_results() {
    // `~` is Nunjucks' `a + "" + b`: JavaScript's `String()` of each side, so `null` and `undefined`
    // spell themselves.
    assert_eq!(render("${{ 'a' ~ 1 ~ none }}"), "a1null");
    assert_eq!(render("${{ parameters.missing ~ 'y' }}"), "undefinedy");
    assert_eq!(render("${{ 'x' ~ parameters.missing.deep }}"), "xundefined");
    assert_eq!(render("${{ parameters.tags ~ '' }}"), "a,b");
    assert_eq!(
        render("${{ parameters.name ~ '-' ~ parameters.count }}"),
        "my-service-3"
    );
    assert_eq!(render("${{ 1.5 ~ '|' ~ true }}"), "1.5|true");
    assert_eq!(render("${{ 2.0 ~ '' }}"), "2");
    assert_eq!(value("${{ 'a' ~ 1 }}"), Some(json!("a1")));
    // `*` multiplies numbers and repeats strings and lists (minijinja allowed these before; still does).
    assert_eq!(render("${{ 2 * 3 }}"), "6");
    assert_eq!(render("${{ 1.5 * 2 }}"), "3");
    assert_eq!(value("${{ parameters.count * 2 }}"), Some(json!(6)));
    assert_eq!(
        value("${{ parameters.count * parameters.ratio }}"),
        Some(json!(4.5))
    );
    assert_eq!(render("${{ 'ab' * 3 }}"), "ababab");
    assert_eq!(render("${{ 3 * 'ab' }}"), "ababab");
    assert_eq!(render("${{ [1, 2] * 2 }}"), "1,2,1,2");
    assert_eq!(render("${{ ([1, 2] * 2) | length }}"), "4");
    assert!(t().render_str("${{ 'a' * 'b' }}", &ctx()).is_err());
    assert!(t().render_str("${{ 'a' * -1 }}", &ctx()).is_err());
    // Slices keep minijinja's results.
    assert_eq!(render("${{ parameters.name[3:] }}"), "service");
    assert_eq!(render("${{ parameters.name[::-1] }}"), "ecivres-ym");
    assert_eq!(
        render("${{ parameters.name[:2] ~ parameters.name[-3:] | upper }}"),
        "myICE"
    );
    assert_eq!(render("${{ parameters.tags[1:] }}"), "b");
    assert_eq!(
        value("${{ parameters.tags[::-1] }}"),
        Some(json!(["b", "a"]))
    );
    assert_eq!(
        render("${{ parameters.name[1:parameters.count + 1] }}"),
        "y-s"
    );
    // Precedence as Nunjucks parses it.
    assert_eq!(render("${{ 'a' ~ 1 + 2 }}"), "a3");
    assert_eq!(render("${{ 1 + 2 * 3 }}"), "7");
    assert_eq!(render("${{ parameters.count * 2 + 1 }}"), "7");
    assert_eq!(render("${{ 10 - 2 * 3 }}"), "4");
    assert_eq!(render("${{ -2 * 3 }}"), "-6");
    assert_eq!(render("${{ 2 ** 3 * 2 }}"), "16");
    assert_eq!(render("${{ 7 % 4 * 2 }}"), "6");
    assert_eq!(render("${{ 'n=' ~ 2 * 3 ~ '!' }}"), "n=6!");
    assert_eq!(render("${{ ('a' ~ 'b') | upper }}"), "AB");
    // In statements.
    assert_eq!(render("{% set x = 'a' ~ parameters.count %}${{ x }}"), "a3");
    assert_eq!(render("{% if 'a' ~ 1 == 'a1' %}yes{% endif %}"), "yes");
    assert_eq!(
        render("{% for t in parameters.tags %}{% set s = 'v' ~ t %}${{ s }}{% endfor %}"),
        "vavb"
    );
    assert_eq!(
        render("{% macro m(x) %}${{ x ~ x }}{% endmacro %}${{ m('ab' * 2) }}"),
        "abababab"
    );
}

/// The operator functions are no door either: called by name they do what the operator does.
#[test]
fn operator_functions_are_only_operators() {
    assert_eq!(render("${{ __sd_concat('a', 1) }}"), "a1");
    assert_eq!(render("${{ __sd_mul(2, 3) }}"), "6");
    assert!(t()
        .render_str("${{ __sd_mul('x', 1000000000) }}", &ctx())
        .is_err());
    for src in [
        "${{ __sd_concat.__globals__ }}",
        "${{ __sd_mul.constructor('return process')() }}",
        "${{ ('a' ~ 'b').__class__ }}",
    ] {
        if let Ok(out) = t().render_str(src, &ctx()) {
            assert!(out.trim().is_empty(), "{src} rendered {out:?}");
        }
    }
}

/// Memory bombs through `~`, `*`, filters, macros and captured blocks stop with an error naming the limit.
#[test]
fn memory_bombs_fail() {
    let doubling = format!(
        "{{% set a = \"x\" %}}{}${{{{ a | length }}}}",
        "{% set a = a ~ a %}\n".repeat(40)
    );
    let many_sets: String = (0..40)
        .map(|i| format!("{{% set b{i} = a ~ {i} %}}"))
        .collect();
    let batches: String = (0..60)
        .map(|i| format!("{{% set b{i} = r | batch(100000) %}}"))
        .collect();
    let bombs = [
        (doubling, "more than 16777216 bytes"),
        (
            // Nested results count: one batch of 100000 items per line.
            format!("{{% set r = range(100000) | list %}}{batches}"),
            "template allocates too much",
        ),
        (
            "{% macro d(s, n) %}{% if n > 0 %}${{ d(s ~ s, n - 1) }}{% else %}${{ s | length }}{% endif %}{% endmacro %}${{ d('x', 60) }}".to_string(),
            "too large",
        ),
        (
            // Doubling through captured macro output, without any operator.
            "{% macro d(n) %}{% if n > 0 %}${{ d(n - 1) }}${{ d(n - 1) }}{% else %}${{ parameters.name * 100000 }}{% endif %}{% endmacro %}${{ d(12) | length }}".to_string(),
            "",
        ),
        (
            "{% set s = 'x' * 1000000 %}${{ s | replace('x', s) | length }}".to_string(),
            "more than 4194304 bytes",
        ),
        (
            "{% set n = 10 ** 9 %}${{ ('x' * n) | length }}".to_string(),
            "repeated string is too large (more than 16777216 bytes)",
        ),
        (
            "${{ ('ab' * (parameters.count * 100000000)) | length }}".to_string(),
            "repeated string is too large",
        ),
        (
            "${{ [1] * 10 ** 12 ~ '' }}".to_string(),
            "repeated sequence is too large (more than 100000 items)",
        ),
        (
            "${{ ([1] * (parameters.count ** 30)) | join }}".to_string(),
            "repeated sequence is too large",
        ),
        (
            "${{ (range(100000) | list) * 1000 }}".to_string(),
            "repeated sequence is too large",
        ),
        (
            format!("{{% set a = 'x' * 16000000 %}}{many_sets}"),
            "template allocates too much",
        ),
        (
            "{% set big = 'x' * 10000000 %}{% set cap %}{% for i in range(1000) %}${{ big }}{% endfor %}{% endset %}${{ cap | length }}".to_string(),
            "template allocates too much",
        ),
        (
            "{% set s = 'x' * 4000000 %}${{ ([s] * 1000) | map('upper') | list | length }}".to_string(),
            "template allocates too much",
        ),
        (
            "{% set s = 'x' * 4000000 %}{% for i in range(1000) %}{% set t = s | indent(0) %}{% endfor %}".to_string(),
            "template allocates too much",
        ),
    ];
    for (src, needle) in &bombs {
        let head = &src[..src.len().min(90)];
        match t().render_str(src, &ctx()) {
            Ok(out) => panic!("{head} should fail, rendered {} bytes", out.len()),
            Err(e) => assert!(e.0.contains(needle), "{head}: {e}"),
        }
    }
    // A slice kept alive in each frame of a recursive macro.
    let err = t()
        .render_str(
            "{% macro r(s, n) %}{% set t = s[::-1] %}{% if n > 0 %}${{ r(t, n - 1) }}{% endif %}{% endmacro %}${{ r('x' * 16000000, 150) }}",
            &ctx(),
        )
        .unwrap_err();
    assert!(err.0.contains("template allocates too much"), "{err}");
    // Text repeated into a captured block (no operator, no filter, nothing printed by the formatter).
    let text = "y".repeat(10_000);
    let src = format!(
        "{{% set c %}}{{% for i in range(1000) %}}{{% for j in range(1000) %}}{text}{{% endfor %}}{{% endfor %}}{{% endset %}}${{{{ c | length }}}}"
    );
    let err = t().render_str(&src, &ctx()).unwrap_err();
    assert!(err.0.contains("template allocates too much"), "{err}");
    let src = format!(
        "{{% macro m() %}}{text}{{% endmacro %}}{{% set c %}}{{% for i in range(100000) %}}${{{{ m() }}}}{{% endfor %}}{{% endset %}}"
    );
    assert!(t().render_str(&src, &ctx()).is_err());
    // The expression path too.
    let err = t()
        .eval_expression("'x' * (parameters.count * 10 ** 8)", &ctx())
        .unwrap_err();
    assert!(err.0.contains("too large"), "{err}");
}

/// Repeated bodies are charged for their text without changing a byte of the output's whitespace.
#[test]
fn charged_bodies_keep_their_whitespace() {
    let long = "0123456789".repeat(5);
    let src = format!(
        "{{% for t in parameters.tags %}}\n  {long} ${{{{ t }}}}\n  {{% for u in [1, 2] -%}}\n  {long}${{{{ u }}}}\n  {{%- endfor %}}\n{{% endfor %}}\n{{% macro m(x) +%}}\n{long}${{{{ x }}}}{{% endmacro %}}${{{{ m(1) }}}}|{{% macro w() %}}[${{{{ caller() }}}}]{{% endmacro %}}{{% call w() -%}}\n {long}{{% endcall %}}"
    );
    let plain = src.replace(&long, "L");
    for options in [
        TemplaterOptions::default(),
        TemplaterOptions {
            trim_blocks: true,
            lstrip_blocks: true,
            ..TemplaterOptions::default()
        },
    ] {
        let engine = Templater::with_options(options);
        let charged = engine.render_str(&src, &ctx()).unwrap();
        let uncharged = engine.render_str(&plain, &ctx()).unwrap();
        assert!(compat::rewrite_template(&src, "${{").contains("__sd_text("));
        assert!(!compat::rewrite_template(&plain, "${{").contains("__sd_text("));
        assert_eq!(charged.replace(&long, "L"), uncharged, "{options:?}");
    }
}

/// One input tree is bounded as a whole, not only string by string.
#[test]
fn input_trees_are_bounded_as_a_whole() {
    let one = json!("${{ 'x' * 16000000 }}");
    let many = json!({"a": [one.clone(), one.clone(), one.clone(), one.clone(), one.clone()]});
    assert!(matches!(t().render_value(&one, &ctx()), Ok(Some(_))));
    let err = t().render_value(&many, &ctx()).unwrap_err();
    assert!(err.0.contains("rendered values are too large"), "{err}");
    let text = Value::Array(vec![json!("${{ 'x' * 16000000 }}!"); 5]);
    let err = t().render_value(&text, &ctx()).unwrap_err();
    assert!(err.0.contains("rendered values are too large"), "{err}");
}
