//! The ladder (sequence) diagram: one lane per node, one arrow per frame hop, from a frame's
//! `out` record at one end of a link to its `in` record at the other, in the order the
//! frames were sent, with the time, the summary and the decision notes beside each arrow.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write;

use super::topology::Topology;
use super::{esc, fmt_time, truncate};
use crate::sim::TraceRecord;

/// The most hops the ladder and its table show.
pub const MAX_HOPS: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum HopKind {
    /// Sent at one end, received at the other.
    Delivered,
    /// Sent and never received: dropped by the link, or still on it when the lab ended.
    Lost,
    /// Into a bridge through its device (the router's interface that is the bridge): that
    /// side records nothing.
    IntoDevice,
    /// Out of a bridge through its device, into the router.
    FromDevice,
    /// Received, with no send found (a point outside the lab's links).
    Unmatched,
    /// Sent on an interface with no link.
    NoPeer,
}

pub(super) struct Hop {
    pub from: Option<(String, String)>,
    pub to: Option<(String, String)>,
    /// When it was sent (or received, when no send is known).
    pub at: f64,
    pub at_in: Option<f64>,
    pub out_frame: Option<u64>,
    pub in_frame: Option<u64>,
    pub id: u32,
    pub re: u32,
    pub summary: String,
    pub notes: Vec<String>,
    pub kind: HopKind,
}

/// `node:iface` split at the node whose name it starts with (the longest such), else at its
/// last colon.
fn split(point: &str, names: &BTreeSet<&str>) -> (String, String) {
    let best = names
        .iter()
        .filter(|n| {
            point.len() > n.len() && point.starts_with(**n) && point[n.len()..].starts_with(':')
        })
        .max_by_key(|n| n.len());
    match best {
        Some(n) => (n.to_string(), point[n.len() + 1..].to_string()),
        None => match point.rsplit_once(':') {
            Some((n, i)) => (n.to_string(), i.to_string()),
            None => (point.to_string(), String::new()),
        },
    }
}

fn notes_of(records: &[&TraceRecord]) -> Vec<String> {
    records
        .iter()
        .flat_map(|r| r.notes.iter())
        .filter(|n| !n.trim().is_empty())
        .cloned()
        .collect()
}

/// Pairs every frame's `out` record with its `in` record at the link's other end.
pub(super) fn hops(t: &Topology, frames: &[TraceRecord]) -> Vec<Hop> {
    let names: BTreeSet<&str> = t.nodes.iter().map(|n| n.name.as_str()).collect();
    let peers = t.peers();
    let at = |p: &str| split(p, &names);
    // (receiving point, packet id, bytes) -> sends not yet received there, in order.
    let mut pending: HashMap<(&str, u32, &[u8]), Vec<usize>> = HashMap::new();
    let mut waiting: BTreeSet<usize> = BTreeSet::new();
    // (order, hop): ordered by the record that starts the hop.
    let mut out: Vec<(usize, Hop)> = Vec::new();
    let hop = |from: Option<&TraceRecord>, to: Option<&TraceRecord>, kind: HopKind| {
        let first = from.or(to);
        Hop {
            from: from.map(|r| at(&r.point)),
            to: to.map(|r| at(&r.point)),
            at: first.map_or(0.0, |r| r.at),
            at_in: to.map(|r| r.at),
            out_frame: from.map(|r| r.frame),
            in_frame: to.map(|r| r.frame),
            id: first.map_or(0, |r| r.id),
            re: first.map_or(0, |r| r.re),
            summary: first.map(|r| r.summary.clone()).unwrap_or_default(),
            notes: notes_of(&[from, to].into_iter().flatten().collect::<Vec<_>>()),
            kind,
        }
    };
    for (i, r) in frames.iter().enumerate() {
        let mine: &[String] = peers.get(&r.point).map_or(&[], Vec::as_slice);
        if r.dir == "out" {
            let dropped = r.notes.iter().any(|n| n.starts_with("dropped"));
            if mine.is_empty() {
                out.push((i, hop(Some(r), None, HopKind::NoPeer)));
                continue;
            }
            if dropped {
                let mut h = hop(Some(r), None, HopKind::Lost);
                h.to = mine.first().map(|p| at(p));
                out.push((i, h));
                continue;
            }
            for q in mine {
                if t.silent.contains(q) {
                    let mut h = hop(Some(r), None, HopKind::IntoDevice);
                    h.to = Some(at(q));
                    out.push((i, h));
                } else {
                    pending
                        .entry((q.as_str(), r.id, r.bytes.as_slice()))
                        .or_default()
                        .push(i);
                    waiting.insert(i);
                }
            }
        } else {
            let key = (r.point.as_str(), r.id, r.bytes.as_slice());
            // The latest send not yet received: a lost frame's retransmission is identical.
            let sent = pending.get_mut(&key).and_then(|v| {
                while let Some(j) = v.pop() {
                    if waiting.remove(&j) {
                        return Some(j);
                    }
                }
                None
            });
            match sent {
                Some(j) => out.push((j, hop(Some(&frames[j]), Some(r), HopKind::Delivered))),
                None => match mine.iter().find(|q| t.silent.contains(*q)) {
                    Some(q) => {
                        let mut h = hop(None, Some(r), HopKind::FromDevice);
                        h.from = Some(at(q));
                        out.push((i, h));
                    }
                    None => out.push((i, hop(None, Some(r), HopKind::Unmatched))),
                },
            }
        }
    }
    for j in waiting {
        let r = &frames[j];
        let mut h = hop(Some(r), None, HopKind::Lost);
        h.to = peers
            .get(&r.point)
            .and_then(|v| v.iter().find(|q| !t.silent.contains(*q)))
            .map(|p| at(p));
        out.push((j, h));
    }
    // Stable: hops that start at one record keep the order they were found in.
    out.sort_by_key(|(order, _)| *order);
    out.into_iter().map(|(_, h)| h).collect()
}

