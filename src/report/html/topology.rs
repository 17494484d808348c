//! The lab's topology as SVG: every node with its interfaces and addresses, and the links
//! between interfaces.
//!
//! Layout: layers by breadth-first distance from the routers (all routers are layer 0; a part
//! of the lab without a router starts from its bridges, one without either from its first
//! host), so a Docker host sits on top, its bridges and LAN peers below it, containers below
//! those. Within a layer, nodes are ordered by the mean position of their neighbours in the
//! layer above (file order breaks ties), then placed left to right near the mean x of those
//! neighbours, then the upper layers are pulled over their children. Everything is a pure
//! function of the lab: the same lab draws the same picture.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write;

use super::{esc, truncate};
use crate::scenario::model::{Change, Endpoint, Lab};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Router,
    Bridge,
    Host,
}

impl Kind {
    fn class(self) -> &'static str {
        match self {
            Kind::Router => "router",
            Kind::Bridge => "bridge",
            Kind::Host => "host",
        }
    }
}

/// One interface (or bridge port) as the node's box lists it.
pub(super) struct Row {
    pub iface: String,
    /// Its address, or empty.
    pub addr: String,
    /// It exists only from a later step on (a container's veth made by `docker run`).
    pub later: bool,
}

pub(super) struct Node {
    pub name: String,
    pub kind: Kind,
    /// What the box says under the name: `router`, `bridge · device of r1:br0`, ...
    pub note: String,
    pub rows: Vec<Row>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum EdgeKind {
    /// A link of the lab.
    Cable,
    /// A bridge and the router interface that is its device: one device, two views.
    Device,
    /// A veth pair a later step makes.
    Later,
}

pub(super) struct Edge {
    pub a: usize,
    pub a_if: String,
    pub b: usize,
    pub b_if: String,
    pub kind: EdgeKind,
}

pub(super) struct Topology {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// Capture points that record nothing: a bridge's own port, whose frames are captured
    /// once, at the router's side.
    pub silent: BTreeSet<String>,
}

pub(super) fn point(node: &str, iface: &str) -> String {
    format!("{node}:{iface}")
}

impl Topology {
    pub fn from_lab(lab: &Lab) -> Topology {
        let absent: BTreeSet<&Endpoint> = lab.absent.iter().collect();
        // Addresses of interfaces made later, from the first change that plugs them.
        let mut planned: BTreeMap<Endpoint, String> = BTreeMap::new();
        let mut plugs: Vec<(&Endpoint, &Endpoint)> = Vec::new();
        for step in lab.changes.values() {
            for c in &step.changes {
                if let Change::Plug {
                    iface,
                    port,
                    config,
                } = c
                {
                    if let Some(cidr) = config.cidr {
                        planned.entry(iface.clone()).or_insert(cidr.to_string());
                    }
                    plugs.push((iface, port));
                }
            }
        }
        let row = |node: &str, iface: &str, addr: Option<String>| {
            let ep = Endpoint {
                node: node.to_string(),
                iface: iface.to_string(),
            };
            let later = absent.contains(&ep);
            let addr = addr
                .or_else(|| later.then(|| planned.get(&ep).cloned()).flatten())
                .unwrap_or_default();
            Row {
                iface: iface.to_string(),
                addr,
                later,
            }
        };
        let mut nodes = Vec::new();
        for r in &lab.routers {
            let docker = lab.docker_cli.iter().any(|(n, _)| *n == r.name);
            nodes.push(Node {
                name: r.name.clone(),
                kind: Kind::Router,
                note: if docker {
                    "router · Docker host"
                } else {
                    "router"
                }
                .into(),
                rows: r
                    .ifaces
                    .iter()
                    .map(|i| row(&r.name, &i.name, i.cidr.map(|c| c.to_string())))
                    .collect(),
            });
        }
        for b in &lab.bridges {
            let note = match &b.host {
                Some(h) if b.device != b.name => format!("bridge · {h}:{}", b.device),
                Some(h) => format!("bridge · on {h}"),
                None => "bridge".into(),
            };
            nodes.push(Node {
                name: b.name.clone(),
                kind: Kind::Bridge,
                note,
                rows: b.ports.iter().map(|(p, _)| row(&b.name, p, None)).collect(),
            });
        }
        for h in &lab.hosts {
            nodes.push(Node {
                name: h.name.clone(),
                kind: Kind::Host,
                note: "host".into(),
                rows: h
                    .ifaces
                    .iter()
                    .map(|i| row(&h.name, &i.name, i.cidr.map(|c| c.to_string())))
                    .collect(),
            });
        }
        let index: BTreeMap<&str, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.as_str(), i))
            .collect();
        let mut edges = Vec::new();
        let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
        let mut add = |a: &Endpoint, b: &Endpoint, kind: EdgeKind, edges: &mut Vec<Edge>| {
            let (pa, pb) = (a.to_string(), b.to_string());
            let key = if pa <= pb { (pa, pb) } else { (pb, pa) };
            if !seen.insert(key) {
                return;
            }
            if let (Some(&ia), Some(&ib)) = (index.get(a.node.as_str()), index.get(b.node.as_str()))
            {
                edges.push(Edge {
                    a: ia,
                    a_if: a.iface.clone(),
                    b: ib,
                    b_if: b.iface.clone(),
                    kind,
                });
            }
        };
        for l in &lab.links {
            add(&l.a, &l.b, EdgeKind::Cable, &mut edges);
        }
        let mut silent = BTreeSet::new();
        for b in &lab.bridges {
            let Some(host) = &b.host else { continue };
            let own = Endpoint {
                node: b.name.clone(),
                iface: b.name.clone(),
            };
            let dev = Endpoint {
                node: host.clone(),
                iface: b.device.clone(),
            };
            silent.insert(own.to_string());
            add(&own, &dev, EdgeKind::Device, &mut edges);
        }
        for (iface, port) in plugs {
            add(iface, port, EdgeKind::Later, &mut edges);
        }
        Topology {
            nodes,
            edges,
            silent,
        }
    }

    /// Each capture point's peers: the points at the other end of its links.
    pub fn peers(&self) -> BTreeMap<String, Vec<String>> {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for e in &self.edges {
            let a = point(&self.nodes[e.a].name, &e.a_if);
            let b = point(&self.nodes[e.b].name, &e.b_if);
            m.entry(a.clone()).or_default().push(b.clone());
            m.entry(b).or_default().push(a);
        }
        m
    }
}

