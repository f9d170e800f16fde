//! The `metrics` device: the image's metrics (`mirage_runtime::metrics`)
//! in Prometheus's text format at `/metrics`, on a port of their own
//! served by an `http_server`.
//!
//! A unikernel has one when its BUILD declaration names it (`metrics =
//! "//rules_mirage/devices:metrics"`); the generated code then turns
//! recording on before any device connects. Its own requests are counted
//! like any other, on their port.

use mirage_runtime::metrics;

use crate::{Handler, Http, Method, Request, Response};

/// The exposition format's content type.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The `metrics` device: serving, once connected.
#[derive(Clone, Copy, Debug)]
pub struct Metrics;

impl Metrics {
    /// Serves the metrics on `port` of `http`.
    pub async fn connect<H: Http>(http: H, port: i64) -> Result<Metrics, &'static str> {
        let port =
            u16::try_from(port).map_err(|_| "--metrics-port must be a TCP port (0-65535)")?;
        if !metrics::enabled() {
            return Err("metrics: recording is off (the generated code turns it on)");
        }
        http.serve(port, Exposition);
        log::info!(target: "metrics", "metrics: served on port {port} at /metrics");
        Ok(Metrics)
    }
}

/// Answers `/metrics`.
#[derive(Clone, Copy)]
struct Exposition;

impl Handler for Exposition {
    async fn handle(&self, request: Request) -> Response {
        if request.path() != "/metrics" {
            return Response::text(404, "not found: the metrics are at /metrics");
        }
        if !matches!(request.method, Method::Get | Method::Head) {
            return Response::text(405, "method not allowed").header("Allow", "GET, HEAD");
        }
        Response::new(200)
            .header("Content-Type", CONTENT_TYPE)
            .body(metrics::render())
    }
}
