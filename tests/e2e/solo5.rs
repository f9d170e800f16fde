//! The Solo5 toolchain and targets: linker scripts, images that boot under
//! the real tenders, ABIs, reproducibility.

use crate::support::{assert_hello_key_arguments, golden, mirage, mirage_ok, repo};

/// The toolchain, built (or found in the cache) from the pinned sources.
pub fn toolchain() -> mirage_toolchain_solo5::Toolchain {
    mirage_toolchain_solo5::Toolchain::ensure(&repo(), &mirage_toolchain_solo5::cache_root(), |m| {
        eprintln!("{m}")
    })
    .expect("the Solo5 toolchain builds")
}

#[test]
fn linker_scripts_match_upstream() {
    let t = toolchain();
    for target in mirage_toolchain_solo5::TARGETS {
        let upstream = std::fs::read_to_string(t.upstream_linker_script(target)).unwrap();
        let adapted = mirage_toolchain_solo5::adapt_linker_script(&upstream);
        golden(
            &format!("../toolchains/solo5/lds/solo5_{target}.lds"),
            &adapted,
        );
    }
}

/// Console lines the unikernel printed, without Solo5's banner and log.
fn app_lines(stdout: &str) -> Vec<&str> {
    let banner_end = stdout
        .find("Solo5:       heap")
        .map_or(0, |i| i + stdout[i..].find('\n').unwrap_or(0) + 1);
    stdout[banner_end..]
        .lines()
        .filter(|l| !l.starts_with("Solo5: "))
        .collect()
}

/// The message of each `[INFO] [application]` log line.
fn hellos(stdout: &str) -> Vec<&str> {
    app_lines(stdout)
        .into_iter()
        .filter_map(|l| l.split_once(": [INFO] [application] ").map(|(_, m)| m))
        .collect()
}

/// noop, hello and hello-key on a target whose images boot here.
fn boot_examples(target: &str) {
    let noop = mirage(&repo(), &["run", "-t", target, "//examples/noop:noop"]);
    assert_eq!(noop.code, 0, "{noop:?}");
    assert!(
        noop.stdout.contains("Solo5: solo5_exit(0) called"),
        "{}",
        noop.stdout
    );
    assert!(app_lines(&noop.stdout).is_empty(), "{}", noop.stdout);

    let hello = mirage(&repo(), &["run", "-t", target, "//examples/hello:hello"]);
    assert_eq!(hello.code, 0, "{hello:?}");
    assert_eq!(hellos(&hello.stdout), ["hello"; 4], "{}", hello.stdout);

    let label = "//examples/hello-key:hello_key";
    let hola = mirage(&repo(), &["run", "-t", target, label, "--", "--hello=Hola"]);
    assert_eq!(hola.code, 0, "{hola:?}");
    assert_eq!(hellos(&hola.stdout), ["Hola"; 4], "{}", hola.stdout);
    assert_hello_key_arguments(target);
}

#[test]
fn examples_boot_on_spt() {
    boot_examples("spt");
}

#[test]
fn examples_boot_on_virtio() {
    boot_examples("virtio");
    let xml = std::fs::read_to_string(
        repo().join("mirage-out/examples/hello/hello/virtio/hello.virtio.xml"),
    )
    .unwrap();
    assert!(xml.contains("<kernel>dist/hello.virtio</kernel>"), "{xml}");
}