/// A packet id's colour: hues a golden angle apart, so neighbouring ids differ.
pub(super) fn colour(id: u32) -> String {
    if id == 0 {
        return "hsl(0,0%,40%)".into();
    }
    let hue = (f64::from(id) * 137.508) % 360.0;
    format!("hsl({hue:.0},70%,36%)")
}

const TIME_W: f64 = 104.0;
/// The lanes share about this much width, each between `MIN_LANE_W` and `MAX_LANE_W`, so that
/// the summaries beside them stay on a laptop's screen.
const LANES_W: f64 = 620.0;
const MIN_LANE_W: f64 = 68.0;
const MAX_LANE_W: f64 = 110.0;
/// The width of a character of an interface name beside an arrow (9px monospace).
const IFN_CHAR_W: f64 = 5.5;
pub(super) const ROW_H: f64 = 30.0;
const PAD: f64 = 6.0;
const LABEL_W: f64 = 820.0;
/// A frame sent, not dropped, and not received: still on its link when the lab ended.
const NOT_RECEIVED: &str = "not received before the lab ended";
const NOTES_CHARS: usize = 140;
const SUMMARY_CHARS: usize = 120;

/// The lanes: nodes in `order` that a shown hop touches, then any other node a hop names.
fn lanes(shown: &[Hop], order: &[String]) -> Vec<String> {
    let mut used: BTreeSet<&str> = BTreeSet::new();
    for h in shown {
        for (n, _) in h.from.iter().chain(h.to.iter()) {
            used.insert(n);
        }
    }
    let mut lanes: Vec<String> = order
        .iter()
        .filter(|n| used.contains(n.as_str()))
        .cloned()
        .collect();
    let known: BTreeSet<&str> = order.iter().map(String::as_str).collect();
    lanes.extend(
        used.iter()
            .filter(|n| !known.contains(**n))
            .map(|n| n.to_string()),
    );
    lanes
}

