//! Listings in the real tools' formats and the run summary.

pub mod brctl;
pub mod html;
pub mod iproute;
