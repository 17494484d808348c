//! The fundamentals seed's command blocks (`tests/fixtures/seed004/commands.txt`), pasted
//! into steps as a student would: each block runs on a Linux machine of hoplab, and the
//! outcome of every command is listed in `tests/fixtures/seed004/outcomes.txt` (rewritten
//! with `HOPLAB_UPDATE_GOLDEN=1`). With root, the block also runs in a kernel namespace:
//! every `ip`, `bridge`, `sysctl`, `cat` and `echo` line must end as the kernel's does.

mod kernel;

use std::path::PathBuf;

struct Block {
    title: String,
    setup: Vec<String>,
    commands: Vec<String>,
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/seed004")
        .join(name)
}

fn blocks() -> Vec<Block> {
    let text = std::fs::read_to_string(fixture("commands.txt")).expect("commands.txt");
    let mut out: Vec<Block> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(title) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            out.push(Block {
                title: title.to_string(),
                setup: Vec::new(),
                commands: Vec::new(),
            });
            continue;
        }
        let block = out.last_mut().expect("a [section] first");
        match line.strip_prefix("setup: ") {
            Some(cmd) => block.setup.push(cmd.to_string()),
            None => block.commands.push(line.to_string()),
        }
    }
    out
}

/// Whether a command only lists (a `show:` step), as opposed to one that acts (`run:`).
fn is_listing(cmd: &str) -> bool {
    let w: Vec<&str> = cmd.split_whitespace().collect();
    match w.as_slice() {
        ["ip", "netns", "exec", _, rest @ ..] => is_listing(&rest.join(" ")),
        ["ip", "netns", "list"] | ["ip", "netns"] => true,
        ["ip", _] => true,
        ["ip", _, "show" | "list", ..] => true,
        ["bridge", _, "show", ..] | ["brctl", "show", ..] => true,
        ["ss" | "netstat" | "lsof" | "route" | "arp", ..] => {
            !cmd.contains(" -s ") && !cmd.contains(" -d ")
        }
        ["ifconfig", "-a"] => true,
        ["nft", "list", ..] => true,
        ["cat", ..] => true,
        _ => false,
    }
}

/// A YAML double-quoted string.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn step(cmd: &str) -> String {
    let verb = if is_listing(cmd) { "show" } else { "run" };
    format!("  - {{on: host, {verb}: {}}}\n", quoted(cmd))
}

fn lab(setup: &[String], commands: &[&String]) -> String {
    let mut y = String::from(
        "version: 1\nname: seed004\nrouters:\n  - name: host\n    interfaces: {}\nsteps:\n",
    );
    for cmd in setup {
        y.push_str(&step(cmd));
    }
    for cmd in commands {
        y.push_str(&step(cmd));
    }
    y
}

/// What became of one command: exit code (listings: 0, or 1 when refused) and output.
struct Outcome {
    code: i32,
    text: String,
}

/// Runs a block in hoplab. A command the lab file refuses at load is that command's
/// outcome; the others run in order.
fn hoplab(block: &Block) -> Vec<Outcome> {
    let mut refused: Vec<Option<String>> = Vec::new();
    for cmd in &block.commands {
        let y = lab(&block.setup, &[cmd]);
        refused.push(hoplab::scenario::parse(&y, "seed.yaml").err().map(|e| {
            let e = e.to_string();
            let msg = e
                .split("field 'run': ")
                .nth(1)
                .or(e.split("field 'show': ").nth(1));
            format!("refused: {}", msg.unwrap_or(&e).trim())
        }));
    }
    let runs: Vec<&String> = block
        .commands
        .iter()
        .zip(&refused)
        .filter(|(_, r)| r.is_none())
        .map(|(c, _)| c)
        .collect();
    let report = kernel::run_lab(&lab(&block.setup, &runs));
    let mut results = report.steps[block.setup.len()..].iter();
    refused
        .into_iter()
        .map(|r| match r {
            Some(text) => Outcome { code: 2, text },
            None => {
                let s = results.next().expect("a step per command");
                match (&s.result, &s.listing) {
                    (Some(r), _) => Outcome {
                        code: r.exit_code,
                        text: r.output.clone(),
                    },
                    // A listing has no exit code: an error is told by its text.
                    (None, Some(l)) => Outcome {
                        code: i32::from(listing_failed(&s.command, l)),
                        text: l.clone(),
                    },
                    _ => Outcome {
                        code: 0,
                        text: String::new(),
                    },
                }
            }
        })
        .collect()
}

