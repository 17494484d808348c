//! `hoplab run FILE --report DIR`: one self-contained page, `DIR/index.html`, with the
//! lab's topology, a ladder diagram of every frame hop (first `MAX_HOPS`), the steps with
//! their output and checks, the capture expectations, the warnings and links to the
//! captures. Inline CSS, JS and SVG only: it fetches nothing. Every text from the lab or the
//! run is escaped.

mod assets;
mod ladder;
mod topology;

use std::fmt::Write;
use std::path::{Component, Path, PathBuf};

use crate::scenario::Lab;
use crate::scenario::run::{Check, RunReport, StepReport};
use crate::sim::TraceRecord;

pub use ladder::MAX_HOPS;

/// The page's file name in the report directory.
pub const INDEX: &str = "index.html";

/// Writes `dir/index.html` (creating `dir`) and returns its path.
pub fn write(
    dir: &Path,
    lab: &Lab,
    file: &Path,
    report: &RunReport,
    frames: &[TraceRecord],
) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(INDEX);
    std::fs::write(&path, render(lab, file, report, frames, dir))?;
    Ok(path)
}

/// Escapes text for HTML content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// At most `max` characters, with `…` for what was cut.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

pub(crate) fn fmt_time(t: f64) -> String {
    format!("{t:.6}")
}

/// The page.
pub fn render(
    lab: &Lab,
    file: &Path,
    report: &RunReport,
    frames: &[TraceRecord],
    dir: &Path,
) -> String {
    let topo = topology::Topology::from_lab(lab);
    let layout = topology::layout(&topo);
    let order: Vec<String> = topology::column_order(&layout)
        .into_iter()
        .map(|i| topo.nodes[i].name.clone())
        .collect();
    let hops = ladder::hops(&topo, frames);
    let shown = &hops[..hops.len().min(MAX_HOPS)];

    let mut s = String::with_capacity(64 * 1024 + shown.len() * 1200);
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(s, "<title>hoplab: {}</title>", esc(&report.lab));
    let _ = writeln!(s, "<style>{}</style>", assets::CSS);
    let _ = writeln!(s, "<script>{}</script>", assets::ERRORS_JS);
    s.push_str("</head>\n<body>\n");
    header(&mut s, lab, file, report);
    s.push_str("<main>\n");

    s.push_str("<section id=\"sec-topology\"><h2>Topology</h2>\n");
    s.push_str(
        "<p class=\"legend\"><span><i style=\"background:var(--router);border-color:var(--router-edge)\"></i>router</span>\
         <span><i style=\"background:var(--bridge);border-color:var(--bridge-edge)\"></i>bridge</span>\
         <span><i style=\"background:var(--host);border-color:var(--host-edge)\"></i>host</span>\
         <span>— link, labelled with its interfaces</span><span>- - a bridge and the router interface that is its device</span>\
         <span>··· made by a later step</span></p>\n",
    );
    s.push_str("<div class=\"scroll\">");
    s.push_str(&topology::svg(&topo, &layout));
    s.push_str("</div></section>\n");

    frames_section(&mut s, &hops, shown, &order, frames.len());
    steps_section(&mut s, &report.steps);
    expectations_section(&mut s, &report.expectations);
    notices_section(&mut s, report);
    captures_section(&mut s, report, dir);

    s.push_str("</main>\n");
    let _ = writeln!(s, "<script>{}</script>", assets::MAIN_JS);
    s.push_str("</body>\n</html>\n");
    s
}

fn all_checks(r: &RunReport) -> impl Iterator<Item = (Option<&StepReport>, &Check)> {
    r.steps
        .iter()
        .flat_map(|st| st.checks.iter().map(move |c| (Some(st), c)))
        .chain(r.expectations.iter().map(|c| (None, c)))
}

