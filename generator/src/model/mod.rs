//! The device graph as users declare it: one concept per module.

pub mod rule;
