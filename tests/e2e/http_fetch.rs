//! The http_client device against real servers: nginx (Debian) serves a
//! 1 MB file over HTTP and HTTPS in the test's namespace, with a
//! certificate signed by a CA made here; dnsmasq resolves web.test. The
//! http_fetch example, on spt and on unix (socket stack), fetches it by
//! name over both, falls back from an IPv6 address that answers nothing
//! to IPv4 (Happy Eyeballs), follows a redirect from HTTP to HTTPS, and
//! refuses a certificate for another name and an expired one with a clear
//! message.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::network::{Netns, Stack};
use crate::running::Running;
use crate::support::{repo, sha256, Daemon};

const LABEL: &str = "//examples/http_fetch:http_fetch";

/// Runs `openssl ARGS` in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, and what it signs: web.test (valid), other.test (valid, another
/// name) and web.test expired yesterday; the CA is the example's
/// `roots/ca.pem`. Made once per test run, under mirage-out/.
fn certs() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = repo().join("mirage-out/test-certs/http_fetch");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        let ca = [
            &["req", "-x509"][..],
            &ec,
            &["-days", "2", "-subj", "/CN=http_fetch test CA"],
            &["-keyout", "ca.key", "-out", "ca.pem"],
            &["-addext", "basicConstraints=critical,CA:TRUE"],
            &["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ]
        .concat();
        openssl(&dir, &ca);
        for (name, dns, days) in [
            ("web", "web.test", "2"),
            ("other", "other.test", "2"),
            ("expired", "web.test", "-1"),
        ] {
            let (key, csr, pem, ext) = (
                format!("{name}.key"),
                format!("{name}.csr"),
                format!("{name}.pem"),
                format!("{name}.ext"),
            );
            let subj = format!("/CN={dns}");
            openssl(
                &dir,
                &[
                    &["req"][..],
                    &ec,
                    &["-subj", &subj, "-keyout", &key, "-out", &csr],
                ]
                .concat(),
            );
            std::fs::write(
                dir.join(&ext),
                format!("subjectAltName=DNS:{dns}\nextendedKeyUsage=serverAuth\n"),
            )
            .unwrap();
            openssl(
                &dir,
                &[
                    "x509", "-req", "-in", &csr, "-CA", "ca.pem", "-CAkey", "ca.key", "-days",
                    days, "-extfile", &ext, "-out", &pem,
                ],
            );
        }
        std::fs::copy(
            dir.join("ca.pem"),
            repo().join("examples/http_fetch/roots/ca.pem"),
        )
        .unwrap();
        let www = dir.join("www");
        std::fs::create_dir_all(&www).unwrap();
        // 1 MB that compresses to nothing less: a counter's sha256 chain.
        let mut data = Vec::with_capacity(1 << 20);
        let mut block = [0u8; 32];
        while data.len() < 1 << 20 {
            block = <sha2::Sha256 as sha2::Digest>::digest(block).into();
            data.extend_from_slice(&block);
        }
        std::fs::write(www.join("big.bin"), data).unwrap();
        dir
    })
}