/// hvt images are built exactly as for production. Where the host's KVM
/// executes SSE (probed, not guessed), they boot as on spt; on an emulating
/// KVM, Solo5's SSE-free C test_hello boots instead, as a smoke test of the
/// tender and KVM, and the test says SKIPPED with why and what it checked.
#[test]
fn hvt_boots_where_kvm_allows() {
    use mirage_toolchain_solo5::HvtProbe;
    let t = toolchain();
    let work = tempfile::tempdir().unwrap();
    let probe = t.probe_hvt(work.path()).expect("the SSE probe builds");
    match &probe {
        HvtProbe::Capable => {
            println!("hvt: full suite: the probe image executed SSE under this host's KVM");
            boot_examples("hvt");
            crate::storage::passes_block_test("hvt", &[], 128);
            for kv in ["crunch", "tar"] {
                crate::storage::kv_ro_example("hvt", kv);
            }
        }
        HvtProbe::NoSse(why) => {
            crate::support::skipped(
                "solo5::hvt_boots_where_kvm_allows",
                &format!(
                    "no image of ours boots on hvt here: this host's KVM cannot execute SSE in a guest (probe: {why}); checked instead: every example links as hvt, and Solo5's SSE-free test_hello boots"
                ),
            );
            for (label, name) in [
                ("//examples/noop:noop", "noop"),
                ("//examples/hello:hello", "hello"),
                ("//examples/hello-key:hello_key", "hello_key"),
                ("//examples/block:block", "block"),
                ("//examples/kv_ro:kv_ro", "kv_ro"),
                ("//examples/echo:echo", "echo"),
                ("//examples/network:network", "network"),
            ] {
                let image = mirage_ok(&repo(), &["build", "-t", "hvt", label]).stdout;
                let image = image.lines().last().unwrap();
                assert!(image.ends_with(&format!("{name}.hvt")), "{image}");
                assert_eq!(query_abi(&t, image.as_ref()), "hvt");
            }
            let out = std::process::Command::new(t.tender("hvt"))
                .arg(t.test_program("test_hello", "hvt"))
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(stdout.contains("Hello, World"), "{stdout}");
        }
        HvtProbe::Unavailable(why) => panic!("hvt cannot run here: {why}"),
    }
}

