//! Bazel executes mirage.plan.json crate by crate: an edit to one
//! example's sources reruns that crate's compile and its images' actions,
//! nothing else; an edit to the generator compiles its own crate and
//! reruns no other crate's compile (a unit's or a dependency's); a
//! stale plan stops Bazel and `mirage pin --check` with one message; and
//! `mirage pin` writes the same plan, free of this machine's paths, in any
//! checkout.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::bazel_hermetic::Checkout;
use crate::support::{mirage_in_checkout, mirage_in_checkout_ok};

/// The executed (not cached) spawns of a Bazel execution log (JSON
/// objects, one after another), counted by mnemonic.
fn executed(log: &Path) -> BTreeMap<String, usize> {
    let text = std::fs::read_to_string(log).unwrap();
    let mut counts = BTreeMap::new();
    for spawn in serde_json::Deserializer::from_str(&text).into_iter::<Value>() {
        let spawn = spawn.unwrap();
        if spawn["remoteCacheHit"].as_bool() == Some(true) {
            continue;
        }
        let mnemonic = spawn["mnemonic"].as_str().unwrap_or_default().to_owned();
        *counts.entry(mnemonic).or_default() += 1;
    }
    counts
}

/// `bazel ARGS` in `checkout`, which must succeed.
fn bazel_ok(checkout: &Checkout, args: &[&str]) {
    let (code, text) = checkout.bazel(args);
    assert_eq!(code, 0, "bazel {args:?}:\n{text}");
}

/// Appends `line` to `path` in `checkout` (a copy: no other test sees it).
fn append(checkout: &Checkout, path: &str, line: &str) {
    let file = checkout.path().join(path);
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str(line);
    std::fs::write(&file, text).unwrap();
}

/// A number no cache has seen.
fn nonce() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// The images the edits below rebuild.
const ECHO: [&str; 2] = ["//examples/echo:echo_spt", "//examples/echo:echo_unix"];
const HELLO: [&str; 2] = ["//examples/hello:hello_spt", "//examples/hello:hello_unix"];

/// One checkout for the three edits: its copy, Bazel server and first
/// analysis are most of what each costs, and each edit touches what the
/// ones before it did not build again.
#[test]
fn edits_rerun_only_what_they_touch_and_a_stale_plan_stops_the_image() {
    let checkout = Checkout::new();
    bazel_ok(&checkout, &[&["build"][..], &ECHO, &HELLO].concat());
    editing_one_example_reruns_only_its_crate_and_its_images(&checkout);
    editing_the_generator_reruns_no_unit(&checkout);
    a_stale_plan_stops_the_image_with_one_message(&checkout);
}

/// `bazel build IMAGES` again, logging its spawns: the executed ones, by
/// mnemonic.
fn rebuild(checkout: &Checkout, images: &[&str]) -> BTreeMap<String, usize> {
    let log = checkout.path().join("exec.json");
    let flag = format!("--execution_log_json_file={}", log.display());
    bazel_ok(checkout, &[&["build", flag.as_str()][..], images].concat());
    executed(&log)
}

fn editing_one_example_reruns_only_its_crate_and_its_images(checkout: &Checkout) {
    // A comment no cache has seen: the crate's compile must run.
    append(
        checkout,
        "examples/echo/src/lib.rs",
        &format!("// edited by a test: {}\n", nonce()),
    );
    let counts = rebuild(checkout, &ECHO);
    let expected = BTreeMap::from([("MirageBuild".to_owned(), 2), ("Rustc".to_owned(), 1)]);
    assert_eq!(
        counts, expected,
        "actions run after editing examples/echo/src/lib.rs"
    );
}

fn editing_the_generator_reruns_no_unit(checkout: &Checkout) {
    // Rendering code changes: a template the generator embeds gets a Tera
    // comment no cache has seen (it renders to nothing, but the
    // generator's bytes differ from every earlier run's, so a warm disk
    // cache holds no image built by it). The generator's crate (not its
    // dependencies) and the images are built again, the unit runner (its
    // own crate) is not, so every unit is cached.
    let template = checkout.path().join("generator/templates/header.rs.tera");
    let text = std::fs::read_to_string(&template).unwrap();
    std::fs::write(
        &template,
        format!("{{# edited by a test: {} #}}{text}", nonce()),
    )
    .unwrap();
    let counts = rebuild(checkout, &HELLO);
    assert_eq!(
        counts.get("MirageBuild"),
        Some(&2),
        "the edited generator built both images again: {counts:?}"
    );
    assert_eq!(
        counts.get("CargoBuild"),
        Some(&1),
        "the generator's crate compiled again: {counts:?}"
    );
    for unit in ["Rustc", "BuildScriptRun", "CargoDeps"] {
        assert_eq!(
            counts.get(unit),
            None,
            "units or the generator's dependencies run after editing generator/templates/header.rs.tera: {counts:?}"
        );
    }
}

fn a_stale_plan_stops_the_image_with_one_message(checkout: &Checkout) {
    append(
        checkout,
        "examples/hello/Cargo.toml",
        "# edited by a test: the plan pinned the manifest before\n",
    );
    let message = "mirage.plan.json is stale (examples/hello/Cargo.toml changed): \
                   run `mirage pin` to record it again";

    let (code, text) = checkout.bazel(&["build", HELLO[0]]);
    assert_ne!(code, 0, "{text}");
    assert!(text.contains(message), "{text}");
    let check = mirage_in_checkout(checkout.path(), &["pin", "--check"]);
    assert_eq!(check.code, 2, "{}", check.stderr);
    assert_eq!(check.stderr, format!("mirage: error: {message}\n"));
}

/// `mirage pin -t spt //examples/hello:hello` in a copy of the checkout
/// without a plan.
fn pin_hello(dir: &Path) -> String {
    crate::support::copy_checkout(dir);
    std::fs::remove_file(dir.join("mirage.plan.json")).unwrap();
    mirage_in_checkout_ok(dir, &["pin", "-t", "spt", "//examples/hello:hello"]);
    std::fs::read_to_string(dir.join("mirage.plan.json")).unwrap()
}

#[test]
fn pinning_gives_the_same_plan_in_any_checkout() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let plan = pin_hello(a.path());
    assert_eq!(plan, pin_hello(b.path()), "two checkouts, two plans");
    for path in [
        a.path().display().to_string(),
        std::env::var("HOME").unwrap(),
    ] {
        assert!(!plan.contains(&path), "{path} in the plan");
    }
    let plan: Value = serde_json::from_str(&plan).unwrap();
    let image = &plan["images"][0];
    assert_eq!(image["label"], "//examples/hello:hello");
    assert_eq!(image["target"], "spt");
    // Every crate hello's image links, once, and each dependency pinned.
    let units = plan["units"].as_object().unwrap();
    let packages: Vec<&str> = units
        .values()
        .filter_map(|u| u["package"].as_str())
        .collect();
    for package in ["hello", "mirage-runtime", "mirage-solo5", "log"] {
        assert_eq!(
            packages.iter().filter(|p| **p == package).count(),
            1,
            "{package} in {packages:?}"
        );
    }
    for unit in units.values().chain([&image["unit"]]) {
        for dep in unit["deps"].as_array().unwrap() {
            assert!(
                units.contains_key(dep.as_str().unwrap()),
                "{dep} not pinned"
            );
        }
    }
}
