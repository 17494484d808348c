//! `on: kernel` steps: real programs run in the lab's namespace while the lab runs.
//!
//! Each program runs in a child process whose output a thread collects; the thread wakes the
//! driver's poll when the program ends, so the lab keeps running in real time meanwhile.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use super::netns::NetNs;
use crate::sim::{CmdId, CmdResult};

struct Running {
    id: CmdId,
    process: Arc<Mutex<Process>>,
    /// Interrupted by the lab (a timeout, or the lab ended).
    stopped: bool,
}

/// Where a program is in its life, as the thread that runs it knows: signals are sent only
/// to a pid that is certainly not reaped yet, so never to a recycled one.
enum Process {
    /// Not forked yet: the signal to send as soon as it is.
    Starting(Option<libc::c_int>),
    Running(libc::pid_t),
    /// Ended (about to be reaped, or reaped), or never started.
    Ended,
}

impl Process {
    fn signal(&mut self, sig: libc::c_int) {
        match self {
            // SIGKILL wins over an earlier SIGINT.
            Process::Starting(pending) => *pending = Some(pending.map_or(sig, |p| p.max(sig))),
            // SAFETY: kill(2) with integers; the pid is not reaped while the lock is held
            // in this state (the waiting thread marks it Ended before reaping).
            Process::Running(pid) => unsafe {
                libc::kill(*pid, sig);
            },
            Process::Ended => {}
        }
    }
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
        let process = Arc::new(Mutex::new(Process::Starting(None)));
        let (name, input) = (program.clone(), input.to_string());
        let (tx, waker, shared) = (self.tx.clone(), self.waker.clone(), process.clone());
        // Forking and exec take a millisecond or more: done here, the lab's clock does not
        // wait for them. This thread outlives the child, as PR_SET_PDEATHSIG needs.
        std::thread::Builder::new()
            .name("hoplab-kernel-cmd".into())
            .spawn(move || {
                let result = run(cmd, &name, &input, &shared);
                let _ = tx.send((id, result));
                let _ = waker.wake();
            })
            .map_err(|e| format!("{program}: cannot start it: {e}"))?;
        self.running.push(Running {
            id,
            process,
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
            lock(&r.process).signal(sig);
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
            lock(&r.process).signal(libc::SIGKILL);
        }
    }
}

fn lock(process: &Mutex<Process>) -> std::sync::MutexGuard<'_, Process> {
    process
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs one program to its end: forks it, feeds its input, collects its output and status.
fn run(mut cmd: Command, program: &str, input: &str, process: &Mutex<Process>) -> CmdResult {
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            *lock(process) = Process::Ended;
            return CmdResult {
                // As a shell says of a program it cannot find or run.
                exit_code: if e.kind() == std::io::ErrorKind::NotFound {
                    127
                } else {
                    126
                },
                output: format!("{program}: cannot run it on the kernel side: {e}\n"),
                ..CmdResult::default()
            };
        }
    };
    let pid = child.id() as libc::pid_t;
    {
        let mut p = lock(process);
        let pending = match *p {
            Process::Starting(sig) => sig,
            _ => None,
        };
        *p = Process::Running(pid);
        if let Some(sig) = pending {
            p.signal(sig);
        }
    }
    let (mut stdin, stdout, stderr) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let (out, err) = std::thread::scope(|s| {
        s.spawn(move || {
            if let Some(w) = stdin.as_mut() {
                let _ = w.write_all(input.as_bytes());
            }
        });
        let err = s.spawn(move || read_all(stderr));
        (read_all(stdout), err.join().unwrap_or_default())
    });
    // Wait for the end without reaping, so the pid stays this child's until no signal can
    // reach it any more; then reap.
    // SAFETY: waitid with a zeroed siginfo out-parameter and integer arguments.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        while libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
        ) != 0
            && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
        {}
    }
    *lock(process) = Process::Ended;
    let status = child.wait();
    let mut output = String::from_utf8_lossy(&out).into_owned();
    output.push_str(&String::from_utf8_lossy(&err));
    let exit_code = match status {
        Ok(status) => status.code().unwrap_or_else(|| {
            use std::os::unix::process::ExitStatusExt;
            128 + status.signal().unwrap_or(0)
        }),
        Err(_) => 126,
    };
    let counts = ping_counts(&output);
    CmdResult {
        exit_code,
        transmitted: counts.map(|c| c.0),
        received: counts.map(|c| c.1),
        output,
        ..CmdResult::default()
    }
}

fn read_all(from: Option<impl Read>) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Some(mut r) = from {
        let _ = r.read_to_end(&mut buf);
    }
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Starts `argv` in hoplab's own namespace and waits (on the waker, as the driver does)
    /// for its result; `interrupt` asks it to stop once it runs.
    fn run_one(argv: &[&str], input: &str, interrupt: bool) -> CmdResult {
        let mut poll = mio::Poll::new().unwrap();
        let waker = Arc::new(mio::Waker::new(poll.registry(), mio::Token(0)).unwrap());
        let mut commands = Commands::new(waker);
        let argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
        let id = CmdId(7);
        commands.start(None, id, &argv, input).unwrap();
        if interrupt {
            commands.signal(id, false);
        }
        let mut events = mio::Events::with_capacity(4);
        loop {
            if let Some((got, result)) = commands.take_finished().pop() {
                assert_eq!(got, id);
                assert!(!commands.is_running(id));
                return result;
            }
            poll.poll(&mut events, Some(std::time::Duration::from_secs(5)))
                .unwrap();
        }
    }

    #[test]
    fn a_program_gets_its_input_and_gives_output_and_exit_code() {
        let r = run_one(
            &["sh", "-c", "read x; echo got $x; echo oops >&2; exit 3"],
            "hi\n",
            false,
        );
        assert_eq!(r.exit_code, 3);
        assert_eq!(r.output, "got hi\noops\n");
        assert!(!r.stopped);
    }

    #[test]
    fn a_missing_program_is_exit_127_as_in_a_shell() {
        let r = run_one(&["hoplab-no-such-program"], "", false);
        assert_eq!(r.exit_code, 127);
        assert!(
            r.output.contains("cannot run it on the kernel side"),
            "{}",
            r.output
        );
    }

    #[test]
    fn a_signal_before_the_fork_is_delivered_once_it_runs() {
        // The signal may come before the thread has forked: it waits for the pid.
        let r = run_one(&["sleep", "30"], "", true);
        assert!(r.stopped);
        assert_eq!(r.exit_code, 128 + libc::SIGINT);
    }

    #[test]
    fn ping_summary_gives_the_counts() {
        let out = "PING 172.17.0.2 (172.17.0.2) 56(84) bytes of data.\n\n--- 172.17.0.2 ping statistics ---\n3 packets transmitted, 2 received, 33.3333% packet loss, time 2003ms\n";
        assert_eq!(ping_counts(out), Some((3, 2)));
        assert_eq!(ping_counts("curl: (7) Failed to connect"), None);
    }
}
