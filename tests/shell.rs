//! `hoplab shell` as a person uses it: typed at a terminal (a pseudo-terminal driven by
//! expectrl: prompt, completion, Ctrl-C, save), and with commands piped in.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use expectrl::{ControlCode, Eof, Expect, Session};

const LAB01: &str = "scenarios/01-arp-and-mac-learning.yaml";

fn hoplab() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hoplab"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// `hoplab check` and `hoplab run` of a saved session both pass.
fn replays(saved: &Path) {
    let check = hoplab().arg("check").arg(saved).output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let run = hoplab()
        .args(["run", "--capture", "none"])
        .arg(saved)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{out}");
    assert!(out.contains("PASS"), "{out}");
}

#[test]
fn shell_in_a_terminal_runs_commands_watches_and_saves() {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("session.yaml");
    let mut cmd = hoplab();
    cmd.args(["shell", LAB01]).env("TERM", "xterm");
    let mut p = Session::spawn(cmd).unwrap();
    p.set_expect_timeout(Some(Duration::from_secs(60)));
    p.expect("c1$ ").unwrap();
    // Tab completes a builtin.
    p.send("nod\t").unwrap();
    p.expect("nodes").unwrap();
    p.send("\r").unwrap();
    p.expect("* c1   host    eth0 172.17.0.2/16").unwrap();
    p.expect("c1$ ").unwrap();
    p.send_line("on c2").unwrap();
    p.expect("c2$ ").unwrap();
    p.send_line("ping -c 1 172.17.0.2").unwrap();
    p.expect("1 packets transmitted, 1 received").unwrap();
    p.expect("c2$ ").unwrap();
    p.send_line("ip neigh").unwrap();
    p.expect("172.17.0.2 dev eth0 lladdr 02:42:ac:11:00:02 REACHABLE")
        .unwrap();
    p.expect("c2$ ").unwrap();
    p.send_line("watch c2:eth0 icmp").unwrap();
    p.expect("c2$ ").unwrap();
    p.send_line("ping -c 1 172.17.0.2").unwrap();
    p.expect("c2:eth0 out 172.17.0.3 > 172.17.0.2: ICMP echo request")
        .unwrap();
    p.expect("c2:eth0 in  172.17.0.2 > 172.17.0.3: ICMP echo reply")
        .unwrap();
    p.expect("c2$ ").unwrap();
    // Ctrl-C at the prompt drops the line; the shell stays.
    p.send("ping -c 9 172.17.0.9").unwrap();
    p.send(ControlCode::ETX).unwrap();
    p.expect("c2$ ").unwrap();
    p.send_line(format!("save {}", saved.display())).unwrap();
    p.expect("saved the lab with 3 commands as its last steps")
        .unwrap();
    p.expect("c2$ ").unwrap();
    // Ctrl-C while a command runs stops it: 2 GB take far longer than half a second here.
    // (On a loaded machine it may land before the transfer starts, which stops it too.)
    p.send_line("ip netns exec c1 bulk-recv 9000 &").unwrap();
    p.expect("c2$ ").unwrap();
    p.send_line("bulk-send 172.17.0.2 9000 2000000000").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    p.send(ControlCode::ETX).unwrap();
    p.expect("^C").unwrap();
    p.expect("c2$ ").unwrap();
    p.send_line("time").unwrap();
    p.expect("c2$ ").unwrap();
    p.send_line("exit").unwrap();
    p.expect(Eof).unwrap();
    let status = p.get_process().wait().unwrap();
    assert_eq!(
        format!("{status:?}"),
        format!("Exited(Pid({}), 0)", p.get_process().pid())
    );
    replays(&saved);
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(
        text.contains(r#"  - {on: "c2", run: "ping -c 1 172.17.0.2"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"  - {on: "c2", show: "ip neigh"}"#),
        "{text}"
    );
}

#[test]
fn piped_commands_print_a_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("piped.yaml");
    let script = format!(
        "on c2\nping -c 1 172.17.0.2\n\n# a comment\nsleep 2\non br0 bridge fdb show dynamic\nsave {}\n",
        saved.display()
    );
    let mut child = hoplab()
        .args(["shell", LAB01])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr,
        "lab 'arp-and-mac-learning': its 5 steps ran; virtual time 3.000040s\n"
    );
    assert!(
        stdout.starts_with(
            "c1$ on c2\nc2$ ping -c 1 172.17.0.2\nPING 172.17.0.2 (172.17.0.2) 56(84) bytes of data.\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "c2$ # a comment\nc2$ sleep 2\nc2$ on br0 bridge fdb show dynamic\n02:42:ac:11:00:02 dev veth1 master br0 \n"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains('\x1b'), "no terminal escapes: {stdout}");
    replays(&saved);
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(
        text.contains(r#"{after: 2s, on: "br0", show: "bridge fdb show dynamic"}"#),
        "{text}"
    );
}

#[test]
fn a_lab_that_does_not_load_is_a_located_error() {
    let dir = tempfile::tempdir().unwrap();
    let lab = dir.path().join("bad.yaml");
    std::fs::write(
        &lab,
        "version: 1\nname: bad\nhosts:\n  - name: h1\n    gatewya: 1\n",
    )
    .unwrap();
    let out = hoplab()
        .arg("shell")
        .arg(&lab)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.yaml:5:5: field 'gatewya'"), "{err}");
    let out = hoplab()
        .args(["shell", LAB01, "--on", "c9"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no node named 'c9'"), "{err}");
}
