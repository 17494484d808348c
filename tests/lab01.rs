//! Lab 01 through the CLI: the captures say what the lab teaches.

mod common;

use std::path::Path;

use pcap_file::pcap::PcapReader;
use smoltcp::wire::{
    ArpOperation, ArpPacket, EthernetFrame, EthernetProtocol, IpProtocol, Ipv4Packet,
};

use common::{run, text};

const LAB: &str = "scenarios/01-arp-and-mac-learning.yaml";

fn frames(path: &Path) -> Vec<Vec<u8>> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = PcapReader::new(file).expect("pcap header");
    let mut out = Vec::new();
    while let Some(pkt) = reader.next_packet() {
        out.push(pkt.expect("pcap record").data.into_owned());
    }
    out
}

fn is_arp(f: &[u8], op: ArpOperation) -> bool {
    let eth = EthernetFrame::new_checked(f).unwrap();
    eth.ethertype() == EthernetProtocol::Arp
        && ArpPacket::new_checked(eth.payload()).unwrap().operation() == op
}

fn is_icmp(f: &[u8]) -> bool {
    let eth = EthernetFrame::new_checked(f).unwrap();
    eth.ethertype() == EthernetProtocol::Ipv4
        && Ipv4Packet::new_checked(eth.payload())
            .unwrap()
            .next_header()
            == IpProtocol::Icmp
}

#[test]
fn lab01_passes_and_its_captures_show_flooding_then_forwarding() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "run",
        LAB,
        "--capture",
        "both",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("3 packets transmitted, 3 received, 0% packet loss"),
        "{stdout}"
    );
    assert!(stdout.contains("PASS: 18/18 expectations held"), "{stdout}");

    // c3 got the flooded ARP request and nothing else.
    let c3 = frames(&dir.path().join("c3-eth0.pcap"));
    assert_eq!(c3.len(), 1);
    assert!(is_arp(&c3[0], ArpOperation::Request));
    assert!(!c3.iter().any(|f| is_icmp(f)));

    // c2 got the request, answered once, then 3 echo requests and 3 replies.
    let c2 = frames(&dir.path().join("c2-eth0.pcap"));
    assert_eq!(
        c2.iter()
            .filter(|f| is_arp(f, ArpOperation::Request))
            .count(),
        1
    );
    assert_eq!(
        c2.iter().filter(|f| is_arp(f, ArpOperation::Reply)).count(),
        1
    );
    assert_eq!(c2.iter().filter(|f| is_icmp(f)).count(), 6);

    // The bridge saw both directions on veth1 and veth2, and only the flood on veth3.
    assert_eq!(frames(&dir.path().join("br0-veth3.pcap")).len(), 1);
    assert_eq!(frames(&dir.path().join("br0-veth1.pcap")).len(), 8);
    assert!(dir.path().join("all.pcapng").is_file());
}

