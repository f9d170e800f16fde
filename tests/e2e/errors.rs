//! Bad input: every case under tests/cases/errors/ must exit 2 with one line
//! naming the BUILD file:line (or `mirage:` for a command-line mistake) and
//! the cause, and write no output.

use crate::support::{golden, mirage, repo, workspace};

fn check_case(name: &str) {
    let case = repo().join("tests/cases/errors").join(name);
    let ws = workspace();
    let app = ws.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    for entry in std::fs::read_dir(&case).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        match file.as_str() {
            "BUILD.in" => std::fs::copy(&path, app.join("BUILD.bazel"))
                .map(drop)
                .unwrap(),
            f if f.ends_with(".bzl") => std::fs::copy(&path, app.join(f)).map(drop).unwrap(),
            _ => {}
        }
    }
    std::fs::write(
        app.join("Cargo.toml"),
        "[package]\nname = \"u\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    let args = std::fs::read_to_string(case.join("args"))
        .unwrap_or_else(|_| "configure -t unix //app:u".into());
    let args: Vec<&str> = args.split_whitespace().collect();
    let out = mirage(ws.path(), &args);
    assert_eq!(out.code, 2, "case {name}: expected exit 2\n{}", out.stderr);
    assert_eq!(
        out.stderr.lines().count(),
        1,
        "case {name}: one line of cause:\n{}",
        out.stderr
    );
    // A BUILD mistake names its file:line; a command-line one is mirage's.
    assert!(
        out.stderr.starts_with("app/BUILD.bazel:") || out.stderr.starts_with("mirage: error: "),
        "case {name}: the message must point at the BUILD file or the command line:\n{}",
        out.stderr
    );
    assert!(
        !ws.path().join("mirage-out").exists(),
        "case {name}: output left behind"
    );
    golden(&format!("cases/errors/{name}/expected"), &out.stderr);
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check_case(stringify!($name));
            }
        )*

        #[test]
        fn every_case_directory_has_a_test() {
            let mut dirs: Vec<String> = std::fs::read_dir(repo().join("tests/cases/errors"))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            dirs.sort();
            let mut listed = vec![$(stringify!($name).to_owned()),*];
            listed.sort();
            assert_eq!(dirs, listed);
        }
    };
}

cases!(
    crunch_missing_directory,
    cycle,
    duplicate_name,
    error_in_macro_points_at_build_line,
    fail_in_macro,
    key_target_default_outside_choices,
    key_value_outside_choices,
    load_missing_file,
    missing_argument,
    not_a_device,
    select_matches_nothing,
    syntax_error,
    target_cannot_host_device,
    target_not_listed,
    type_mismatch,
    unknown_attribute,
    unknown_device,
    unknown_key,
    unknown_package,
    unknown_target,
    wrong_attribute_type,
);
