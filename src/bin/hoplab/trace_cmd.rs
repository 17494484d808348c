//! `hoplab trace FILE --packet ID | --frame N | --match FILTER [--during STEP]`: one
//! packet's journey.

use std::process::ExitCode;

use hoplab::filter::Filter;
use hoplab::scenario::trace::{Pick, describe, trace};

/// What to follow, from the flags (exactly one is given: clap's group enforces it).
pub fn pick(packet: Option<u32>, frame: Option<u64>, filter: Option<&str>) -> Result<Pick, String> {
    match (packet, frame, filter) {
        (Some(id), _, _) => Ok(Pick::Packet(id)),
        (_, Some(n), _) => Ok(Pick::Frame(n)),
        (_, _, Some(f)) => Filter::parse(f)
            .map(Pick::Match)
            .map_err(|e| format!("hoplab: --match: {e}")),
        _ => Err("hoplab: trace needs --packet ID, --frame N or --match FILTER".into()),
    }
}

pub fn run(
    lab: &hoplab::scenario::Lab,
    seed: Option<u64>,
    pick: &Pick,
    during: Option<&str>,
    json: bool,
) -> ExitCode {
    match trace(lab, seed, pick, during) {
        Ok(j) if json => match crate::print_json(&j) {
            Ok(()) => ExitCode::SUCCESS,
            Err(code) => code,
        },
        Ok(j) => {
            out!("{}", describe(&j));
            ExitCode::SUCCESS
        }
        Err(e) => {
            errln!("hoplab: {e}");
            ExitCode::from(2)
        }
    }
}
