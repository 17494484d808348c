//! A Docker host changing while a lab runs: `docker stop`, `start`, `run`, `rm`, `network
//! connect` and `disconnect` as steps. The rules, the bridges' ports and FDB, conntrack,
//! names and listings follow, as on a real host.

mod common;

use common::{lab_report, run, text};

/// A Docker host `dockerhost` (192.0.2.10) on a LAN with `remote` (192.0.2.20), a user
/// network `app` (br-app, 172.18.0.0/16), and the given containers; then the steps.
fn lab(containers: &str, steps: &str) -> String {
    format!(
        "version: 1
name: changes
seed: 5
docker:
  host: {{name: dockerhost, eth0: 192.0.2.10/24}}
  networks:
    - {{name: app, bridge: br-app}}
    - {{name: back, bridge: br-back, internal: true}}
  containers:
{containers}
hosts:
  - name: remote
    interfaces: {{eth0: 192.0.2.20/24}}
links:
  - [remote:eth0, dockerhost:eth0]
steps:
{steps}"
    )
}

/// What each step printed (its output, or its listing for a show step).
fn outputs(v: &serde_json::Value) -> Vec<String> {
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s["result"]["output"]
                .as_str()
                .or(s["listing"].as_str())
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

fn exits(v: &serde_json::Value) -> Vec<i64> {
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["result"]["exit_code"].as_i64().unwrap_or(-1))
        .collect()
}

