//! rules_mirage's generator: Starlark -> graph -> resolve -> render ->
//! build -> link -> run. See ARCHITECTURE.md at the repository root.

pub mod action;
pub mod archive;
pub mod build;
pub mod cli;
pub mod config;
pub mod describe;
pub mod diagnose;
pub mod error;
pub mod golden;
pub mod graph;
pub mod label;
pub mod launch;
pub mod model;
pub mod paths;
pub mod release;
pub mod render;
pub mod resolve;
pub mod starlark;
pub mod suggest;
pub mod target;
pub mod workspace;