fn header(s: &mut String, lab: &Lab, file: &Path, r: &RunReport) {
    let (verdict, class) = if r.interrupted {
        ("INTERRUPTED", "fail")
    } else if r.passed {
        ("PASS", "pass")
    } else {
        ("FAIL", "fail")
    };
    let total = all_checks(r).count();
    let held = all_checks(r).filter(|(_, c)| c.pass).count();
    let _ = writeln!(
        s,
        "<header><h1>{}</h1><span class=\"verdict {class}\">{verdict}</span>",
        esc(&r.lab)
    );
    let _ = writeln!(
        s,
        "<p class=\"meta\">{} · seed {} · {held}/{total} expectations held · {} s virtual · {} frames delivered, {} dropped</p>",
        esc(&file.display().to_string()),
        r.seed,
        fmt_time(r.virtual_time),
        r.stats.frames_delivered,
        r.stats.frames_dropped
    );
    let failed: Vec<_> = all_checks(r).filter(|(_, c)| !c.pass).collect();
    if !failed.is_empty() {
        s.push_str("<ul class=\"failures\">");
        for (step, c) in failed {
            let (href, place) = match step {
                Some(st) => (format!("#step-{}", st.index), format!("step {}", st.index)),
                None => ("#sec-expect".to_string(), "capture".to_string()),
            };
            let _ = write!(
                s,
                "<li><a href=\"{href}\">FAIL {place}</a>: {}</li>",
                esc(&check_text(c))
            );
        }
        s.push_str("</ul>\n");
    }
    let about = lab.about.trim_end();
    if about.lines().count() > 4 {
        // A long story folds, so the picture shows first.
        let first = about.lines().next().unwrap_or_default();
        let _ = writeln!(
            s,
            "<details class=\"about\"><summary>{}</summary><pre class=\"about\">{}</pre></details>",
            esc(first),
            esc(about)
        );
    } else if !about.trim().is_empty() {
        let _ = writeln!(s, "<pre class=\"about\">{}</pre>", esc(about));
    }
    s.push_str(
        "<nav><a href=\"#sec-topology\">Topology</a><a href=\"#sec-frames\">Frames</a>\
         <a href=\"#sec-steps\">Steps</a><a href=\"#sec-expect\">Capture expectations</a>\
         <a href=\"#sec-notices\">Warnings</a><a href=\"#sec-captures\">Captures</a></nav>\n</header>\n",
    );
}

fn check_text(c: &Check) -> String {
    if c.expected == "yes" {
        c.what.clone()
    } else {
        format!("{}: {} (expected {})", c.what, c.actual, c.expected)
    }
}

fn badge(pass: bool) -> &'static str {
    if pass {
        "<span class=\"badge ok\">ok</span>"
    } else {
        "<span class=\"badge fail\">FAIL</span>"
    }
}

fn frames_section(
    s: &mut String,
    hops: &[ladder::Hop],
    shown: &[ladder::Hop],
    order: &[String],
    records: usize,
) {
    s.push_str("<section id=\"sec-frames\"><h2>Frames, hop by hop</h2>\n");
    let _ = write!(
        s,
        "<p class=\"meta\">{records} frames at capture points make {} hops: one arrow per hop, from where a frame left \
         to where it arrived, in the order they were sent; one colour per packet id. \
         Hover an arrow for its decisions; click one to follow its packet.",
        hops.len()
    );
    if hops.len() > shown.len() {
        let _ = write!(
            s,
            " <strong>Showing the first {} hops; {} more were left out</strong> (all of them are in all.pcapng).",
            shown.len(),
            hops.len() - shown.len()
        );
    }
    s.push_str("</p>\n");
    if shown.is_empty() {
        s.push_str("<p id=\"no-frames\">No frame moved in this run.</p>\n");
    }
    s.push_str(
        "<div class=\"controls\"><label for=\"pkt\">Packet id</label> \
         <input type=\"text\" id=\"pkt\" inputmode=\"numeric\" placeholder=\"e.g. 7\" autocomplete=\"off\">\
         <label><input type=\"checkbox\" id=\"withre\" checked> with the packets answering it</label>\
         <button type=\"button\" id=\"pkt-clear\">show all</button><span id=\"pkt-status\"></span></div>\n",
    );
    let (head, body) = ladder::svg(shown, order);
    let _ = writeln!(
        s,
        "<div class=\"ladder-box\"><div class=\"ladder-head\">{head}</div>{body}</div>"
    );
    s.push_str("<h3>Decisions, hop by hop</h3>\n<div class=\"table-box\">");
    s.push_str(&ladder::table(shown));
    s.push_str("</div></section>\n");
}

