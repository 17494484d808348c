//! A network namespace of a case's own, named `NAME-PID` and deleted on drop (also when the
//! case fails); a namespace a killed run of the same pid left is replaced.

use std::io::Write;
use std::process::{Command, Stdio};

pub struct Netns(pub String);

impl Netns {
    pub fn new(name: &str) -> Netns {
        let name = format!("{name}-{}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        let out = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .expect("ip netns add");
        assert!(out.status.success(), "ip netns add {name}: {out:?}");
        Netns(name)
    }

    /// Runs `argv` in the namespace with `stdin`: (exit status, stdout, stderr).
    pub fn run<S: AsRef<str>>(&self, argv: &[S], stdin: &str) -> (i32, String, String) {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.0])
            .args(argv.iter().map(AsRef::as_ref))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", argv[0].as_ref()));
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(stdin.as_bytes()).expect("write stdin");
        drop(input);
        let out = child.wait_with_output().expect("output");
        let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
        (
            out.status.code().unwrap_or(-1),
            text(out.stdout),
            text(out.stderr),
        )
    }

    /// [`Netns::run`] with nothing on stdin: (success, stdout, stderr).
    pub fn exec<S: AsRef<str>>(&self, argv: &[S]) -> (bool, String, String) {
        let (code, out, err) = self.run(argv, "");
        (code == 0, out, err)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}
