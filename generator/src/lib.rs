//! rules_mirage's generator: Starlark -> graph -> resolve -> render ->
//! build -> link -> run. See ARCHITECTURE.md at the repository root.

pub mod action;
pub mod build;
pub mod cargo_meta;
pub mod cli;
pub mod config;
pub mod describe;
pub mod diagnose;
pub mod error;
pub mod graph;
pub mod label;
pub mod launch;
pub mod lockfile;
pub mod model;
pub mod paths;
pub mod pin;
pub mod plan;
pub mod record;
pub mod release;
pub mod render;
pub mod resolve;
pub mod rustc_wrapper;
pub mod starlark;
pub mod step;
pub mod suggest;
pub mod target;
pub mod unit;
pub mod workspace;
