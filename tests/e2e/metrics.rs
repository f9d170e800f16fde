//! The `metrics` device, as Prometheus sees it: the static website with
//! metrics (`static_website_metrics`) boots in a namespace, curl makes a
//! known number of requests, and Debian's `prometheus`, scraping the
//! image every second from the same namespace, reports the target up and
//! a request counter equal to what curl made. The exposition itself names
//! the runtime's series (TCP connections and store reads; heap and frames
//! on Solo5's direct stack).

use std::process::Command;
use std::time::{Duration, Instant};

use crate::http::{curl, status};
use crate::network::{Netns, Stack};
use crate::running::Running;
use crate::support::{skipped, Daemon};

const SITE: &str = "//examples/static_website:static_website_metrics";

/// Pages fetched, and requests answered 404, by the test.
const PAGES: usize = 7;
const MISSING: usize = 2;

/// How long Prometheus has to scrape what the test expects: it scrapes
/// every second; the rest is for a loaded machine.
const SCRAPED_WITHIN: Duration = Duration::from_secs(60);

/// Prometheus in the client's namespace, scraping the image's
/// `10.0.0.2:9090` every second, its API on 127.0.0.1:9091 there.
fn prometheus(ns: &Netns) -> Daemon {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
         scrape_configs:\n  - job_name: unikernel\n    static_configs:\n      - targets: ['10.0.0.2:9090']\n",
    )
    .unwrap();
    let mut cmd = ns.command("prometheus");
    cmd.arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg("--web.listen-address=127.0.0.1:9091");
    Daemon::spawn(cmd, dir, "prometheus (Debian package prometheus)")
}

/// The value of PromQL `query` now, if it has exactly one.
fn query(ns: &Netns, query: &str) -> Option<String> {
    let out = curl(
        ns,
        &[
            "-G",
            "http://127.0.0.1:9091/api/v1/query",
            "--data-urlencode",
            &format!("query={query}"),
        ],
    );
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let result = answer["data"]["result"].as_array()?;
    match result.as_slice() {
        [one] => one["value"][1].as_str().map(str::to_owned),
        _ => None,
    }
}

/// Waits for `query` to be `want`; the last value seen otherwise.
fn wait_for(ns: &Netns, q: &str, want: &str) -> Result<(), Option<String>> {
    let start = Instant::now();
    let mut last = None;
    while start.elapsed() < SCRAPED_WITHIN {
        last = query(ns, q);
        if last.as_deref() == Some(want) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Err(last)
}

fn prometheus_counts_the_requests(stack: Stack) {
    if Command::new("prometheus")
        .arg("--version")
        .output()
        .is_err()
    {
        skipped(
            &format!("prometheus_counts_the_requests_on_{stack:?}"),
            "no prometheus (Debian package prometheus; scripts/setup.sh installs it with the peers)",
        );
        return;
    }
    let ns = Netns::for_stack("metrics", stack);
    let _site = Running::start(
        &ns,
        stack,
        SITE,
        &[],
        &["--http-port=8080", "--metrics-port=9090"],
        "metrics: served on port 9090",
    );
    for _ in 0..PAGES {
        assert_eq!(status(&ns, &["http://10.0.0.2:8080/"]), "200");
    }
    for _ in 0..MISSING {
        assert_eq!(status(&ns, &["http://10.0.0.2:8080/missing"]), "404");
    }

    // The exposition, as curl reads it.
    let page = curl(&ns, &["-D", "-", "http://10.0.0.2:9090/metrics"]);
    let page = String::from_utf8_lossy(&page.stdout).into_owned();
    assert!(
        page.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
        "{page}"
    );
    assert!(
        page.contains(&format!(
            "\nmirage_http_requests_total{{port=\"8080\",status=\"200\"}} {PAGES}\n"
        )),
        "{page}"
    );
    assert!(
        page.contains("\n# TYPE mirage_http_request_duration_seconds histogram\n"),
        "{page}"
    );
    assert!(page.contains("\nmirage_uptime_seconds "), "{page}");
    // Either stack counts connections; the direct stack on Solo5 its
    // frames and its heap too.
    let mut series = vec![
        format!(
            "\nmirage_tcp_connections_accepted_total{{port=\"8080\"}} {}\n",
            PAGES + MISSING
        ),
        "\nmirage_tcp_connections_open ".to_owned(),
        "\nmirage_kv_operations_total{store=\"crunch\",op=\"read\"} ".to_owned(),
    ];
    if stack == Stack::Spt {
        series.extend(
            [
                "\nmirage_heap_used_bytes ",
                "\nmirage_heap_peak_bytes ",
                "\nmirage_net_frames_total{mac=\"",
            ]
            .map(str::to_owned),
        );
    }
    for s in series {
        assert!(page.contains(&s), "no {s:?} in:\n{page}");
    }
    assert_eq!(status(&ns, &["http://10.0.0.2:9090/other"]), "404");

    // Prometheus scrapes it: up, and the requests the test made.
    let _prometheus = prometheus(&ns);
    let checks = [
        ("up{job=\"unikernel\"}".to_owned(), "1".to_owned()),
        (
            "sum(mirage_http_requests_total{port=\"8080\"})".to_owned(),
            (PAGES + MISSING).to_string(),
        ),
        (
            "mirage_http_requests_total{port=\"8080\",status=\"404\"}".to_owned(),
            MISSING.to_string(),
        ),
    ];
    for (q, want) in checks {
        if let Err(last) = wait_for(&ns, &q, want.as_str()) {
            panic!("Prometheus: {q} is {last:?}, not {want}, after {SCRAPED_WITHIN:?}");
        }
    }
}

#[test]
fn prometheus_counts_the_requests_on_spt() {
    prometheus_counts_the_requests(Stack::Spt);
}

#[test]
fn prometheus_counts_the_requests_on_unix() {
    prometheus_counts_the_requests(Stack::UnixSocket);
}
