//! The JSON Schemas shipped in `schemas/`: they are what the serde types derive
//! (`hoplab::scenario::schema`), every shipped lab conforms to the lab schema and names it on
//! its first line, every shipped lab's `run --json` output conforms to the run schema, and the
//! lab schema accepts and refuses what the loader does.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use hoplab::scenario::schema::{lab_schema, run_schema, test_schema};
use jsonschema::Validator;
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `path` as the repository names it, for messages.
fn shown(path: &Path) -> String {
    path.strip_prefix(repo())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The shipped schema `name` (`lab` or `run`), as editors and users get it.
fn shipped(name: &str) -> Value {
    let path = repo().join(format!("schemas/{name}.schema.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (see schemas_are_current)", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn validator(name: &str) -> Validator {
    // `draft7::new` also checks the schema against draft 7's meta-schema.
    jsonschema::draft7::new(&shipped(name))
        .unwrap_or_else(|e| panic!("schemas/{name}.schema.json is not a valid draft 7 schema: {e}"))
}

/// Every way `instance` breaks the schema, one line each (empty when it conforms).
fn violations(v: &Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("at '{}': {e}", e.instance_path()))
        .collect()
}

/// A YAML text as the JSON value an editor validates.
fn yaml_to_json(text: &str) -> Value {
    serde_saphyr::from_str(text).expect("the YAML parses")
}

/// The labs under `dir`: every `.yaml` at any depth, sorted.
fn lab_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn schemas_are_current() {
    let update = std::env::var_os("HOPLAB_UPDATE_SCHEMAS").is_some();
    let mut stale = Vec::new();
    for (name, schema) in [
        ("lab", lab_schema()),
        ("run", run_schema()),
        ("test", test_schema()),
    ] {
        let path = repo().join(format!("schemas/{name}.schema.json"));
        let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(shown(&path));
        }
    }
    assert!(
        stale.is_empty(),
        "out of date (not what the serde types derive): {}; regenerate with \
         `HOPLAB_UPDATE_SCHEMAS=1 cargo test --test schemas` and commit the result",
        stale.join(", ")
    );
}

#[test]
fn every_shipped_lab_conforms_to_the_lab_schema_and_names_it() {
    let v = validator("lab");
    let root = repo().join("scenarios");
    let labs = lab_files(&root);
    assert!(labs.len() >= 13, "found only {labs:?}");
    let mut bad = Vec::new();
    for lab in &labs {
        let text = std::fs::read_to_string(lab).unwrap();
        // yaml-language-server resolves the path against the lab's own folder.
        let depth = lab.strip_prefix(&root).unwrap().components().count();
        let want = format!(
            "# yaml-language-server: $schema={}schemas/lab.schema.json",
            "../".repeat(depth)
        );
        if text.lines().next() != Some(want.as_str()) {
            bad.push(format!("{}: the first line is not `{want}`", shown(lab)));
        }
        for e in violations(&v, &yaml_to_json(&text)) {
            bad.push(format!("{}: {e}", shown(lab)));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// A lab with a `link` step, the one kind of step no shipped lab has.
const LINK_STEP_LAB: &str = "\
version: 1
name: link-step
hosts:
  - {name: a, interfaces: {eth0: 10.0.0.1/24}}
  - {name: b, interfaces: {eth0: 10.0.0.2/24}}
links: [[a:eth0, b:eth0]]
steps:
  - {link: a:eth0, set: down}
  - {on: a, run: ping -c 1 -W 1 10.0.0.2, expect: {received: 0}}
";

/// Every shipped lab's `run --json` (exercises too: their steps are of their own kind) and
/// `LINK_STEP_LAB`'s conform to the run schema, and between them they show every step kind
/// the schema names, so the schema's list is neither short nor padded.
#[test]
fn every_labs_json_report_conforms_to_the_run_schema() {
    let _kernel = common::real_kernel();
    let v = validator("run");
    let scratch = tempfile::tempdir().unwrap();
    let link_lab = scratch.path().join("link-step.yaml");
    std::fs::write(&link_lab, LINK_STEP_LAB).unwrap();
    let mut labs = lab_files(&repo().join("scenarios"));
    labs.push(link_lab);
    let mut bad = Vec::new();
    let mut kinds = std::collections::BTreeSet::new();
    let mut files = 0;
    for lab in &labs {
        let out_dir = tempfile::tempdir().unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_hoplab"))
            .arg("run")
            .arg(lab)
            .arg("--json")
            .arg("--out")
            .arg(out_dir.path())
            .output()
            .unwrap();
        // 0 and 1 (an expectation failed, or an exercise has no answers) both print the
        // report; other tests ask which it should be.
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{}: {}",
            shown(lab),
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        for e in violations(&v, &report) {
            bad.push(format!("{}: {e}", shown(lab)));
        }
        for step in report["steps"].as_array().into_iter().flatten() {
            kinds.insert(step["kind"].to_string());
        }
        files += report["files"].as_array().map_or(0, Vec::len);
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    let named: std::collections::BTreeSet<String> =
        shipped("run")["definitions"]["StepKind"]["enum"]
            .as_array()
            .expect("the run schema names the step kinds")
            .iter()
            .map(Value::to_string)
            .collect();
    assert_eq!(
        kinds, named,
        "step kinds seen in reports vs. named by the schema"
    );
    // The capture files' entries are tried against the schema too.
    assert!(files > 0, "no report listed a capture file");
}

/// Every short form the loader's own `Deserialize` impls accept, each of which the schema
/// must accept too: interfaces as an address, a map or nothing; links as a pair or a map;
/// durations and rates as bare numbers. `DOCKER_ONE` and `DOCKER_LIST` follow it.
const SHORT_FORMS: &str = "\
version: 1
name: short-forms
settle: 2
bridges:
  - {name: br0, ageing: 0}
hosts:
  - name: a
    interfaces: {eth0: 10.0.0.1/24, eth1: {ip: 10.0.1.1/24, mac: \"02:00:00:00:00:0a\", mtu: 1400}, eth2: }
  - name: b
    interfaces:
      eth0: 10.0.0.2/24
links:
  - [a:eth0, br0:p1]
  - {a: b:eth0, b: br0:p2, delay: 1ms, loss: 0.01, rate: 1000000}
steps:
  - {at: 1, on: a, run: ping -c 1 10.0.0.2, timeout: 5, expect: {received: 1}}
";

/// `docker:` as one map; a container's networks as a name and as a map; a published port as
/// a number.
const DOCKER_ONE: &str = "\
docker:
  host: {eth0: 192.0.2.10/24}
  networks: [{name: app}]
  containers:
    - {name: web, networks: [{name: app, aliases: [www]}, bridge], publish: [80, \"8080:81\"]}
";

/// `docker:` as a list of hosts.
const DOCKER_LIST: &str = "\
docker:
  - host: {eth0: 192.0.2.10/24}
    containers: [{name: web, publish: [\"8080:80/tcp\"]}]
  - host: {name: other, eth0: 192.0.2.11/24}
";

#[test]
fn the_lab_schema_accepts_every_short_form_the_loader_reads() {
    let v = validator("lab");
    for docker in [DOCKER_ONE, DOCKER_LIST] {
        let text = format!("{SHORT_FORMS}{docker}");
        hoplab::scenario::parse(&text, "lab.yaml")
            .unwrap_or_else(|e| panic!("the loader refuses the lab:\n{e}\n{text}"));
        let errors = violations(&v, &yaml_to_json(&text));
        assert!(errors.is_empty(), "{}\n{text}", errors.join("\n"));
    }
}

#[test]
fn the_lab_schema_refuses_unknown_fields_and_wrong_types_as_the_loader_does() {
    let v = validator("lab");
    let host = "hosts:\n  - {name: h1, interfaces: {eth0: 10.0.0.1/24, eth1: 10.0.1.1/24}";
    let cases = [
        // A typo'd field at the top, in a host, in a link's map and in a Docker container.
        "version: 1\nname: x\nseeed: 2\n".to_string(),
        format!("version: 1\nname: x\n{host}, gatewya: 10.0.0.254}}\n"),
        format!("version: 1\nname: x\n{host}}}\nlinks: [{{a: h1:eth0, b: h1:eth1, dealy: 1ms}}]\n"),
        "version: 1\nname: x\ndocker: {host: {eth0: 192.0.2.10/24}, containers: [{name: c, imgae: nginx}]}\n"
            .to_string(),
        // Wrong types: text for a number, a string for a list, a list for a map, a link
        // with one end, a map where a step's expectations list texts.
        "version: 1\nname: x\nseed: abc\n".to_string(),
        "version: 1\nname: x\nhosts: h1\n".to_string(),
        "version: 1\nname: x\nhosts: [{name: h1, interfaces: [eth0]}]\n".to_string(),
        format!("version: 1\nname: x\n{host}}}\nlinks: [[h1:eth0]]\n"),
        format!("version: 1\nname: x\n{host}}}\nsteps: [{{on: h1, run: ls, expect: {{contains: {{a: b}}}}}}]\n"),
    ];
    for text in &cases {
        assert!(
            hoplab::scenario::parse(text, "lab.yaml").is_err(),
            "the loader should refuse:\n{text}"
        );
        assert!(
            !violations(&v, &yaml_to_json(text)).is_empty(),
            "the schema should refuse what the loader refuses:\n{text}"
        );
    }
}

/// Each value a schema enum offers (an editor completes them) is one the loader accepts.
#[test]
fn every_value_the_lab_schema_enumerates_loads() {
    let schema = shipped("lab");
    let lab = "version: 1\nname: x\n";
    let pair = "hosts: [{name: a, interfaces: {eth0: 10.0.0.1/24}}, {name: b, interfaces: {eth0: 10.0.0.2/24}}]\nlinks: [[a:eth0, b:eth0]]\n";
    let docker = "docker: {host: {eth0: 192.0.2.10/24}";
    let templates = [
        ("Version", "version: {}\nname: x\n".to_string()),
        ("Captures", format!("{lab}captures: {{}}\n")),
        ("Requirement", format!("{lab}requires: [{{}}]\n")),
        (
            "LinkState",
            format!("{lab}{pair}steps: [{{link: a:eth0, set: {{}}}}]\n"),
        ),
        (
            "IptablesVersion",
            format!(
                "{lab}routers: [{{name: r, interfaces: {{eth0: 10.0.0.1/24}}, iptables_version: {{}}}}]\n"
            ),
        ),
        (
            "IptablesVersion",
            format!("{lab}{docker}, iptables_version: {{}}}}\n"),
        ),
        ("Engine", format!("{lab}{docker}, engine: {{}}}}\n")),
        (
            "GatewayMode",
            format!("{lab}{docker}, networks: [{{name: n, gateway_mode_ipv4: {{}}}}]}}\n"),
        ),
    ];
    let mut tried = 0;
    for (name, template) in &templates {
        let values = schema["definitions"][name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("the lab schema has no enum {name}"));
        assert!(!values.is_empty(), "{name}");
        for value in values {
            // A JSON string or number is a YAML scalar as it stands (quoted strings stay
            // strings: `1.8.10` must not become a number).
            let text = template.replacen("{}", &value.to_string(), 1);
            if let Err(e) = hoplab::scenario::parse(&text, "lab.yaml") {
                panic!("{name} offers {value}, which the loader refuses:\n{e}\n{text}");
            }
            tried += 1;
        }
    }
    assert!(tried >= 16, "only {tried} values tried");
}

/// The schema comment on a lab's first line is a line like any other: errors still name the
/// line they are on.
#[test]
fn errors_keep_their_lines_under_the_schema_comment() {
    let text = "# yaml-language-server: $schema=../schemas/lab.schema.json\n\
                version: 1\n\
                name: x\n\
                hosts:\n  - name: h1\n    interfaces: {eth0: 10.0.0.300/24}\n";
    let errors = hoplab::scenario::parse(text, "lab.yaml").unwrap_err();
    let e = &errors.0[0];
    assert_eq!((e.line, e.field.as_str()), (6, "ip"), "{errors}");
}

#[test]
fn hoplab_tests_json_report_conforms_to_the_test_schema() {
    let _kernel = common::real_kernel();
    let v = validator("test");
    let mut checked = 0;
    // Passing labs, failing ones, and a directory with both.
    for dir in [
        "scenarios",
        "scenarios/exercises",
        "scenarios/exercises/solutions",
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_hoplab"))
            .args(["test", dir, "--json"])
            .current_dir(repo())
            .env_remove("HOPLAB_REQUIRE_PRIVILEGED")
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{dir}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
        let bad = violations(&v, &report);
        assert!(bad.is_empty(), "{dir}: {}", bad.join("\n"));
        checked += report["labs"].as_array().map_or(0, Vec::len);
    }
    assert!(checked >= 21, "only {checked} labs checked");
    // The schema is closed: an unknown field fails.
    let mut report: Value = serde_json::json!({"version": 1, "labs": [], "passed": 0,
        "failed": 0, "skipped": 0, "errors": 0, "interrupted": false});
    assert!(violations(&v, &report).is_empty());
    report["extra"] = Value::Bool(true);
    assert!(!violations(&v, &report).is_empty());
}