/// A node's box.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Placed {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Placed {
    fn cx(&self) -> f64 {
        self.x + self.w / 2.0
    }
}

pub(super) struct Layout {
    pub boxes: Vec<Placed>,
    pub layer: Vec<usize>,
    /// Each layer's nodes, left to right.
    pub rows: Vec<Vec<usize>>,
    pub width: f64,
    pub height: f64,
}

const CHAR_W: f64 = 7.3;
const NAME_CHAR_W: f64 = 8.2;
const NOTE_CHAR_W: f64 = 6.1;
const PAD: f64 = 10.0;
const HEAD_H: f64 = 38.0;
const ROW_H: f64 = 16.0;
const H_GAP: f64 = 34.0;
/// Between two nodes side by side that a link joins: room for both interface names.
const LINKED_GAP: f64 = 100.0;
const V_GAP: f64 = 96.0;
const MARGIN: f64 = 24.0;
/// Longest interface or address text a box shows in full.
const MAX_TEXT: usize = 32;

fn box_size(n: &Node) -> (f64, f64) {
    let ifw = n
        .rows
        .iter()
        .map(|r| r.iface.chars().count().min(MAX_TEXT))
        .max()
        .unwrap_or(0);
    let addrw = n
        .rows
        .iter()
        .map(|r| r.addr.chars().count().min(MAX_TEXT) + if r.later { 8 } else { 0 })
        .max()
        .unwrap_or(0);
    let rows_w = (ifw + 2 + addrw) as f64 * CHAR_W;
    let name_w = n.name.chars().count() as f64 * NAME_CHAR_W;
    let note_w = n.note.chars().count() as f64 * NOTE_CHAR_W;
    let w = rows_w.max(name_w).max(note_w).max(96.0) + 2.0 * PAD;
    let h = HEAD_H + n.rows.len() as f64 * ROW_H + 8.0;
    (w, h)
}

