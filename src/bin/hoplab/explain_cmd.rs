//! `hoplab explain FILE --on ROUTER --packet "SPEC" [--at T]`: why a packet meets its fate.

use std::process::ExitCode;

use hoplab::scenario::explain::{PacketSpec, describe, explain};

pub fn run(
    lab: &hoplab::scenario::Lab,
    on: &str,
    packet: &str,
    at: Option<&str>,
    seed: Option<u64>,
    json: bool,
) -> ExitCode {
    let fail = |e: String| {
        errln!("hoplab: {e}");
        ExitCode::from(2)
    };
    let spec = match PacketSpec::parse(packet) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let at = match at.map(hoplab::time::Duration::parse).transpose() {
        Ok(a) => a,
        Err(e) => return fail(format!("--at: {e}")),
    };
    match explain(lab, on, &spec, at, seed) {
        Ok(e) if json => match crate::print_json(&e) {
            Ok(()) => ExitCode::SUCCESS,
            Err(code) => code,
        },
        Ok(e) => {
            out!("{}", describe(&e));
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}
