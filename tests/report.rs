//! `hoplab run --report DIR`: the HTML page exists, fetches nothing, draws every node and
//! the frame ladder, renders in headless Chromium without a script error, and shows what
//! failed.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{have_tool, repo, run, text};

/// Runs `lab` with `--out` and `--report` in a new temporary directory.
fn run_with_report(lab: &Path) -> (Output, tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let captures = dir.path().join("captures");
    let report = dir.path().join("report");
    let out = run(&[
        "run",
        lab.to_str().unwrap(),
        "--out",
        captures.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    (out, dir, report.join("index.html"))
}

fn page(index: &Path) -> String {
    std::fs::read_to_string(index).unwrap_or_else(|e| panic!("{}: {e}", index.display()))
}

/// Every value of `attr="..."` in the page.
fn attr_values<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    let needle = format!(" {attr}=\"");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(&needle) {
        rest = &rest[at + needle.len()..];
        let end = rest.find('"').unwrap_or(rest.len());
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    out
}

/// The page's `<svg id="ID" ...>...</svg>`.
fn svg<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<svg id=\"{id}\""))
        .unwrap_or_else(|| panic!("no <svg id=\"{id}\">"));
    let end = html[start..].find("</svg>").expect("closed svg") + start;
    &html[start..end]
}

fn assert_self_contained(html: &str) {
    let lower = html.to_ascii_lowercase();
    for attr in ["src", "href", "xlink:href", "action", "srcset"] {
        for v in attr_values(&lower, attr) {
            let v = v.trim();
            assert!(
                !v.starts_with("http:") && !v.starts_with("https:") && !v.starts_with("//"),
                "{attr}=\"{v}\" fetches from the network"
            );
        }
    }
    assert!(!lower.contains("<link"), "the page links an outside file");
    assert!(
        !lower.contains("@import"),
        "the style imports an outside file"
    );
    assert!(
        !lower.contains("url(http"),
        "the style fetches from the network"
    );
    assert!(!lower.contains("@font-face"), "the page loads a font");
}

const LAB03_NODES: &[&str] = &["dockerhost", "docker0", "c1", "c2", "remote"];
const LAB07_NODES: &[&str] = &[
    "dockerhost",
    "oldhost",
    "docker0",
    "oldhost-docker0",
    "web",
    "admin",
    "client",
    "oldadmin",
    "remote",
    "neighbour",
];

fn shipped() -> [(PathBuf, &'static [&'static str]); 2] {
    [
        (repo().join("scenarios/03-masquerade.yaml"), LAB03_NODES),
        (repo().join("scenarios/07-publish-ports.yaml"), LAB07_NODES),
    ]
}

#[test]
fn report_is_self_contained_and_draws_every_node_and_frame() {
    for (lab, nodes) in shipped() {
        let (out, dir, index) = run_with_report(&lab);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("index.html"),
            "the run names its report"
        );
        let html = page(&index);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert_self_contained(&html);

        let topo = svg(&html, "topology");
        for n in nodes {
            assert!(
                topo.contains(&format!(">{n}<")),
                "{}: the topology lacks node {n}",
                lab.display()
            );
        }
        assert!(topo.contains("class=\"link"), "no link drawn");

        let ladder = svg(&html, "ladder");
        let hops = ladder.matches("<g class=\"hop").count();
        assert!(hops > 10, "{}: {hops} hops in the ladder", lab.display());
        assert!(ladder.contains("Flags [S]"), "no TCP SYN in the ladder");
        // Decisions are there, inline and in the table below.
        assert!(ladder.contains("MASQUERADE") || ladder.contains("DNAT"));
        assert!(html.contains("<table id=\"hops\""));
        assert_eq!(
            html.matches("<tr data-id=").count(),
            hops,
            "one table row per arrow"
        );

        // Steps with their checks, capture expectations, warnings, captures.
        assert!(html.contains("curl -s --local-port 40000"));
        assert!(html.contains("badge ok\">ok</span>"));
        assert!(html.contains("id=\"sec-expect\""));
        assert!(html.contains("id=\"sec-notices\""));
        // Each capture file is linked relative to the report, and the link leads to it.
        let links: Vec<&str> = attr_values(&html, "href")
            .into_iter()
            .filter(|h| !h.starts_with('#'))
            .collect();
        assert!(links.contains(&"../captures/all.pcapng"), "{links:?}");
        for l in &links {
            let target = index.parent().unwrap().join(l);
            assert!(target.is_file(), "{l} leads nowhere");
        }
        drop(dir);
    }
}

/// Runs Chromium headless on `url` and returns the DOM after its scripts ran.
fn dump_dom(url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let dom = profile.path().join("dom.html");
    let log = profile.path().join("stderr.txt");
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&dom).unwrap())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().expect("wait for chromium").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium took over 120 s on {url}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = std::fs::read_to_string(&dom).unwrap_or_default();
    assert!(
        out.contains("<body"),
        "chromium dumped no DOM for {url}: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    out
}

fn file_url(p: &Path) -> String {
    let p = std::path::absolute(p).unwrap();
    format!("file://{}", p.display())
}

fn assert_rendered(dom: &str, what: &str) {
    let body = &dom[dom.find("<body").unwrap()..];
    let tag = &body[..body.find('>').unwrap()];
    assert!(
        tag.contains("data-rendered=\"yes\""),
        "{what}: not rendered: {tag}"
    );
    assert!(
        tag.contains("data-errors=\"0\""),
        "{what}: script errors: {tag}"
    );
}

