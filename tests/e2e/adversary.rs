//! The static website under attack, from a network namespace: endless
//! chunk framing, a connection flood from one peer, a SYN flood (hping3),
//! slowloris and slow read (slowhttptest). For each, the image stays up,
//! a fresh client (another address) is served within 2 s during the
//! attack, and what the attack could make the image hold is bounded.
//! Each attack lasts at most 30 s; longer runs are bench/'s.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::http::{curl, status};
use crate::network::{Netns, Stack};
use crate::running::Running;
use crate::support::repo;

const SITE: &str = "//examples/static_website:static_website";
const URL: &str = "http://10.0.0.2:8080";

/// `adversary.py ARGS` in the client's namespace: what it printed.
fn attack(ns: &Netns, args: &[&str]) -> String {
    let script = repo().join("tests/e2e/adversary.py");
    let out = ns
        .command("python3")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// `prog ARGS` started in the client's namespace, output discarded.
fn spawn(ns: &Netns, prog: &str, args: &[&str]) -> Child {
    ns.command(prog)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{prog}: {e}"))
}

/// Stops `child` by its PID.
fn stop(mut child: Child) {
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
}

/// A fresh client from `from` (another peer than the attacker's) gets the
/// home page within 2 s: its time, asserted.
fn fresh_client(ns: &Netns, from: &str, during: &str) -> Duration {
    let start = Instant::now();
    let code = status(
        ns,
        &["--interface", from, "--max-time", "2", &format!("{URL}/")],
    );
    let took = start.elapsed();
    assert_eq!(code, "200", "a fresh client was not served during {during}");
    println!("{during}: a fresh client served in {} ms", took.as_millis());
    took
}

fn site(ns: &Netns, stack: Stack, args: &[&str]) -> Running {
    let mut all = vec!["--http-port=8080", "-l", "*:info,tcpip:debug"];
    all.extend(args);
    Running::start(ns, stack, SITE, &[], &all, "listening on port 8080")
}

/// A chunk-size line or trailer section that never ends is answered
/// (400, 431) within a second or two, not read until `--http-timeout`
/// (20 s here, which the attack outlasts).
fn endless_chunk_framing(stack: Stack) {
    let ns = Netns::for_stack("endless", stack);
    let fresh = ns.second_client();
    let _site = site(&ns, stack, &["--http-timeout=20"]);
    for (attack_name, status_expected) in [("chunk-extension", "400"), ("trailer", "431")] {
        let report = attack(&ns, &[attack_name, "10.0.0.2", "8080"]);
        println!("{stack:?}, endless {attack_name}: {report}");
        let words: Vec<&str> = report.split(' ').collect();
        assert_eq!(
            &words[..2],
            ["answered", status_expected],
            "endless {attack_name}: {report}"
        );
        let seconds: f64 = words[words.len() - 2].parse().unwrap();
        assert!(seconds < 5.0, "answered only after {seconds} s: {report}");
        fresh_client(&ns, fresh, attack_name);
    }
}

#[test]
fn endless_chunk_framing_is_refused_at_once_on_spt() {
    endless_chunk_framing(Stack::Spt);
}

#[test]
fn endless_chunk_framing_is_refused_at_once_on_unix_sockets() {
    endless_chunk_framing(Stack::UnixSocket);
}

/// The heap figures the direct stack printed as it freed connections.
fn heap_figures(console: &str) -> Vec<u64> {
    console
        .lines()
        .filter_map(|l| l.split("heap in use: ").nth(1))
        .filter_map(|r| r.split(' ').next()?.parse().ok())
        .collect()
}

/// The per-peer connection limit the flood tests give the site.
const PER_PEER: usize = 20;

/// The site on `stack` with a limit of 100 connections, [`PER_PEER`] per peer, and
/// one peer opening 200 at once (`adversary.py flood`, held 8 s): the
/// namespace, the fresh client's address, the site, the flood and what
/// the flood printed (`opened K of N`, then `held H`).
fn flood_from_one_peer(stack: Stack) -> (Netns, &'static str, Running, Child, String, String) {
    let ns = Netns::for_stack("flood", stack);
    let fresh = ns.second_client();
    let site = site(
        &ns,
        stack,
        &[
            "--tcp-max-connections=100",
            &format!("--tcp-max-connections-per-peer={PER_PEER}"),
        ],
    );
    let mut flood = ns
        .command("python3")
        .arg(repo().join("tests/e2e/adversary.py"))
        .args(["flood", "10.0.0.2", "8080", "200", "8"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(flood.stdout.take().unwrap());
    let (mut opened, mut held) = (String::new(), String::new());
    std::io::BufRead::read_line(&mut out, &mut opened).unwrap();
    std::io::BufRead::read_line(&mut out, &mut held).unwrap();
    println!(
        "{stack:?}, connection flood from one peer: {}, {}",
        opened.trim(),
        held.trim()
    );
    (
        ns,
        fresh,
        site,
        flood,
        opened.trim().to_owned(),
        held.trim().to_owned(),
    )
}

/// One peer opens 200 connections at once: it gets its [`PER_PEER`]
/// (`--tcp-max-connections-per-peer`), the rest of its SYNs are dropped,
/// and another peer is served meanwhile. The heap never holds more than
/// the limit's buffers.
#[test]
fn one_peer_holds_only_its_share_of_connections_on_spt() {
    const BUFFER: u64 = 262_144;
    let (ns, fresh, site, mut flood, opened, _) = flood_from_one_peer(Stack::Spt);
    assert_eq!(opened, format!("opened {PER_PEER} of 200"));
    fresh_client(&ns, fresh, "a connection flood from one peer");
    let _ = flood.wait();
    // Every held connection is freed once the attacker closes them.
    let deadline = Instant::now() + Duration::from_secs(20);
    while heap_figures(&site.output()).len() < PER_PEER + 1 {
        assert!(Instant::now() < deadline, "{}", site.output());
        std::thread::sleep(Duration::from_millis(100));
    }
    let console = site.output();
    assert!(console.contains("SYNs dropped so far"), "{console}");
    let peak = heap_figures(&console).into_iter().max().unwrap();
    // Listening and half-open sockets (16 + 64) and the peer's 20, two
    // buffers each, and 8 MiB for the rest of the image.
    let bound = (16 + 64 + PER_PEER as u64) * 2 * BUFFER + (8 << 20);
    println!("connection flood: heap peak {peak} bytes, bound {bound}");
    assert!(peak < bound, "heap peak {peak} over {bound}");
}

/// On the socket stack the host's kernel completes every handshake: one
/// peer's 200 connections are all opened, the image keeps its 20
/// (`--tcp-max-connections-per-peer`) and closes the rest at once, says
/// so, and another peer is served meanwhile.
#[test]
fn one_peer_holds_only_its_share_of_connections_on_unix_sockets() {
    let (ns, fresh, site, mut flood, opened, held) = flood_from_one_peer(Stack::UnixSocket);
    assert_eq!(opened, "opened 200 of 200");
    assert_eq!(held, format!("held {PER_PEER}"));
    fresh_client(&ns, fresh, "a connection flood from one peer");
    let _ = flood.wait();
    let console = site.output();
    assert!(
        console
            .lines()
            .any(|l| l.contains("connections refused so far")
                && l.ends_with("at --tcp-max-connections-per-peer")),
        "{console}"
    );
}

/// hping3 floods port 8080 with SYNs from random addresses for 10 s: the
/// image keeps 64 half-open connections, and a client that completes its
/// handshake is served.
#[test]
fn a_syn_flood_leaves_room_for_a_fresh_client_on_spt() {
    let ns = Netns::for_stack("synflood", Stack::Spt);
    let fresh = ns.second_client();
    let site = site(&ns, Stack::Spt, &[]);
    let flood = spawn(
        &ns,
        "hping3",
        &[
            "-q",
            "-S",
            "-p",
            "8080",
            "-i",
            "u100",
            "--rand-source",
            "10.0.0.2",
        ],
    );
    std::thread::sleep(Duration::from_secs(3));
    for _ in 0..3 {
        fresh_client(&ns, fresh, "a SYN flood (10,000 SYNs/s)");
        std::thread::sleep(Duration::from_secs(2));
    }
    stop(flood);
    assert!(
        site.output()
            .contains("oldest half-open connections dropped"),
        "the flood never filled the half-open connections:\n{}",
        site.output()
    );
    fresh_client(&ns, fresh, "after a SYN flood");
}

/// slowhttptest's slowloris (-H: headers a line every 5 s) and slow read
/// (-X: a window of 1-16 bytes, read every 3 s), 15 s each, 100
/// connections, `--http-timeout=5`: a fresh client is served during both,
/// and the image answers after them.
#[test]
fn slow_clients_do_not_hold_the_server_on_spt() {
    let ns = Netns::for_stack("slow", Stack::Spt);
    let fresh = ns.second_client();
    let site = site(&ns, Stack::Spt, &["--http-timeout=5"]);
    let url = format!("{URL}/logo.png");
    for (name, mode) in [
        ("slowloris", &["-H", "-i", "5"][..]),
        (
            "slow read",
            &["-X", "-w", "1", "-y", "16", "-n", "3", "-z", "16"][..],
        ),
    ] {
        let mut args = vec!["-c", "100", "-r", "50", "-l", "15", "-u", &url];
        args.extend(mode);
        let attack = spawn(&ns, "slowhttptest", &args);
        std::thread::sleep(Duration::from_secs(5));
        fresh_client(&ns, fresh, name);
        std::thread::sleep(Duration::from_secs(5));
        fresh_client(&ns, fresh, name);
        stop(attack);
    }
    assert_eq!(
        curl(&ns, &[&format!("{URL}/")]).status.code(),
        Some(0),
        "{}",
        site.output()
    );
}