fn mean(v: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| sum / n as f64)
}

fn gap(adj: &[BTreeSet<usize>], a: usize, b: usize) -> f64 {
    if adj[a].contains(&b) {
        LINKED_GAP
    } else {
        H_GAP
    }
}

/// Places `row` left to right as near each node's `want` (centre x) as the order and the gaps
/// allow, then shifts the row so that it is on average where it was wanted.
fn sweep(row: &[usize], want: &[f64], boxes: &mut [Placed], adj: &[BTreeSet<usize>]) {
    let mut bound = f64::NEG_INFINITY;
    let mut prev = None;
    for &i in row {
        if let Some(p) = prev {
            bound += gap(adj, p, i);
        }
        let x = (want[i] - boxes[i].w / 2.0).max(bound);
        boxes[i].x = x;
        bound = x + boxes[i].w;
        prev = Some(i);
    }
    if let Some(shift) = mean(row.iter().map(|&i| boxes[i].cx() - want[i])) {
        for &i in row {
            boxes[i].x -= shift;
        }
    }
}

pub(super) fn layout(t: &Topology) -> Layout {
    let n = t.nodes.len();
    let mut adj: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    for e in &t.edges {
        if e.a != e.b {
            adj[e.a].insert(e.b);
            adj[e.b].insert(e.a);
        }
    }
    // Layers: breadth-first from every router at once, then from the bridges of what is
    // left, then from each host left on its own.
    let mut layer = vec![usize::MAX; n];
    let bfs = |seeds: Vec<usize>, layer: &mut Vec<usize>| {
        let mut q = VecDeque::new();
        for s in seeds {
            if layer[s] == usize::MAX {
                layer[s] = 0;
                q.push_back(s);
            }
        }
        while let Some(u) = q.pop_front() {
            for &v in &adj[u] {
                if layer[v] == usize::MAX {
                    layer[v] = layer[u] + 1;
                    q.push_back(v);
                }
            }
        }
    };
    for kind in [Kind::Router, Kind::Bridge] {
        let seeds = (0..n)
            .filter(|&i| t.nodes[i].kind == kind && layer[i] == usize::MAX)
            .collect();
        bfs(seeds, &mut layer);
    }
    for i in 0..n {
        if layer[i] == usize::MAX {
            bfs(vec![i], &mut layer);
        }
    }
    let depth = layer.iter().map(|&l| l + 1).max().unwrap_or(0);
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for (i, &l) in layer.iter().enumerate() {
        if let Some(r) = rows.get_mut(l) {
            r.push(i);
        }
    }
    // Order each layer by the mean position of its neighbours in the layer above.
    for l in 1..depth {
        let pos: BTreeMap<usize, usize> = rows[l - 1]
            .iter()
            .enumerate()
            .map(|(p, &i)| (i, p))
            .collect();
        let key = |i: usize| mean(adj[i].iter().filter_map(|j| pos.get(j).map(|&p| p as f64)));
        rows[l].sort_by(|&a, &b| {
            let (ka, kb) = (key(a).unwrap_or(f64::MAX), key(b).unwrap_or(f64::MAX));
            ka.total_cmp(&kb).then(a.cmp(&b))
        });
    }
    let mut boxes: Vec<Placed> = t
        .nodes
        .iter()
        .map(|node| {
            let (w, h) = box_size(node);
            Placed {
                w,
                h,
                ..Placed::default()
            }
        })
        .collect();
    // Down: layer 0 packed; each layer below near its parents.
    let mut want = vec![0.0; n];
    if let Some(first) = rows.first() {
        let mut x = 0.0;
        let mut prev = None;
        for &i in first {
            if let Some(p) = prev {
                x += gap(&adj, p, i);
            }
            want[i] = x + boxes[i].w / 2.0;
            x += boxes[i].w;
            prev = Some(i);
        }
        sweep(first, &want, &mut boxes, &adj);
    }
    for (l, row) in rows.iter().enumerate().skip(1) {
        let mut last = f64::NEG_INFINITY;
        for &i in row {
            let above = mean(
                adj[i]
                    .iter()
                    .filter(|&&j| layer[j] + 1 == l)
                    .map(|&j| boxes[j].cx()),
            );
            want[i] = above.unwrap_or(last + H_GAP + boxes[i].w / 2.0);
            last = want[i] + boxes[i].w / 2.0;
        }
        sweep(row, &want, &mut boxes, &adj);
    }
    // Up: each layer over its children.
    for l in (0..depth.saturating_sub(1)).rev() {
        for &i in &rows[l] {
            let below = mean(
                adj[i]
                    .iter()
                    .filter(|&&j| layer[j] == l + 1)
                    .map(|&j| boxes[j].cx()),
            );
            want[i] = below.unwrap_or(boxes[i].cx());
        }
        let row = rows[l].clone();
        sweep(&row, &want, &mut boxes, &adj);
    }
    // Vertical: one band per layer, with room above the first for arcs between its nodes.
    let arcs_on_top = t
        .edges
        .iter()
        .any(|e| layer[e.a] == 0 && layer[e.b] == 0 && !adjacent(&rows[0], e.a, e.b));
    let mut y = MARGIN + if arcs_on_top { 40.0 } else { 0.0 };
    for row in &rows {
        let h = row.iter().map(|&i| boxes[i].h).fold(0.0, f64::max);
        for &i in row {
            boxes[i].y = y;
        }
        y += h + V_GAP;
    }
    let min_x = boxes.iter().map(|b| b.x).fold(f64::INFINITY, f64::min);
    let shift = if min_x.is_finite() {
        MARGIN - min_x
    } else {
        0.0
    };
    for b in &mut boxes {
        b.x += shift;
    }
    let width = boxes.iter().map(|b| b.x + b.w).fold(0.0, f64::max) + MARGIN;
    let height = if n == 0 {
        2.0 * MARGIN
    } else {
        y - V_GAP + MARGIN
    };
    Layout {
        boxes,
        layer,
        rows,
        width,
        height,
    }
}

