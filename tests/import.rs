//! `hoplab import`: real hosts' dumps made into labs that run, and list back what the host
//! listed.

mod common;

use std::path::{Path, PathBuf};

use common::{repo, run, text};

fn fixture(dir: &str, name: &str) -> String {
    format!("tests/fixtures/import/{dir}/{name}")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap()
}

/// `hoplab import ARGS -o DIR/lab.yaml`: the lab's path, after checking the import exited 0.
fn import(dir: &Path, args: &[&str]) -> PathBuf {
    let lab = dir.join("lab.yaml");
    let mut argv = vec!["import"];
    argv.extend(args);
    argv.extend(["-o", lab.to_str().unwrap()]);
    let out = run(&argv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    lab
}

fn show(lab: &Path, node: &str, listing: &str) -> String {
    let out = run(&["show", lab.to_str().unwrap(), "--on", node, listing]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{listing}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// The lab checks, and runs to exit 0.
fn check_and_run(lab: &Path, dir: &Path) {
    let out = run(&["check", lab.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let captures = dir.join("captures");
    let out = run(&[
        "run",
        lab.to_str().unwrap(),
        "--out",
        captures.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// The items of `about:`'s "Not imported:" and "Approximated:" lists.
fn about_items(lab: &Path) -> Vec<String> {
    let yaml = std::fs::read_to_string(lab).unwrap();
    let mut items = Vec::new();
    let mut inside = false;
    for l in yaml.lines() {
        if l.starts_with("about:") {
            inside = true;
            continue;
        }
        if inside && !l.starts_with("  ") {
            break;
        }
        if let Some(item) = l.trim_start().strip_prefix("- ").filter(|_| inside) {
            items.push(item.to_string());
        }
    }
    items
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(|l| l.trim_end().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

fn seed_args() -> Vec<String> {
    let f = |n: &str| fixture("seed", n);
    [
        "--ip-addr",
        &f("ip-a.txt"),
        "--ip-route",
        &f("ip-r.txt"),
        "--iptables-list",
        &f("iptables-nL-filter.txt"),
        "--iptables-list",
        &f("iptables-nL-nat.txt"),
        "--docker-inspect",
        &f("docker-inspect.json"),
        "--docker-network-inspect",
        &f("docker-network-inspect.json"),
        "--name",
        "seed-host",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn seed_host_imports_runs_and_lists_back_its_routes_and_chains() {
    let d = tempfile::tempdir().unwrap();
    let args = seed_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let lab = import(d.path(), &args);
    check_and_run(&lab, d.path());
    let about = about_items(&lab);
    let yaml = std::fs::read_to_string(&lab).unwrap();
    // The container on its bridge, through the veth ip addr shows, and the LAN's gateway.
    assert!(
        yaml.contains("[\"ens_monitor_cron:eth0\", \"br-d9231d44a1ab:veth9780200\"]"),
        "{yaml}"
    );
    assert!(
        yaml.contains("eth0: {ip: 172.18.0.2/16, mac: \"96:00:76:49:ce:66\"}"),
        "{yaml}"
    );
    assert!(yaml.contains("eth0: {ip: 10.104.68.129/25}"), "{yaml}");

    // ip route: equal, but for what about: names.
    let input = lines(&read(&fixture("seed", "ip-r.txt")));
    let listed = lines(&show(&lab, "host", "ip route"));
    assert_eq!(input.len(), listed.len(), "{listed:?}");
    let mut differ = Vec::new();
    for (a, b) in input.iter().zip(&listed) {
        if a != b {
            differ.push(a.clone());
        }
    }
    assert_eq!(
        differ,
        ["10.104.68.128/25 dev eth0 proto kernel scope link src 10.104.68.181 metric 100"]
    );
    for r in &differ {
        assert!(
            about.iter().any(|i| i.starts_with(&format!("route `{r}`"))),
            "{about:?}"
        );
    }

    // iptables -nL, table by table: line for line the input's. A listing without -v cannot
    // carry interfaces: about: names each rule as such, and nothing else of the chains.
    let mut lost = Vec::new();
    for (table, file) in [
        ("filter", "iptables-nL-filter.txt"),
        ("nat", "iptables-nL-nat.txt"),
    ] {
        let path = fixture("seed", file);
        let input = read(&path);
        let listed = show(&lab, "host", &format!("iptables -t {table} -nL"));
        assert_eq!(lines(&input), lines(&listed), "table {table}");
        for (n, l) in input.lines().enumerate() {
            let rule =
                !l.starts_with("Chain ") && !l.starts_with("target ") && !l.trim().is_empty();
            if rule {
                lost.push(format!("{path}:{}: `{}`: its interfaces, if it had any, are not in a listing without -v", n + 1, l.trim()));
            }
        }
    }
    let said: Vec<&String> = about
        .iter()
        .filter(|i| i.contains("iptables-nL") && !i.contains("is listed without -v"))
        .collect();
    for t in ["filter", "nat"] {
        assert!(
            about.iter().any(|i| i.contains(&format!(
                "table {t} is listed without -v, so its rules' -i and -o are lost"
            ))),
            "{about:?}"
        );
    }
    let lost_one: Vec<String> = lost
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(said, lost_one.iter().collect::<Vec<_>>());
    // Each rebuilt rule names its listing line.
    assert_eq!(yaml.matches("# approximated from: ").count(), lost.len());
    assert!(yaml.contains("      # approximated from: MASQUERADE  all  --  172.18.0.0/16        0.0.0.0/0\n      - \"iptables -t nat -A POSTROUTING -s 172.18.0.0/16 -j MASQUERADE\""), "{yaml}");
    // IPv6 and the aliases are named as left out.
    assert!(
        about
            .iter()
            .any(|i| i.starts_with("eth0: IPv6 addresses fd00:4:68:128:1000::6d/128")),
        "{about:?}"
    );
    assert!(
        about.iter().any(|i| i.contains("python-monitor")),
        "{about:?}"
    );
}

#[test]
fn iptables_save_round_trips_byte_for_byte_but_its_header() {
    let d = tempfile::tempdir().unwrap();
    let f = |n: &str| fixture("ns", n);
    let lab = import(
        d.path(),
        &[
            "--ip-addr",
            &f("ip-addr.txt"),
            "--ip-route",
            &f("ip-route.txt"),
            "--ip-rule",
            &f("ip-rule.txt"),
            "--iptables-save",
            &f("iptables-save.txt"),
        ],
    );
    check_and_run(&lab, d.path());
    let input = read(&f("iptables-save.txt"));
    let saved = show(&lab, "host", "iptables-save");
    let header = |l: &str| l.starts_with("# Generated by ") || l.starts_with("# Completed on ");
    assert_eq!(input.lines().count(), saved.lines().count());
    for (a, b) in input.lines().zip(saved.lines()) {
        if header(a) {
            assert!(header(b), "{b}");
        } else {
            assert_eq!(a, b);
        }
    }
    assert!(saved.ends_with("COMMIT\n# Completed on Thu Jan  1 00:00:00 1970\n"));
    // The namespace's routes list back as they were listed.
    assert_eq!(
        lines(&show(&lab, "host", "ip route")),
        lines(&read(&f("ip-route.txt")))
    );
    // The rule besides the kernel's three is added by a step: `ip rule` lists as the host's.
    assert_eq!(show(&lab, "host", "ip rule"), read(&f("ip-rule.txt")));
    let about = about_items(&lab);
    assert!(about.iter().all(|i| !i.starts_with("ip rule")), "{about:?}");
}

#[test]
fn a_docker_lab_round_trips_through_its_own_dumps() {
    // Lab 11's host as hoplab lists it, imported: the same rules, byte for byte, and routes.
    let d = tempfile::tempdir().unwrap();
    let lab11 = "scenarios/11-docker-host-anatomy.yaml";
    let dump = |name: &str, listing: &str| {
        let p = d.path().join(name);
        std::fs::write(&p, show(Path::new(lab11), "dockerhost", listing)).unwrap();
        p.to_str().unwrap().to_string()
    };
    let (a, r, s) = (
        dump("ip-a", "ip a"),
        dump("ip-r", "ip r"),
        dump("save", "iptables-save"),
    );
    let n = dump("net.json", "docker network inspect docker_default bridge");
    let c = dump("ctr.json", "docker inspect ens_monitor_cron");
    let lab = import(
        d.path(),
        &[
            "--ip-addr",
            &a,
            "--ip-route",
            &r,
            "--iptables-save",
            &s,
            "--docker-network-inspect",
            &n,
            "--docker-inspect",
            &c,
        ],
    );
    check_and_run(&lab, d.path());
    assert_eq!(
        show(&lab, "host", "iptables-save"),
        std::fs::read_to_string(&s).unwrap()
    );
    assert_eq!(
        lines(&show(&lab, "host", "ip r")),
        lines(&std::fs::read_to_string(&r).unwrap())
    );
    let yaml = std::fs::read_to_string(&lab).unwrap();
    assert!(
        yaml.contains("[\"ens_monitor_cron:eth0\", \"br-d9231d44a1ab:veth9780200\"]"),
        "{yaml}"
    );
}

#[test]
fn verbose_listings_rebuild_interfaces_and_the_save() {
    let d = tempfile::tempdir().unwrap();
    let f = |n: &str| fixture("ns", n);
    let lab = import(
        d.path(),
        &[
            "--ip-addr",
            &f("ip-addr.txt"),
            "--ip-route",
            &f("ip-route.txt"),
            "--iptables-list",
            &f("iptables-nvL.txt"),
        ],
    );
    check_and_run(&lab, d.path());
    let listed = format!(
        "# table: filter\n{}# table: nat\n{}",
        show(&lab, "host", "iptables -nvL"),
        show(&lab, "host", "iptables -t nat -nvL")
    );
    assert_eq!(listed, read(&f("iptables-nvL.txt")));
    // -nvL carries every field of these rules: the save is the namespace's.
    let saved = show(&lab, "host", "iptables-save");
    let body = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(body(&saved), body(&read(&f("iptables-save.txt"))));
    assert!(
        about_items(&lab)
            .iter()
            .all(|i| !i.contains("iptables-nvL")),
        "{:?}",
        about_items(&lab)
    );

    // The same without -v, two tables one after the other with no line naming them.
    let sub = d.path().join("nL");
    std::fs::create_dir(&sub).unwrap();
    let lab = import(
        &sub,
        &[
            "--ip-addr",
            &f("ip-addr.txt"),
            "--ip-route",
            &f("ip-route.txt"),
            "--iptables-list",
            &f("iptables-nL.txt"),
        ],
    );
    check_and_run(&lab, &sub);
    let listed = format!(
        "{}\n{}",
        show(&lab, "host", "iptables -nL"),
        show(&lab, "host", "iptables -t nat -nL")
    );
    assert_eq!(listed, read(&f("iptables-nL.txt")));
}

#[test]
fn json_dumps_give_the_lab_the_text_dumps_give() {
    let d = tempfile::tempdir().unwrap();
    let f = |n: &str| fixture("ns", n);
    let mk = |sub: &str, addr: &str, route: &str| {
        let dir = d.path().join(sub);
        std::fs::create_dir(&dir).unwrap();
        let lab = import(
            &dir,
            &[
                "--ip-addr",
                &f(addr),
                "--ip-route",
                &f(route),
                "--iptables-save",
                &f("iptables-save.txt"),
            ],
        );
        std::fs::read_to_string(lab).unwrap()
    };
    let t = mk("text", "ip-addr.txt", "ip-route.txt");
    let j = mk("json", "ip-addr.json", "ip-route.json");
    let strip = |y: &str| {
        y.lines()
            .filter(|l| !l.contains("--ip-addr ") && !l.contains("--ip-route "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&t), strip(&j));
    assert!(t.contains("--ip-addr tests/fixtures/import/ns/ip-addr.txt"));

    // `ip -d addr` too: the kinds it prints are read, and the JSON says the same.
    let g = |n: &str| fixture("ns-d", n);
    let labs: Vec<String> = ["ip-d-addr.txt", "ip-d-addr.json"]
        .iter()
        .map(|a| {
            let dir = d.path().join(a);
            std::fs::create_dir(&dir).unwrap();
            let lab = import(
                &dir,
                &["--ip-addr", &g(a), "--ip-route", &g("ip-route.txt")],
            );
            check_and_run(&lab, &dir);
            strip(&std::fs::read_to_string(lab).unwrap())
        })
        .collect();
    assert_eq!(labs[0], labs[1]);
    assert!(
        labs[0].contains("  - {name: br0, host: host, mac: \"3a:31:18:e0:77:44\"}"),
        "{}",
        labs[0]
    );
    assert!(
        labs[0].contains("  - [\"ctr-v1:eth0\", \"br0:v1\"]"),
        "{}",
        labs[0]
    );
}

#[test]
fn refused_rules_and_unmodelled_things_are_named_in_about() {
    let d = tempfile::tempdir().unwrap();
    let w = |name: &str, body: &str| {
        let p = d.path().join(name);
        std::fs::write(&p, body).unwrap();
        p.to_str().unwrap().to_string()
    };
    let addr = w("a", "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
    inet 127.0.0.1/8 scope host lo
2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000
    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff
    inet 192.168.1.10/24 brd 192.168.1.255 scope global eth0
    inet 192.168.1.11/24 scope global secondary eth0
3: wg0: <POINTOPOINT,NOARP,UP,LOWER_UP> mtu 1420 qdisc noqueue state UNKNOWN group default qlen 1000
    link/none 
    inet 10.8.0.1/24 scope global wg0
");
    let route = w(
        "r",
        "default via 192.168.1.1 dev eth0 \n10.8.0.0/24 dev wg0 proto kernel scope link src 10.8.0.1 \n192.168.1.0/24 dev eth0 proto kernel scope link src 192.168.1.10 \nblackhole 10.99.0.0/16 \n",
    );
    let save = w(
        "s",
        "# Generated by iptables-save v1.8.10 (nf_tables) on Sun Dec  6 22:54:18 2026
*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m quota --quota 100 -j DROP
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
# Completed on Sun Dec  6 22:54:18 2026
",
    );
    let lab = import(
        d.path(),
        &[
            "--ip-addr",
            &addr,
            "--ip-route",
            &route,
            "--iptables-save",
            &save,
        ],
    );
    check_and_run(&lab, d.path());
    let about = about_items(&lab);
    let has = |p: &str| about.iter().any(|i| i.starts_with(p));
    assert!(
        has(
            "--iptables-save line 6: `-A INPUT -m quota --quota 100 -j DROP`: hoplab: match 'quota' is not modelled"
        ),
        "{about:?}"
    );
    assert!(
        has(
            "interface wg0 (wireguard): this kind of link is not modelled; its addresses 10.8.0.1/24 go with it"
        ),
        "{about:?}"
    );
    assert!(has("eth0: second address 192.168.1.11/24"), "{about:?}");
    assert!(
        has("route `blackhole 10.99.0.0/16`: route type blackhole is not modelled"),
        "{about:?}"
    );
    assert!(
        has(
            "route `10.8.0.0/24 dev wg0 proto kernel scope link src 10.8.0.1`: its device is not in the lab"
        ),
        "{about:?}"
    );
    let saved = show(&lab, "host", "iptables-save");
    assert!(saved.contains(":INPUT DROP [0:0]\n"), "{saved}");
    assert!(
        saved.contains("\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n"),
        "{saved}"
    );
    assert!(!saved.contains("quota"), "{saved}");
}

#[test]
fn the_lab_goes_to_standard_output_without_o() {
    let f = |n: &str| fixture("ns", n);
    let out = run(&[
        "import",
        "--ip-addr",
        &f("ip-addr.txt"),
        "--ip-route",
        &f("ip-route.txt"),
        "--iptables-save",
        &f("iptables-save.txt"),
        "--iptables-list",
        &f("iptables-nL.txt"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let yaml = text(&out.stdout);
    assert!(yaml.starts_with("version: 1\nname: imported\n"), "{yaml}");
    assert!(
        yaml.contains("    - the iptables -L listings: iptables-save gives the rules\n"),
        "{yaml}"
    );
    assert!(hoplab::scenario::parse(&yaml, "lab.yaml").is_ok());
    assert!(out.stderr.is_empty());
}

#[test]
fn bad_input_is_a_located_error_with_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let w = |name: &str, body: &str| {
        let p = d.path().join(name);
        std::fs::write(&p, body).unwrap();
        p.to_str().unwrap().to_string()
    };
    let route = fixture("seed", "ip-r.txt");
    let addr = fixture("seed", "ip-a.txt");
    let cases: Vec<(Vec<String>, String)> = vec![
        {
            let f = w("not-addr", &read(&route));
            (
                vec![
                    "--ip-addr".into(),
                    f.clone(),
                    "--ip-route".into(),
                    route.clone(),
                ],
                format!(
                    "{f}:1: --ip-addr: not the output of ip addr (line 1: `default via 10.104.68.129 dev eth0 proto dhcp src 10.104.68.181 metric 100`)"
                ),
            )
        },
        {
            let f = w(
                "bad-gw",
                "default via 10.0.0.1 dev eth0\n10.1.0.0/16 via 10.0.0.300 dev eth0\n",
            );
            (
                vec![
                    "--ip-addr".into(),
                    addr.clone(),
                    "--ip-route".into(),
                    f.clone(),
                ],
                format!(
                    "{f}:2: --ip-route: bad gateway `10.0.0.300` in `10.1.0.0/16 via 10.0.0.300 dev eth0`"
                ),
            )
        },
        {
            let f = w("bad.json", "[\n  {\"Name\": \"x\",\n");
            (
                vec![
                    "--ip-addr".into(),
                    addr.clone(),
                    "--ip-route".into(),
                    route.clone(),
                    "--docker-inspect".into(),
                    f.clone(),
                ],
                format!("{f}:3: --docker-inspect: not the JSON of docker inspect: "),
            )
        },
        {
            let f = w(
                "bad-list",
                "Chain INPUT (policy ACCEPT)\nACCEPT all -- 0.0.0.0/0 0.0.0.0/0\n",
            );
            (
                vec![
                    "--ip-addr".into(),
                    addr.clone(),
                    "--ip-route".into(),
                    route.clone(),
                    "--iptables-list".into(),
                    f.clone(),
                ],
                format!(
                    "{f}:2: --iptables-list: a rule before its chain's column header: `ACCEPT all -- 0.0.0.0/0 0.0.0.0/0`"
                ),
            )
        },
        {
            let f = w(
                "bad-save",
                "*filter\n:INPUT ACCEPT [0:0]\n:INPUT BOGUS [0:0]\nCOMMIT\n",
            );
            (
                vec![
                    "--ip-addr".into(),
                    addr.clone(),
                    "--ip-route".into(),
                    route.clone(),
                    "--iptables-save".into(),
                    f.clone(),
                ],
                format!(
                    "{f}:3: --iptables-save: iptables-restore: line 3 failed: Bad policy name."
                ),
            )
        },
        {
            let f = d.path().join("missing").to_str().unwrap().to_string();
            (
                vec![
                    "--ip-addr".into(),
                    f.clone(),
                    "--ip-route".into(),
                    route.clone(),
                ],
                format!("{f}:0: --ip-addr: cannot read: "),
            )
        },
    ];
    for (args, want) in cases {
        let mut argv = vec!["import"];
        argv.extend(args.iter().map(String::as_str));
        let out = run(&argv);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{argv:?}: {err}");
        assert!(err.starts_with(&want), "{argv:?}:\n{err}\nwanted: {want}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn every_rule_kind_round_trips_through_a_verbose_listing() {
    // A router with a rule of each kind, listed with -nvL (and -nL, and -S): the import
    // lists the same, and with -v or -S its iptables-save is the router's.
    let d = tempfile::tempdir().unwrap();
    let rules = Path::new("tests/fixtures/import/rules.yaml");
    let dump = |name: &str, body: String| {
        let p = d.path().join(name);
        std::fs::write(&p, body).unwrap();
        p.to_str().unwrap().to_string()
    };
    let tables = |lab: &Path, node: &str, flags: &str| {
        ["filter", "nat", "mangle", "raw"]
            .iter()
            .map(|t| {
                format!(
                    "# table: {t}\n{}",
                    show(lab, node, &format!("iptables -t {t} {flags}"))
                )
            })
            .collect::<String>()
    };
    let a = dump("a", show(rules, "r1", "ip a"));
    let r = dump("r", show(rules, "r1", "ip r"));
    for flags in ["-nvL", "-nL --line-numbers", "-nvxL --line-numbers", "-S"] {
        let sub = d.path().join(flags.replace(' ', ""));
        std::fs::create_dir(&sub).unwrap();
        let listed = tables(rules, "r1", flags);
        let l = dump(&format!("l{}", flags.len()), listed.clone());
        let lab = import(
            &sub,
            &["--ip-addr", &a, "--ip-route", &r, "--iptables-list", &l],
        );
        assert_eq!(tables(&lab, "host", flags), listed, "{flags}");
        let about = about_items(&lab);
        assert!(
            about
                .iter()
                .all(|i| !i.contains("lists as") && !i.contains("not read")),
            "{flags}: {about:?}"
        );
        if flags.contains('v') || flags == "-S" {
            assert_eq!(
                show(&lab, "host", "iptables-save"),
                show(rules, "r1", "iptables-save")
            );
            assert!(about.is_empty(), "{about:?}");
        }
    }
}

#[test]
fn no_dump_makes_the_importer_panic() {
    // Every fixture cut at each line, and with each line doubled, dropped or cut short, in
    // its slot: a lab the loader takes, or a located error; never a panic.
    use hoplab::import::{Inputs, Source, import};
    let files = [
        ("--ip-addr", "seed/ip-a.txt"),
        ("--ip-addr", "ns/ip-addr.json"),
        ("--ip-route", "seed/ip-r.txt"),
        ("--ip-route", "ns/ip-route.json"),
        ("--ip-rule", "ns/ip-rule.txt"),
        ("--iptables-save", "ns/iptables-save.txt"),
        ("--iptables-list", "ns/iptables-nvL.txt"),
        ("--iptables-list", "seed/iptables-nL-filter.txt"),
        ("--docker-inspect", "seed/docker-inspect.json"),
        ("--nft-ruleset", "nft/nft-ruleset.txt"),
        (
            "--docker-network-inspect",
            "seed/docker-network-inspect.json",
        ),
    ];
    for (flag, file) in files {
        let text = read(&format!("tests/fixtures/import/{file}"));
        let lines: Vec<&str> = text.lines().collect();
        let mut variants = Vec::new();
        for k in 0..lines.len() {
            variants.push(lines[..k].join("\n"));
            let mut v = lines.clone();
            v.remove(k);
            variants.push(v.join("\n"));
            let mut v = lines.clone();
            v.insert(k, lines[k]);
            variants.push(v.join("\n"));
            let mut v = lines.clone();
            let cut = lines[k].len() / 2;
            let cut = (0..=cut)
                .rev()
                .find(|&c| lines[k].is_char_boundary(c))
                .unwrap_or(0);
            v[k] = &lines[k][..cut];
            variants.push(v.join("\n"));
        }
        // And 100 copies with a few characters replaced (a fixed pseudo-random sequence;
        // HOPLAB_IMPORT_SEED and HOPLAB_IMPORT_COPIES for a longer hunt).
        let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
        let mut seed: u64 = env("HOPLAB_IMPORT_SEED").unwrap_or(0x9e37_79b9_7f4a_7c15);
        let copies = env("HOPLAB_IMPORT_COPIES").unwrap_or(100);
        let mut rnd = |n: usize| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((seed >> 33) as usize) % n.max(1)
        };
        let alphabet: Vec<char> = " \t\n:/.,-!\"[]{}0123456789abcdefxyzADLPS@*#"
            .chars()
            .collect();
        for _ in 0..copies {
            let mut chars: Vec<char> = text.chars().collect();
            for _ in 0..1 + rnd(4) {
                let at = rnd(chars.len());
                if !chars.is_empty() {
                    chars[at] = alphabet[rnd(alphabet.len())];
                }
            }
            variants.push(chars.into_iter().collect());
        }
        for v in variants {
            let src = Source::new(flag, "f", v);
            let mut i = Inputs {
                ip_addr: Some(Source::new(
                    "--ip-addr",
                    "a",
                    read("tests/fixtures/import/seed/ip-a.txt"),
                )),
                ip_route: Some(Source::new(
                    "--ip-route",
                    "r",
                    read("tests/fixtures/import/seed/ip-r.txt"),
                )),
                ..Inputs::default()
            };
            match flag {
                "--ip-addr" => i.ip_addr = Some(src),
                "--ip-route" => i.ip_route = Some(src),
                "--ip-rule" => i.ip_rule = Some(src),
                "--iptables-save" => i.iptables_save = Some(src),
                "--iptables-list" => i.iptables_list.push(src),
                "--docker-inspect" => i.docker_inspect.push(src),
                "--nft-ruleset" => i.nft_ruleset = Some(src),
                _ => i.docker_network_inspect.push(src),
            }
            match import(&i) {
                // What the importer writes, the loader takes.
                Ok(lab) => {
                    if let Err(e) = hoplab::scenario::parse(&lab.yaml, "lab.yaml") {
                        panic!("{flag} {file}: {e}\n{}", lab.yaml);
                    }
                }
                Err(e) => assert!(e.to_string().starts_with(&format!("{}:", e.file)), "{e}"),
            }
        }
    }
}

#[test]
fn a_namespace_made_now_round_trips() {
    // The namespace of tests/fixtures/import/ns/make.sh, made now with the real tools: its
    // iptables-save comes back byte for byte but for the headers, its routes as listed, and
    // `ip -j` gives the lab text gives. Root only.
    let test = "a_namespace_made_now_round_trips";
    let ip = std::process::Command::new("ip")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !common::have_net_admin(test)
        || !common::have_tool("iptables-save", test)
        || !(ip || common::skip(test, "ip (iproute2) cannot be run"))
    {
        return;
    }
    let _k = common::real_kernel();
    let d = tempfile::tempdir().unwrap();
    let prefix = format!("hlimp{}", std::process::id() % 100_000);
    let out = std::process::Command::new("sh")
        .arg(repo().join("tests/fixtures/import/ns/make.sh"))
        .args([d.path().to_str().unwrap(), &prefix])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let f = |n: &str| d.path().join(n).to_str().unwrap().to_string();
    let mk = |sub: &str, addr: &str, route: &str| {
        let dir = d.path().join(sub);
        std::fs::create_dir(&dir).unwrap();
        let lab = import(
            &dir,
            &[
                "--ip-addr",
                &f(addr),
                "--ip-route",
                &f(route),
                "--ip-rule",
                &f("ip-rule.txt"),
                "--iptables-save",
                &f("iptables-save.txt"),
            ],
        );
        check_and_run(&lab, &dir);
        lab
    };
    let lab = mk("text", "ip-addr.txt", "ip-route.txt");
    let json = mk("json", "ip-addr.json", "ip-route.json");
    let input = std::fs::read_to_string(f("iptables-save.txt")).unwrap();
    let saved = show(&lab, "host", "iptables-save");
    let body = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with("# Generated by ") && !l.starts_with("# Completed on "))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(body(&saved), body(&input));
    assert_eq!(saved.lines().count(), input.lines().count());
    assert_eq!(
        lines(&show(&lab, "host", "ip route")),
        lines(&std::fs::read_to_string(f("ip-route.txt")).unwrap())
    );
    let strip = |p: &Path| {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .filter(|l| !l.contains("--ip-addr ") && !l.contains("--ip-route "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&lab), strip(&json));
    assert_eq!(
        show(&lab, "host", "ip rule"),
        std::fs::read_to_string(f("ip-rule.txt")).unwrap()
    );
}

#[test]
fn counters_of_iptables_save_c_come_back() {
    // `iptables-save -c` of a namespace whose lo rule counted pings: the lab restores with
    // -c and lists with -c, so the counters come back too.
    let d = tempfile::tempdir().unwrap();
    let f = |n: &str| fixture("counters", n);
    let lab = import(
        d.path(),
        &[
            "--ip-addr",
            &f("ip-addr.txt"),
            "--ip-route",
            &f("ip-route.txt"),
            "--iptables-save",
            &f("iptables-save-c.txt"),
        ],
    );
    check_and_run(&lab, d.path());
    let yaml = std::fs::read_to_string(&lab).unwrap();
    assert!(
        yaml.contains("    run: iptables-restore -c\n")
            && yaml.contains("show: \"iptables-save -c\"}"),
        "{yaml}"
    );
    let input = read(&f("iptables-save-c.txt"));
    let saved = show(&lab, "host", "iptables-save -c");
    assert!(
        saved.contains("[4:336] -A INPUT -i lo -j ACCEPT\n"),
        "{saved}"
    );
    let body = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(body(&saved), body(&input));
}

#[test]
fn an_nft_ruleset_dump_loads_its_own_tables_and_leaves_iptables_nft_s_to_the_save() {
    // tests/fixtures/import/nft/make.sh: nft's `inet hostfw` and `ip nat` beside an iptables
    // rule, whose table ip filter `nft list ruleset` shows too.
    let d = tempfile::tempdir().unwrap();
    let f = |n: &str| fixture("nft", n);
    let lab = import(
        d.path(),
        &[
            "--ip-addr",
            &f("ip-addr.txt"),
            "--ip-route",
            &f("ip-route.txt"),
            "--iptables-save",
            &f("iptables-save.txt"),
            "--nft-ruleset",
            &f("nft-ruleset.txt"),
        ],
    );
    check_and_run(&lab, d.path());
    let dump = read(&f("nft-ruleset.txt"));
    for table in ["inet hostfw", "ip nat"] {
        let head = format!("table {table} {{");
        let want: String = dump
            .lines()
            .skip_while(|l| *l != head)
            .take_while(|l| *l != "}")
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(
            show(&lab, "host", &format!("nft list table {table}")),
            format!("{want}}}\n")
        );
    }
    // iptables' own table comes from the save, its rule once.
    let listed = show(&lab, "host", "nft list table ip filter");
    assert_eq!(listed.matches("tcp dport 25").count(), 1, "{listed}");
    // And iptables-save prints the dump again, nft's `ip nat` noticed as on the host, but
    // for the headers.
    let body = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with("# Generated by ") && !l.starts_with("# Completed on "))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        body(&show(&lab, "host", "iptables-save")),
        body(&read(&f("iptables-save.txt")))
    );
    // Without the save, its rules are named as left out.
    let d2 = tempfile::tempdir().unwrap();
    let lab = import(
        d2.path(),
        &[
            "--ip-addr",
            &f("ip-addr.txt"),
            "--ip-route",
            &f("ip-route.txt"),
            "--nft-ruleset",
            &f("nft-ruleset.txt"),
        ],
    );
    assert!(
        about_items(&lab).iter().any(|i| i.contains(
            "the rules of iptables-nft's tables in the nft listing (ip filter): --iptables-save gives them"
        )),
        "{:?}",
        about_items(&lab)
    );
    check_and_run(&lab, d2.path());
    // A rule nft refuses is the dump's error, at its line.
    let bad = d2.path().join("bad.txt");
    std::fs::write(&bad, dump.replace("masquerade", "masquerad")).unwrap();
    let out = run(&[
        "import",
        "--ip-addr",
        &f("ip-addr.txt"),
        "--ip-route",
        &f("ip-route.txt"),
        "--nft-ruleset",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let line = dump.lines().position(|l| l.contains("masquerade")).unwrap() + 1;
    assert!(
        text(&out.stderr).contains(&format!(
            "{}:{line}: --nft-ruleset: nft refuses it: syntax error",
            bad.display()
        )),
        "{}",
        text(&out.stderr)
    );
}