fn summary(o: &Outcome) -> String {
    let first = o.text.lines().next().unwrap_or("").trim();
    let lines = o.text.lines().count();
    let more = if lines > 1 {
        format!(" (+{} lines)", lines - 1)
    } else {
        String::new()
    };
    format!("exit {}: {first}{more}", o.code)
}

#[test]
fn seed_command_blocks_run_and_their_outcomes_are_listed() {
    let mut listing = String::from(
        "# Outcomes of seed 004's command blocks in hoplab (tests/seed_commands.rs).\n",
    );
    for block in blocks() {
        listing.push_str(&format!("\n[{}]\n", block.title));
        for (cmd, o) in block.commands.iter().zip(hoplab(&block)) {
            listing.push_str(&format!("$ {cmd}\n  {}\n", summary(&o)));
        }
    }
    let golden = fixture("outcomes.txt");
    if std::env::var("HOPLAB_UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::write(&golden, &listing).expect("write outcomes.txt");
    }
    let want = std::fs::read_to_string(&golden).unwrap_or_default();
    assert_eq!(
        listing, want,
        "outcomes changed; rerun with HOPLAB_UPDATE_GOLDEN=1 if they should"
    );
}

/// The commands the kernel is the judge of: `ip`, `bridge`, `sysctl`, `nft` and `/proc/sys`,
/// but what reads the machine's files (`sysctl -p`, `/etc/...`) and IPv6, which hoplab
/// does not model yet.
fn judged(cmd: &str) -> bool {
    let first = cmd.split_whitespace().next().unwrap_or("");
    matches!(first, "ip" | "bridge" | "sysctl" | "cat" | "echo" | "nft")
        && !cmd.contains("/etc/")
        && !cmd.contains("/proc/net/vlan")
        && !cmd.contains("ipv6")
        && cmd != "sysctl -p"
}

/// Whether a listing step printed an error rather than a listing.
fn listing_failed(cmd: &str, text: &str) -> bool {
    text.starts_with(cmd)
        || text.starts_with("Error")
        || text.starts_with("Device ")
        || text.starts_with("Cannot ")
}

#[test]
fn kd_seed_commands_end_as_in_the_kernel() {
    if !kernel::privileged("kd_seed_commands") {
        return;
    }
    let mut diffs = Vec::new();
    for (n, block) in blocks().into_iter().enumerate() {
        let ours = hoplab(&block);
        let k = kernel::machine::Machine::new(&format!("s{n}"), &["netns1"]);
        for cmd in &block.setup {
            let (code, text) = k.exec(cmd);
            assert_eq!(code, 0, "{}: setup {cmd}: {text}", block.title);
        }
        let mut no_vlans = false;
        for (cmd, o) in block.commands.iter().zip(&ours) {
            // What the kernel does not judge does not run there either, so that both
            // machines stay alike.
            if !judged(cmd) || no_vlans {
                continue;
            }
            let (code, text) = k.exec(&cmd.replace(" -c 1 ", " -c 1 -W 1 "));
            // A kernel built without 802.1Q cannot judge the VLAN block (see
            // tests/kernel_diff_vlan.rs).
            if cmd.contains("type vlan") && text.contains("Unknown device type") {
                eprintln!(
                    "[{}]: not judged: the kernel makes no VLAN devices (CONFIG_VLAN_8021Q)",
                    block.title
                );
                no_vlans = true;
                continue;
            }
            // A listing's exit code is not in a `show:` step: an error is told by its text.
            let same = match is_listing(cmd) {
                // nft's listings are compared whole.
                true if code != 0 || cmd.starts_with("nft ") => o.text.trim() == text.trim(),
                true => !listing_failed(cmd, &o.text),
                false => code == o.code,
            };
            if !same {
                diffs.push(format!(
                    "[{}] $ {cmd}\n  kernel: exit {code}: {}\n  hoplab: {}",
                    block.title,
                    text.trim(),
                    summary(o)
                ));
            }
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}
