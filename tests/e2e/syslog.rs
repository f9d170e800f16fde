//! The syslog reporter against a real collector: rsyslog (Debian) listens
//! on UDP and TCP in the test's namespace and writes what it receives to a
//! file; the network example, configured `--reporter=syslog` or `both`,
//! sends its log lines there from spt and from unix (socket stack), to the
//! collector by name (dnsmasq) or by address.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::network::{nc, Netns, Stack};
use crate::running::Running;
use crate::support::Daemon;

/// The collector's port, on 10.0.0.1 in the client's namespace.
const PORT: &str = "5514";

/// rsyslogd in the foreground in the client's namespace, writing
/// `HOSTNAME APP-NAME SEVERITY MSG` lines to a file.
struct Rsyslog {
    _rsyslogd: Daemon,
    out: PathBuf,
}

impl Rsyslog {
    fn start(ns: &Netns) -> Rsyslog {
        let dir = tempfile::Builder::new()
            .prefix("mirage-rsyslog-")
            .tempdir()
            .unwrap();
        let out = dir.path().join("received.log");
        let conf = dir.path().join("rsyslog.conf");
        std::fs::write(
            &conf,
            format!(
                r#"global(workDirectory="{dir}")
module(load="imudp")
module(load="imtcp")
input(type="imudp" address="10.0.0.1" port="{PORT}")
input(type="imtcp" address="10.0.0.1" port="{PORT}")
template(name="line" type="string" string="%hostname% %app-name% %syslogseverity-text% %msg%\n")
*.* action(type="omfile" file="{out}" template="line")
"#,
                dir = dir.path().display(),
                out = out.display()
            ),
        )
        .unwrap();
        let mut cmd = ns.command("rsyslogd");
        cmd.arg("-n")
            .arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(dir.path().join("rsyslogd.pid"));
        let r = Rsyslog {
            _rsyslogd: Daemon::spawn(cmd, dir, "rsyslog (Debian package rsyslog)"),
            out,
        };
        // Ready once a probe over TCP comes through.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !r.received().contains("probe probe info ready") {
            assert!(Instant::now() < deadline, "rsyslogd did not start");
            let _ = ns
                .command("sh")
                .args([
                    "-c",
                    &format!(
                        "printf '<14>1 - probe probe - - - ready\\n' | nc -q0 10.0.0.1 {PORT}"
                    ),
                ])
                .stderr(Stdio::null())
                .status();
            std::thread::sleep(Duration::from_millis(100));
        }
        r
    }

    fn received(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// Waits up to 30 s for `text` among the received messages.
    fn wait_for(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.received().contains(text) {
            assert!(
                Instant::now() < deadline,
                "rsyslog received no {text:?}:\n{}",
                self.received()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The network example on `stack` logs to rsyslog over `transport`, with
/// its lines on the console too when `reporter` is `both`. Over UDP the
/// collector is named by host name (dnsmasq answers for logs.test), over
/// TCP by address.
fn network_example_logs_to_rsyslog(stack: Stack, reporter: &str, transport: &str) {
    let ns = Netns::for_stack(&format!("syslog-{transport}"), stack);
    let rsyslog = Rsyslog::start(&ns);
    let _dns = crate::dns::dnsmasq(&ns, &["logs.test,10.0.0.1"]);
    let key = format!("--reporter={reporter}");
    let host = if transport == "udp" {
        "logs.test"
    } else {
        "10.0.0.1"
    };
    let server = format!("--syslog={host}:{PORT}");
    let via = format!("--syslog-transport={transport}");
    let ready = if reporter == "both" {
        "listening on port 8080"
    } else {
        ""
    };
    let net = Running::start(
        &ns,
        stack,
        "//examples/network:network",
        &[&key],
        &[
            "-l",
            "*:debug",
            "--port=8080",
            &server,
            "--dns-servers=10.0.0.1",
            &via,
            "--syslog-hostname=web1",
        ],
        ready,
    );
    rsyslog.wait_for("web1 application info listening on port 8080");
    assert!(nc(&ns, "8080", b"Hello from the host\n").is_empty());
    rsyslog.wait_for("web1 application debug read: 20 bytes:");
    let received = rsyslog.received();
    assert!(
        received.contains("web1 application info new tcp connection from 10.0.0.1:"),
        "{received}"
    );
    let console = net.output();
    let on_console = console.contains("[INFO] [application] listening on port 8080");
    assert_eq!(on_console, reporter == "both", "console:\n{console}");
    assert!(!console.contains("panic"), "{console}");
}

#[test]
fn spt_logs_to_rsyslog_over_udp_and_the_console() {
    network_example_logs_to_rsyslog(Stack::Spt, "both", "udp");
}

#[test]
fn spt_logs_to_rsyslog_over_tcp_alone() {
    network_example_logs_to_rsyslog(Stack::Spt, "syslog", "tcp");
}

#[test]
fn unix_logs_to_rsyslog_over_udp_and_the_console() {
    network_example_logs_to_rsyslog(Stack::UnixSocket, "both", "udp");
}

#[test]
fn unix_logs_to_rsyslog_over_tcp_alone() {
    network_example_logs_to_rsyslog(Stack::UnixSocket, "syslog", "tcp");
}

/// A collector that is neither an IP address nor a host name, and a
/// transport that is neither udp nor tcp, are refused at boot with their
/// reason (exit 64).
#[test]
fn bad_syslog_arguments_are_refused_at_boot() {
    let label = "//examples/network:network";
    let _turn = crate::running::turn(label, "unix");
    for (arg, why) in [
        (
            "--syslog=logs..example",
            "option --syslog: `logs..example` is not HOST[:PORT]",
        ),
        (
            "--syslog-transport=tls",
            "option --syslog-transport: `tls` is not udp or tcp",
        ),
    ] {
        let out = crate::support::mirage(
            &crate::support::repo(),
            &[
                "run",
                "-t",
                "unix",
                label,
                "--reporter=syslog",
                "--",
                "--syslog=10.0.0.1",
                arg,
            ],
        );
        assert_eq!(out.code, 64, "{out:?}");
        assert!(out.stdout.contains(why), "{out:?}");
    }
}
