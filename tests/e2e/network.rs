//! Networking on spt, for real: each test makes a network namespace with a
//! tap device (host side 10.0.0.1/24), boots the unikernel on that tap
//! (10.0.0.2/24) and talks to it with ping and nc from inside the
//! namespace. Only addresses inside the namespace are used.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{mirage_ok, repo, unikernel_target_dir};

/// Tests that build //examples/echo:echo for spt with different configure
/// keys share its output directory: they take turns.
static ECHO_SPT: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn echo_spt() -> std::sync::MutexGuard<'static, ()> {
    ECHO_SPT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A namespace with tap0 up at 10.0.0.1/24; deleted on drop.
struct Netns(String);

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("iproute2 is installed");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Netns {
    fn new(name: &str) -> Netns {
        let name = format!("mirage-{name}-{}", std::process::id());
        ip(&["netns", "add", &name]);
        let ns = Netns(name);
        ns.ip(&["link", "set", "lo", "up"]);
        ns.ip(&["tuntap", "add", "tap0", "mode", "tap"]);
        ns.ip(&["addr", "add", "10.0.0.1/24", "dev", "tap0"]);
        ns.ip(&["link", "set", "tap0", "up"]);
        ns
    }

    fn ip(&self, args: &[&str]) {
        let mut all = vec!["netns", "exec", &self.0, "ip"];
        all.extend(args);
        ip(&all);
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.0, program]);
        cmd
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// A unikernel running in the namespace; killed on drop.
struct Running {
    child: std::process::Child,
    log: PathBuf,
}

impl Running {
    /// Builds `label` for `target`, boots it on tap0 and waits for
    /// `ready` in its console output.
    fn start(ns: &Netns, target: &str, label: &str, args: &[&str], ready: &str) -> Running {
        Running::start_with_keys(ns, target, label, &[], args, ready)
    }

