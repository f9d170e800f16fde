//! `mirage describe`: text and Graphviz output, before and after resolution.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::{mirage_ok, repo};

fn render_svg(dot: &str) -> String {
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("Graphviz `dot` is installed (Debian package graphviz)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(dot.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "dot rejected:\n{dot}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn declared_graph_renders_with_dot() {
    let dot = mirage_ok(&repo(), &["describe", "--dot", "//examples/choice:choice"]).stdout;
    let svg = render_svg(&dot);
    assert!(svg.contains("<svg"), "{svg}");
    assert!(
        svg.contains("//examples/choice:choice[reporter]"),
        "the select() is a node: {svg}"
    );
    assert!(
        svg.contains("//rules_mirage/devices:default_reporter"),
        "{svg}"
    );
}

#[test]
fn resolved_graph_renders_with_dot() {
    let dot = mirage_ok(
        &repo(),
        &[
            "describe",
            "--dot",
            "--eval",
            "-t",
            "unix",
            "//examples/hello:hello",
        ],
    )
    .stdout;
    let svg = render_svg(&dot);
    assert!(svg.contains("default_time"), "{svg}");
    assert!(svg.contains("mirage_runtime::time::Time"), "{svg}");
}

#[test]
fn resolved_text_lists_devices_in_connection_order() {
    let text = mirage_ok(
        &repo(),
        &["describe", "--eval", "-t", "unix", "//examples/hello:hello"],
    )
    .stdout;
    let order: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with(' ') && l.contains(" : "))
        .map(|l| l.split(" : ").next().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "default_posix_clock",
            "default_console",
            "default_reporter",
            "default_time",
            "hello"
        ]
    );
}

#[test]
fn declared_text_shows_both_branches_of_a_choice() {
    let text = mirage_ok(&repo(), &["describe", "//examples/choice:choice"]).stdout;
    assert!(
        text.contains("select //examples/choice:choice[reporter]"),
        "{text}"
    );
    assert!(
        text.contains(
            "//examples/choice:reporter_console -> //rules_mirage/devices:default_reporter"
        ),
        "{text}"
    );
    assert!(
        text.contains("--reporter = console (choices: console, none)"),
        "{text}"
    );
}

#[test]
fn resolved_dot_shows_keys_runtime_args_and_solo5_devices() {
    let dot = mirage_ok(
        &repo(),
        &[
            "describe",
            "--eval",
            "--dot",
            "-t",
            "spt",
            "//examples/block:block",
            "--block=file",
        ],
    )
    .stdout;
    assert!(
        dot.contains("label=\"//examples/block:block for spt\\n--block=file\";"),
        "{dot}"
    );
    assert!(dot.contains("\\n--logs\""), "runtime args: {dot}");
    assert!(
        dot.contains("\\nSolo5 block disk\""),
        "Solo5 devices: {dot}"
    );
    render_svg(&dot);
}
