//! Every example, built and run on unix through the CLI.

use std::time::{Duration, Instant};

use crate::support::{assert_hello_key_arguments, mirage, mirage_ok, repo};

/// `[timestamp]: [LEVEL] [source] message` lines, as MirageOS prints them.
fn log_messages(stdout: &str, level: &str, source: &str) -> Vec<String> {
    let marker = format!(": [{level}] [{source}] ");
    stdout
        .lines()
        .filter_map(|l| {
            let (stamp, msg) = l.split_once(&marker)?;
            let ok = stamp.len() == 25 && stamp.ends_with("-00:00") && stamp.as_bytes()[10] == b'T';
            ok.then(|| msg.to_owned())
        })
        .collect()
}

#[test]
fn noop_starts_and_stops_silently() {
    let out = mirage_ok(&repo(), &["run", "-t", "unix", "//examples/noop:noop"]);
    assert_eq!(out.stdout, "");
}

#[test]
fn hello_logs_hello_four_times_a_second_apart() {
    let build = mirage_ok(&repo(), &["build", "-t", "unix", "//examples/hello:hello"]);
    let image = build
        .stdout
        .lines()
        .last()
        .expect("build prints the image path last");
    assert!(
        image.ends_with("mirage-out/examples/hello/hello/unix/dist/hello"),
        "{image}"
    );
    assert!(std::path::Path::new(image).is_file());

    let start = Instant::now();
    let out = mirage_ok(&repo(), &["run", "-t", "unix", "//examples/hello:hello"]);
    let elapsed = start.elapsed();
    assert_eq!(
        log_messages(&out.stdout, "INFO", "application"),
        vec!["hello"; 4],
        "{}",
        out.stdout
    );
    assert_eq!(out.stdout.lines().count(), 4, "{}", out.stdout);
    // Three sleeps of one second separate the four lines.
    assert!(elapsed >= Duration::from_secs(3), "{elapsed:?}");

    let quiet = mirage_ok(
        &repo(),
        &[
            "run",
            "-t",
            "unix",
            "//examples/hello:hello",
            "--",
            "-l",
            "*:warning",
        ],
    );
    assert_eq!(quiet.stdout, "", "-l *:warning hides info lines");

    let bad = mirage(
        &repo(),
        &[
            "run",
            "-t",
            "unix",
            "//examples/hello:hello",
            "--",
            "--logs=*:loud",
        ],
    );
    assert_eq!(bad.code, 64, "{bad:?}");
    assert!(
        bad.stdout
            .contains("option --logs: unknown log level `loud`"),
        "{}",
        bad.stdout
    );
}

#[test]
fn hello_key_says_the_runtime_argument() {
    let label = "//examples/hello-key:hello_key";
    let out = mirage_ok(&repo(), &["run", "-t", "unix", label, "--", "--hello=Hola"]);
    assert_eq!(
        log_messages(&out.stdout, "INFO", "application"),
        vec!["Hola"; 4],
        "{}",
        out.stdout
    );

    let default = mirage_ok(
        &repo(),
        &["run", "-t", "unix", label, "--", "-l", "application:info"],
    );
    assert_eq!(
        log_messages(&default.stdout, "INFO", "application"),
        vec!["Hello World!"; 4]
    );

    assert_hello_key_arguments("unix");
}

#[test]
fn choice_follows_the_reporter_key_and_remembers_it() {
    let label = "//examples/choice:choice";
    // The configuration is recorded per label: no build of choice for any
    // target may come in between.
    let _unix = crate::running::turn(label, "unix");
    let _spt = crate::running::turn(label, "spt");
    let on = mirage_ok(&repo(), &["run", "-t", "unix", label]);
    assert_eq!(
        log_messages(&on.stdout, "INFO", "application"),
        vec!["the reporter is on"]
    );
    assert!(
        on.stdout
            .ends_with("//examples/choice:choice on unix with reporter=console\n"),
        "{}",
        on.stdout
    );

    let off = mirage_ok(&repo(), &["run", "-t", "unix", label, "--reporter=none"]);
    assert_eq!(
        off.stdout,
        "//examples/choice:choice on unix with reporter=none\n"
    );
    let help = mirage(&repo(), &["run", label, "--", "--help"]);
    assert!(
        !help.stdout.contains("--logs"),
        "no reporter, no -l: {}",
        help.stdout
    );

    // No -t and no keys: the recorded configuration is reused.
    let keys = mirage_ok(&repo(), &["query", "keys", label]);
    assert_eq!(keys.stdout, "--reporter=none (choices: console, none)\n");
    let again = mirage_ok(&repo(), &["run", label]);
    assert_eq!(
        again.stdout,
        "//examples/choice:choice on unix with reporter=none\n"
    );

    mirage_ok(&repo(), &["configure", "-t", "unix", label]);
    assert_eq!(
        mirage_ok(&repo(), &["query", "keys", label]).stdout,
        "--reporter=console (default; choices: console, none)\n"
    );
}

/// `--delay=SECONDS`, which every image takes: nothing is connected (so
/// nothing logged) before it has passed; a bad value is refused.
#[test]
fn every_image_waits_for_delay_before_connecting() {
    let start = Instant::now();
    let out = mirage_ok(
        &repo(),
        &[
            "run",
            "-t",
            "unix",
            "//examples/noop:noop",
            "--",
            "--delay=2",
        ],
    );
    assert!(start.elapsed() >= Duration::from_secs(2), "{out:?}");
    let out = mirage(
        &repo(),
        &[
            "run",
            "-t",
            "unix",
            "//examples/noop:noop",
            "--",
            "--delay=soon",
        ],
    );
    assert_eq!(out.code, 64, "{out:?}");
    assert!(
        out.stdout.contains("option --delay: invalid value `soon`"),
        "{out:?}"
    );
}

/// Two checkouts whose hello differs, building into one target directory
/// (the tests' own): the second runs its own code. Cargo names a
/// checkout's crates by their path inside the generated crate, the same
/// in both, and B's edit is older than A's compile, so only the
/// checkout in the compile's fingerprint (rustc_wrapper.rs) tells them
/// apart; registry crates are still shared.
#[test]
fn checkouts_sharing_a_target_directory_run_their_own_code() {
    let (a, b) = (
        tempfile::Builder::new()
            .prefix("mirage-own-a-")
            .tempdir()
            .unwrap(),
        tempfile::Builder::new()
            .prefix("mirage-own-b-")
            .tempdir()
            .unwrap(),
    );
    crate::support::copy_checkout(a.path());
    crate::support::copy_checkout(b.path());
    let lib = b.path().join("examples/hello/src/lib.rs");
    let source = std::fs::read_to_string(&lib).unwrap();
    assert!(source.contains("log::info!(\"hello\")"), "{source}");
    std::fs::write(
        &lib,
        source.replace("log::info!(\"hello\")", "log::info!(\"howdy\")"),
    )
    .unwrap();
    let hello = ["run", "-t", "unix", "//examples/hello:hello"];
    for (dir, said) in [(a.path(), "hello"), (b.path(), "howdy")] {
        let out = crate::support::mirage_in_checkout_ok(dir, &hello);
        assert_eq!(
            log_messages(&out.stdout, "INFO", "application"),
            vec![said; 4],
            "{}: {}",
            dir.display(),
            out.stdout
        );
    }
}
