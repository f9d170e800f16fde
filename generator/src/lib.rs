//! rules_mirage's generator: Starlark -> graph -> resolve -> render -> build -> run.

pub mod error;
pub mod label;
pub mod model;
pub mod starlark;
pub mod workspace;