fn steps_section(s: &mut String, steps: &[StepReport]) {
    s.push_str("<section id=\"sec-steps\"><h2>Steps</h2>\n");
    if steps.is_empty() {
        s.push_str("<p>No step ran.</p>\n");
    }
    let mut seen = std::collections::BTreeSet::new();
    for st in steps {
        // Answers to an exercise share its index: the anchor goes to the first.
        let id = if seen.insert(st.index) {
            format!(" id=\"step-{}\"", st.index)
        } else {
            String::new()
        };
        let who = st.on.as_deref().unwrap_or("lab");
        let prompt = if st.kind == "exercise" { ":" } else { "$" };
        let bg = if st.background { " &amp;" } else { "" };
        let _ = write!(
            s,
            "<div class=\"step\"{id}><div><span class=\"when\">[{}s] #{}</span><span class=\"cmd\">{}{prompt} {}{bg}</span><span class=\"kind\">{}</span>",
            fmt_time(st.at),
            st.index,
            esc(who),
            esc(&st.command),
            esc(st.kind)
        );
        if let Some(ex) = st.exercise.as_ref().filter(|_| st.kind != "exercise") {
            let _ = write!(s, "<span class=\"kind\">answer to {}</span>", esc(ex));
        }
        s.push_str("</div>\n");
        if let Some(p) = &st.prompt {
            let _ = writeln!(s, "<div class=\"prompt\">{}</div>", esc(p.trim_end()));
        }
        if let Some(res) = &st.result {
            let mut facts = vec![format!("exit {}", res.exit_code)];
            if let (Some(t), Some(r)) = (res.transmitted, res.received) {
                facts.push(format!("{t} transmitted, {r} received"));
            } else if let Some(r) = res.received {
                facts.push(format!("{r} received"));
            }
            if let Some(st) = res.status {
                facts.push(format!("HTTP {st}"));
            }
            if let Some(b) = res.bytes {
                facts.push(format!("{b} bytes"));
            }
            if res.stopped {
                facts.push("stopped by the runner".into());
            }
            let _ = writeln!(s, "<div class=\"meta\">{}</div>", esc(&facts.join(" · ")));
            if !res.output.is_empty() {
                let _ = writeln!(s, "<pre>{}</pre>", esc(&res.output));
            }
        }
        if let Some(l) = &st.listing {
            let _ = writeln!(s, "<pre>{}</pre>", esc(l));
        }
        if !st.checks.is_empty() {
            s.push_str("<ul class=\"checks\">");
            for c in &st.checks {
                let _ = write!(s, "<li>{} {}</li>", badge(c.pass), esc(&check_text(c)));
            }
            s.push_str("</ul>\n");
        }
        s.push_str("</div>\n");
    }
    s.push_str("</section>\n");
}

fn expectations_section(s: &mut String, exp: &[Check]) {
    s.push_str("<section id=\"sec-expect\"><h2>Capture expectations</h2>\n");
    if exp.is_empty() {
        s.push_str("<p>The lab expects nothing of its captures.</p>\n");
    } else {
        s.push_str(
            "<table class=\"expect\"><thead><tr><th></th><th>capture point: filter (why)</th><th>expected</th><th>counted</th></tr></thead><tbody>",
        );
        for c in exp {
            let _ = write!(
                s,
                "<tr><td>{}</td><td class=\"mono\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                badge(c.pass),
                esc(&c.what),
                esc(&c.expected),
                esc(&c.actual)
            );
        }
        s.push_str("</tbody></table>\n");
    }
    s.push_str("</section>\n");
}

