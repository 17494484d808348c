//! Lab files: YAML → raw serde types (`raw`) → a resolved, checked model (`model`) → a built
//! simulation (`build`) → a run with its report (`run`).

pub mod build;
mod change;
pub mod cmdlist;
pub mod docker;
mod docker_cmd;
pub mod error;
pub mod explain;
pub mod grade;
pub mod grep;
pub mod loops;
pub mod model;
pub mod netns;
pub mod raw;
pub mod run;
pub mod schema;
pub mod session;
mod steps;
pub mod taps;
pub mod trace;

use std::path::Path;

pub use error::{LabError, LabErrors};
pub use model::Lab;

/// The most a lab or answers file may hold. Labs are a few kilobytes; the bound keeps a wrong
/// path (`/dev/zero`, a capture) from being read into memory without end.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Reads a text file of at most `MAX_FILE_BYTES`.
pub fn read_bounded(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {} MiB, which no lab is (is it the right file?)",
            MAX_FILE_BYTES >> 20
        )));
    }
    Ok(text)
}

/// Reads and checks a lab file. Every error found is returned, each with its location.
pub fn load(path: &Path) -> Result<Lab, LabErrors> {
    let file = path.display().to_string();
    let text = read_bounded(path).map_err(|e| {
        LabErrors(vec![LabError {
            file: file.clone(),
            line: 1,
            column: 1,
            field: "(file)".into(),
            message: format!("cannot read: {e}"),
        }])
    })?;
    parse(&text, &file)
}

/// Checks a lab given as text; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Lab, LabErrors> {
    let raw: raw::RawLab = serde_saphyr::from_str(text)
        .map_err(|e| LabErrors(vec![error::from_yaml(file, text, &e)]))?;
    model::resolve(raw, file, text)
}

#[cfg(test)]
mod tests;
