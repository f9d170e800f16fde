//! End-to-end tests: the real `mirage` binary on real BUILD files, real
//! cargo builds and real unikernel processes. Each test asserts what a user
//! sees: exit codes, messages with their file:line, console output.

mod adversary;
mod bazel;
mod bazel_hermetic;
// Its first test is the suite's longest: libtest starts tests in name
// order, so under this name it starts early, not last and alone.
mod bazel_remote;
mod bazel_units;
mod browser;
mod cases;
mod debugging;
mod describe;
mod disk;
mod dns;
mod dry_run;
mod encrypted;
mod examples_unix;
mod external;
mod fuzz;
mod http;
mod http_fetch;
mod https;
mod launch_errors;
mod metrics;
mod network;
mod new_user;
mod notes;
mod offload;
mod plan;
mod profiling;
mod release;
mod running;
mod rustc_errors;
mod setup;
mod signals;
mod solo5;
mod starlark_files;
mod stdlib;
mod storage;
mod support;
mod syslog;
