//! rules_mirage's generator: Starlark -> graph -> resolve -> render -> build -> run.

pub mod error;
pub mod graph;
pub mod label;
pub mod model;
pub mod resolve;
pub mod starlark;
pub mod workspace;
