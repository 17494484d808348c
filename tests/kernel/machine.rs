//! A Linux machine in a namespace, for scripts that build namespaces themselves (`ip netns
//! add`, `ip link set ... netns`): the script's namespace names get a prefix of the case's
//! (so cases run in parallel), and everything is deleted on drop.

use std::process::Command;

pub struct Machine {
    /// Put before each namespace name the script uses.
    pub prefix: String,
    /// The namespace standing for the machine's root namespace.
    pub root: String,
    names: Vec<&'static str>,
}

impl Machine {
    /// A machine for the case `tag`, whose scripts name the namespaces `names`.
    pub fn new(tag: &str, names: &[&'static str]) -> Machine {
        let prefix = format!("h{tag}{}-", std::process::id());
        let root = format!("{prefix}root");
        let m = Machine {
            prefix,
            root,
            names: names.to_vec(),
        };
        m.cleanup();
        let ok = Command::new("ip").args(["netns", "add", &m.root]).status();
        assert!(ok.is_ok_and(|s| s.success()), "ip netns add {}", m.root);
        m.exec("ip link set lo up");
        m
    }

    /// Runs a command line in the machine (namespace names prefixed): exit code, and what
    /// it printed (stdout, then stderr) with the prefix taken off again.
    pub fn exec(&self, cmd: &str) -> (i32, String) {
        let cmd: String = cmd
            .split(' ')
            .map(|w| match self.names.contains(&w) {
                true => format!("{}{w}", self.prefix),
                false => w.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ");
        // A namespace's name is a mount in /run/netns: made inside `ip netns exec` (a mount
        // namespace of its own) it would not outlive the command.
        let out = match cmd.starts_with("ip netns add ") || cmd.starts_with("ip netns del") {
            true => Command::new("sh").args(["-c", &cmd]).output(),
            false => Command::new("ip")
                .args(["netns", "exec", &self.root, "sh", "-c", &cmd])
                .output(),
        }
        .expect("sh");
        let mut text = String::from_utf8_lossy(&out.stdout).to_string();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (
            out.status.code().unwrap_or(-1),
            text.replace(&self.prefix, ""),
        )
    }

    fn cleanup(&self) {
        for n in self
            .names
            .iter()
            .map(|n| format!("{}{n}", self.prefix))
            .chain([self.root.clone()])
        {
            let _ = Command::new("ip").args(["netns", "del", &n]).output();
        }
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        self.cleanup();
    }
}
