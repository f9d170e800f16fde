//! Networking for real: each test makes a network namespace with a tap
//! device (host side 10.0.0.1/24 and fd00::1/64), boots the unikernel in it
//! and talks to it with ping and nc from inside the namespace. Only
//! addresses inside the namespace are used.
//!
//! Three stacks: the direct stack on spt and on unix (`--net=direct`, over
//! the tap), and the socket stack on unix (the default there), which runs
//! in a second namespace owning 10.0.0.2 and fd00::2, across a veth pair.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::running::Running;
use crate::support::{mirage_ok, repo};

/// Where and on which stack a unikernel runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stack {
    /// smoltcp on Solo5's spt tender.
    Spt,
    /// smoltcp in a unix process, on the tap through /dev/net/tun.
    UnixDirect,
    /// The host's sockets, in a unix process.
    UnixSocket,
    /// smoltcp on Solo5's virtio bindings, in QEMU, on the tap.
    Virtio,
}

impl Stack {
    pub(crate) fn target(self) -> &'static str {
        match self {
            Stack::Spt => "spt",
            Stack::Virtio => "virtio",
            Stack::UnixDirect | Stack::UnixSocket => "unix",
        }
    }

    pub(crate) fn keys(self) -> &'static [&'static str] {
        match self {
            Stack::Spt | Stack::Virtio => &[],
            Stack::UnixDirect => &["--net=direct"],
            Stack::UnixSocket => &["--net=socket"],
        }
    }

    pub(crate) fn direct(self) -> bool {
        self != Stack::UnixSocket
    }

    /// Runtime args giving the unikernel fd00::2: the direct stack's own
    /// address (the socket stack has the host's).
    pub(crate) fn ipv6_args(self) -> &'static [&'static str] {
        if self.direct() {
            &["--ipv6=fd00::2/64"]
        } else {
            &[]
        }
    }
}

/// The client's namespace, and the unikernel's when it is another one;
/// deleted on drop.
pub(crate) struct Netns {
    pub(crate) client: String,
    unikernel: Option<String>,
}

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

/// A fresh namespace with its loopback up.
fn namespace(name: &str) -> String {
    let name = format!("mirage-{name}-{}", std::process::id());
    ip(&["netns", "add", &name]);
    ip(&["-n", &name, "link", "set", "lo", "up"]);
    name
}

/// Gives `dev` in namespace `ns` an IPv4 and an IPv6 address, and brings
/// it up.
fn address(ns: &str, dev: &str, v4: &str, v6: &str) {
    ip(&["-n", ns, "addr", "add", v4, "dev", dev]);
    ip(&["-n", ns, "addr", "add", v6, "dev", dev, "nodad"]);
    ip(&["-n", ns, "link", "set", dev, "up"]);
}

impl Netns {
    /// One namespace with tap0 up at 10.0.0.1/24 and fd00::1/64, for a
    /// unikernel on the direct stack.
    fn new(name: &str) -> Netns {
        let client = namespace(name);
        ip(&["-n", &client, "tuntap", "add", "tap0", "mode", "tap"]);
        address(&client, "tap0", "10.0.0.1/24", "fd00::1/64");
        Netns {
            client,
            unikernel: None,
        }
    }

    /// The namespaces for a unikernel on `stack`. The socket stack uses its
    /// host's addresses: it runs in a namespace of its own, 10.0.0.2 and
    /// fd00::2 at the end of a veth pair from the client's.
    pub(crate) fn for_stack(name: &str, stack: Stack) -> Netns {
        let name = format!("{name}-{stack:?}").to_lowercase();
        if stack.direct() {
            return Netns::new(&name);
        }
        let client = namespace(&name);
        let unikernel = namespace(&format!("{name}-host"));
        ip(&[
            "link", "add", "veth0", "netns", &client, "type", "veth", "peer", "name", "veth1",
            "netns", &unikernel,
        ]);
        address(&client, "veth0", "10.0.0.1/24", "fd00::1/64");
        address(&unikernel, "veth1", "10.0.0.2/24", "fd00::2/64");
        Netns {
            client,
            unikernel: Some(unikernel),
        }
    }

    /// Gives the client's end a second IPv4 address, 10.0.0.3: a client
    /// that is another peer than 10.0.0.1. Returns it.
    pub(crate) fn second_client(&self) -> &'static str {
        let dev = if self.unikernel.is_some() {
            "veth0"
        } else {
            "tap0"
        };
        ip(&["-n", &self.client, "addr", "add", "10.0.0.3/24", "dev", dev]);
        "10.0.0.3"
    }

    /// `program` run in the client's namespace.
    pub(crate) fn command(&self, program: &str) -> Command {
        in_namespace(&self.client, program)
    }

    /// `program` run in the unikernel's namespace.
    pub(crate) fn unikernel_command(&self, program: &str) -> Command {
        in_namespace(self.unikernel.as_ref().unwrap_or(&self.client), program)
    }
}

