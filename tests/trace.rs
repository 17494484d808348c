//! Packet identity and traces: every frame of `all.pcapng` names its packet (`id=N`), kept
//! across hops, bridging and NAT, replies name what they answer (`re=N`), NAT and rule
//! decisions are comments, and `hoplab trace` replays a lab to print one packet's journey.

mod common;

use common::{have_tool, run, text, tshark};

/// Runs lab 03 into a fresh directory; its `all.pcapng`.
fn lab03() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "run",
        "scenarios/03-masquerade.yaml",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let all = dir.path().join("all.pcapng");
    (dir, all)
}

/// (frame number, interface, comment) of every frame.
fn comments(all: &std::path::Path) -> Vec<(u64, String, String)> {
    let out = tshark(
        all,
        &[
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "frame.interface_name",
            "-e",
            "frame.comment",
        ],
    );
    text(&out.stdout)
        .lines()
        .map(|l| {
            let mut f = l.split('\t');
            let n = f.next().unwrap().parse().unwrap();
            (
                n,
                f.next().unwrap_or_default().to_string(),
                f.next().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn id_of(comment: &str) -> u32 {
    comment
        .strip_prefix("id=")
        .and_then(|r| r.split([' ', ';']).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no id in {comment:?}"))
}

#[test]
fn every_frame_names_its_packet_and_nat_keeps_the_id() {
    if !have_tool(
        "tshark",
        "every_frame_names_its_packet_and_nat_keeps_the_id",
    ) {
        return;
    }
    let (_dir, all) = lab03();
    let frames = comments(&all);
    assert!(frames.len() > 20);
    assert!(
        frames.iter().all(|(_, _, c)| c.starts_with("id=")),
        "{frames:#?}"
    );
    // The second echo request: the same id from c1 to remote, rewritten by MASQUERADE on
    // the way; its reply answers it.
    let masq: Vec<&(u64, String, String)> = frames
        .iter()
        .filter(|(_, _, c)| c.contains("MASQUERADE src 172.17.0.2 → 192.0.2.10"))
        .collect();
    assert!(masq.len() >= 2, "{frames:#?}");
    let id = id_of(&masq[1].2);
    let hops: Vec<&str> = frames
        .iter()
        .filter(|(_, _, c)| id_of(c) == id)
        .map(|(_, i, _)| i.as_str())
        .collect();
    assert_eq!(
        hops,
        [
            "c1:eth0",
            "docker0:vethc1",
            "dockerhost:docker0",
            "dockerhost:eth0",
            "remote:eth0"
        ]
    );
    let reply = frames
        .iter()
        .find(|(_, _, c)| c.contains(&format!("re={id}")))
        .expect("a reply");
    // The reply's first frame is at remote; the router notes the rewrite where it happens.
    let reply_id = id_of(&reply.2);
    assert!(
        frames.iter().any(|(_, i, c)| i == "dockerhost:eth0"
            && id_of(c) == reply_id
            && c.contains("MASQUERADE (reply) dst 192.0.2.10 → 172.17.0.2")),
        "{frames:#?}"
    );
    // The trace replays the same run: its frame numbers are all.pcapng's.
    let out = run(&[
        "trace",
        "scenarios/03-masquerade.yaml",
        "--json",
        "--packet",
        &id.to_string(),
    ]);
    let journey: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let traced: Vec<u64> = journey["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["frame"].as_u64().unwrap())
        .collect();
    let captured: Vec<u64> = frames
        .iter()
        .filter(|(_, _, c)| id_of(c) == id)
        .map(|(n, _, _)| *n)
        .collect();
    assert_eq!(traced, captured);
    // Wireshark's filter finds a packet's whole journey by its id.
    let out = tshark(
        &all,
        &["-Y", &format!("frame.comment matches \"^id={id}( |;|$)\"")],
    );
    assert_eq!(text(&out.stdout).lines().count(), hops.len());
    // ...and every rewritten packet by the target's name.
    let out = tshark(&all, &["-Y", "frame.comment contains \"MASQUERADE\""]);
    let rewritten = frames
        .iter()
        .filter(|(_, _, c)| c.contains("MASQUERADE"))
        .count();
    assert_eq!(text(&out.stdout).lines().count(), rewritten);
}

#[test]
fn a_masqueraded_packets_trace_reads_hop_by_hop_with_every_rule() {
    let out = run(&[
        "trace",
        "scenarios/03-masquerade.yaml",
        "--match",
        "icmp.type == 8",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    let expect = [
        "packet id=",
        "out  c1:eth0",
        "in   docker0:vethc1",
        "in   dockerhost:docker0",
        "conntrack: NEW",
        "route 192.0.2.0/24 dev eth0 matched 192.0.2.1 (longest prefix)",
        "TTL 64 -> 63",
        "filter FORWARD: FORWARD policy => ACCEPT",
        "nat POSTROUTING: POSTROUTING #1 -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE => MASQUERADE",
        "MASQUERADE src 172.17.0.2 → 192.0.2.10",
        "out  dockerhost:eth0",
        "now: 192.0.2.10 > 192.0.2.1: ICMP echo request",
        "in   remote:eth0",
        "answered by id=",
    ];
    let mut at = 0;
    for e in expect {
        let i = t[at..]
            .find(e)
            .unwrap_or_else(|| panic!("{e:?} missing after byte {at} in:\n{t}"));
        at += i;
    }
}

#[test]
fn frame_packet_and_match_pick_the_same_journey_and_a_missing_one_is_exit_2() {
    let json = |args: &[&str]| -> serde_json::Value {
        let mut a = vec!["trace", "scenarios/03-masquerade.yaml", "--json"];
        a.extend_from_slice(args);
        let out = run(&a);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let by_match = json(&["--match", "icmp.type == 8"]);
    let id = by_match["id"].as_u64().unwrap().to_string();
    let frame = by_match["hops"][2]["frame"].as_u64().unwrap().to_string();
    assert_eq!(json(&["--packet", &id]), by_match);
    assert_eq!(json(&["--frame", &frame]), by_match);
    for bad in [
        &["--packet", "99999"][..],
        &["--frame", "99999"],
        &["--match", "udp.port == 1"],
        &[],
    ] {
        let mut a = vec!["trace", "scenarios/03-masquerade.yaml"];
        a.extend_from_slice(bad);
        assert_eq!(run(&a).status.code(), Some(2), "{bad:?}");
    }
}

#[test]
fn a_docker_user_drop_names_its_rule_in_the_capture() {
    if !have_tool("tshark", "a_docker_user_drop_names_its_rule_in_the_capture") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "run",
        "scenarios/08-docker-user-firewall.yaml",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let frames = comments(&dir.path().join("all.pcapng"));
    let drop = frames
        .iter()
        .find(|(_, _, c)| c.contains("dropped by rule"))
        .expect("a rule's drop");
    assert!(
        drop.2
            .contains("filter FORWARD: dropped by rule 1 of DOCKER-USER: -A DOCKER-USER"),
        "{drop:?}"
    );
    // A new connection names the rule that let it in.
    assert!(
        frames.iter().any(|(_, _, c)| c.contains(
            "filter FORWARD: new connection accepted by rule 2 of DOCKER: -A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT"
        )),
        "no accepted-new note"
    );
}