    /// [`Running::start`] with configure keys.
    fn start_with_keys(
        ns: &Netns,
        target: &str,
        label: &str,
        keys: &[&str],
        args: &[&str],
        ready: &str,
    ) -> Running {
        let mut build = vec!["build", "-t", target, label];
        build.extend(keys);
        mirage_ok(&repo(), &build);
        let log = std::env::temp_dir().join(format!("{}.log", ns.0));
        let mut cmd = ns.command(env!("CARGO_BIN_EXE_mirage"));
        cmd.args(["run", "-t", target, label, "--tap", "service=tap0"])
            .args(keys)
            .arg("--")
            .args(args)
            .current_dir(repo())
            .env("MIRAGE_HOME", repo())
            .env("CARGO_TARGET_DIR", unikernel_target_dir())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let running = Running {
            child: cmd.spawn().unwrap(),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !running.output().contains(ready) {
            assert!(
                Instant::now() < deadline,
                "no {ready:?} in:\n{}",
                running.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        running
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // The tender is a grandchild: end the whole process group.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Pings `host` `count` times from the namespace; at least one reply must
/// come. Returns ping's report.
fn ping(ns: &Netns, host: &str, count: u32) -> String {
    let count = count.to_string();
    let out = ns
        .command("ping")
        .args(["-c", &count, "-W", "2", host])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    text
}

/// `data` sent through `nc` in the namespace to 10.0.0.2; what came back.
fn nc(ns: &Netns, port: &str, data: &[u8]) -> Vec<u8> {
    nc_to(ns, "10.0.0.2", port, data)
}

/// `data` sent through `nc` in the namespace to `host`; what came back.
fn nc_to(ns: &Netns, host: &str, port: &str, data: &[u8]) -> Vec<u8> {
    let mut child = ns
        .command("nc")
        .args(["-N", "-w", "10", host, port])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("netcat-openbsd is installed");
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    writer.join().unwrap().unwrap();
    assert!(child.wait().unwrap().success());
    out
}

fn echo_server_answers_ping_and_echoes_over_tcp(target: &str) {
    let ns = Netns::new(&format!("echo-{target}"));
    let echo = Running::start(
        &ns,
        target,
        "//examples/echo:echo",
        &[],
        "echo: listening on port 7",
    );
    let report = ping(&ns, "10.0.0.2", 3);
    assert!(report.contains("3 received"), "{report}");

    assert_eq!(nc(&ns, "7", b"hello mirage\n"), b"hello mirage\n");
    // Larger than the stack's buffers, and every byte value.
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(nc(&ns, "7", &big), big);
    assert_eq!(
        echo.output()
            .matches("echo: connection from 10.0.0.1:")
            .count(),
        2,
        "{}",
        echo.output()
    );
}

#[test]
fn echo_server_answers_ping_and_echoes_over_tcp_on_spt() {
    let _turn = echo_spt();
    echo_server_answers_ping_and_echoes_over_tcp("spt");
}

/// The same direct stack in a unix process, on a tap through /dev/net/tun.
#[test]
fn echo_server_answers_ping_and_echoes_over_tcp_on_unix_direct() {
    echo_server_answers_ping_and_echoes_over_tcp("unix");
}

#[test]
fn network_example_logs_connections_and_data_at_debug_level() {
    let ns = Netns::new("network");
    let net = Running::start(
        &ns,
        "spt",
        "//examples/network:network",
        &["-l", "*:debug", "--port=8080"],
        "listening on port 8080",
    );
    assert!(nc(&ns, "8080", b"Hello from the host\n").is_empty());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !net.output().contains("Hello from the host") {
        assert!(Instant::now() < deadline, "{}", net.output());
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = net.output();
    assert!(
        out.contains("[INFO] [application] new tcp connection from 10.0.0.1:"),
        "{out}"
    );
    assert!(
        out.contains("[DEBUG] [application] read: 20 bytes:\nHello from the host\n"),
        "{out}"
    );
    assert!(out.contains("[INFO] [tcpip] interface "), "{out}");
}

/// Bytes of heap in use at each "connection freed" debug line.
fn heap_samples(log: &str) -> Vec<usize> {
    log.lines()
        .filter_map(|l| l.split_once("connection freed; heap in use: "))
        .filter_map(|(_, rest)| rest.strip_suffix(" bytes")?.parse().ok())
        .collect()
}

/// 1,000 connections, one after another: each is answered, and each is
/// freed, so the heap after the last is within 64 KiB of after the first.
#[test]
fn a_thousand_connections_leave_memory_bounded_on_spt() {
    const CONNECTIONS: usize = 1000;
    const BOUND: usize = 64 * 1024;
    let _turn = echo_spt();
    let ns = Netns::new("conns");
    let echo = Running::start(
        &ns,
        "spt",
        "//examples/echo:echo",
        &["-l", "tcpip:debug"],
        "echo: listening on port 7",
    );
    for i in 0..CONNECTIONS {
        let msg = format!("connection {i}\n");
        assert_eq!(nc(&ns, "7", msg.as_bytes()), msg.as_bytes());
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while heap_samples(&echo.output()).len() < CONNECTIONS {
        assert!(
            Instant::now() < deadline,
            "only {} connections freed",
            heap_samples(&echo.output()).len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let samples = heap_samples(&echo.output());
    let (first, last) = (samples[0], samples[CONNECTIONS - 1]);
    assert!(
        last <= first + BOUND,
        "heap grew from {first} to {last} bytes over {CONNECTIONS} connections"
    );
}

/// With `--dhcp=true` the unikernel takes its address from dnsmasq, running
/// in the namespace with one address on offer, and serves on it.
#[test]
fn dhcp_gives_the_unikernel_its_address_on_spt() {
    let _turn = echo_spt();
    let ns = Netns::new("dhcp");
    let dir = tempfile::tempdir().unwrap();
    let mut dnsmasq = ns
        .command("dnsmasq")
        .args([
            "--keep-in-foreground",
            "--no-resolv",
            "--no-hosts",
            "--port=0",
            "--user=root",
            "--interface=tap0",
            "--bind-interfaces",
            "--dhcp-range=10.0.0.100,10.0.0.100,255.255.255.0,1h",
        ])
        .arg(format!(
            "--dhcp-leasefile={}",
            dir.path().join("leases").display()
        ))
        .arg(format!("--pid-file={}", dir.path().join("pid").display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dnsmasq is installed (Debian package dnsmasq-base)");
    let echo = Running::start_with_keys(
        &ns,
        "spt",
        "//examples/echo:echo",
        &["--dhcp=true"],
        &[],
        "DHCP: address 10.0.0.100/24",
    );
    assert!(
        echo.output().contains("asking DHCP for an address"),
        "{}",
        echo.output()
    );
    ping(&ns, "10.0.0.100", 2);
    assert_eq!(nc_to(&ns, "10.0.0.100", "7", b"leased\n"), b"leased\n");
    let _ = dnsmasq.kill();
    let _ = dnsmasq.wait();
}