fn adjacent(row: &[usize], a: usize, b: usize) -> bool {
    let pa = row.iter().position(|&i| i == a);
    let pb = row.iter().position(|&i| i == b);
    matches!((pa, pb), (Some(x), Some(y)) if x.abs_diff(y) == 1)
}

/// Where an edge meets a box, and how far along the edge its interface name goes.
type End = ((f64, f64), f64);

/// Where each edge meets each box: spread along the box's side, ordered by the other end's x;
/// neighbouring ends put their names at alternating distances, so that they do not overlap.
fn anchors(t: &Topology, l: &Layout) -> Vec<[End; 2]> {
    // (node, side) -> edges meeting it there, with the x of the other end.
    #[derive(PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
    enum Side {
        Top,
        Bottom,
    }
    // (x of the other end, edge, this is its `a` end)
    type Meeting = (f64, usize, bool);
    let mut sides: BTreeMap<(usize, Side), Vec<Meeting>> = BTreeMap::new();
    let mut out = vec![[((0.0, 0.0), LABEL_AT); 2]; t.edges.len()];
    for (k, e) in t.edges.iter().enumerate() {
        let (ba, bb) = (l.boxes[e.a], l.boxes[e.b]);
        let (la, lb) = (l.layer[e.a], l.layer[e.b]);
        if la == lb {
            let row = l.rows.get(la).map(Vec::as_slice).unwrap_or(&[]);
            if adjacent(row, e.a, e.b) {
                // Side by side: a straight line between facing sides, at the name's height.
                let (left, right) = if ba.x <= bb.x { (ba, bb) } else { (bb, ba) };
                let y = left.y.max(right.y) + 18.0;
                let (pl, pr) = ((left.x + left.w, y), (right.x, y));
                let (pa, pb) = if ba.x <= bb.x { (pl, pr) } else { (pr, pl) };
                out[k] = [(pa, LABEL_AT), (pb, LABEL_AT)];
            } else {
                sides
                    .entry((e.a, Side::Top))
                    .or_default()
                    .push((bb.cx(), k, true));
                sides
                    .entry((e.b, Side::Top))
                    .or_default()
                    .push((ba.cx(), k, false));
            }
            continue;
        }
        let (sa, sb) = if la < lb {
            (Side::Bottom, Side::Top)
        } else {
            (Side::Top, Side::Bottom)
        };
        sides.entry((e.a, sa)).or_default().push((bb.cx(), k, true));
        sides
            .entry((e.b, sb))
            .or_default()
            .push((ba.cx(), k, false));
    }
    for ((node, side), mut list) in sides {
        list.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        let b = l.boxes[node];
        let m = list.len() as f64;
        for (j, (_, k, is_a)) in list.into_iter().enumerate() {
            let x = b.x + b.w * (j as f64 + 1.0) / (m + 1.0);
            let y = match side {
                Side::Top => b.y,
                Side::Bottom => b.y + b.h,
            };
            let d = LABEL_AT + if j % 2 == 1 { 16.0 } else { 0.0 };
            out[k][usize::from(!is_a)] = ((x, y), d);
        }
    }
    out
}

