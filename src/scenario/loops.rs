//! Loops in the L2 topology: cycles of links between bridge ports.
//!
//! Bridges flood a broadcast to every port but the one it came in on, so a cycle of bridges
//! (two bridges joined twice, or a bridge port linked to another port of the same bridge)
//! sends one broadcast round forever unless spanning tree blocks a port. `hoplab check`
//! warns of every such cycle, and the run's storm guard names them when it stops a storm.

use super::model::{BridgeSpec, Endpoint, LinkSpec};

/// One cycle of bridges, as the links that close it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct L2Loop {
    /// The links of the cycle in order, each from the bridge before it to the next.
    pub links: Vec<(Endpoint, Endpoint)>,
    /// The bridges on the cycle, in order, each once.
    pub bridges: Vec<String>,
}

impl L2Loop {
    /// `br0:a2 -- br1:b2, br1:b1 -- br0:a1`.
    pub fn describe(&self) -> String {
        self.links
            .iter()
            .map(|(a, b)| format!("{a} -- {b}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Every independent cycle of bridge-to-bridge links, in link order: each link that joins
/// two bridges already joined (or a bridge to itself) closes one.
pub fn find(bridges: &[BridgeSpec], links: &[LinkSpec]) -> Vec<L2Loop> {
    let index = |ep: &Endpoint| bridges.iter().position(|b| b.name == ep.node);
    let mut parent: Vec<usize> = (0..bridges.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    // The spanning forest's links, by bridge: (neighbour, our end, its end).
    let mut tree: Vec<Vec<(usize, &Endpoint, &Endpoint)>> = vec![Vec::new(); bridges.len()];
    let mut loops = Vec::new();
    for l in links {
        let (Some(a), Some(b)) = (index(&l.a), index(&l.b)) else {
            continue;
        };
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        if ra != rb {
            parent[ra] = rb;
            tree[a].push((b, &l.a, &l.b));
            tree[b].push((a, &l.b, &l.a));
            continue;
        }
        // The link closes a cycle: it, then the forest's path from b back to a.
        let mut cycle = vec![(l.a.clone(), l.b.clone())];
        let mut names = vec![bridges[a].name.clone()];
        if a != b {
            names.push(bridges[b].name.clone());
            for (x, y, next) in tree_path(&tree, b, a) {
                cycle.push((x.clone(), y.clone()));
                if next != a {
                    names.push(bridges[next].name.clone());
                }
            }
        }
        loops.push(L2Loop {
            links: cycle,
            bridges: names,
        });
    }
    loops
}

/// The forest's links from `from` to `to` (in one tree), each with the bridge it leads to.
fn tree_path<'a>(
    tree: &[Vec<(usize, &'a Endpoint, &'a Endpoint)>],
    from: usize,
    to: usize,
) -> Vec<(&'a Endpoint, &'a Endpoint, usize)> {
    // Breadth-first from `from`, remembering how each bridge was reached.
    let mut came: Vec<Option<(usize, &Endpoint, &Endpoint)>> = vec![None; tree.len()];
    let mut seen = vec![false; tree.len()];
    let mut queue = std::collections::VecDeque::from([from]);
    seen[from] = true;
    while let Some(n) = queue.pop_front() {
        if n == to {
            break;
        }
        for &(m, ours, theirs) in &tree[n] {
            if !seen[m] {
                seen[m] = true;
                came[m] = Some((n, ours, theirs));
                queue.push_back(m);
            }
        }
    }
    let mut path = Vec::new();
    let mut at = to;
    while let Some((prev, ours, theirs)) = came[at] {
        path.push((ours, theirs, at));
        at = prev;
    }
    path.reverse();
    path
}

/// The warnings `check` and `run` print: each loop none of whose bridges runs STP.
pub fn warnings(bridges: &[BridgeSpec], links: &[LinkSpec]) -> Vec<String> {
    find(bridges, links)
        .into_iter()
        .filter(|l| {
            !l.bridges
                .iter()
                .any(|n| bridges.iter().any(|b| b.name == *n && b.stp))
        })
        .map(|l| {
            format!(
                "L2 loop: {} (bridges {} without STP): one broadcast will circulate forever; give a bridge `stp: true` or remove a link",
                l.describe(),
                l.bridges.join(", ")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse;

    fn lab(bridges: &str, links: &str) -> crate::scenario::Lab {
        let text = format!("version: 1\nname: t\nbridges:\n{bridges}\nlinks:\n{links}\n");
        parse(&text, "lab.yaml").unwrap()
    }

    #[test]
    fn two_bridges_joined_twice_are_one_loop() {
        let l = lab(
            "  - {name: br0}\n  - {name: br1}",
            "  - [br0:a1, br1:b1]\n  - [br0:a2, br1:b2]",
        );
        let loops = find(&l.bridges, &l.links);
        assert_eq!(loops.len(), 1);
        assert_eq!(loops[0].describe(), "br0:a2 -- br1:b2, br1:b1 -- br0:a1");
        assert_eq!(loops[0].bridges, ["br0", "br1"]);
        assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
        assert!(l.warnings[0].starts_with("L2 loop: br0:a2 -- br1:b2"));
    }

    #[test]
    fn a_port_linked_to_its_own_bridge_is_a_loop() {
        let l = lab("  - {name: br0}", "  - [br0:p1, br0:p2]");
        let loops = find(&l.bridges, &l.links);
        assert_eq!(loops.len(), 1);
        assert_eq!(loops[0].describe(), "br0:p1 -- br0:p2");
        assert_eq!(loops[0].bridges, ["br0"]);
    }

    #[test]
    fn a_ring_of_three_is_named_bridge_by_bridge() {
        let l = lab(
            "  - {name: a}\n  - {name: b}\n  - {name: c}",
            "  - [a:1, b:1]\n  - [b:2, c:1]\n  - [c:2, a:2]",
        );
        let loops = find(&l.bridges, &l.links);
        assert_eq!(loops.len(), 1);
        assert_eq!(loops[0].describe(), "c:2 -- a:2, a:1 -- b:1, b:2 -- c:1");
        assert_eq!(loops[0].bridges, ["c", "a", "b"]);
    }

    #[test]
    fn a_chain_is_no_loop_and_stp_silences_the_warning() {
        let chain = lab(
            "  - {name: a}\n  - {name: b}\n  - {name: c}",
            "  - [a:1, b:1]\n  - [b:2, c:1]",
        );
        assert!(find(&chain.bridges, &chain.links).is_empty());
        assert!(chain.warnings.is_empty());
        let stp = lab(
            "  - {name: br0, stp: true}\n  - {name: br1}",
            "  - [br0:a1, br1:b1]\n  - [br0:a2, br1:b2]",
        );
        assert_eq!(find(&stp.bridges, &stp.links).len(), 1);
        assert!(stp.warnings.is_empty(), "{:?}", stp.warnings);
    }
}