/// Solo5's own tests (its `tests.bats`) for spt pass on the patched
/// sources and tender (`toolchains/solo5/solo5-tests.sh`): among them net
/// and net_2if (Solo5 images, whose manifests ask for no offload, get plain
/// frames under a ping flood), blk (the flush patch) and seccomp. hvt's
/// take minutes on this host's emulating KVM and are run by hand (see
/// toolchains/solo5/README.md); `hvt_boots_where_kvm_allows` boots hvt.
#[test]
fn solo5s_own_spt_tests_pass_on_the_patched_toolchain() {
    let t = toolchain();
    let out = std::process::Command::new("bash")
        .arg(repo().join("toolchains/solo5/solo5-tests.sh"))
        .arg(t.dir())
        .arg("spt")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    let results: Vec<&str> = report
        .lines()
        .filter(|l| l.starts_with("ok ") || l.starts_with("not ok "))
        .collect();
    println!("Solo5's tests.bats on spt:\n{}", results.join("\n"));
    assert!(
        out.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let planned = report.lines().find_map(|l| l.strip_prefix("1.."));
    assert_eq!(
        planned,
        Some(results.len().to_string().as_str()),
        "{report}"
    );
    for test in [
        "hello spt",
        "blk spt",
        "net spt",
        "net_2if spt",
        "seccomp spt",
    ] {
        assert!(
            results
                .iter()
                .any(|r| r.starts_with("ok ") && r.ends_with(test)),
            "{test}: {report}"
        );
    }
}

/// `solo5-elftool query-abi`'s target for an image.
fn query_abi(t: &mirage_toolchain_solo5::Toolchain, image: &std::path::Path) -> String {
    let out = std::process::Command::new(t.elftool())
        .arg("query-abi")
        .arg(image)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let abi: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    abi["target"].as_str().unwrap().to_owned()
}

#[test]
fn muen_xen_and_qubes_images_link_with_their_abi() {
    let t = toolchain();
    for (target, abi) in [("muen", "muen"), ("xen", "xen"), ("qubes", "xen")] {
        let out = mirage_ok(
            &repo(),
            &["build", "-t", target, "//examples/hello-key:hello_key"],
        );
        let image = out.stdout.lines().last().unwrap();
        assert_eq!(query_abi(&t, image.as_ref()), abi, "{target}");
        let run = mirage(
            &repo(),
            &["run", "-t", target, "//examples/hello-key:hello_key"],
        );
        assert_eq!(run.code, 2, "{run:?}");
        assert!(
            run.stderr
                .contains(&format!("{target} images cannot run on this host")),
            "{}",
            run.stderr
        );
    }
    let xl = std::fs::read_to_string(
        repo().join("mirage-out/examples/hello-key/hello_key/xen/hello_key.xl"),
    )
    .unwrap();
    assert!(xl.contains("kernel = \"dist/hello_key.xen\""), "{xl}");
    let xl_in = std::fs::read_to_string(
        repo().join("mirage-out/examples/hello-key/hello_key/qubes/hello_key.xl.in"),
    )
    .unwrap();
    assert!(xl_in.contains("kernel = \"@KERNEL@\""), "{xl_in}");
    let manifest = mirage_ok(
        &repo(),
        &[
            "query",
            "manifest",
            "-t",
            "xen",
            "//examples/hello-key:hello_key",
        ],
    )
    .stdout;
    let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(manifest["type"], "solo5.manifest");
}

/// Two checkouts build the same hello.spt. The second is built by a
/// binary whose `MIRAGE_HOME` names the first, as when a user runs a
/// `mirage` installed from one clone in another: a checkout is its own home.
#[test]
fn spt_images_are_identical_from_two_checkouts() {
    let a = tempfile::Builder::new()
        .prefix("mirage-a-")
        .tempdir()
        .unwrap();
    let b = tempfile::Builder::new()
        .prefix("mirage-repro-b-")
        .tempdir()
        .unwrap();
    let mut digests = Vec::new();
    for dir in [a.path(), b.path()] {
        crate::support::copy_checkout(dir);
        let out = crate::support::mirage_with_env(
            dir,
            &["build", "-t", "spt", "//examples/hello:hello"],
            &[("MIRAGE_HOME", a.path().as_os_str())],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        let image =
            std::fs::read(dir.join("mirage-out/examples/hello/hello/spt/dist/hello.spt")).unwrap();
        digests.push(crate::support::sha256(&image));
    }
    assert_eq!(
        digests[0], digests[1],
        "hello.spt differs between checkouts"
    );
    let main =
        std::fs::read_to_string(b.path().join("mirage-out/examples/hello/hello/spt/main.rs"))
            .unwrap();
    assert!(
        main.contains(
            "// //rules_mirage/devices:default_console at rules_mirage/devices/BUILD.bazel:"
        ),
        "the second checkout's own rules_mirage is used:\n{main}"
    );
}

/// A built Solo5 toolchain holds no absolute path: moved to another cache
/// directory (as Bazel moves it out of its sandbox, or a remote worker
/// receives it), it links the same hello.hvt and hello.spt bytes.
#[test]
fn a_moved_toolchain_links_the_same_images() {
    let t = toolchain();
    let moved = tempfile::Builder::new()
        .prefix("mirage-moved-cache-")
        .tempdir()
        .unwrap();
    let key = t.dir.file_name().unwrap();
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(&t.dir)
        .arg(moved.path().join(key))
        .status()
        .unwrap();
    assert!(status.success());
    for target in ["hvt", "spt"] {
        let build = |cache: &std::path::Path| {
            let ws = tempfile::Builder::new()
                .prefix("mirage-moved-")
                .tempdir()
                .unwrap();
            crate::support::copy_checkout(ws.path());
            let out = crate::support::mirage_with_env(
                ws.path(),
                &["build", "-t", target, "//examples/hello:hello"],
                &[
                    ("MIRAGE_HOME", ws.path().as_os_str()),
                    ("MIRAGE_CACHE", cache.as_os_str()),
                ],
            );
            let stderr = out.stderr;
            assert_eq!(out.code, 0, "{stderr}");
            assert!(!stderr.contains("building the Solo5"), "{stderr}");
            let image = ws.path().join(format!(
                "mirage-out/examples/hello/hello/{target}/dist/hello.{target}"
            ));
            crate::support::sha256(&std::fs::read(image).unwrap())
        };
        assert_eq!(
            build(&mirage_toolchain_solo5::cache_root()),
            build(moved.path()),
            "hello.{target} depends on where the toolchain is"
        );
    }
    // Its links point inside the tree.
    for link in [
        "toolchain/include/solo5",
        "toolchain/lib/x86_64-solo5-none-static",
    ] {
        let to = std::fs::read_link(moved.path().join(key).join(link)).unwrap();
        assert!(to.is_relative(), "{link} -> {}", to.display());
    }
}

/// `--delay` on Solo5: the image waits on Solo5's clock before connecting.
#[test]
fn spt_images_wait_for_delay() {
    let start = std::time::Instant::now();
    let out = mirage_ok(
        &repo(),
        &[
            "run",
            "-t",
            "spt",
            "//examples/noop:noop",
            "--",
            "--delay=2",
        ],
    );
    assert!(
        start.elapsed() >= std::time::Duration::from_secs(2),
        "{out:?}"
    );
}