#[test]
fn report_renders_in_chromium_without_errors() {
    if !have_tool("chromium", "report_renders_in_chromium_without_errors") {
        return;
    }
    for (lab, nodes) in shipped() {
        let (out, _dir, index) = run_with_report(&lab);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let dom = dump_dom(&file_url(&index));
        assert_rendered(&dom, &lab.display().to_string());
        let topo = svg(&dom, "topology");
        for n in nodes {
            assert!(
                topo.contains(&format!(">{n}<")),
                "rendered topology lacks {n}"
            );
        }
        let ladder = svg(&dom, "ladder");
        assert!(ladder.matches("<g class=\"hop").count() > 10);
        assert!(dom.contains("showing all "), "the filter did not run");
    }
}

#[test]
fn report_follows_one_packet_in_chromium() {
    if !have_tool("chromium", "report_follows_one_packet_in_chromium") {
        return;
    }
    let lab = repo().join("scenarios/03-masquerade.yaml");
    let (out, _dir, index) = run_with_report(&lab);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let total = page(&index).matches("<g class=\"hop").count();
    // `#packet=3` opens the page filtered: packet 3's hops and its answers' only.
    let dom = dump_dom(&format!("{}#packet=3", file_url(&index)));
    assert_rendered(&dom, "#packet=3");
    let ladder = svg(&dom, "ladder");
    let hidden = ladder.matches("style=\"display: none;\"").count();
    assert!(
        hidden > 0 && hidden < total,
        "{hidden} of {total} hops hidden"
    );
    for g in ladder.split("<g class=\"hop").skip(1) {
        let shown = !g.contains("display: none");
        let id = attr_values(g, "data-id")[0];
        let re = attr_values(g, "data-re")[0];
        assert_eq!(shown, id == "3" || re == "3", "hop id={id} re={re}");
    }
    assert!(
        dom.contains(&format!("packet 3: {} of {total} hops", total - hidden)),
        "the status line does not count the shown hops"
    );
}

const FAILING: &str = r#"version: 1
name: report-fail
about: |
  Expectations that cannot hold, and hostile text: <script>alert("x")</script> & 'quotes'.
hosts:
  - name: a
    interfaces: {eth0: 10.0.0.1/24}
  - name: b
    interfaces: {eth0: 10.0.0.2/24}
links:
  - [a:eth0, b:eth0]
steps:
  - on: a
    run: ping -c 1 10.0.0.2
    expect: {received: 2}
expect:
  - capture: b:eth0
    filter: icmp
    count: 99
    why: "<b>never</b>"
"#;

#[test]
fn report_of_a_failing_lab_shows_fail_and_escapes_the_lab() {
    let dir = tempfile::tempdir().unwrap();
    let lab = dir.path().join("fail.yaml");
    std::fs::write(&lab, FAILING).unwrap();
    let (out, _dir, index) = run_with_report(&lab);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let html = page(&index);
    assert!(html.contains("<span class=\"verdict fail\">FAIL</span>"));
    // The step's check and the capture expectation, each marked.
    assert!(html.contains("badge fail\">FAIL</span> packets received: 1 (expected 2)"));
    assert!(html.contains("b:eth0: icmp (&lt;b&gt;never&lt;/b&gt;)"));
    assert!(html.contains("FAIL step 1</a>"));
    assert!(!html.contains("badge ok"), "nothing held");
    // The lab's text is text.
    assert!(
        html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quotes&#39;")
    );
    assert!(!html.contains("<script>alert"));
    assert!(!html.contains("<b>never"));
    if have_tool("chromium", "report_of_a_failing_lab_shows_fail") {
        let dom = dump_dom(&file_url(&index));
        assert_rendered(&dom, "failing lab");
    }
}

#[test]
fn report_bounds_the_ladder() {
    let lab = r#"version: 1
name: report-bulk
hosts:
  - name: a
    interfaces: {eth0: 10.0.0.1/24}
  - name: b
    interfaces: {eth0: 10.0.0.2/24}
links:
  - [a:eth0, b:eth0]
steps:
  - {on: b, run: bulk-recv 5001, background: true}
  - {on: a, run: bulk-send 10.0.0.2 5001 2000000}
"#;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bulk.yaml");
    std::fs::write(&path, lab).unwrap();
    let (out, _dir, index) = run_with_report(&path);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let html = page(&index);
    assert_eq!(svg(&html, "ladder").matches("<g class=\"hop").count(), 1000);
    assert_eq!(html.matches("<tr data-id=").count(), 1000);
    assert!(
        html.contains("Showing the first 1000 hops;") && html.contains("more were left out"),
        "the page does not say what it left out"
    );
}

#[test]
fn report_to_a_place_that_cannot_be_a_directory_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let out = run(&[
        "run",
        "scenarios/01-arp-and-mac-learning.yaml",
        "--capture",
        "none",
        "--report",
        file.join("report").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("cannot write the report"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn report_does_not_change_the_run() {
    let lab = repo().join("scenarios/03-masquerade.yaml");
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain");
    let out = run(&[
        "run",
        lab.to_str().unwrap(),
        "--out",
        plain.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (out, reported, _) = run_with_report(&lab);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let a = std::fs::read(plain.join("all.pcapng")).unwrap();
    let b = std::fs::read(reported.path().join("captures/all.pcapng")).unwrap();
    assert!(a == b, "all.pcapng differs when the run writes a report");
}
