//! Listings in the real tools' formats and the run summary.

pub mod html;
pub mod iproute;
