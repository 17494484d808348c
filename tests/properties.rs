//! Property tests over the inputs the fuzz targets (`fuzz/`) take: lab files, `iptables`
//! command lines, `iptables-restore` input, display filters and frames on the wire. Each
//! calls the same `hoplab::fuzzing` entry point as its fuzz target, which panics when the
//! library panics or answers bad input without saying where it is wrong.
//!
//! Deterministic: a fixed seed and no failure files. Bounded: the case counts keep the whole
//! file to a few seconds in a debug build. A failure prints the shrunk input; a panic it
//! finds gets a unit test where it is fixed.

use std::cell::Cell;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed};

use hoplab::fuzzing;

/// `HOPLAB_PROPTEST_SCALE=N` runs N times the cases and `HOPLAB_PROPTEST_SEED=S` another
/// seed, for a longer hunt by hand; the defaults are what `cargo test` runs.
fn config(cases: u32) -> Config {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let scale = env("HOPLAB_PROPTEST_SCALE").unwrap_or(1) as u32;
    Config {
        cases: cases.saturating_mul(scale.max(1)),
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(env("HOPLAB_PROPTEST_SEED").unwrap_or(0x686f706c6162)),
        max_shrink_iters: 2048,
        ..Config::default()
    }
}

/// The shipped labs and exercises, as texts to mutate.
fn shipped_labs() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for dir in ["scenarios", "scenarios/exercises"] {
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        paths.sort();
        for p in paths {
            let text = std::fs::read_to_string(&p).unwrap();
            out.push((p.display().to_string(), text));
        }
    }
    assert!(out.len() >= 10, "the shipped labs are found");
    out
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

/// Counts the cases a property saw succeed and fail, so a generator that only ever makes
/// one kind of input fails the test instead of passing it vacuously.
#[derive(Default)]
struct Tally {
    ok: Cell<u32>,
    err: Cell<u32>,
}

impl Tally {
    fn add(&self, ok: bool) {
        let c = if ok { &self.ok } else { &self.err };
        c.set(c.get() + 1);
    }
    fn both(&self, what: &str) {
        let (ok, err) = (self.ok.get(), self.err.get());
        eprintln!("{what}: {ok} accepted, {err} refused");
        assert!(ok > 0 && err > 0, "{what}: {ok} accepted, {err} refused");
    }
}

#[test]
fn the_shipped_labs_pass_the_harness_unchanged() {
    for (file, text) in shipped_labs() {
        assert!(fuzzing::lab(&text, &file), "{file}");
    }
}

#[test]
fn mutated_labs_load_or_fail_with_located_errors() {
    let labs = shipped_labs();
    let tally = Tally::default();
    proptest!(config(96), |(which in any::<prop::sample::Index>(), edits in bytes(24))| {
        let (file, base) = which.get(&labs);
        tally.add(fuzzing::lab(&fuzzing::mutate_lab(base, &edits), file));
    });
    tally.both("mutated labs");
}

#[test]
fn arbitrary_text_loads_or_fails_with_located_errors() {
    // YAML's own characters, weighted, so the parser gets past the first line.
    let chars = prop::sample::select(
        " \n\n-:{}[],'\"#&*!|>?%@`\tabcehmnorstv0123456789./ä\r"
            .chars()
            .collect::<Vec<_>>(),
    );
    let tally = Tally::default();
    proptest!(config(128), |(text in prop::collection::vec(chars, 0..120))| {
        let text: String = text.into_iter().collect();
        tally.add(fuzzing::lab(&format!("version: 1\nname: x\n{text}"), "x.yaml"));
        tally.add(fuzzing::lab(&text, "x.yaml"));
    });
    tally.both("labs of arbitrary text");
}

#[test]
fn iptables_command_lines_succeed_or_name_their_error() {
    let tally = Tally::default();
    proptest!(config(256), |(data in bytes(48))| {
        let lines = fuzzing::iptables_lines(&data);
        let ok = fuzzing::iptables(&lines);
        tally.ok.set(tally.ok.get() + ok as u32);
        tally.err.set(tally.err.get() + (lines.len() - ok) as u32);
    });
    tally.both("iptables command lines");
}

#[test]
fn iptables_restore_input_succeeds_or_names_its_line() {
    let tally = Tally::default();
    proptest!(config(192), |(data in bytes(96), raw in any::<bool>())| {
        tally.add(fuzzing::restore_bytes(&data, raw));
    });
    tally.both("iptables-restore input");
}

#[test]
fn display_filters_parse_with_a_column_or_evaluate_consistently() {
    let tally = Tally::default();
    proptest!(config(512), |(data in bytes(160))| {
        tally.add(fuzzing::filter_bytes(&data));
    });
    tally.both("display filters");
}

#[test]
fn frames_into_a_bridge_a_router_and_a_host_never_panic() {
    let delivered = Cell::new(0);
    proptest!(config(40), |(data in bytes(1024))| {
        delivered.set(delivered.get() + fuzzing::frames_bytes(&data));
    });
    eprintln!("frames: {} delivered in all", delivered.get());
    assert!(
        delivered.get() > 40 * 20,
        "the lab's own traffic and the frames flow"
    );
}
