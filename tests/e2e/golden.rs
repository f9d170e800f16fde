//! The generated main.rs of every example, byte for byte, and deterministic.

use crate::support::{golden, mirage_ok, repo};

fn check(label: &str, keys: &[&str], file: &str) {
    let target = file.split('.').nth(1).expect("files are NAME.TARGET...");
    let mut args = vec!["query", "main", "-t", target, label];
    args.extend(keys);
    let first = mirage_ok(&repo(), &args).stdout;
    let second = mirage_ok(&repo(), &args).stdout;
    assert_eq!(first, second, "generation of {label} is not deterministic");
    golden(&format!("golden/{file}"), &first);
}

#[test]
fn noop_main() {
    check("//examples/noop:noop", &[], "noop.unix.main.rs");
}

#[test]
fn hello_main() {
    check("//examples/hello:hello", &[], "hello.unix.main.rs");
}

#[test]
fn hello_key_main() {
    check(
        "//examples/hello-key:hello_key",
        &[],
        "hello_key.unix.main.rs",
    );
}

#[test]
fn choice_main_for_each_reporter() {
    check(
        "//examples/choice:choice",
        &["--reporter=console"],
        "choice.unix.reporter-console.main.rs",
    );
    check(
        "//examples/choice:choice",
        &["--reporter=none"],
        "choice.unix.reporter-none.main.rs",
    );
}

#[test]
fn solo5_mains() {
    check("//examples/noop:noop", &[], "noop.spt.main.rs");
    check("//examples/hello:hello", &[], "hello.spt.main.rs");
    check(
        "//examples/hello-key:hello_key",
        &[],
        "hello_key.virtio.main.rs",
    );
}

/// `generic_stackv4v6` chosen by `--net`: sockets on unix by default, the
/// direct stack (and its network device) on Solo5.
#[test]
fn echo_mains_for_each_stack() {
    check("//examples/echo:echo", &[], "echo.unix.main.rs");
    check("//examples/echo:echo", &[], "echo.spt.main.rs");
}