/// The lane headers (a separate SVG that stays on top while the ladder scrolls) and the
/// ladder itself.
pub(super) fn svg(shown: &[Hop], order: &[String]) -> (String, String) {
    let lanes = lanes(shown, order);
    let lane_w = (LANES_W / lanes.len().max(1) as f64).clamp(MIN_LANE_W, MAX_LANE_W);
    let lane_x: BTreeMap<&str, f64> = lanes
        .iter()
        .enumerate()
        .map(|(k, n)| (n.as_str(), TIME_W + lane_w * (k as f64 + 0.5)))
        .collect();
    let label_x = TIME_W + lane_w * lanes.len() as f64 + 16.0;
    let width = label_x + LABEL_W;
    let height = 2.0 * PAD + (shown.len().max(1) as f64) * ROW_H;

    let mut head = String::new();
    let _ = write!(
        head,
        r#"<svg id="ladder-lanes" class="ladder-lanes" width="{width:.0}" height="44" viewBox="0 0 {width:.0} 44">"#
    );
    let _ = write!(
        head,
        r#"<text class="lh" x="8" y="36">virtual time (s)</text><text class="lh" x="{label_x:.0}" y="36">frame · decisions</text>"#
    );
    for (k, n) in lanes.iter().enumerate() {
        let x = TIME_W + lane_w * (k as f64 + 0.5);
        // Staggered, so that long names next to each other do not overlap.
        let y = if k % 2 == 0 { 16.0 } else { 34.0 };
        let fits = ((2.0 * lane_w - 8.0) / 6.7).max(4.0) as usize;
        let _ = write!(
            head,
            r#"<text class="lane-name" x="{x:.1}" y="{y:.0}"><title>{}</title>{}</text>"#,
            esc(n),
            esc(&truncate(n, fits))
        );
    }
    head.push_str("</svg>");

    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg id="ladder" class="ladder" width="{width:.0}" height="{height:.0}" data-row="{ROW_H}" data-pad="{PAD}">"#
    );
    for n in &lanes {
        let x = lane_x.get(n.as_str()).copied().unwrap_or(0.0);
        let _ = write!(
            s,
            r#"<line class="lane" x1="{x:.1}" y1="0" x2="{x:.1}" y2="{height:.0}"/>"#
        );
    }
    for (k, h) in shown.iter().enumerate() {
        let y = PAD + k as f64 * ROW_H;
        let c = colour(h.id);
        let x_of = |end: &Option<(String, String)>| {
            end.as_ref()
                .and_then(|(n, _)| lane_x.get(n.as_str()).copied())
        };
        let (x1, x2) = match (x_of(&h.from), x_of(&h.to)) {
            (Some(a), Some(b)) => (a, b),
            (Some(a), None) => (a, a + 40.0),
            (None, Some(b)) => (b - 40.0, b),
            (None, None) => (TIME_W, TIME_W + 40.0),
        };
        let class = match h.kind {
            HopKind::Delivered => "hop",
            HopKind::Lost | HopKind::NoPeer => "hop lost",
            HopKind::IntoDevice | HopKind::FromDevice => "hop device",
            HopKind::Unmatched => "hop unmatched",
        };
        let _ = write!(
            s,
            r#"<g class="{class}" data-id="{}" data-re="{}" transform="translate(0,{y:.0})"><title>{}</title>"#,
            h.id,
            h.re,
            esc(&tooltip(h))
        );
        let _ = write!(
            s,
            r#"<rect class="bg" x="0" y="0" width="{width:.0}" height="{ROW_H}"/><text class="t" x="8" y="19">{}</text>"#,
            fmt_time(h.at)
        );
        let (dir, ym) = (if x2 >= x1 { 1.0 } else { -1.0 }, 15.0);
        let tip = x2 - dir * 1.5;
        let _ = write!(
            s,
            r#"<line class="arrow" x1="{x1:.1}" y1="{ym}" x2="{:.1}" y2="{ym}" stroke="{c}"/>"#,
            tip - dir * 6.0
        );
        if matches!(h.kind, HopKind::Lost | HopKind::NoPeer) {
            let _ = write!(
                s,
                r#"<path class="x" d="M{:.1},{:.1} l8,8 M{:.1},{:.1} l-8,8" stroke="{c}"/>"#,
                x2 - 4.0,
                ym - 4.0,
                x2 + 4.0,
                ym - 4.0
            );
        } else {
            let _ = write!(
                s,
                r#"<path class="head" d="M{tip:.1},{ym} l{:.1},-4.5 l0,9 z" fill="{c}"/>"#,
                -dir * 8.0
            );
        }
        // The interfaces, small, at both ends of the arrow, each in half its length.
        let fits = (((x2 - x1).abs() / 2.0 - 8.0) / IFN_CHAR_W).clamp(3.0, 14.0) as usize;
        let anchor = |start: bool| match (start, dir > 0.0) {
            (true, true) | (false, false) => "start",
            _ => "end",
        };
        if let Some((_, i)) = &h.from {
            let _ = write!(
                s,
                r#"<text class="ifn" x="{:.1}" y="11" text-anchor="{}">{}</text>"#,
                x1 + dir * 4.0,
                anchor(true),
                esc(&truncate(i, fits))
            );
        }
        if let Some((_, i)) = &h.to
            && !matches!(h.kind, HopKind::Lost)
        {
            let _ = write!(
                s,
                r#"<text class="ifn" x="{:.1}" y="11" text-anchor="{}">{}</text>"#,
                x2 - dir * 10.0,
                anchor(false),
                esc(&truncate(i, fits))
            );
        }
        let re = if h.re != 0 {
            format!(" re={}", h.re)
        } else {
            String::new()
        };
        let _ = write!(
            s,
            r#"<text class="sum" x="{label_x:.0}" y="12" fill="{c}"><tspan class="pid">id={}{re}</tspan> {}</text>"#,
            h.id,
            esc(&truncate(&h.summary, SUMMARY_CHARS))
        );
        let notes = match h.kind {
            HopKind::Lost if h.notes.is_empty() => NOT_RECEIVED.to_string(),
            HopKind::NoPeer => "sent on an interface with no link".to_string(),
            _ => h.notes.join("; "),
        };
        if !notes.is_empty() {
            let _ = write!(
                s,
                r#"<text class="nt" x="{label_x:.0}" y="25">{}</text>"#,
                esc(&truncate(&notes, NOTES_CHARS))
            );
        }
        s.push_str("</g>");
    }
    s.push_str("</svg>");
    (head, s)
}