/// How far along a link its interface names are, from each end.
const LABEL_AT: f64 = 22.0;

/// A point `d` along the line from `p` towards `q`.
fn along(p: (f64, f64), q: (f64, f64), d: f64) -> (f64, f64) {
    let (dx, dy) = (q.0 - p.0, q.1 - p.1);
    let len = (dx * dx + dy * dy).sqrt();
    if len < 1e-9 {
        return p;
    }
    let d = d.min(len / 2.0);
    (p.0 + dx / len * d, p.1 + dy / len * d)
}

pub(super) fn svg(t: &Topology, l: &Layout) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg id="topology" class="topology" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" role="img" aria-label="topology">"#,
        w = l.width,
        h = l.height
    );
    let ends = anchors(t, l);
    // Links first, under the boxes; their interface labels last, over everything.
    let mut labels = String::new();
    for (e, &[(pa, da), (pb, db)]) in t.edges.iter().zip(&ends) {
        let class = match e.kind {
            EdgeKind::Cable => "link",
            EdgeKind::Device => "link device",
            EdgeKind::Later => "link later",
        };
        let (na, nb) = (&t.nodes[e.a].name, &t.nodes[e.b].name);
        let title = match e.kind {
            EdgeKind::Cable => format!("{na}:{} — {nb}:{}", e.a_if, e.b_if),
            EdgeKind::Device => format!("bridge {na} is {nb}'s interface {}", e.b_if),
            EdgeKind::Later => format!("{na}:{} — {nb}:{} (from a later step)", e.a_if, e.b_if),
        };
        let same = l.layer[e.a] == l.layer[e.b];
        let path = if same && (pa.1 - pb.1).abs() < 1e-9 && !is_top(pa, &l.boxes[e.a]) {
            format!("M{:.1},{:.1} L{:.1},{:.1}", pa.0, pa.1, pb.0, pb.1)
        } else if same {
            let lift = 30.0 + (pa.0 - pb.0).abs() / 12.0;
            let cy = pa.1.min(pb.1) - lift;
            format!(
                "M{:.1},{:.1} C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
                pa.0, pa.1, pa.0, cy, pb.0, cy, pb.0, pb.1
            )
        } else {
            format!("M{:.1},{:.1} L{:.1},{:.1}", pa.0, pa.1, pb.0, pb.1)
        };
        let _ = write!(
            s,
            r#"<path class="{class}" d="{path}"><title>{}</title></path>"#,
            esc(&title)
        );
        let toward = |p: (f64, f64), q: (f64, f64), d: f64| {
            if same && (p.1 - q.1).abs() < 1e-9 && is_top(p, &l.boxes[e.a]) {
                (p.0, p.1 - 14.0)
            } else {
                along(p, q, d)
            }
        };
        for (end, p, q, d, name) in [(0, pa, pb, da, &e.a_if), (1, pb, pa, db, &e.b_if)] {
            // A bridge's own port is its device: the router's side names it, unless the
            // device has the bridge's name.
            if e.kind == EdgeKind::Device && (end == 0 || e.b_if == t.nodes[e.a].name) {
                continue;
            }
            let (x, y) = toward(p, q, d);
            let _ = write!(
                labels,
                r#"<text class="ifl" x="{x:.1}" y="{:.1}">{}</text>"#,
                y + 4.0,
                esc(&truncate(name, 16))
            );
        }
    }
    for (node, b) in t.nodes.iter().zip(&l.boxes) {
        let _ = write!(
            s,
            r#"<g class="node {}" data-node="{}"><title>{}</title><rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="6"/>"#,
            node.kind.class(),
            esc(&node.name),
            esc(&format!("{} ({})", node.name, node.note)),
            b.x,
            b.y,
            b.w,
            b.h
        );
        let _ = write!(
            s,
            r#"<text class="nn" x="{:.1}" y="{:.1}">{}</text><text class="nk" x="{:.1}" y="{:.1}">{}</text>"#,
            b.x + PAD,
            b.y + 17.0,
            esc(&node.name),
            b.x + PAD,
            b.y + 31.0,
            esc(&node.note)
        );
        let ifw = node
            .rows
            .iter()
            .map(|r| r.iface.chars().count().min(MAX_TEXT))
            .max()
            .unwrap_or(0);
        for (k, r) in node.rows.iter().enumerate() {
            let y = b.y + HEAD_H + 12.0 + k as f64 * ROW_H;
            let later = if r.later { " (later)" } else { "" };
            let class = if r.later { "nr later" } else { "nr" };
            let _ = write!(
                s,
                r#"<text class="{class}" x="{:.1}" y="{y:.1}"><tspan class="if">{}</tspan><tspan class="addr" x="{:.1}">{}{later}</tspan></text>"#,
                b.x + PAD,
                esc(&truncate(&r.iface, MAX_TEXT)),
                b.x + PAD + (ifw + 2) as f64 * CHAR_W,
                esc(&truncate(&r.addr, MAX_TEXT)),
            );
        }
        s.push_str("</g>");
    }
    s.push_str(&labels);
    s.push_str("</svg>");
    s
}

fn is_top(p: (f64, f64), b: &Placed) -> bool {
    (p.1 - b.y).abs() < 1e-9
}

/// The nodes in the order of the picture's columns (left to right, then top to bottom): the
/// ladder's lanes follow it, so neighbours in the picture are neighbours there.
pub(super) fn column_order(l: &Layout) -> Vec<usize> {
    let mut order: Vec<usize> = (0..l.boxes.len()).collect();
    order.sort_by(|&a, &b| {
        l.boxes[a]
            .cx()
            .total_cmp(&l.boxes[b].cx())
            .then(l.layer[a].cmp(&l.layer[b]))
            .then(a.cmp(&b))
    });
    order
}