/// nginx in the client's namespace: HTTP on port 80 (v4 and v6), HTTPS
/// for web.test on 443, for other.test on 8443, expired on 9443.
fn nginx(ns: &Netns) -> Daemon {
    let dir = tempfile::tempdir().unwrap();
    let (c, d) = (certs().display(), dir.path().display());
    let tls = |port: u16, cert: &str| {
        format!(
            "server {{ listen 10.0.0.1:{port} ssl; listen [fd00::1]:{port} ssl; root {c}/www;\n\
             ssl_certificate {c}/{cert}.pem; ssl_certificate_key {c}/{cert}.key; }}\n"
        )
    };
    let conf = format!(
        "worker_processes 1;\ndaemon off;\nuser root;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{}}\nhttp {{\naccess_log off;\nclient_body_temp_path {d};\n\
         server {{ listen 10.0.0.1:80; listen [fd00::1]:80; root {c}/www;\n\
         location = /moved {{ return 301 https://web.test/big.bin; }} }}\n{}{}{}}}\n",
        tls(443, "web"),
        tls(8443, "other"),
        tls(9443, "expired"),
    );
    let path = dir.path().join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let mut cmd = ns.command("nginx");
    cmd.args(["-e", "stderr", "-c"]).arg(&path);
    let nginx = Daemon::spawn(cmd, dir, "nginx");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let up = ns
            .command("curl")
            .args(["-sf", "-o", "/dev/null", "http://10.0.0.1/big.bin"])
            .status()
            .unwrap()
            .success();
        if up {
            return nginx;
        }
        assert!(Instant::now() < deadline, "nginx did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// http_fetch on `stack` fetching `uri`: exit code and console.
fn fetch(ns: &Netns, stack: Stack, uri: &str) -> (i32, String) {
    fetch_with(ns, stack, uri, &[])
}

/// The same with more runtime `args`.
fn fetch_with(ns: &Netns, stack: Stack, uri: &str, more: &[&str]) -> (i32, String) {
    let uri = format!("--uri={uri}");
    let mut args = vec!["--dns-servers=10.0.0.1", &uri];
    args.extend(stack.ipv6_args());
    args.extend(more);
    Running::start(ns, stack, LABEL, &[], &args, "").finish()
}

fn fetches_over_http_and_https(stack: Stack) {
    let file = std::fs::read(certs().join("www/big.bin")).unwrap();
    let body = format!("body: 1048576 bytes, sha256 {}", sha256(&file));
    let ns = Netns::for_stack("fetch", stack);
    // dual.test's IPv6 address answers nothing.
    let _dns = crate::dns::dnsmasq(
        &ns,
        &["web.test,10.0.0.1,fd00::1", "dual.test,10.0.0.1,fd00::99"],
    );
    let _nginx = nginx(&ns);

    for uri in ["http://web.test/big.bin", "https://web.test/big.bin"] {
        let (code, out) = fetch(&ns, stack, uri);
        assert_eq!(code, 0, "{uri}:\n{out}");
        assert!(
            out.contains(&format!("[application] {uri}: 200 OK")),
            "{out}"
        );
        assert!(out.contains(&body), "{uri}: {out}");
    }

    // Happy eyeballs: IPv6 first; while that attempt hangs, IPv4 starts
    // and wins, well within the 5 s the whole may take.
    let (code, out) = fetch_with(
        &ns,
        stack,
        "http://dual.test/big.bin",
        &["-l", "mirage_dns:debug", "--happy-eyeballs-timeout=5"],
    );
    assert_eq!(code, 0, "{out}");
    let six = out.find("happy eyeballs: trying [fd00::99]:80");
    let four = out.find("happy eyeballs: trying 10.0.0.1:80");
    assert!(six.is_some() && six < four, "{out}");
    assert!(out.contains(&body), "{out}");

    // HTTP redirects to HTTPS.
    let (code, out) = fetch(&ns, stack, "http://web.test/moved");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("[application] https://web.test/big.bin: 200 OK"),
        "{out}"
    );

    // A status that is not 2xx fails the run.
    let (code, out) = fetch(&ns, stack, "http://web.test/none");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("http://web.test/none answered 404"), "{out}");

    // Certificates for another name, or expired, are refused.
    let (code, out) = fetch(&ns, stack, "https://web.test:8443/big.bin");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("web.test:8443: network device: tls: the server's certificate is for other.test, not web.test"), "{out}");
    let (code, out) = fetch(&ns, stack, "https://web.test:9443/big.bin");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("web.test:9443: network device: tls: the server's certificate has expired"),
        "{out}"
    );
}

#[test]
fn http_fetch_gets_a_file_over_http_and_https_on_spt() {
    fetches_over_http_and_https(Stack::Spt);
}

#[test]
fn http_fetch_gets_a_file_over_http_and_https_on_unix_sockets() {
    fetches_over_http_and_https(Stack::UnixSocket);
}

/// hvt and virtio build (the spt test boots the same code).
#[test]
fn http_fetch_builds_for_hvt_and_virtio() {
    for target in ["hvt", "virtio"] {
        crate::support::mirage_ok(&repo(), &["build", "-t", target, LABEL]);
    }
}
