//! `hoplab explain`: one synthetic packet sent into a router as the lab left it, and why it
//! met the fate it met: conntrack's decision, each table at each hook with every rule the
//! packet was tested against (and its counters), NAT rewrites, the route, and where it went.
//! The packet is handed to the router as if it had just arrived on the interface; what the
//! router sends is shown, not delivered.

mod spec;

use smoltcp::wire::EthernetAddress;

pub use spec::{PacketSpec, Proto, StateWanted};

use super::model::Lab;
use super::run::{RunOptions, Runner};
use crate::router::{Router, TableWalk};
use crate::sim::{DropReason, Note};
use crate::time::{Duration, Instant};

/// What `explain` answers.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Explanation {
    pub lab: String,
    pub node: String,
    /// Virtual time the packet was sent at, in seconds.
    pub at: f64,
    /// The packet, as tcpdump would summarize it.
    pub packet: String,
    #[serde(rename = "in")]
    pub in_iface: String,
    /// The mark it started with.
    pub mark: u32,
    /// What the router decided, in order.
    pub path: Vec<Step>,
    /// For a packet the router took itself: what it decided about its answer (an echo
    /// reply, a reset, a port unreachable), in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub answer: Vec<Step>,
    /// The packet's fate at the router.
    pub fate: Fate,
    /// What the router sent while handling it (the packet on its way, an answer, an ARP
    /// request).
    pub sent: Vec<Sent>,
}

/// One decision on the packet's path.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    /// A table's chain at a hook, with every rule met.
    Table(TableWalk),
    /// Anything else the router noted: conntrack's state, the route, a NAT rewrite, a LOG
    /// line, a queue for ARP.
    Note { text: String },
}

#[derive(Clone, Debug, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fate {
    /// Routed on, out of `iface` (toward `via`, or directly).
    Forwarded {
        iface: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        via: Option<String>,
        /// The packet as it leaves, after NAT and the TTL.
        #[serde(skip_serializing_if = "Option::is_none")]
        leaves_as: Option<String>,
    },
    /// Taken by the router itself (INPUT accepted it).
    Delivered,
    Dropped {
        reason: String,
    },
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Sent {
    /// `node:iface`.
    pub out: String,
    pub summary: String,
    /// It is the explained packet itself (forwarded), not a new one.
    pub same_packet: bool,
}

/// Runs `lab` (to its end, or to `at`) and explains `spec`'s packet at router `node`.
pub fn explain(
    lab: &Lab,
    node: &str,
    spec: &PacketSpec,
    at: Option<Duration>,
    seed: Option<u64>,
) -> Result<Explanation, String> {
    let opts = RunOptions {
        out_dir: Some(std::env::temp_dir()),
        seed,
        ..RunOptions::without_captures()
    };
    let mut runner = Runner::new(lab, &opts)?;
    let id = runner
        .sim
        .find_node(node)
        .ok_or_else(|| format!("lab '{}' has no node named '{node}'", lab.name))?;
    let kind = runner.sim.node_ref(id).kind();
    if kind != "router" {
        return Err(format!(
            "'{node}' is a {kind}: explain follows a packet through a router's routing and netfilter (the lab's routers and Docker hosts)"
        ));
    }
    if let Some(t) = at {
        runner.stop_at(t);
    }
    let report = runner.run();
    if let Some(t) = at
        && runner.sim.now() < Instant::ZERO + t
    {
        return Err(format!(
            "--at {t}: lab '{}' ends at {:.6} s, before that; give a time up to its end, or leave --at out",
            lab.name, report.virtual_time
        ));
    }
    let port = runner.sim.find_port(id, &spec.in_iface).ok_or_else(|| {
        let names: Vec<String> = runner
            .sim
            .port_views(id)
            .into_iter()
            .map(|p| p.name)
            .collect();
        format!(
            "--packet: '{node}' has no interface '{}' (it has {})",
            spec.in_iface,
            names.join(", ")
        )
    })?;
    let now = runner.sim.now();
    let router = runner
        .sim
        .node_as::<Router>(id)
        .ok_or_else(|| format!("'{node}' is not a router"))?;
    let iface = router
        .iface(&spec.in_iface)
        .ok_or_else(|| format!("--packet: '{node}' has no interface '{}'", spec.in_iface))?;
    let dst_mac = iface.mac;
    // The sender's MAC as the router knows it, or a made-up local one.
    let src_mac = router
        .neighbour_mac(&spec.in_iface, spec.src)
        .unwrap_or(EthernetAddress([0x02, 0, 0, 0, 0xee, 0x01]));
    let established = (spec.state == StateWanted::Established).then(|| spec.tuple());
    router.begin_explain(now, spec.mark, established);
    let frame = spec.frame(src_mac, dst_mac);
    let probed = runner.sim.probe_frame(port, &frame);
    let walks = runner
        .sim
        .node_as::<Router>(id)
        .map(Router::end_explain)
        .unwrap_or_default();
    let id_sent = probed.id;
    let mut e = assemble(lab, node, spec, now, &frame, probed, walks);
    // A packet waiting for ARP leaves once the next hop answers: run on a little (three
    // probes, one second apart) to show it as it leaves.
    if let Fate::Forwarded {
        iface,
        leaves_as: leaves @ None,
        ..
    } = &mut e.fate
    {
        runner.sim.set_frame_log();
        runner.sim.run_until(now + Duration::from_secs(4));
        let point = format!("{node}:{iface}");
        *leaves = runner
            .sim
            .trace_log()
            .iter()
            .find(|r| r.id == id_sent && r.dir == "out" && r.point == point)
            .map(|r| r.summary.clone());
    }
    Ok(e)
}