fn end_text(end: &Option<(String, String)>) -> String {
    match end {
        Some((n, i)) if i.is_empty() => n.clone(),
        Some((n, i)) => format!("{n}:{i}"),
        None => "?".into(),
    }
}

fn tooltip(h: &Hop) -> String {
    let mut t = format!("{} → {}\nid={}", end_text(&h.from), end_text(&h.to), h.id);
    if h.re != 0 {
        let _ = write!(t, " re={}", h.re);
    }
    let _ = write!(t, ", sent {} s", fmt_time(h.at));
    if let Some(a) = h.at_in {
        let _ = write!(t, ", received {} s", fmt_time(a));
    }
    let _ = write!(t, "\n{}", h.summary);
    for n in &h.notes {
        let _ = write!(t, "\n  {n}");
    }
    t.push_str(match h.kind {
        HopKind::Lost if h.notes.is_empty() => "\n(not received before the lab ended)",
        HopKind::Lost => "\n(not received)",
        HopKind::IntoDevice => "\n(into the bridge through its device)",
        HopKind::FromDevice => "\n(from the bridge through its device)",
        HopKind::Unmatched => "\n(no matching send)",
        HopKind::NoPeer => "\n(no link on this interface)",
        HopKind::Delivered => "",
    });
    t
}

/// The table below the ladder: every shown hop with its notes in full.
pub(super) fn table(shown: &[Hop]) -> String {
    let mut s = String::from(
        r#"<table id="hops" class="hops"><thead><tr><th>#</th><th>time (s)</th><th>packet</th><th>from</th><th>to</th><th>all.pcapng</th><th>frame</th><th>decisions</th></tr></thead><tbody>"#,
    );
    for (k, h) in shown.iter().enumerate() {
        let re = if h.re != 0 {
            format!(" <span class=\"re\">re={}</span>", h.re)
        } else {
            String::new()
        };
        let frames = match (h.out_frame, h.in_frame) {
            (Some(a), Some(b)) => format!("#{a} → #{b}"),
            (Some(a), None) => format!("#{a}"),
            (None, Some(b)) => format!("#{b}"),
            (None, None) => String::new(),
        };
        let mut notes: Vec<String> = h.notes.iter().map(|n| esc(n)).collect();
        match h.kind {
            HopKind::Lost if h.notes.is_empty() => notes.push(format!("<em>{NOT_RECEIVED}</em>")),
            HopKind::Lost => notes.push("<em>not received</em>".into()),
            HopKind::IntoDevice => notes.push("<em>into the bridge through its device</em>".into()),
            HopKind::FromDevice => notes.push("<em>from the bridge through its device</em>".into()),
            HopKind::Unmatched => notes.push("<em>no matching send</em>".into()),
            HopKind::NoPeer => notes.push("<em>no link on this interface</em>".into()),
            HopKind::Delivered => {}
        }
        let _ = write!(
            s,
            r#"<tr data-id="{id}" data-re="{}"><td>{}</td><td class="num">{}</td><td><span class="pid" style="color:{}">id={id}</span>{re}</td><td>{}</td><td>{}</td><td class="num">{frames}</td><td class="mono">{}</td><td class="notes">{}</td></tr>"#,
            h.re,
            k + 1,
            fmt_time(h.at),
            colour(h.id),
            esc(&end_text(&h.from)),
            esc(&end_text(&h.to)),
            esc(&h.summary),
            notes
                .iter()
                .map(|n| format!("<div>{n}</div>"))
                .collect::<String>(),
            id = h.id,
        );
    }
    s.push_str("</tbody></table>");
    s
}