#[test]
fn the_default_writes_each_frame_once_and_split_gives_the_per_hop_files() {
    let merged = tempfile::tempdir().unwrap();
    let both = tempfile::tempdir().unwrap();
    let out = run(&["run", LAB, "--out", merged.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let only: Vec<_> = std::fs::read_dir(merged.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(only, ["all.pcapng"], "the default is the merged file alone");
    let out = run(&[
        "run",
        LAB,
        "--capture",
        "both",
        "--out",
        both.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let all = merged.path().join("all.pcapng");
    assert_eq!(
        std::fs::read(&all).unwrap(),
        std::fs::read(both.path().join("all.pcapng")).unwrap()
    );
    let split = merged.path().join("hops");
    let out = run(&["split", all.to_str().unwrap(), split.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("c3-eth0.pcap  c3:eth0 (1 frames)"));
    let mut names: Vec<_> = std::fs::read_dir(&split)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names.len(), 6, "{names:?}");
    for n in names {
        let x = std::fs::read(split.join(&n)).unwrap();
        let y = std::fs::read(both.path().join(&n)).unwrap();
        assert!(x == y, "{n:?}: split differs from --capture both");
    }
    // Without DIR, next to the file.
    let out = run(&["split", all.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(merged.path().join("c1-eth0.pcap").is_file());
    // Bad input: exit 2, no panic.
    let out = run(&["split", LAB]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not a pcapng file"));
}

#[test]
fn snap_keeps_headers_and_frame_lengths() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "run",
        LAB,
        "--snap",
        "40",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    // Capture expectations see whole frames whatever the files keep.
    assert!(
        text(&out.stdout).contains("PASS: 18/18"),
        "{}",
        text(&out.stdout)
    );
    let mut r = pcap_file::pcapng::PcapNgReader::new(
        std::fs::File::open(dir.path().join("all.pcapng")).unwrap(),
    )
    .unwrap();
    let mut long = 0;
    while let Some(b) = r.next_block() {
        if let pcap_file::pcapng::Block::EnhancedPacket(p) = b.unwrap() {
            assert!(p.data.len() <= 40);
            if p.original_len > 40 {
                long += 1;
            }
        }
    }
    assert!(long > 0);
    let out = run(&["run", LAB, "--snap", "70000"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn runs_are_byte_identical_across_output_directories() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    for d in [&a, &b] {
        let out = run(&[
            "run",
            LAB,
            "--capture",
            "both",
            "--out",
            d.path().to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0));
    }
    let mut names: Vec<_> = std::fs::read_dir(a.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names.len(), 7, "{names:?}");
    for n in names {
        let x = std::fs::read(a.path().join(&n)).unwrap();
        let y = std::fs::read(b.path().join(&n)).unwrap();
        assert!(x == y, "{n:?} differs between runs");
    }
}

#[test]
fn another_seed_changes_what_is_random_only() {
    let a = tempfile::tempdir().unwrap();
    let out = run(&[
        "run",
        LAB,
        "--seed",
        "99",
        "--out",
        a.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn show_prints_the_fdb_as_it_stands_at_the_end() {
    let out = run(&["show", LAB, "--on", "br0", "bridge fdb show dynamic"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "02:42:ac:11:00:02 dev veth1 master br0 \n02:42:ac:11:00:03 dev veth2 master br0 \n"
    );
    let out = run(&["show", LAB, "--on", "c2", "ip route"]);
    assert_eq!(
        text(&out.stdout),
        "172.17.0.0/16 dev eth0 proto kernel scope link src 172.17.0.3 \n"
    );
}

#[test]
fn json_report_is_versioned_and_complete() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["run", LAB, "--json", "--out", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["version"], 1);
    assert_eq!(v["passed"], true);
    assert_eq!(v["steps"][1]["result"]["received"], 3);
    assert_eq!(v["expectations"].as_array().unwrap().len(), 8);
    assert_eq!(v["files"].as_array().unwrap().len(), 1, "all.pcapng");
}

/// A snap length per capture point: the lab's `point_snaplen`, `--snap POINT=N` over it,
/// each point's pcapng interface block declaring its own, and `split` keeping it.
#[test]
fn snap_per_point_from_the_lab_and_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let source = std::fs::read_to_string(common::repo().join(LAB)).unwrap();
    let lab = dir.path().join("lab.yaml");
    let with = source.replacen(
        "\nhosts:",
        "\npoint_snaplen: {c1:eth0: 40, c2:eth0: 50}\nhosts:",
        1,
    );
    assert_ne!(with, source, "the lab has a hosts: section");
    std::fs::write(&lab, with).unwrap();
    let out_dir = dir.path().join("out");
    let out = run(&[
        "run",
        lab.to_str().unwrap(),
        "--snap",
        "c2:eth0=0",
        "--capture",
        "both",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(text_of(&out).contains("PASS: 18/18"), "{}", text_of(&out));
    let mut r = pcap_file::pcapng::PcapNgReader::new(
        std::fs::File::open(out_dir.join("all.pcapng")).unwrap(),
    )
    .unwrap();
    let mut snaps = std::collections::BTreeMap::new();
    let mut names = Vec::new();
    let mut longest = std::collections::BTreeMap::new();
    while let Some(b) = r.next_block() {
        match b.unwrap() {
            pcap_file::pcapng::Block::InterfaceDescription(idb) => {
                let name = idb
                    .options
                    .iter()
                    .find_map(|o| match o {
                        pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption::IfName(n) => Some(n.to_string()),
                        _ => None,
                    })
                    .unwrap();
                snaps.insert(name.clone(), idb.snaplen);
                names.push(name);
            }
            pcap_file::pcapng::Block::EnhancedPacket(p) => {
                let name = names[p.interface_id as usize].clone();
                let e = longest.entry(name).or_insert(0);
                *e = (*e).max(p.data.len());
            }
            _ => {}
        }
    }
    assert_eq!(snaps["c1:eth0"], 40);
    assert_eq!(
        snaps["c2:eth0"], 65535,
        "--snap c2:eth0=0 keeps whole frames there"
    );
    assert_eq!(snaps["c3:eth0"], 65535);
    assert!(longest["c1:eth0"] <= 40);
    assert!(longest["c2:eth0"] > 50, "{longest:?}");
    // The per-hop file of c1 says 40 in its header, and `split` writes the same bytes.
    let c1 = std::fs::read(out_dir.join("c1-eth0.pcap")).unwrap();
    assert_eq!(u32::from_le_bytes(c1[16..20].try_into().unwrap()), 40);
    let split = dir.path().join("split");
    let out = run(&[
        "split",
        out_dir.join("all.pcapng").to_str().unwrap(),
        split.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(std::fs::read(split.join("c1-eth0.pcap")).unwrap(), c1);
    // Unknown points and lengths over 65535 are refused with exit 2.
    for (args, says) in [
        (vec!["--snap", "zz:eth0=40"], "no node named 'zz'"),
        (vec!["--snap", "c1:eth0=70000"], "not a snap length"),
        (vec!["--snap", "c1eth0=4"], "not node:interface"),
    ] {
        let mut argv = vec!["run", LAB];
        argv.extend(args.iter().copied());
        let out = run(&argv);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains(says),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    std::fs::write(
        &lab,
        source.replacen("\nhosts:", "\npoint_snaplen: {c9:eth0: 40}\nhosts:", 1),
    )
    .unwrap();
    let out = run(&["check", lab.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("field 'point_snaplen': no node named 'c9'"),
        "{}",
        text(&out.stderr)
    );
}

fn text_of(out: &std::process::Output) -> String {
    text(&out.stdout)
}

/// `brctl show` and `brctl showmacs` as bridge-utils prints them, on the bridge and on a
/// Docker host whose docker0 it is.
#[test]
fn brctl_lists_the_bridge_and_its_macs() {
    let out = run(&["show", LAB, "--on", "br0", "brctl show"]);
    let listing = text(&out.stdout);
    assert!(
        listing.starts_with("bridge name\tbridge id\t\tSTP enabled\tinterfaces\nbr0\t\t8000."),
        "{listing}"
    );
    assert!(
        listing.contains("\tno\t\tveth1\n\t\t\t\t\t\t\tveth2\n\t\t\t\t\t\t\tveth3\n"),
        "{listing}"
    );
    let out = run(&["show", LAB, "--on", "br0", "brctl showmacs br0"]);
    let macs = text(&out.stdout);
    let lines: Vec<&str> = macs.lines().collect();
    assert_eq!(lines[0], "port no\tmac addr\t\tis local?\tageing timer");
    // Sorted by MAC; the learned containers are not local.
    let mut sorted = lines[1..].to_vec();
    sorted.sort_by_key(|l| l.split('\t').nth(1).unwrap_or("").to_string());
    assert_eq!(sorted, lines[1..].to_vec());
    assert!(macs.contains("02:42:ac:11:00:02\tno\t\t"), "{macs}");
    let out = run(&["show", LAB, "--on", "br0", "brctl show br9"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("bridge br9 does not exist!"));
    let out = run(&[
        "show",
        "scenarios/07-publish-ports.yaml",
        "--on",
        "dockerhost",
        "brctl show",
    ]);
    assert!(
        text(&out.stdout).contains("\ndocker0\t\t8000."),
        "{}",
        text(&out.stdout)
    );
}
