//! A workspace outside this repository loads `@rules_mirage` and uses a
//! device whose crate lives in its own folder (tests/external/).

use crate::support::{copy_tree, mirage_ok, repo, workspace};

#[test]
fn outside_workspace_builds_and_runs_a_user_device() {
    let ws = workspace();
    copy_tree(&repo().join("tests/external"), ws.path());
    let out = mirage_ok(
        ws.path(),
        &[
            "run",
            "-t",
            "unix",
            "//app:app",
            "--",
            "--name=Mirage",
            "--greeting=Bonjour",
        ],
    );
    assert!(out.stdout.ends_with("Bonjour, Mirage!\n"), "{}", out.stdout);

    // A relative label from inside the package; defaults for both args.
    let out = mirage_ok(
        &ws.path().join("app"),
        &["run", ":app", "--", "-l", "quiet"],
    );
    assert_eq!(out.stdout, "Hello, World!\n");

    let main = mirage_ok(ws.path(), &["query", "main", "//app:app"]).stdout;
    assert!(main.contains("//greeter:greeter"), "{main}");
    assert!(
        main.contains("@rules_mirage//rules_mirage/devices:default_console"),
        "{main}"
    );
    assert!(
        !main.contains(&repo().display().to_string()),
        "no absolute path of this machine:\n{main}"
    );
    assert!(ws.path().join("mirage-out/app/app/unix/dist/app").is_file());
}
