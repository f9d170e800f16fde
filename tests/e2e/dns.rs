//! The `dns_client` device against a real server: dnsmasq (Debian) in the
//! test's namespace answers for `.test` from its host records. The dns
//! example, on spt and on unix (socket stack), resolves IPv4 and IPv6
//! names, gets a name with more addresses than a UDP answer holds over TCP,
//! reports a name that does not exist, and gives up on a server that does
//! not answer.

use std::time::{Duration, Instant};

use crate::network::{Netns, Stack};
use crate::running::Running;
use crate::support::{mirage_ok, Daemon};

/// big.test's addresses: more than a 512-byte UDP answer holds.
const BIG: usize = 40;

/// dnsmasq on 10.0.0.1:53 and [fd00::1]:53 in the client's namespace, authoritative for
/// `.test`: big.test, and host `records` (`NAME,ADDRESS...`).
pub(crate) fn dnsmasq(ns: &Netns, records: &[&str]) -> Daemon {
    let dir = tempfile::Builder::new()
        .prefix("mirage-dnsmasq-")
        .tempdir()
        .unwrap();
    let hosts = dir.path().join("hosts");
    let big: String = (1..=BIG)
        .map(|i| format!("10.0.1.{i} big.test\n"))
        .collect();
    std::fs::write(&hosts, big).unwrap();
    let log = dir.path().join("dnsmasq.log");
    let mut cmd = ns.command("dnsmasq");
    cmd.args([
        "--keep-in-foreground",
        "--user=root",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        "--listen-address=10.0.0.1,fd00::1",
        "--port=53",
        "--local=/test/",
        // Each query logged with its source address and port.
        "--log-queries=extra",
    ])
    .args(records.iter().map(|r| format!("--host-record={r}")))
    .arg(format!("--addn-hosts={}", hosts.display()))
    .arg(format!("--pid-file={}", dir.path().join("pid").display()))
    .arg(format!("--log-facility={}", log.display()));
    let daemon = Daemon::spawn(cmd, dir, "dnsmasq (Debian package dnsmasq-base)");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains(&format!("read {}", hosts.display()))
    {
        assert!(Instant::now() < deadline, "dnsmasq did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    daemon
}

/// The dns example on `stack` with runtime `args`: exit code and console.
fn lookup(ns: &Netns, stack: Stack, args: &[&str]) -> (i32, String) {
    let mut args = args.to_vec();
    args.extend(stack.ipv6_args());
    Running::start(ns, stack, "//examples/dns:dns", &[], &args, "").finish()
}

fn resolves_names_against_dnsmasq(stack: Stack) {
    let ns = Netns::for_stack("dns", stack);
    let dnsmasq = dnsmasq(
        &ns,
        &[
            "web.test,10.0.0.7,fd00::7",
            "v4.test,10.0.0.8",
            "v6.test,fd00::9",
        ],
    );

    let (code, out) = lookup(
        &ns,
        stack,
        &[
            "--dns-servers=10.0.0.1",
            "--names=web.test,v4.test,v6.test,big.test",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("[application] web.test: fd00::7 10.0.0.7\n"),
        "{out}"
    );
    assert!(out.contains("[application] v4.test: 10.0.0.8\n"), "{out}");
    assert!(out.contains("[application] v6.test: fd00::9\n"), "{out}");
    // All of them: the UDP answer was truncated, TCP brought the rest.
    let big = out
        .lines()
        .find_map(|l| l.split_once("[application] big.test: "))
        .unwrap_or_else(|| panic!("no big.test line:\n{out}"))
        .1;
    let mut got: Vec<&str> = big.split(' ').collect();
    got.sort();
    let mut want: Vec<String> = (1..=BIG).map(|i| format!("10.0.1.{i}")).collect();
    want.sort();
    assert_eq!(got, want, "{out}");

    // Every query from a port of its own (A and AAAA for four names, one
    // more over TCP), as dnsmasq saw them ("ADDRESS/PORT query[A] ...").
    let log = std::fs::read_to_string(dnsmasq.dir().join("dnsmasq.log")).unwrap();
    let ports: Vec<&str> = log
        .lines()
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let at = words.iter().position(|w| w.starts_with("query["))?;
            words
                .get(at.checked_sub(1)?)?
                .rsplit_once('/')
                .map(|(_, port)| port)
        })
        .collect();
    assert!(ports.len() >= 8, "{log}");
    let distinct: std::collections::BTreeSet<&&str> = ports.iter().collect();
    // Tolerance: two random ports of 16,384 agree by chance (about 0.2%
    // for 9 queries); two pairs (about 1 in a million) fail the test.
    println!(
        "dns: {} queries from {} ports (one repeat tolerated: chance)",
        ports.len(),
        distinct.len()
    );
    assert!(
        distinct.len() + 1 >= ports.len(),
        "queries share source ports ({} ports for {} queries):\n{log}",
        distinct.len(),
        ports.len()
    );

    // The server over IPv6.
    let (code, out) = lookup(
        &ns,
        stack,
        &["--dns-servers=[fd00::1]:53", "--names=v4.test"],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("dns: servers [fd00::1]:53"), "{out}");
    assert!(out.contains("[application] v4.test: 10.0.0.8\n"), "{out}");

    // A name that does not exist: a clear error, exit 1.
    let (code, out) = lookup(
        &ns,
        stack,
        &["--dns-servers=10.0.0.1", "--names=web.test,nope.test"],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("[application] nope.test: nope.test does not exist (NXDOMAIN)"),
        "{out}"
    );
    assert!(out.contains("1 of 2 names did not resolve"), "{out}");

    // A server that does not answer: each query times out, then the error.
    let (code, out) = lookup(
        &ns,
        stack,
        &[
            "--dns-servers=10.0.0.1:5399",
            "--dns-timeout=1",
            "--dns-retries=1",
            "--names=web.test",
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("web.test: no answer for web.test after 2 queries to --dns-servers"),
        "{out}"
    );
}

#[test]
fn dns_example_resolves_against_dnsmasq_on_spt() {
    resolves_names_against_dnsmasq(Stack::Spt);
}

#[test]
fn dns_example_resolves_against_dnsmasq_on_unix_sockets() {
    resolves_names_against_dnsmasq(Stack::UnixSocket);
}

/// hvt and virtio build (the spt test boots the same code).
#[test]
fn dns_example_builds_for_hvt_and_virtio() {
    for target in ["hvt", "virtio"] {
        mirage_ok(
            &crate::support::repo(),
            &["build", "-t", target, "//examples/dns:dns"],
        );
    }
}