#[test]
fn lab_13_passes_from_the_cli() {
    let out = run(&[
        "run",
        "scenarios/13-container-lifecycle.yaml",
        "--out",
        tempfile::tempdir().unwrap().path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn a_restarted_container_gets_the_next_free_address_and_its_rules_follow() {
    let v = lab_report(&lab(
        "    - {name: a, networks: [app], publish: ['8080:80'], run: http-server 80}
    - {name: b, networks: [app], publish: ['8081:80'], run: http-server 80}",
        "  - {on: dockerhost, run: docker stop a}
  - {on: dockerhost, show: ip addr}
  - {on: dockerhost, run: docker run -d --name c --network app busybox sleep infinity}
  - {on: dockerhost, run: docker start a}
  - {on: dockerhost, show: iptables -t nat -S DOCKER}
  - {on: dockerhost, show: iptables -S DOCKER}
  - {on: dockerhost, show: iptables -t raw -S PREROUTING}
  - {on: remote, run: curl -s http://192.0.2.10:8080/}
  - {on: dockerhost, show: ip addr}
",
    ))
    .1;
    let o = outputs(&v);
    assert_eq!(o[0], "a\n");
    // a's veth is gone from the host; b's stays.
    assert_eq!(o[1].matches("master br-app").count(), 1, "{}", o[1]);
    // c took a's old address (.2), so a comes back on .4, its rules after b's.
    assert_eq!(
        o[4],
        "-N DOCKER\n\
         -A DOCKER ! -i br-app -p tcp -m tcp --dport 8081 -j DNAT --to-destination 172.18.0.3:80\n\
         -A DOCKER ! -i br-app -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.18.0.4:80\n"
    );
    // The ACCEPT rules are inserted at the top: the newest first.
    let accepts: Vec<&str> = o[5].lines().filter(|l| l.contains("ACCEPT")).collect();
    assert_eq!(
        accepts,
        [
            "-A DOCKER -d 172.18.0.4/32 ! -i br-app -o br-app -p tcp -m tcp --dport 80 -j ACCEPT",
            "-A DOCKER -d 172.18.0.3/32 ! -i br-app -o br-app -p tcp -m tcp --dport 80 -j ACCEPT",
        ]
    );
    let raw: Vec<&str> = o[6].lines().skip(1).collect();
    assert_eq!(
        raw,
        [
            "-A PREROUTING -d 172.18.0.3/32 ! -i br-app -j DROP",
            "-A PREROUTING -d 172.18.0.2/32 ! -i br-app -j DROP",
            "-A PREROUTING -d 172.18.0.4/32 ! -i br-app -j DROP",
        ]
    );
    assert!(o[7].contains("Hello from a (172.18.0.4:80)"), "{}", o[7]);
    assert_eq!(o[8].matches("master br-app").count(), 3, "{}", o[8]);
}

#[test]
fn docker_start_flushes_the_conntrack_entries_of_its_published_udp_ports() {
    // While `u` is stopped, the LAN's datagrams to 5353 make a conntrack entry with no NAT
    // (the host answers port unreachable). Without the flush on start, the same flow would
    // keep that null binding and never reach the container.
    let v = lab_report(&lab(
        "    - {name: u, networks: [app], publish: ['5353:5353/udp'], run: udp-recv 5353}",
        "  - {on: dockerhost, run: docker stop u}
  - {on: remote, run: udp-send -p 40000 192.0.2.10 5353 1}
  - {at: 1s, on: dockerhost, show: conntrack -L -p udp}
  - {on: dockerhost, run: docker start u}
  - {on: dockerhost, show: conntrack -L -p udp}
  - {on: remote, run: udp-send -p 40000 192.0.2.10 5353 1}
  - {at: 2s, on: dockerhost, show: conntrack -L -p udp}
",
    ))
    .1;
    let o = outputs(&v);
    assert!(
        o[2].contains("src=192.0.2.20 dst=192.0.2.10 sport=40000 dport=5353 [UNREPLIED] src=192.0.2.10 dst=192.0.2.20 sport=5353 dport=40000"),
        "{}",
        o[2]
    );
    assert!(!o[4].contains("dport=5353"), "flushed on start: {}", o[4]);
    assert!(
        o[6].contains(
            "dport=5353 [UNREPLIED] src=172.18.0.2 dst=192.0.2.20 sport=5353 dport=40000"
        ),
        "DNATed now: {}",
        o[6]
    );
}

#[test]
fn a_container_run_mid_lab_is_published_and_named() {
    let v = lab_report(&lab(
        "    - {name: web, networks: [app], run: http-server 80}",
        "  - {on: api, run: ping -c 1 web}
  - {on: dockerhost, run: docker run -d --name api --network app -p 8081:80 nginx}
  - {on: remote, run: curl -s http://192.0.2.10:8081/}
  - {on: web, run: curl -s http://api/}
  - {on: api, run: curl -s http://web/}
  - {on: dockerhost, show: docker ps}
  - {on: dockerhost, show: docker port api}
",
    ));
    assert_eq!(v.0, Some(0), "{}", v.1);
    let (o, x) = (outputs(&v.1), exits(&v.1));
    assert_eq!(x[0], 1);
    assert_eq!(o[0], "Error response from daemon: No such container: api\n");
    assert_eq!(o[1].trim().len(), 64, "the full ID: {}", o[1]);
    assert!(o[2].contains("Hello from api (172.18.0.3:80)"), "{}", o[2]);
    assert!(o[3].contains("Hello from api"), "{}", o[3]);
    assert!(o[4].contains("Hello from web"), "{}", o[4]);
    assert!(
        o[5].contains("nginx     \"/docker-entrypoint.…\""),
        "{}",
        o[5]
    );
    assert_eq!(o[6], "80/tcp -> 0.0.0.0:8081\n80/tcp -> [::]:8081\n");
}

#[test]
fn connect_and_disconnect_add_and_remove_an_interface_and_move_the_ports() {
    // On the internal network only, `c` publishes nothing; joining `app` gives it a gateway
    // endpoint, and its port is mapped there.
    let v = lab_report(&lab(
        "    - {name: c, networks: [back], publish: ['8080:80'], run: http-server 80}
    - {name: d, networks: [back], run: sleep infinity}",
        "  - {on: dockerhost, show: docker port c}
  - {on: dockerhost, run: docker network connect --alias www app c}
  - {on: c, show: ip route}
  - {on: dockerhost, show: docker port c}
  - {on: remote, run: curl -s http://192.0.2.10:8080/}
  - {on: dockerhost, run: docker network disconnect back c}
  - {on: c, show: ip addr}
  - {on: d, run: curl -s -m 2 http://c/}
  - {on: dockerhost, run: docker network connect app c}
  - {on: dockerhost, run: docker network disconnect back c}
  - {on: dockerhost, run: docker network connect nope c}
",
    ))
    .1;
    let (o, x) = (outputs(&v), exits(&v));
    assert_eq!(o[0], "");
    assert_eq!(x[1], 0);
    assert_eq!(
        o[2],
        "default via 172.18.0.1 dev eth1 \n\
         172.18.0.0/16 dev eth1 proto kernel scope link src 172.18.0.2 \n\
         172.19.0.0/16 dev eth0 proto kernel scope link src 172.19.0.2 \n"
    );
    assert_eq!(o[3], "80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n");
    assert!(o[4].contains("Hello from c (172.18.0.2:80)"), "{}", o[4]);
    assert!(!o[6].contains("eth0"), "{}", o[6]);
    assert!(o[6].contains("eth1@"), "{}", o[6]);
    assert_eq!(x[7], 6, "c left back: d cannot resolve it: {}", o[7]);
    assert_eq!(x[8], 1);
    assert_eq!(
        o[8],
        "Error response from daemon: endpoint with name c already exists in network app\n"
    );
    assert_eq!(x[9], 1);
    assert!(
        o[9].ends_with("is not connected to network back\n"),
        "{}",
        o[9]
    );
    assert_eq!(
        o[10],
        "Error response from daemon: network nope not found\n"
    );
}

#[test]
fn docker_refuses_as_docker_does() {
    let v = lab_report(&lab(
        "    - {name: web, networks: [app], publish: ['8080:80'], run: http-server 80}",
        "  - {on: dockerhost, run: docker stop nosuch}
  - {on: dockerhost, run: docker run -d --name web nginx}
  - {on: dockerhost, run: docker run -d --name other -p 8080:80 nginx}
  - {on: dockerhost, run: docker rm web}
  - {on: dockerhost, run: docker kill web}
  - {on: dockerhost, run: docker kill web}
  - {on: dockerhost, show: docker ps -a}
  - {on: dockerhost, run: docker rm web}
  - {on: dockerhost, show: docker ps -a}
  - {on: web, show: ip addr}
  - {on: dockerhost, run: docker run -d --name web --network app -p 8080:80 nginx}
  - {on: remote, run: curl -s http://192.0.2.10:8080/}
",
    ))
    .1;
    let (o, x) = (outputs(&v), exits(&v));
    assert_eq!(
        (x[0], o[0].as_str()),
        (1, "Error response from daemon: No such container: nosuch\n")
    );
    assert_eq!(x[1], 125);
    assert!(o[1].starts_with("docker: Error response from daemon: Conflict. The container name \"/web\" is already in use by container \""), "{}", o[1]);
    assert_eq!(x[2], 125);
    assert!(
        o[2].contains("Bind for 0.0.0.0:8080 failed: port is already allocated"),
        "{}",
        o[2]
    );
    assert_eq!(x[3], 1);
    assert!(
        o[3].contains("container is running: stop the container before removing or force remove")
    );
    assert_eq!((x[4], o[4].as_str()), (0, "web\n"));
    assert_eq!(x[5], 1);
    assert!(o[5].contains("is not running"), "{}", o[5]);
    assert!(o[6].contains("Exited (137)"), "{}", o[6]);
    assert_eq!((x[7], o[7].as_str()), (0, "web\n"));
    assert!(!o[8].contains("web"), "{}", o[8]);
    assert_eq!(o[9], "Error response from daemon: No such container: web\n");
    assert_eq!(x[10], 0);
    assert!(
        o[11].contains("Hello from web (172.18.0.2:80)"),
        "{}",
        o[11]
    );
}

#[test]
fn a_docker_step_hoplab_cannot_run_is_a_located_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.yaml");
    let text_lab = lab(
        "    - {name: web}",
        "  - {on: dockerhost, run: docker run --name x nginx}\n",
    );
    std::fs::write(&path, text_lab).unwrap();
    let out = run(&["run", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("lab.yaml:17:"), "{err}");
    assert!(err.contains("add -d"), "{err}");
}

#[test]
fn a_container_restarted_on_its_old_address_is_reached_at_its_new_mac() {
    // `docker restart` keeps the address (nothing took it) and draws a new MAC. The host
    // and the other containers knew the old one: the gratuitous ARPs update the host's
    // entry (STALE, new MAC), the containers' caches too, and the restarted container asks
    // for a sender it does not know before it answers, as Linux does.
    let v = lab_report(&lab(
        "    - {name: web, networks: [app], publish: ['8080:80'], run: http-server 80}
    - {name: c1, networks: [app], run: sleep infinity}",
        "  - {on: remote, run: curl -s http://192.0.2.10:8080/}
  - {on: c1, run: ping -c 1 172.18.0.2}
  - {at: 2s, on: dockerhost, run: docker restart web}
  - {at: 2.5s, on: dockerhost, show: ip neigh}
  - {on: remote, run: curl -s -m 1 http://192.0.2.10:8080/}
  - {on: c1, run: ping -c 1 -W 1 172.18.0.2}
",
    ))
    .1;
    let (o, x) = (outputs(&v), exits(&v));
    assert_eq!(x[1], 0);
    let entry = o[3]
        .lines()
        .find(|l| l.starts_with("172.18.0.2 "))
        .unwrap_or_default()
        .to_string();
    assert!(entry.ends_with("STALE "), "{}", o[3]);
    assert!(o[4].contains("Hello from web (172.18.0.2:80)"), "{}", o[4]);
    assert_eq!(x[5], 0, "{}", o[5]);
}
