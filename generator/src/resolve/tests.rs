//! The resolver fed BUILD text: sharing, choices, order and typed keys.

use std::collections::BTreeMap;

use super::{resolve, Resolved};
use crate::error::Result;
use crate::graph::{platform_crates, Graph};
use crate::label::Label;
use crate::starlark::Loader;
use crate::target::Target;
use crate::workspace::Workspace;

const LOAD: &str = "load(\"@rules_mirage//rules_mirage:defs.bzl\", \"mirage_device\", \
                    \"mirage_key\", \"mirage_match\", \"mirage_unikernel\")\n";

/// Resolves `//app:u` declared by `build`, for `target` with `keys`.
fn resolve_text(build: &str, target: Target, keys: &[(&str, &str)]) -> Result<Resolved> {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::write(root.join("WORKSPACE.bazel"), "").unwrap();
    std::fs::create_dir(root.join("app")).unwrap();
    std::fs::write(root.join("app/BUILD.bazel"), format!("{LOAD}{build}")).unwrap();
    std::fs::write(
        root.join("app/Cargo.toml"),
        "[package]\nname = \"u\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    let home = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let ws = Workspace::discover(root, Some(&home))?;
    let loader = Loader::new(&ws)?;
    let label = Label {
        repo: None,
        package: "app".into(),
        name: "u".into(),
    };
    let graph = Graph::load(&loader, &label)?;
    let keys: BTreeMap<String, String> = keys
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    resolve(&graph, target, &keys, platform_crates(&loader, target)?)
}

/// Instances by variable name, in connection order.
fn vars(r: &Resolved) -> Vec<&str> {
    r.instances.iter().map(|i| i.var.as_str()).collect()
}

const TWO_CONSOLES: &str = r#"
mirage_device(name = "a", type = "console", impls = {"*": "mirage_runtime::A"}, crates = ["@rules_mirage//runtimes/core:crate"])
mirage_device(name = "b", type = "console", impls = {"*": "mirage_runtime::A"}, crates = ["@rules_mirage//runtimes/core:crate"])
mirage_unikernel(name = "u", main = "u::start", reporter = None,
    params = {"x": "console", "y": "console"}, args = {"x": ":a", "y": ":b"})
"#;

#[test]
fn identical_devices_are_one_instance() {
    let r = resolve_text(TWO_CONSOLES, Target::Unix, &[]).unwrap();
    assert_eq!(vars(&r), ["a"]);
    let labels: Vec<String> = r.instances[0]
        .labels
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(labels, ["//app:a", "//app:b"]);
    assert_eq!(r.main.args, [("x".to_owned(), 0), ("y".to_owned(), 0)]);
}

#[test]
fn arguments_connect_before_their_consumer_in_parameter_order() {
    let build = r#"
mirage_device(name = "leaf1", type = "t", impls = {"*": "mirage_runtime::L1"}, crates = ["@rules_mirage//runtimes/core:crate"])
mirage_device(name = "leaf2", type = "t", impls = {"*": "mirage_runtime::L2"}, crates = ["@rules_mirage//runtimes/core:crate"])
mirage_device(name = "mid", type = "m", params = {"second": "t", "first": "t"},
    args = {"first": ":leaf1", "second": ":leaf2"}, impls = {"*": "mirage_runtime::M"},
    crates = ["@rules_mirage//runtimes/core:crate"])
mirage_unikernel(name = "u", main = "u::start", reporter = None, params = {"m": "m"}, args = {"m": ":mid"})
"#;
    let r = resolve_text(build, Target::Unix, &[]).unwrap();
    assert_eq!(vars(&r), ["leaf2", "leaf1", "mid"]);
}

const CHOICE: &str = r#"
mirage_key(name = "k", choices = ["x", "y", "true", "false"], default = "x", target_defaults = {"solo5": "y"})
mirage_device(name = "dx", type = "t", impls = {"*": "mirage_runtime::X"}, crates = ["@rules_mirage//runtimes/core:crate"])
mirage_device(name = "dy", type = "t", impls = {"*": "mirage_runtime::Y"}, crates = ["@rules_mirage//runtimes/core:crate"])
mirage_match(name = "m", type = "t", key = ":k", cases = {"x": ":dx"}, default = ":dy")
mirage_unikernel(name = "u", main = "u::start", reporter = None, params = {"t": "t"},
    args = {"t": select({":k_x": ":dx", "//conditions:default": ":m"})})
"#;

#[test]
fn keys_choose_through_select_and_match() {
    let r = resolve_text(CHOICE, Target::Unix, &[]).unwrap();
    assert_eq!(vars(&r), ["dx"], "k=x: select picks :dx");
    let r = resolve_text(CHOICE, Target::Spt, &[]).unwrap();
    assert_eq!(
        vars(&r),
        ["dy"],
        "solo5 default y: select falls to :m, its default"
    );
    let r = resolve_text(CHOICE, Target::Spt, &[("k", "x")]).unwrap();
    assert_eq!(vars(&r), ["dx"]);
    assert!(!r.keys[0].is_default);
}

#[test]
fn boolean_keys_are_bool_literals() {
    let build = r#"
mirage_key(name = "on", choices = ["true", "false"], default = "false")
mirage_key(name = "mode", choices = ["fast", "slow"], default = "fast")
mirage_unikernel(name = "u", main = "u::start", reporter = None)
"#;
    let r = resolve_text(build, Target::Unix, &[("on", "true")]);
    // Keys no graph node names are unknown to this unikernel.
    assert!(r
        .unwrap_err()
        .to_string()
        .starts_with("mirage: error: unknown configure key --on"));
    let build = r#"
mirage_key(name = "on", choices = ["true", "false"], default = "false")
mirage_key(name = "mode", choices = ["fast", "slow"], default = "fast")
mirage_device(name = "d", type = "t", impls = {"*": "mirage_runtime::D"}, keys = [":on", ":mode"],
    connect = "{impl}::connect({key.on}, {key.mode})", crates = ["@rules_mirage//runtimes/core:crate"])
mirage_unikernel(name = "u", main = "u::start", reporter = None, params = {"t": "t"}, args = {"t": ":d"})
"#;
    let r = resolve_text(build, Target::Unix, &[("on", "true")]).unwrap();
    let literals: Vec<String> = r.instances[0]
        .keys
        .iter()
        .map(|k| k.rust_literal())
        .collect();
    assert_eq!(literals, ["true", "\"fast\""]);
}

#[test]
fn implementations_follow_the_most_specific_pattern() {
    let build = r#"
mirage_device(name = "d", type = "t", impls = {"*": "mirage_runtime::Any", "solo5": "mirage_runtime::Solo5", "hvt": "mirage_runtime::Hvt"},
    crates = ["@rules_mirage//runtimes/core:crate"])
mirage_unikernel(name = "u", main = "u::start", reporter = None, params = {"t": "t"}, args = {"t": ":d"})
"#;
    let path = |t| {
        resolve_text(build, t, &[]).unwrap().instances[0]
            .impl_path
            .clone()
    };
    assert_eq!(path(Target::Unix), "mirage_runtime::Any");
    assert_eq!(path(Target::Spt), "mirage_runtime::Solo5");
    assert_eq!(path(Target::Hvt), "mirage_runtime::Hvt");
}

#[test]
fn a_cycle_names_every_member() {
    let build = r#"
mirage_device(name = "a", type = "t", params = {"n": "t"}, args = {"n": ":b"}, impls = {"*": "u::A"})
mirage_device(name = "b", type = "t", params = {"n": "t"}, args = {"n": ":a"}, impls = {"*": "u::B"})
mirage_unikernel(name = "u", main = "u::start", reporter = None, params = {"t": "t"}, args = {"t": ":a"})
"#;
    let e = resolve_text(build, Target::Unix, &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("dependency cycle: "), "{e}");
    assert!(e.contains("//app:a") && e.contains("//app:b"), "{e}");
}
