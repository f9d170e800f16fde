//! Building an image, after rendering and before running: everything that
//! turns a configured unikernel's output directory into `dist/IMAGE` and
//! `dist/IMAGE.debug`.
//!
//! Contract: a build is a list of [`step::Step`]s (data, with a dry run)
//! that [`step::run`] executes: cargo compiles the generated crate, the
//! target's backend links it. Every compile is reproducible: cargo runs
//! this program as its rustc wrapper ([`rustc_wrapper`]), which gives each
//! crate the `-C metadata` of what it is, and [`cargo`] remaps source
//! paths. The crate-level plan is recorded from cargo ([`record`], [`pin`]
//! into `mirage.plan.json`) and replayed one unit at a time by the
//! `mirage-unit` crate (generator/unit/: Bazel runs its binary, and
//! `mirage build --pinned` its library).
//!
//! Layers, each using only those below it (no import circle):
//! - [`image`]: the steps of an image, run with cargo or from the plan;
//!   [`plan`]: `mirage plan`'s report of them.
//! - [`pin`] (record and check `mirage.plan.json`), [`lockfile`] (the
//!   Cargo.lock check), [`cargo_meta`].
//! - [`debug_file`] (the image split from its debug info).
//! - [`step`] (steps as data, and running them), [`rustc_wrapper`] and
//!   [`record`] (what the wrapper writes), [`cargo`] (target directory,
//!   crate sources, rustflags), [`toolchain`] (the Solo5 toolchain).

pub mod cargo;
pub mod cargo_meta;
pub mod debug_file;
pub mod image;
pub mod lockfile;
pub mod pin;
pub mod plan;
pub mod record;
pub mod rustc_wrapper;
pub mod step;
pub mod toolchain;