fn notices_section(s: &mut String, r: &RunReport) {
    s.push_str("<section id=\"sec-notices\"><h2>Warnings</h2>\n");
    if r.warnings.is_empty() {
        s.push_str("<p>None.</p>\n");
    } else {
        s.push_str("<ul>");
        for w in &r.warnings {
            let _ = write!(s, "<li class=\"warn\">{}</li>", esc(w));
        }
        s.push_str("</ul>\n");
    }
    if r.interrupted {
        s.push_str("<p class=\"warn\">The run was interrupted (Ctrl-C): what follows is complete up to the stop.</p>\n");
    }
    if !r.kernel_log.is_empty() {
        s.push_str("<h3>Kernel log (dmesg)</h3><pre>");
        for l in &r.kernel_log {
            let _ = writeln!(s, "{}: {}", esc(&l.node), esc(&l.line));
        }
        s.push_str("</pre>\n");
    }
    s.push_str("</section>\n");
}

fn captures_section(s: &mut String, r: &RunReport, dir: &Path) {
    s.push_str("<section id=\"sec-captures\"><h2>Captures</h2>\n");
    if r.files.is_empty() {
        s.push_str("<p>This run wrote no capture file.</p>\n");
    } else {
        s.push_str("<p class=\"meta\">Open them in Wireshark; each frame's comment holds its packet id and the decisions above.</p><ul class=\"files\">");
        for f in &r.files {
            let name = f.path.display().to_string();
            let _ = write!(
                s,
                "<li><a href=\"{}\">{}</a> — {} ({} frames)</li>",
                esc(&href(dir, &f.path)),
                esc(&name),
                esc(&f.point),
                f.frames
            );
        }
        s.push_str("</ul>\n");
    }
    s.push_str("</section>\n");
}

/// `p` made absolute against the working directory, `.` and `..` resolved by name.
fn absolute(p: &Path) -> PathBuf {
    let p = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            c => out.push(c.as_os_str()),
        }
    }
    out
}

/// Percent-encodes one path segment for a URL.
fn encode(seg: &str) -> String {
    let mut out = String::new();
    for b in seg.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The link from a page in `dir` to `file`: a relative URL.
pub(crate) fn href(dir: &Path, file: &Path) -> String {
    let (d, f) = (absolute(dir), absolute(file));
    let dc: Vec<Component> = d.components().collect();
    let fc: Vec<Component> = f.components().collect();
    let common = dc.iter().zip(&fc).take_while(|(a, b)| a == b).count();
    let seg = |c: &Component| encode(&c.as_os_str().to_string_lossy());
    let parts: Vec<String> = if common == 0 {
        // No common root (another drive): a path from the root, as a last resort.
        return fc
            .iter()
            .filter(|c| matches!(c, Component::Normal(_)))
            .map(seg)
            .fold(String::new(), |acc, p| acc + "/" + &p);
    } else {
        std::iter::repeat_n("..".to_string(), dc.len() - common)
            .chain(fc[common..].iter().map(seg))
            .collect()
    };
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn links_are_relative() {
        assert_eq!(
            href(Path::new("/t/x/report"), Path::new("/t/x/caps/all.pcapng")),
            "../caps/all.pcapng"
        );
        assert_eq!(
            href(Path::new("/t/r"), Path::new("/t/r/a b#.pcap")),
            "a%20b%23.pcap"
        );
        assert_eq!(
            href(Path::new("/t/r/./s/.."), Path::new("/t/c/d.pcap")),
            "../c/d.pcap"
        );
    }

    #[test]
    fn truncates_by_characters() {
        assert_eq!(truncate("→→→→", 3), "→→…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