fn in_namespace(ns: &str, program: &str) -> Command {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns, program]);
    cmd
}

impl Drop for Netns {
    fn drop(&mut self) {
        for ns in std::iter::once(&self.client).chain(&self.unikernel) {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Pings `host` `count` times from the namespace (ping -6 for an IPv6
/// host); returns whether any reply came, and ping's report.
fn try_ping(ns: &Netns, host: &str, count: u32) -> (bool, String) {
    let count = count.to_string();
    let mut cmd = ns.command("ping");
    if host.contains(':') {
        cmd.arg("-6");
    }
    let out = cmd.args(["-c", &count, "-W", "2", host]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.success(), text)
}

/// Pings `host`; at least one reply must come. Returns ping's report.
fn ping(ns: &Netns, host: &str, count: u32) -> String {
    let (ok, report) = try_ping(ns, host, count);
    assert!(ok, "no reply from {host}: {report}");
    report
}

/// `data` sent through `nc` in the namespace to 10.0.0.2; what came back.
pub(crate) fn nc(ns: &Netns, port: &str, data: &[u8]) -> Vec<u8> {
    nc_to(ns, "10.0.0.2", port, data)
}

/// `data` sent through `nc` in the namespace to `host`; what came back
/// before the unikernel closed the connection.
pub(crate) fn nc_to(ns: &Netns, host: &str, port: &str, data: &[u8]) -> Vec<u8> {
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
    assert!(
        child.wait().unwrap().success(),
        "nc to {host} {port} failed"
    );
    out
}

/// `data` sent in one UDP datagram to `host`; the reply, if one came within
/// a second.
fn udp_to(ns: &Netns, host: &str, port: &str, data: &[u8]) -> Vec<u8> {
    let mut child = ns
        .command("nc")
        .args(["-u", "-w", "1", host, port])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("netcat-openbsd is installed");
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    out.stdout
}

fn echo_server_answers_ping_and_echoes(stack: Stack) {
    let ns = Netns::for_stack("echo", stack);
    let echo = Running::start(
        &ns,
        stack,
        "//examples/echo:echo",
        &[],
        stack.ipv6_args(),
        "echo: listening on port 7",
    );
    let report = ping(&ns, "10.0.0.2", 3);
    assert!(report.contains("3 received"), "{report}");
    let report = ping(&ns, "fd00::2", 2);
    assert!(report.contains("2 received"), "{report}");

    assert_eq!(nc(&ns, "7", b"hello mirage\n"), b"hello mirage\n");
    // Larger than the stack's buffers, and every byte value.
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(nc(&ns, "7", &big), big);
    assert_eq!(nc_to(&ns, "fd00::2", "7", b"over IPv6\n"), b"over IPv6\n");
    assert_eq!(udp_to(&ns, "10.0.0.2", "7", b"datagram\n"), b"datagram\n");
    assert_eq!(udp_to(&ns, "fd00::2", "7", b"datagram6\n"), b"datagram6\n");

    let out = echo.output();
    assert_eq!(
        out.matches("echo: connection from 10.0.0.1:").count(),
        2,
        "{out}"
    );
    assert_eq!(
        out.matches("echo: connection from [fd00::1]:").count(),
        1,
        "{out}"
    );
    assert!(
        out.contains("echo: 9 bytes over UDP from 10.0.0.1:"),
        "{out}"
    );
    assert!(
        out.contains("echo: 10 bytes over UDP from [fd00::1]:"),
        "{out}"
    );
}

#[test]
fn echo_server_answers_ping_and_echoes_on_spt() {
    echo_server_answers_ping_and_echoes(Stack::Spt);
}

/// The same direct stack in a unix process, on a tap through /dev/net/tun.
#[test]
fn echo_server_answers_ping_and_echoes_on_unix_direct() {
    echo_server_answers_ping_and_echoes(Stack::UnixDirect);
}

/// The socket stack: the host's TCP/IP serves the unikernel.
#[test]
fn echo_server_answers_ping_and_echoes_on_unix_socket() {
    echo_server_answers_ping_and_echoes(Stack::UnixSocket);
}

/// Without `--net`, unix gets the socket stack and Solo5 the direct one;
/// the socket stack has no Solo5 implementation.
#[test]
fn the_net_key_defaults_per_target() {
    let unix = mirage_ok(
        &repo(),
        &["query", "-t", "unix", "keys", "//examples/echo:echo"],
    );
    assert!(
        unix.stdout
            .contains("--net=socket (default; choices: direct, socket)"),
        "{}",
        unix.stdout
    );
    let spt = mirage_ok(
        &repo(),
        &["query", "-t", "spt", "keys", "//examples/echo:echo"],
    );
    assert!(
        spt.stdout
            .contains("--net=direct (default; choices: direct, socket)"),
        "{}",
        spt.stdout
    );
    let out = crate::support::mirage(
        &repo(),
        &[
            "configure",
            "-t",
            "spt",
            "--net=socket",
            "//examples/echo:echo",
        ],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("rules_mirage/devices/BUILD.bazel:")
            && out.stderr.contains("socket_stackv4v6"),
        "{}",
        out.stderr
    );
}

/// The unikernel connects out with `--peer`: a listener in the namespace
/// gets its greeting, and what it sends comes back.
fn echo_connects_to_its_peer(stack: Stack, peer: &str) {
    let ns = Netns::for_stack("peer", stack);
    let (addr, port) = peer.rsplit_once(':').unwrap();
    let addr = addr.trim_matches(['[', ']']);
    let mut listener = ns
        .command("nc")
        .args(["-l", "-N", addr, port])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let peer_arg = format!("--peer={peer}");
    let mut args = stack.ipv6_args().to_vec();
    args.push(&peer_arg);
    let echo = Running::start(
        &ns,
        stack,
        "//examples/echo:echo",
        &[],
        &args,
        &format!("echo: connected to {peer}"),
    );
    let mut from_unikernel = BufReader::new(listener.stdout.take().unwrap());
    let mut line = String::new();
    from_unikernel.read_line(&mut line).unwrap();
    assert_eq!(line, "echo: hello\n");
    let mut to_unikernel = listener.stdin.take().unwrap();
    to_unikernel.write_all(b"and back\n").unwrap();
    line.clear();
    from_unikernel.read_line(&mut line).unwrap();
    assert_eq!(line, "and back\n", "{}", echo.output());
    drop(to_unikernel);
    let _ = listener.kill();
    let _ = listener.wait();
}

#[test]
fn echo_connects_to_its_peer_on_spt_over_ipv6() {
    echo_connects_to_its_peer(Stack::Spt, "[fd00::1]:9000");
}

#[test]
fn echo_connects_to_its_peer_on_unix_socket() {
    echo_connects_to_its_peer(Stack::UnixSocket, "10.0.0.1:9000");
}

/// `--ipv6-only` and `--ipv4-only` turn the other version off: no ping
/// reply, no connection.
#[test]
fn only_flags_silence_the_other_ip_version_on_spt() {
    for (flag, on, off) in [
        ("--ipv6-only", "fd00::2", "10.0.0.2"),
        ("--ipv4-only", "10.0.0.2", "fd00::2"),
    ] {
        let ns = Netns::new("only");
        let _echo = Running::start(
            &ns,
            Stack::Spt,
            "//examples/echo:echo",
            &[],
            &["--ipv6=fd00::2/64", flag],
            "echo: listening on port 7",
        );
        ping(&ns, on, 1);
        assert_eq!(nc_to(&ns, on, "7", b"on\n"), b"on\n");
        let (answered, report) = try_ping(&ns, off, 1);
        assert!(!answered, "{flag}: {off} answered: {report}");
    }
}

fn network_example_logs_connections_and_data_at_debug_level(stack: Stack) {
    let ns = Netns::for_stack("network", stack);
    let net = Running::start(
        &ns,
        stack,
        "//examples/network:network",
        &[],
        &["-l", "*:debug", "--port=8080"],
        "listening on port 8080",
    );
    assert!(nc(&ns, "8080", b"Hello from the host\n").is_empty());
    net.wait_for("Hello from the host");
    let out = net.output();
    assert!(
        out.contains("[INFO] [application] new tcp connection from 10.0.0.1:"),
        "{out}"
    );
    assert!(
        out.contains("[DEBUG] [application] read: 20 bytes:\nHello from the host\n"),
        "{out}"
    );
    let stack_line = if stack.direct() {
        "[INFO] [tcpip] interface "
    } else {
        "[INFO] [tcpip] socket stack up"
    };
    assert!(out.contains(stack_line), "{out}");
}

#[test]
fn network_example_logs_data_at_debug_level_on_spt() {
    network_example_logs_connections_and_data_at_debug_level(Stack::Spt);
}

#[test]
fn network_example_logs_data_at_debug_level_on_unix_direct() {
    network_example_logs_connections_and_data_at_debug_level(Stack::UnixDirect);
}

#[test]
fn network_example_logs_data_at_debug_level_on_unix_socket() {
    network_example_logs_connections_and_data_at_debug_level(Stack::UnixSocket);
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
    let ns = Netns::new("conns");
    let echo = Running::start(
        &ns,
        Stack::Spt,
        "//examples/echo:echo",
        &[],
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
    let echo = Running::start(
        &ns,
        Stack::Spt,
        "//examples/echo:echo",
        &["--dhcp=true"],
        &[],
        "DHCP: address 10.0.0.100/24",
    );
    assert!(
        echo.output().contains("asking DHCP for an IPv4 address"),
        "{}",
        echo.output()
    );
    ping(&ns, "10.0.0.100", 2);
    assert_eq!(nc_to(&ns, "10.0.0.100", "7", b"leased\n"), b"leased\n");
    let _ = dnsmasq.kill();
    let _ = dnsmasq.wait();
}