/// Puts the router's notes and table walks in order: each table's note (`filter FORWARD:
/// ...`) is replaced by its walk, recorded in the same order.
fn assemble(
    lab: &Lab,
    node: &str,
    spec: &PacketSpec,
    now: Instant,
    frame: &[u8],
    probed: crate::sim::Probed,
    walks: Vec<TableWalk>,
) -> Explanation {
    let mut walks = walks.into_iter();
    let mut path = Vec::new();
    let mut answer = Vec::new();
    let mut fate = Fate::Delivered;
    for (note, text) in &probed.notes {
        // After the router took the packet, what follows is about its answer.
        let steps = match fate {
            Fate::Delivered if !path.is_empty() && delivered(&path) => &mut answer,
            _ => &mut path,
        };
        match note {
            Note::Decision(d) if is_table_note(d) => match walks.next() {
                Some(w) => steps.push(Step::Table(w)),
                None => steps.push(Step::Note { text: text.clone() }),
            },
            // The router names the rule and table when policy routing chose one other
            // than `main`'s default rule.
            Note::Decision(d) if d.starts_with("route ") && !d.contains(" (ip rule ") => steps
                .push(Step::Note {
                    text: format!("{MAIN_RULE} {}", &d["route ".len()..]),
                }),
            Note::Dropped(reason) => {
                fate = Fate::Dropped {
                    reason: drop_text(*reason, text),
                };
            }
            Note::Routed { via, .. } => {
                fate = Fate::Forwarded {
                    iface: routed_dev(text),
                    via: via.map(|v| v.to_string()),
                    leaves_as: None,
                };
            }
            Note::Local => {
                // The route lookup that found the address local came right after PREROUTING.
                let at = path
                    .iter()
                    .rposition(|s| matches!(s, Step::Table(w) if w.hook == "PREROUTING"))
                    .map_or(path.len(), |i| i + 1);
                let local = format!("{LOCAL_RULE} local {}", spec.dst);
                path.insert(at, Step::Note { text: local });
                path.push(Step::Note { text: text.clone() });
            }
            _ => steps.push(Step::Note { text: text.clone() }),
        }
    }
    let sent: Vec<Sent> = probed
        .sent
        .iter()
        .map(|(out, tag, bytes)| Sent {
            out: out.clone(),
            summary: crate::wire::summary::summarize(bytes),
            same_packet: tag.id == probed.id,
        })
        .collect();
    if let Fate::Forwarded { leaves_as, .. } = &mut fate {
        *leaves_as = sent
            .iter()
            .find(|s| s.same_packet)
            .map(|s| s.summary.clone());
    }
    Explanation {
        lab: lab.name.clone(),
        node: node.to_string(),
        at: now.since_start().as_secs_f64(),
        packet: crate::wire::summary::summarize(frame),
        in_iface: spec.in_iface.clone(),
        mark: spec.mark,
        path,
        answer,
        fate,
        sent,
    }
}

