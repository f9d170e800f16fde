//! rules_mirage's generator: Starlark -> graph -> resolve -> render -> build -> run.

pub mod action;
pub mod build;
pub mod cli;
pub mod config;
pub mod describe;
pub mod error;
pub mod graph;
pub mod label;
pub mod model;
pub mod render;
pub mod resolve;
pub mod starlark;
pub mod workspace;
