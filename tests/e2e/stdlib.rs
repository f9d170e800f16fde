//! Every standard device, a user device chosen with `mirage_if`, node
//! sharing, and the `query` and `clean` subcommands (tests/stdlib/).

use crate::support::{copy_tree, mirage, mirage_ok, repo, workspace};

#[test]
fn every_standard_device_works_on_unix() {
    let ws = workspace();
    copy_tree(&repo().join("tests/stdlib"), ws.path());
    let dir = ws.path();

    let out = mirage_ok(
        dir,
        &["run", "-t", "unix", "//app:app", "--", "-l", "quiet"],
    );
    assert_eq!(
        out.stdout,
        "slept at least 20 ms: true\n\
         random bytes vary: true\n\
         clock after 2024: true\n\
         info: //app:app unix [(\"loud\", \"false\")]\n\
         voice: hello (loud=false)\n\
         console a\n\
         console b\n"
    );

    let out = mirage_ok(
        dir,
        &[
            "run",
            "-t",
            "unix",
            "//app:app",
            "--loud=true",
            "--",
            "-l",
            "quiet",
        ],
    );
    assert!(
        out.stdout.contains("voice: HELLO (loud=true)\n"),
        "{}",
        out.stdout
    );

    // console_a, console_b and default_console have the same implementation
    // and arguments: one instance, connected once, with three labels.
    let main = mirage_ok(dir, &["query", "main", "//app:app"]).stdout;
    assert_eq!(
        main.matches("mirage_unix::Console::connect()").count(),
        1,
        "{main}"
    );
    assert!(
        main.contains(
            "    // @rules_mirage//rules_mirage/devices:default_console at \
             @rules_mirage//rules_mirage/devices/BUILD.bazel:59:1\n    \
             // console: The text console.\n    \
             //   also //app:console_a\n    //   also //app:console_b\n"
        ),
        "{main}"
    );
    // Cloned for every use but the last, which moves it.
    assert_eq!(
        main.matches("default_console.clone(),").count(),
        3,
        "{main}"
    );
    assert_eq!(main.matches("default_console,\n").count(), 1, "{main}");

    let files = mirage_ok(dir, &["query", "files", "//app:app"]).stdout;
    assert_eq!(
        files,
        "main.rs\nCargo.toml\nCargo.lock\nrun.sh\ncontext.json\nworkspace\n"
    );
    let keys = mirage_ok(dir, &["query", "keys", "//app:app"]).stdout;
    assert_eq!(keys, "--loud=true (choices: false, true)\n");
    let args = mirage_ok(dir, &["query", "runtime-args", "//app:app"]).stdout;
    assert_eq!(
        args,
        "--logs : string (default: *:info) @rules_mirage//rules_mirage/devices:logs\n"
    );
    let crates = mirage_ok(dir, &["query", "crates", "//app:app"]).stdout;
    let names: Vec<&str> = crates
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(names, ["app", "mirage-runtime", "mirage-unix"], "{crates}");
    let cargo = mirage_ok(dir, &["query", "cargo", "//app:app"]).stdout;
    assert!(
        cargo.contains("app = { package = \"app\", path = \"workspace/app\" }"),
        "{cargo}"
    );
    let manifest = mirage(dir, &["query", "manifest", "//app:app"]);
    assert_eq!(manifest.code, 2);
    assert_eq!(
        manifest.stderr,
        "mirage: error: target unix has no Solo5 manifest\n"
    );

    let run_sh = dir.join("mirage-out/app/app/unix/run.sh");
    let direct = std::process::Command::new(&run_sh)
        .args(["-l", "quiet"])
        .output()
        .unwrap();
    assert!(direct.status.success());
    assert!(String::from_utf8_lossy(&direct.stdout).contains("voice: HELLO"));

    mirage_ok(dir, &["clean", "//app:app"]);
    assert!(!dir.join("mirage-out/app/app").exists());
    mirage_ok(dir, &["clean"]);
    // All output goes; the link the app's own cargo reads stays.
    let left: Vec<_> = std::fs::read_dir(dir.join("mirage-out"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["rules_mirage"]);
}
