//! `on: kernel` steps: real programs run in the lab's namespace while the lab runs.
//!
//! Each program runs in a child process whose output a thread collects; the thread wakes the
//! driver's poll when the program ends, so the lab keeps running in real time meanwhile.

use std::io::Write;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use super::netns::NetNs;
use crate::sim::{CmdId, CmdResult};

struct Running {
    id: CmdId,
    pid: u32,
    /// Interrupted by the lab (a timeout, or the lab ended).
    stopped: bool,
}

pub struct Commands {
    running: Vec<Running>,
    tx: Sender<(CmdId, CmdResult)>,
    rx: Receiver<(CmdId, CmdResult)>,
    waker: Arc<mio::Waker>,
}

/// `3 packets transmitted, 3 received` in ping's summary.
fn ping_counts(output: &str) -> Option<(u64, u64)> {
    let line = output.lines().find(|l| l.contains("packets transmitted"))?;
    let mut words = line.split(|c: char| c == ',' || c.is_whitespace());
    let transmitted = words.next()?.parse().ok()?;
    let received = line
        .split(", ")
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some((transmitted, received))
}

impl Commands {
    pub fn new(waker: Arc<mio::Waker>) -> Commands {
        let (tx, rx) = channel();
        Commands {
            running: Vec::new(),
            tx,
            rx,
            waker,
        }
    }

    /// Starts `argv` in `netns` (or in hoplab's own namespace), with `input` on its stdin.
    pub fn start(
        &mut self,
        netns: Option<&NetNs>,
        id: CmdId,
        argv: &[String],
        input: &str,
    ) -> Result<(), String> {
        let Some(program) = argv.first() else {
            return Err("empty command".into());
        };
        let mut cmd = match netns {
            Some(ns) => ns.command(program),
            None => std::process::Command::new(program),
        };
        cmd.args(&argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("{program}: cannot run it on the kernel side: {e}"))?;
        let pid = child.id();
        let mut stdin = child.stdin.take();
        let input = input.to_string();
        let (tx, waker) = (self.tx.clone(), self.waker.clone());
        std::thread::spawn(move || {
            if let Some(s) = stdin.as_mut() {
                let _ = s.write_all(input.as_bytes());
            }
            drop(stdin);
            let result = match child.wait_with_output() {
                Ok(out) => {
                    let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
                    output.push_str(&String::from_utf8_lossy(&out.stderr));
                    let exit_code = out.status.code().unwrap_or_else(|| {
                        use std::os::unix::process::ExitStatusExt;
                        128 + out.status.signal().unwrap_or(0)
                    });
                    let counts = ping_counts(&output);
                    CmdResult {
                        exit_code,
                        transmitted: counts.map(|c| c.0),
                        received: counts.map(|c| c.1),
                        output,
                        ..CmdResult::default()
                    }
                }
                Err(e) => CmdResult {
                    exit_code: 126,
                    output: format!("{e}\n"),
                    ..CmdResult::default()
                },
            };
            let _ = tx.send((id, result));
            let _ = waker.wake();
        });
        self.running.push(Running {
            id,
            pid,
            stopped: false,
        });
        Ok(())
    }

    /// Asks a running program to stop (SIGINT, as Ctrl-C in its terminal: ping prints its
    /// summary); `kill` ends it outright.
    pub fn signal(&mut self, id: CmdId, kill: bool) {
        if let Some(r) = self.running.iter_mut().find(|r| r.id == id) {
            r.stopped = true;
            let sig = if kill { libc::SIGKILL } else { libc::SIGINT };
            // SAFETY: kill(2) with a pid of a child not yet reaped (its result has not come
            // back, so its waiting thread has not reaped it).
            unsafe {
                libc::kill(r.pid as libc::pid_t, sig);
            }
        }
    }

    pub fn is_running(&self, id: CmdId) -> bool {
        self.running.iter().any(|r| r.id == id)
    }

    pub fn any_running(&self) -> bool {
        !self.running.is_empty()
    }

    pub fn ids(&self) -> Vec<CmdId> {
        self.running.iter().map(|r| r.id).collect()
    }

    /// Results of programs that ended since the last call.
    pub fn take_finished(&mut self) -> Vec<(CmdId, CmdResult)> {
        let mut out = Vec::new();
        while let Ok((id, mut result)) = self.rx.try_recv() {
            if let Some(i) = self.running.iter().position(|r| r.id == id) {
                result.stopped = self.running[i].stopped;
                self.running.remove(i);
            }
            out.push((id, result));
        }
        out
    }
}

impl Drop for Commands {
    fn drop(&mut self) {
        for r in &self.running {
            // SAFETY: as in `signal`.
            unsafe {
                libc::kill(r.pid as libc::pid_t, libc::SIGKILL);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_summary_gives_the_counts() {
        let out = "PING 172.17.0.2 (172.17.0.2) 56(84) bytes of data.\n\n--- 172.17.0.2 ping statistics ---\n3 packets transmitted, 2 received, 33.3333% packet loss, time 2003ms\n";
        assert_eq!(ping_counts(out), Some((3, 2)));
        assert_eq!(ping_counts("curl: (7) Failed to connect"), None);
    }
}