/// How the kernel's default policy rules find the route: `ip rule` 0 looks up table
/// `local` (the host's own addresses), 32766 table `main`; the router's note names any
/// other rule and table that chose the route.
const LOCAL_RULE: &str = "route: ip rule 0 (from all lookup local), table local:";
const MAIN_RULE: &str = "route: ip rule 32766 (from all lookup main), table main:";

/// The path so far ends with the router taking the packet.
fn delivered(path: &[Step]) -> bool {
    path.iter()
        .any(|s| matches!(s, Step::Note { text } if text == "delivered locally"))
}

/// A table's trace note starts with the table's and the hook's names.
fn is_table_note(text: &str) -> bool {
    let Some((table, rest)) = text.split_once(' ') else {
        return false;
    };
    matches!(table, "raw" | "mangle" | "nat" | "filter")
        && [
            "PREROUTING:",
            "INPUT:",
            "FORWARD:",
            "OUTPUT:",
            "POSTROUTING:",
        ]
        .iter()
        .any(|h| rest.starts_with(h))
}

fn drop_text(reason: DropReason, text: &str) -> String {
    match reason {
        DropReason::Filtered => "dropped by netfilter (the verdict above)".into(),
        _ => text.strip_prefix("dropped: ").unwrap_or(text).to_string(),
    }
}

/// The device of `routed via 10.0.0.1 dev eth0` / `routed dev eth0 (directly connected)`.
fn routed_dev(text: &str) -> String {
    let rest = text.split_once("dev ").map_or(text, |(_, r)| r);
    rest.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The explanation as text.
pub fn describe(e: &Explanation) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "packet: {}\n  in {} of {}, at {:.6}s{}\n",
        e.packet,
        e.in_iface,
        e.node,
        e.at,
        match e.mark {
            0 => String::new(),
            m => format!(", mark {m:#x}"),
        }
    ));
    describe_steps(&mut out, &e.path);
    if !e.answer.is_empty() {
        out.push_str("  its answer:\n");
        describe_steps(&mut out, &e.answer);
    }
    match &e.fate {
        Fate::Forwarded {
            iface,
            via,
            leaves_as,
        } => {
            let via = via
                .as_ref()
                .map_or(" (directly connected)".to_string(), |v| format!(" via {v}"));
            out.push_str(&format!("fate: forwarded out {iface}{via}\n"));
            if let Some(s) = leaves_as {
                out.push_str(&format!("  leaves as: {s}\n"));
            }
        }
        Fate::Delivered => out.push_str(&format!("fate: delivered to {} itself\n", e.node)),
        Fate::Dropped { reason } => out.push_str(&format!("fate: {reason}\n")),
    }
    for s in e.sent.iter().filter(|s| !s.same_packet) {
        out.push_str(&format!("  sent on {}: {}\n", s.out, s.summary));
    }
    out
}

fn describe_steps(out: &mut String, steps: &[Step]) {
    for step in steps {
        match step {
            Step::Note { text } => out.push_str(&format!("  {text}\n")),
            Step::Table(w) => {
                out.push_str(&format!("  {} {}: {}\n", w.table, w.hook, w.verdict));
                let width = w.rules.iter().map(|r| r.chain.len()).max().unwrap_or(0);
                for r in &w.rules {
                    let counted = format!("({} packets, {} bytes)", r.packets, r.bytes);
                    let what = match (r.rule, r.matched) {
                        (0, _) => format!("policy {}  {counted}", w.verdict),
                        (n, false) => format!("#{n:<3} no match"),
                        (n, true) => format!("#{n:<3} {}  {counted}", r.text),
                    };
                    out.push_str(&format!("      {:<width$}  {what}\n", r.chain));
                }
            }
        }
    }
}
