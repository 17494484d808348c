//! Lab files: YAML → raw serde types (`raw`) → a resolved, checked model (`model`) → a built
//! simulation (`build`) → a run with its report (`run`).

pub mod build;
mod change;
pub mod docker;
mod docker_cmd;
mod docker_life;
pub mod error;
pub mod grade;
pub mod loops;
pub mod model;
pub mod raw;
pub mod run;
pub mod schema;
pub mod taps;
pub mod trace;

use std::path::Path;

pub use error::{LabError, LabErrors};
pub use model::Lab;

/// Reads and checks a lab file. Every error found is returned, each with its location.
pub fn load(path: &Path) -> Result<Lab, LabErrors> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
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
    model::resolve(raw, file)
}

#[cfg(test)]
mod tests;
