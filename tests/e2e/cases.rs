//! Fixture cases, one folder each under tests/cases/<behaviour>/:
//! - `args`: the `mirage` command line;
//! - `BUILD.in` (and any `.bzl`): when present, the command runs in a fresh
//!   workspace with these as `app/BUILD.bazel`; otherwise in this checkout;
//! - `expected`: standard output when the command succeeds (run twice: the
//!   output must not change), else its one line of error.
//!
//! A failing case exits 2 with one line naming the BUILD file:line (or
//! `mirage:` for a command-line mistake) and writes nothing.
//! `MIRAGE_BLESS=1` rewrites `expected`. The digest of this checkout's
//! Cargo.lock, which images carry, reads `CARGO_LOCK_SHA256` there, so a
//! new dependency does not rewrite every case.

use crate::support::{golden, mirage, repo, workspace};

fn check_case(name: &str) {
    let case = repo().join("tests/cases").join(name);
    let args =
        std::fs::read_to_string(case.join("args")).unwrap_or_else(|e| panic!("{name}/args: {e}"));
    let args: Vec<&str> = args.split_whitespace().collect();
    let ws = workspace();
    let own_build = case.join("BUILD.in").is_file();
    let cwd = if own_build {
        let app = ws.path().join("app");
        std::fs::create_dir_all(&app).unwrap();
        for entry in std::fs::read_dir(&case).unwrap() {
            let path = entry.unwrap().path();
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            if file == "BUILD.in" {
                std::fs::copy(&path, app.join("BUILD.bazel")).unwrap();
            } else if file.ends_with(".bzl") {
                std::fs::copy(&path, app.join(&file)).unwrap();
            }
        }
        std::fs::write(
            app.join("Cargo.toml"),
            "[package]\nname = \"u\"\nversion = \"0.1.0\"\n",
        )
        .unwrap();
        ws.path().to_path_buf()
    } else {
        repo()
    };
    let out = mirage(&cwd, &args);
    let expected = format!("cases/{name}/expected");
    if out.code == 0 {
        let again = mirage(&cwd, &args);
        assert_eq!(
            out.stdout, again.stdout,
            "case {name}: output is not deterministic"
        );
        let lock = std::fs::read(repo().join("Cargo.lock")).unwrap();
        let lock = crate::support::sha256(&lock);
        golden(&expected, &out.stdout.replace(&lock, "CARGO_LOCK_SHA256"));
        return;
    }
    assert_eq!(out.code, 2, "case {name}: expected exit 2\n{}", out.stderr);
    assert_eq!(
        out.stderr.lines().count(),
        1,
        "case {name}: one line of cause:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.starts_with("app/BUILD.bazel:") || out.stderr.starts_with("mirage: error: "),
        "case {name}: the message must point at the BUILD file or the command line:\n{}",
        out.stderr
    );
    if own_build {
        assert!(
            !ws.path().join("mirage-out").exists(),
            "case {name}: output left behind"
        );
    }
    golden(&expected, &out.stderr);
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
            let mut dirs: Vec<String> = std::fs::read_dir(repo().join("tests/cases"))
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
    cli_unknown_option,
    pin_check_without_plan,
    pin_labels_without_targets,
    pin_nothing,
    connect_not_rust,
    connect_unknown_placeholder,
    crunch_missing_directory,
    cycle,
    disk_missing_file,
    disk_wrong_size,
    duplicate_name,
    error_in_macro_points_at_build_line,
    fail_in_macro,
    key_target_default_outside_choices,
    key_value_outside_choices,
    littlefs_disk_not_whole_blocks,
    littlefs_missing_directory,
    load_missing_file,
    main_choice_reporter_console,
    main_choice_reporter_none,
    main_dns_spt,
    main_echo_direct_stack_on_spt,
    main_echo_socket_stack_on_unix,
    main_generic_kv_rw_chamelon,
    main_generic_kv_rw_mem,
    main_hello_key_unix,
    main_hello_key_virtio,
    main_hello_spt,
    main_hello_unix,
    main_http_fetch_spt,
    main_noop_spt,
    main_noop_unix,
    missing_argument,
    missing_load,
    not_a_device,
    query_keys_of_echo_on_spt,
    query_runtime_args_of_echo,
    release_fixes_its_targets,
    release_unknown_target,
    reporter_is_not_a_parameter,
    runtime_arg_builtin_name,
    runtime_arg_int_default,
    runtime_args_of_generic_kv_rw_chamelon,
    select_matches_nothing,
    syntax_error,
    target_cannot_host_device,
    target_not_listed,
    type_mismatch,
    unknown_attribute,
    unknown_device,
    unknown_key,
    unknown_key_typo,
    unknown_package,
    unknown_target,
    unknown_target_typo,
    wrong_attribute_type,
);
