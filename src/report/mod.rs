//! The run's reports beyond its text summary: the HTML page of `run --report`. (The listings
//! nodes print are `crate::listing`'s.)

pub mod html;
