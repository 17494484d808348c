//! Self-grading labs: `hoplab list`, `hoplab test` (its table, JSON and JUnit, exit codes),
//! `requires: [net_admin]`, exercise steps with `--answers`, and the break-and-fix labs of
//! `scenarios/exercises/` with their twins in `scenarios/exercises/solutions/`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{repo, text};

const EXERCISES: &str = "scenarios/exercises";
const SOLUTIONS: &str = "scenarios/exercises/solutions";
const MODELINE: &str = "# yaml-language-server: $schema=";

/// The CLI, run from the repository, with the grading environment variables unset: the
/// tests that want them set them, and CI's HOPLAB_REQUIRE_PRIVILEGED=1 would otherwise turn
/// the skip test's expected exit 0 into 1.
fn hoplab() -> Command {
    let mut c = common::hoplab();
    c.current_dir(repo())
        .env_remove("HOPLAB_REQUIRE_PRIVILEGED")
        .env_remove("HOPLAB_NO_NET_ADMIN");
    c
}

fn run(args: &[&str]) -> Output {
    hoplab().args(args).output().expect("run hoplab")
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p.to_str().unwrap().to_string()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}\nstdout: {}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

/// `hoplab test --junit` into a temporary file: the output and the XML.
fn test_junit(args: &[&str]) -> (Output, String) {
    let d = tempfile::tempdir().unwrap();
    let junit = d.path().join("junit.xml");
    let mut all = vec!["test"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--junit", junit.to_str().unwrap()]);
    let out = run(&all);
    let xml = std::fs::read_to_string(&junit).unwrap_or_default();
    (out, xml)
}

/// The `<testcase ...>` elements of a JUnit file, each up to its end.
fn testcases(xml: &str) -> Vec<&str> {
    xml.split("<testcase ").skip(1).collect()
}

fn labs_in(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    v.sort();
    v
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_str().unwrap().to_string()
}

#[test]
fn list_shows_each_top_level_lab_with_its_name_and_about() {
    let out = run(&["list"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let labs = common::labs();
    assert_eq!(lines.len(), labs.len(), "{stdout}");
    let mut name_column = None;
    for (line, path) in lines.iter().zip(&labs) {
        let file = file_name(path);
        assert!(line.starts_with(&format!("{file} ")), "{line}");
        let body = std::fs::read_to_string(path).unwrap();
        let name = body
            .lines()
            .find_map(|l| l.strip_prefix("name: "))
            .unwrap()
            .trim();
        let about = body
            .lines()
            .skip_while(|l| !l.starts_with("about:"))
            .nth(1)
            .unwrap()
            .trim();
        // Columns line up: every lab's name starts at the same offset.
        let at = line.find(&format!(" {name} ")).unwrap() + 1;
        assert_eq!(*name_column.get_or_insert(at), at, "{stdout}");
        assert!(line.trim_end().ends_with(about), "{line}\n{about}");
    }
    assert!(!stdout.contains("exercises"), "subdirectories are not labs");
}

#[test]
fn list_of_a_directory_that_cannot_be_read_is_exit_2() {
    let out = run(&["list", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot read no/such/dir"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn test_of_scenarios_passes_with_a_junit_testcase_per_lab() {
    let _kernel = common::real_kernel();
    let (out, xml) = test_junit(&["scenarios/"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let labs = common::labs();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite "));
    assert!(
        xml.contains(&format!(
            "tests=\"{}\" failures=\"0\" errors=\"0\"",
            labs.len()
        )),
        "{xml}"
    );
    let cases = testcases(&xml);
    assert_eq!(cases.len(), labs.len(), "{xml}");
    for (case, lab) in cases.iter().zip(&labs) {
        assert!(case.contains(&file_name(lab)), "{case}");
        assert!(!case.contains("<failure"), "{case}");
    }
    // The table: a row per lab, each passed.
    for lab in &labs {
        let row = stdout
            .lines()
            .find(|l| l.contains(&file_name(lab)))
            .unwrap_or_else(|| panic!("{stdout}"));
        assert!(row.ends_with(" pass"), "{row}");
    }
    assert!(stdout.contains(&format!("{} labs: {0} passed, 0 failed", labs.len())));
}

#[test]
fn test_json_has_one_entry_per_lab() {
    let _kernel = common::real_kernel();
    let out = run(&["test", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = json(&out);
    assert_eq!(report["version"], 1);
    let entries = report["labs"].as_array().unwrap();
    let labs = common::labs();
    assert_eq!(entries.len(), labs.len());
    for (e, lab) in entries.iter().zip(&labs) {
        assert_eq!(e["file"], format!("scenarios/{}", file_name(lab)));
        assert_eq!(e["result"], "pass", "{e}");
        assert_eq!(e["failed"], 0);
        assert!(e["passed"].as_u64().unwrap() > 0);
        assert_eq!(e["name"], e["report"]["lab"]);
        assert_eq!(e["report"]["passed"], true);
    }
    assert_eq!(report["passed"], labs.len());
}

#[test]
fn test_counts_capture_expectations_as_run_does_and_leaves_no_captures() {
    let lab = "scenarios/01-arp-and-mac-learning.yaml";
    let tmp = tempfile::tempdir().unwrap();
    let out = hoplab()
        .args(["test", lab, "--json"])
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let tested = json(&out)["labs"][0]["report"].clone();
    // The captures went to a temporary directory, deleted afterwards.
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");

    let captures = tempfile::tempdir().unwrap();
    let out = run(&[
        "run",
        lab,
        "--json",
        "--out",
        captures.path().to_str().unwrap(),
    ]);
    let ran = json(&out);
    assert!(!ran["expectations"].as_array().unwrap().is_empty());
    assert_eq!(tested["expectations"], ran["expectations"]);
    let frames = |r: &serde_json::Value| -> Vec<(String, u64)> {
        r["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["point"].to_string(), f["frames"].as_u64().unwrap()))
            .collect()
    };
    assert_eq!(frames(&tested), frames(&ran));
}

#[test]
fn test_of_an_empty_directory_is_exit_2() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("sub")).unwrap();
    write(&d.path().join("sub"), "lab.yaml", "version: 1\nname: x\n");
    let out = run(&["test", d.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no lab"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_bad_lab_file_is_reported_located_and_is_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let good =
        std::fs::read_to_string(repo().join("scenarios/01-arp-and-mac-learning.yaml")).unwrap();
    write(d.path(), "a-good.yaml", &good);
    let bad = write(
        d.path(),
        "b-bad.yaml",
        "version: 1\nname: x\nhosts:\n  - {name: a, interfacs: {}}\n",
    );
    let (out, xml) = test_junit(&[d.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("{bad}:4:15: field 'interfacs'")),
        "{stdout}"
    );
    let cases = testcases(&xml);
    assert_eq!(cases.len(), 2, "{xml}");
    assert!(!cases[0].contains("<failure") && !cases[0].contains("<error"));
    assert!(cases[1].contains("<error message=\"bad input\">"), "{xml}");
    assert!(xml.contains("errors=\"1\""), "{xml}");

    let report = json(&run(&["test", d.path().to_str().unwrap(), "--json"]));
    assert_eq!(report["labs"][1]["result"], "error");
    assert!(
        report["labs"][1]["error"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{bad}:4:15: "))
    );
}

#[test]
fn junit_escapes_the_failed_checks_text() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        d.path(),
        "lab.yaml",
        "version: 1\nname: x\ncaptures: none\nhosts:\n  - {name: a, interfaces: {eth0: 10.0.0.1/24}}\nsteps:\n  - {on: a, show: ip addr, expect: {contains: [\"<b>&'q\\\"\"]}}\n",
    );
    let (out, xml) = test_junit(&[&f]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        xml.contains("<failure message=\"1 of 1 expectations failed\">"),
        "{xml}"
    );
    assert!(
        xml.contains("output contains \"&lt;b&gt;&amp;'q\\\"\"</failure>"),
        "{xml}"
    );
    assert!(!xml.contains("<b>"), "{xml}");
}

fn net_admin_lab(dir: &Path) -> String {
    let lab = std::fs::read_to_string(repo().join("scenarios/01-arp-and-mac-learning.yaml"))
        .unwrap()
        .replacen("\nseed: ", "\nrequires: [net_admin]\nseed: ", 1);
    assert!(lab.contains("requires: [net_admin]"));
    write(dir, "needs-net-admin.yaml", &lab)
}

#[test]
fn a_lab_that_requires_net_admin_is_skipped_without_it() {
    let d = tempfile::tempdir().unwrap();
    let f = net_admin_lab(d.path());
    let junit = d.path().join("junit.xml");
    let out = hoplab()
        .args(["test", &f, "--junit", junit.to_str().unwrap()])
        .env("HOPLAB_NO_NET_ADMIN", "1")
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains(" skipped\n"), "{stdout}");
    assert!(stdout.contains("requires CAP_NET_ADMIN"), "{stdout}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<skipped message=\"requires CAP_NET_ADMIN (requires: [net_admin]), which this process lacks\"/>"),
        "{xml}"
    );

    // With HOPLAB_REQUIRE_PRIVILEGED=1 the skip is a failure.
    let out = hoplab()
        .args(["test", &f, "--json"])
        .env("HOPLAB_NO_NET_ADMIN", "1")
        .env("HOPLAB_REQUIRE_PRIVILEGED", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lab = &json(&out)["labs"][0];
    assert_eq!(lab["result"], "fail");
    assert!(
        lab["reason"]
            .as_str()
            .unwrap()
            .contains("HOPLAB_REQUIRE_PRIVILEGED=1")
    );

    // `hoplab run` refuses it, naming the capability and the fix.
    let out = hoplab()
        .args(["run", &f, "--capture", "none"])
        .env("HOPLAB_NO_NET_ADMIN", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("CAP_NET_ADMIN"), "{err}");
    assert!(err.contains("sudo"), "{err}");
    assert!(err.contains("setcap cap_net_admin+ep"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn exercises_fail_and_their_solutions_pass() {
    let out = run(&["test", EXERCISES]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let labs = labs_in(EXERCISES);
    assert!(labs.len() >= 4);
    let stdout = text(&out.stdout);
    for lab in &labs {
        let row = stdout
            .lines()
            .find(|l| l.contains(&file_name(lab)))
            .unwrap();
        assert!(row.ends_with(" FAIL"), "{row}");
    }
    let out = run(&["test", SOLUTIONS]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn run_exits_1_on_each_exercise_and_0_on_each_solution() {
    for (dir, code) in [(EXERCISES, 1), (SOLUTIONS, 0)] {
        for lab in labs_in(dir) {
            let out = run(&["run", lab.to_str().unwrap(), "--capture", "none"]);
            assert_eq!(
                out.status.code(),
                Some(code),
                "{}\n{}",
                lab.display(),
                text(&out.stdout)
            );
        }
    }
}

/// Lines of `a` and of `b` that are not in their longest common subsequence.
fn changed_lines(a: &[&str], b: &[&str]) -> (usize, usize) {
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = match a[i] == b[j] {
                true => lcs[i + 1][j + 1] + 1,
                false => lcs[i + 1][j].max(lcs[i][j + 1]),
            };
        }
    }
    (a.len() - lcs[0][0], b.len() - lcs[0][0])
}

#[test]
fn each_exercise_has_a_twin_that_differs_only_in_the_fault() {
    let exercises = labs_in(EXERCISES);
    let solutions = labs_in(SOLUTIONS);
    assert_eq!(
        exercises.iter().map(|p| file_name(p)).collect::<Vec<_>>(),
        solutions.iter().map(|p| file_name(p)).collect::<Vec<_>>()
    );
    for (e, s) in exercises.iter().zip(&solutions) {
        let (e_text, s_text) = (
            std::fs::read_to_string(e).unwrap(),
            std::fs::read_to_string(s).unwrap(),
        );
        for t in [&e_text, &s_text] {
            assert!(t.starts_with(MODELINE), "{}", e.display());
            assert_eq!(t.matches("exercise:").count(), 1, "{}", e.display());
            assert!(t.contains("\nexpect:\n"), "{}", e.display());
        }
        // The schema comment names the schema relative to each file, so it differs by a
        // `../`; it is a comment, not part of the lab.
        let body = |t: &str| -> Vec<String> {
            t.lines()
                .filter(|l| !l.starts_with(MODELINE))
                .map(String::from)
                .collect()
        };
        let (eb, sb) = (body(&e_text), body(&s_text));
        let eb: Vec<&str> = eb.iter().map(String::as_str).collect();
        let sb: Vec<&str> = sb.iter().map(String::as_str).collect();
        let (removed, added) = changed_lines(&eb, &sb);
        let changed = removed.max(added);
        assert!(
            (1..=3).contains(&changed),
            "{}: {removed} lines removed, {added} added",
            e.display()
        );
        // Same capture expectations: the `expect:` block is the file's tail.
        let tail = |t: &str| t[t.find("\nexpect:\n").unwrap()..].to_string();
        assert_eq!(tail(&e_text), tail(&s_text), "{}", e.display());
    }
}

/// The right answer and a wrong one for each exercise lab.
const ANSWERS: &[(&str, &str, &str)] = &[
    (
        "01-wrong-netmask.yaml",
        "wrong-netmask:\n  - ip addr del 10.0.1.10/16 dev eth0\n  - ip addr add 10.0.1.10/24 dev eth0\n  - ip route add default via 10.0.1.1\n",
        // The address is fixed, but deleting it took the default route with it.
        "wrong-netmask: |\n  ip addr del 10.0.1.10/16 dev eth0\n  ip addr add 10.0.1.10/24 dev eth0\n",
    ),
    (
        "02-missing-default-route.yaml",
        "missing-default-route: ip route add default via 203.0.113.1\n",
        "missing-default-route: ip route add default via 192.168.10.11\n",
    ),
    (
        "03-missing-masquerade.yaml",
        "missing-masquerade:\n  - iptables -t nat -A POSTROUTING -s 10.0.0.0/24 -o eth1 -j MASQUERADE\n",
        "missing-masquerade:\n  - iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE\n",
    ),
    (
        "04-docker-user-return-traffic.yaml",
        "docker-user-return-traffic:\n  - iptables -I DOCKER-USER -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n",
        // Opens the port to everyone.
        "docker-user-return-traffic:\n  - iptables -F DOCKER-USER\n",
    ),
];

#[test]
fn right_answers_pass_and_wrong_ones_fail() {
    assert_eq!(ANSWERS.len(), labs_in(EXERCISES).len());
    let d = tempfile::tempdir().unwrap();
    for (lab, right, wrong) in ANSWERS {
        let path = format!("{EXERCISES}/{lab}");
        let id = right.split(':').next().unwrap();
        for (answer, code) in [(right, 0), (wrong, 1)] {
            let answers = write(d.path(), "answers.yaml", answer);
            let (out, xml) = test_junit(&[&path, "--answers", &answers]);
            assert_eq!(
                out.status.code(),
                Some(code),
                "{lab}: {answer}\n{}",
                text(&out.stdout)
            );
            let cases = testcases(&xml);
            assert_eq!(cases.len(), 2, "{xml}");
            assert!(
                cases[1].contains(&format!("name=\"exercise {id}\"")),
                "{xml}"
            );
            assert_eq!(cases[1].contains("<failure"), code == 1, "{xml}");
        }
    }
}

#[test]
fn answers_run_as_steps_and_a_failing_command_fails_the_exercise() {
    let d = tempfile::tempdir().unwrap();
    // The fix, then a command that exits 1: the lab passes, the exercise does not.
    let answers = write(
        d.path(),
        "answers.yaml",
        "missing-default-route: |\n  ip route add default via 203.0.113.1\n  ping -c 1 -W 1 192.0.2.99\n",
    );
    let lab = format!("{EXERCISES}/02-missing-default-route.yaml");
    let out = run(&["test", &lab, "--answers", &answers, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = json(&out);
    let entry = &report["labs"][0];
    assert_eq!(entry["result"], "pass");
    let ex = &entry["exercises"][0];
    assert_eq!(ex["id"], "missing-default-route");
    assert_eq!(ex["answered"], true);
    assert_eq!(ex["result"], "fail");
    assert_eq!(ex["commands"][0]["exit_code"], 0);
    assert_eq!(ex["commands"][1]["exit_code"], 1);
    let steps = entry["report"]["steps"].as_array().unwrap();
    let answered: Vec<_> = steps
        .iter()
        .filter(|s| s["exercise"] == "missing-default-route")
        .map(|s| (s["kind"].as_str().unwrap(), s["command"].as_str().unwrap()))
        .collect();
    assert_eq!(
        answered,
        [
            ("exercise", "exercise missing-default-route"),
            ("run", "ip route add default via 203.0.113.1"),
            ("run", "ping -c 1 -W 1 192.0.2.99"),
        ]
    );
    let ping = steps
        .iter()
        .find(|s| s["command"] == "ping -c 1 -W 1 192.0.2.99")
        .unwrap();
    assert!(
        ping["result"]["output"]
            .as_str()
            .unwrap()
            .contains("1 packets transmitted, 0 received")
    );
}

#[test]
fn an_answer_to_an_unknown_exercise_is_a_located_error() {
    let d = tempfile::tempdir().unwrap();
    let answers = write(
        d.path(),
        "answers.yaml",
        "missing-default-route: ip route add default via 203.0.113.1\nmissing-defualt-route: ip route\n",
    );
    let lab = format!("{EXERCISES}/02-missing-default-route.yaml");
    let out = run(&["test", &lab, "--answers", &answers]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr).trim_end(),
        format!(
            "{answers}:2:1: field 'missing-defualt-route': no exercise 'missing-defualt-route' (did you mean 'missing-default-route'?)"
        )
    );
    assert!(out.stdout.is_empty(), "nothing ran");
}

#[test]
fn run_prints_an_exercise_prompt_and_runs_nothing() {
    let lab = format!("{EXERCISES}/03-missing-masquerade.yaml");
    let out = run(&["run", &lab, "--capture", "none", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    let steps = report["steps"].as_array().unwrap();
    let ex: Vec<_> = steps.iter().filter(|s| s["kind"] == "exercise").collect();
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0]["exercise"], "missing-masquerade");
    assert_eq!(ex[0]["on"], "gw");
    assert!(
        ex[0]["prompt"]
            .as_str()
            .unwrap()
            .starts_with("Make the home network")
    );
    assert!(ex[0].get("result").is_none());
    assert!(
        !steps
            .iter()
            .any(|s| s["kind"] == "run" && s["exercise"].is_string())
    );

    let out = run(&["run", &lab, "--capture", "none"]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("gw: exercise missing-masquerade\n  Make the home network"),
        "{stdout}"
    );
}

#[test]
fn a_bad_exercise_step_is_a_located_error() {
    let d = tempfile::tempdir().unwrap();
    let head = "version: 1\nname: x\nbridges: [{name: br0}]\nhosts: [{name: a, interfaces: {eth0: 10.0.0.1/24}}]\nsteps:\n";
    for (step, error) in [
        (
            "  - {on: br0, exercise: {id: e1, prompt: p}}\n",
            ":6:30: field 'on': br0 is a bridge; an exercise is on a host or router",
        ),
        (
            "  - {on: a, exercise: {id: e1, prompt: p}}\n  - {on: a, exercise: {id: e1, prompt: q}}\n",
            ":7:28: field 'id': duplicate exercise id 'e1'",
        ),
        (
            "  - {on: a, exercise: {id: \"e 1\", prompt: p}}\n",
            ":6:28: field 'id': 'e 1' is not a valid exercise id (letters, digits, - _ .)",
        ),
        (
            "  - {on: a, run: ping -c 1 10.0.0.1, exercise: {id: e1, prompt: p}}\n",
            ":6:10: field 'run': a step does exactly one of run, show, link or exercise",
        ),
    ] {
        let f = write(d.path(), "lab.yaml", &format!("{head}{step}"));
        let out = run(&["check", &f]);
        assert_eq!(out.status.code(), Some(2), "{step}");
        assert_eq!(
            text(&out.stderr).trim_end(),
            format!("{f}{error}"),
            "{step}"
        );
    }
}
