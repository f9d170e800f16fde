//! The static website over HTTPS (`static_website_tls`), as real clients
//! see it from a network namespace, against spt (the direct stack on a
//! tap) and unix (the socket stack): curl over TLS 1.2 and 1.3 with the
//! test CA, ALPN, keep-alive, 304, the redirection to HTTPS, malformed
//! TLS records; testssl.sh's ratings. Chromium's view is `browser`'s.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Once;

use crate::http::{curl, raw, status};
use crate::network::{Netns, Stack};
use crate::running::Running;
use crate::support::repo;

const SITE: &str = "//examples/static_website:static_website_tls";
pub(crate) const URL: &str = "https://10.0.0.2:8443";

/// The example's certificate (made once, as README.md tells users) and
/// the CA that signed it.
pub(crate) fn certs() -> PathBuf {
    static MADE: Once = Once::new();
    let dir = repo().join("examples/static_website/tls");
    MADE.call_once(|| {
        let out = Command::new(repo().join("scripts/certs.sh"))
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    dir
}

fn ca() -> String {
    certs().join("ca.pem").display().to_string()
}

pub(crate) fn boot(ns: &Netns, stack: Stack, args: &[&str]) -> Running {
    boot_with(ns, stack, &[], args)
}

/// Booted with configure `keys` too.
fn boot_with(ns: &Netns, stack: Stack, keys: &[&str], args: &[&str]) -> Running {
    certs();
    let mut all = vec!["--http-port=8080", "--https-port=8443", "--http-timeout=2"];
    all.extend(args);
    Running::start(ns, stack, SITE, keys, &all, "http: listening on port 8080")
}

fn htdocs(file: &str) -> Vec<u8> {
    std::fs::read(repo().join("examples/static_website/htdocs").join(file)).unwrap()
}

fn serves_https(stack: Stack) {
    let ns = Netns::for_stack("https", stack);
    let site = boot(&ns, stack, &[]);
    let ca = ca();

    // The page, byte for byte, over TLS 1.3 and 1.2, the certificate checked.
    for version in [&["--tlsv1.3"][..], &["--tlsv1.2", "--tls-max", "1.2"]] {
        let page = curl(
            &ns,
            &[version, &["--cacert", &ca, &format!("{URL}/")]].concat(),
        );
        assert!(page.status.success(), "curl {version:?}: {page:?}");
        assert_eq!(page.stdout, htdocs("index.html"), "{version:?}");
    }
    let png = curl(&ns, &["--cacert", &ca, &format!("{URL}/logo.png")]);
    assert_eq!(png.stdout, htdocs("logo.png"));

    // ALPN http/1.1 and keep-alive: two requests, one TLS connection.
    let two = curl(
        &ns,
        &[
            "-v",
            "--cacert",
            &ca,
            "-o",
            "/dev/null",
            "-o",
            "/dev/null",
            &format!("{URL}/"),
            &format!("{URL}/css/style.css"),
        ],
    );
    let log = String::from_utf8_lossy(&two.stderr);
    assert!(log.contains("ALPN: server accepted http/1.1"), "{log}");
    assert!(log.contains("Re-using existing connection"), "{log}");

    // ETag and 304 as over HTTP; HTTP still serves the site.
    let head = curl(
        &ns,
        &["-I", "--cacert", &ca, &format!("{URL}/css/style.css")],
    );
    let head = String::from_utf8_lossy(&head.stdout).into_owned();
    let etag = head
        .lines()
        .find_map(|l| l.strip_prefix("ETag: "))
        .unwrap_or_else(|| panic!("an ETag in {head}"))
        .trim()
        .to_owned();
    let css = format!("{URL}/css/style.css");
    let none_match = format!("If-None-Match: {etag}");
    assert_eq!(
        status(&ns, &["--cacert", &ca, "-H", &none_match, &css]),
        "304"
    );
    let plain = curl(&ns, &["http://10.0.0.2:8080/css/style.css"]);
    assert_eq!(plain.stdout, htdocs("css/style.css"));

    // A client that does not trust the CA refuses the certificate.
    assert_eq!(status(&ns, &[&format!("{URL}/")]), "000");

    // Malformed records and handshakes close the connection; the image
    // goes on serving and never panics.
    for bytes in [
        "garbage\\r\\n\\r\\n",
        // A handshake record announcing more than a record may hold.
        "\\026\\003\\001\\377\\377",
        // A ClientHello record whose body is not a ClientHello.
        "\\026\\003\\001\\000\\010\\001\\000\\000\\004\\377\\377\\377\\377",
        // Application data before any handshake.
        "\\027\\003\\003\\000\\005hello",
        // Plain HTTP on the HTTPS port.
        "GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n",
    ] {
        // nc waits 3 s for more unless the image closes first.
        let start = std::time::Instant::now();
        let answer = raw(&ns, &format!("printf '{bytes}' | nc -w 3 10.0.0.2 8443"));
        let took = start.elapsed();
        assert!(
            took < std::time::Duration::from_millis(2500),
            "{bytes}: the image did not close the connection ({took:?}): {answer:?}"
        );
        // Nothing, or a TLS alert record (content type 21, version 3.x).
        assert!(
            answer.is_empty() || answer.starts_with("\u{15}\u{3}"),
            "{bytes}: answered {answer:?}"
        );
    }
    let again = curl(&ns, &["--cacert", &ca, &format!("{URL}/")]);
    assert_eq!(
        again.stdout,
        htdocs("index.html"),
        "serving after bad input"
    );
    let console = site.output();
    assert!(!console.contains("panic"), "{console}");
}

#[test]
fn static_website_tls_serves_curl_on_spt() {
    serves_https(Stack::Spt);
}

#[test]
fn static_website_tls_serves_curl_on_unix_sockets() {
    serves_https(Stack::UnixSocket);
}

/// The redirection to HTTPS; on spt, the site and the certificate come
/// from tar archives on block devices (`--kv_ro=tar`).
fn redirects(stack: Stack) {
    let ns = Netns::for_stack("redirect", stack);
    let keys: &[&str] = match stack {
        Stack::Spt => &["--kv_ro=tar"],
        _ => &[],
    };
    let _site = boot_with(&ns, stack, keys, &["--redirect"]);
    let out = curl(
        &ns,
        &[
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
            "http://10.0.0.2:8080/css/style.css?v=1",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "301 https://10.0.0.2:8443/css/style.css?v=1"
    );
    let followed = curl(
        &ns,
        &[
            "-L",
            "--cacert",
            &ca(),
            "http://10.0.0.2:8080/css/style.css",
        ],
    );
    assert_eq!(followed.stdout, htdocs("css/style.css"));
    // Without a Host header there is nowhere to send the client.
    let bare = raw(
        &ns,
        "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 10.0.0.2 8080",
    );
    assert!(bare.starts_with("HTTP/1.1 400 "), "{bare:?}");
}

#[test]
fn static_website_tls_redirects_http_on_spt() {
    redirects(Stack::Spt);
}

#[test]
fn static_website_tls_redirects_http_on_unix_sockets() {
    redirects(Stack::UnixSocket);
}

/// testssl.sh's findings: (id, severity, finding).
fn testssl(ns: &Netns) -> Vec<(String, String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("findings.json");
    let out = ns
        .command("testssl")
        .args(["--quiet", "--color", "0", "--warnings", "off", "--add-ca"])
        .arg(certs().join("ca.pem"))
        .arg("--jsonfile")
        .arg(&json)
        .arg(format!("{URL}/"))
        .output()
        .expect("testssl.sh is installed");
    let text = std::fs::read_to_string(&json).unwrap_or_else(|e| {
        panic!(
            "no testssl.sh report ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let findings: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    findings
        .iter()
        .map(|f| {
            let field = |k: &str| f[k].as_str().unwrap_or_default().to_owned();
            (field("id"), field("severity"), field("finding"))
        })
        .collect()
}

fn testssl_rates_nothing_high(stack: Stack) {
    let ns = Netns::for_stack("testssl", stack);
    let _site = boot(&ns, stack, &[]);
    let findings = testssl(&ns);
    let find = |id: &str| {
        findings
            .iter()
            .find(|f| f.0 == id)
            .map(|f| f.2.as_str())
            .unwrap_or_else(|| panic!("testssl.sh reported no {id}: {findings:?}"))
    };
    for old in ["SSLv2", "SSLv3", "TLS1", "TLS1_1"] {
        assert_eq!(find(old), "not offered", "{old}");
    }
    assert_eq!(find("TLS1_2"), "offered");
    assert!(find("TLS1_3").starts_with("offered"), "{}", find("TLS1_3"));
    // The one exception is the test CA's, not the server's: a private CA
    // made by scripts/certs.sh publishes no revocation list or responder.
    let high: Vec<_> = findings
        .iter()
        .filter(|f| matches!(f.1.as_str(), "HIGH" | "CRITICAL") && f.0 != "cert_revocation")
        .collect();
    assert!(high.is_empty(), "rated HIGH or CRITICAL: {high:?}");
}

#[test]
fn static_website_tls_passes_testssl_on_spt() {
    testssl_rates_nothing_high(Stack::Spt);
}

#[test]
fn static_website_tls_passes_testssl_on_unix_sockets() {
    testssl_rates_nothing_high(Stack::UnixSocket);
}

/// virtio (QEMU, TCG) boots the TLS site on the tap and serves a page
/// over HTTPS.
#[test]
fn static_website_tls_serves_https_on_virtio() {
    let ns = Netns::for_stack("https", Stack::Virtio);
    let _site = boot(&ns, Stack::Virtio, &[]);
    let page = curl(&ns, &["--cacert", &ca(), &format!("{URL}/")]);
    assert_eq!(page.stdout, htdocs("index.html"), "{page:?}");
}

/// hvt images link (this host's KVM cannot run them: DESIGN.md).
#[test]
fn static_website_tls_links_for_hvt() {
    certs();
    let out = crate::support::mirage_ok(&repo(), &["build", "-t", "hvt", SITE]);
    let image = out.stdout.trim();
    assert!(image.ends_with("static_website_tls.hvt"), "{image}");
    let elf = std::fs::read(image).unwrap();
    assert_eq!(&elf[..4], b"\x7fELF", "{image}");
}
