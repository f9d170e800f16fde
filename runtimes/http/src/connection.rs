//! One connection: requests read, answered in order (pipelined ones too),
//! until the client closes, asks to close, errs, or is too slow.
//!
//! Every request must arrive whole (head and body) within the timeout of
//! its first byte, an idle connection is closed after the timeout, and a
//! client must take each 64 KiB of a response within the timeout: slow,
//! idle and non-reading clients cannot hold the server (slowloris, slow
//! POST, slow read). What is kept between reads is bounded by the head
//! and body limits.

use alloc::vec::Vec;

use mirage_runtime::metrics::{self, Histogram};
use mirage_runtime::time::within;
use mirage_types::{MonotonicClock, PosixClock, TcpFlow, Time};

use crate::chunked::Chunked;
use crate::date::imf_fixdate;
use crate::request::{parse_head, Framing, Limits, Method, Reject, Request};
use crate::response::Response;
use crate::Handler;

/// What a connection needs besides its flow.
pub struct Config<T, M, P> {
    /// Sleeping, for timeouts.
    pub time: T,
    /// Deadlines.
    pub mclock: M,
    /// The `Date` header, when present.
    pub pclock: Option<P>,
    /// Request sizes.
    pub limits: Limits,
    /// How long a request may take to arrive, and a connection may idle.
    pub timeout_ns: u64,
}

impl<T, M: MonotonicClock, P> Config<T, M, P> {
    /// The monotonic time a step started now must end by.
    fn deadline(&self) -> u64 {
        self.mclock.elapsed_ns().saturating_add(self.timeout_ns)
    }
}

/// A port's request metrics (see `mirage_runtime::metrics`).
pub struct Meter {
    port: alloc::string::String,
    latency: Histogram,
}

impl Meter {
    /// The series of requests served on `port`.
    pub fn new(port: u16) -> Meter {
        let port = alloc::format!("{port}");
        let latency = metrics::histogram(
            "mirage_http_request_duration_seconds",
            "From a request's last byte to its response's last byte sent.",
            &[("port", &port)],
        );
        Meter { port, latency }
    }

    /// Counts a response of `status` that took `ns` to handle and send
    /// (called with recording on).
    fn record(&self, status: u16, ns: u64) {
        let status = alloc::format!("{status}");
        metrics::counter(
            "mirage_http_requests_total",
            "HTTP requests answered, by port and status.",
            &[("port", &self.port), ("status", &status)],
        )
        .inc();
        self.latency.observe_ns(ns);
    }
}

/// Why reading stopped.
enum Stop {
    /// The client closed, or the flow failed: nothing to answer.
    Gone,
    /// The deadline passed.
    Late,
}

/// Reads more bytes into `buf` before `deadline` (monotonic ns).
async fn fill<F: TcpFlow, T: Time, M: MonotonicClock, P>(
    flow: &mut F,
    buf: &mut Vec<u8>,
    cfg: &Config<T, M, P>,
    deadline: u64,
) -> Result<(), Stop> {
    let left = deadline.saturating_sub(cfg.mclock.elapsed_ns());
    match within(&cfg.time, left, flow.read()).await {
        None => Err(Stop::Late),
        Some(Ok(Some(data))) => {
            buf.extend_from_slice(&data);
            Ok(())
        }
        Some(Ok(None) | Err(_)) => Err(Stop::Gone),
    }
}

/// A client must take this much of a response within the timeout.
const WRITE_PIECE: usize = 64 * 1024;

/// Writes `bytes`, each [`WRITE_PIECE`] within the timeout: a client that
/// stops reading (a zero window, the slow-read attack) is dropped, not
/// waited for. Whether it all went.
async fn send<F: TcpFlow, T: Time, M, P>(
    flow: &mut F,
    bytes: &[u8],
    cfg: &Config<T, M, P>,
) -> bool {
    for piece in bytes.chunks(WRITE_PIECE) {
        match within(&cfg.time, cfg.timeout_ns, flow.write(piece)).await {
            Some(Ok(())) => {}
            Some(Err(_)) => return false,
            None => {
                log::debug!("http: {} stopped reading; dropped", flow.peer());
                return false;
            }
        }
    }
    true
}

fn date<P: PosixClock>(pclock: &Option<P>) -> Option<alloc::string::String> {
    pclock.as_ref().map(|c| {
        let (days, ps) = c.now_d_ps();
        imf_fixdate(days, ps / 1_000_000_000_000)
    })
}

/// The next whole request in `buf` (reading more as needed), and whether
/// the connection closes after it. What `buf` keeps between reads is
/// bounded: the head by its limit, a body by its own.
async fn next_request<F: TcpFlow, T: Time, M: MonotonicClock, P>(
    flow: &mut F,
    buf: &mut Vec<u8>,
    cfg: &Config<T, M, P>,
) -> Result<(Request, bool), Result<Reject, Stop>> {
    // Set when first waited for (a clock read is a system call on Solo5).
    let mut deadline = None;
    let head = loop {
        match parse_head(buf, &cfg.limits) {
            Err(reject) => return Err(Ok(reject)),
            Ok(Some(head)) => break head,
            Ok(None) => {
                let by = match deadline {
                    Some(by) if !buf.is_empty() => by,
                    // Idle: the request's own time starts with its first byte.
                    _ => *deadline.insert(cfg.deadline()),
                };
                fill(flow, buf, cfg, by).await.map_err(Err)?
            }
        }
    };
    let deadline = deadline.unwrap_or_else(|| cfg.deadline());
    buf.drain(..head.len);
    let mut request = head.request;
    match head.framing {
        Framing::Length(n) => {
            while buf.len() < n {
                fill(flow, buf, cfg, deadline).await.map_err(Err)?;
            }
            request.body = buf.drain(..n).collect();
        }
        Framing::Chunked => {
            let mut chunked = Chunked::new(cfg.limits.max_body, cfg.limits.max_head);
            request.body = loop {
                let (used, body) = chunked.decode(buf).map_err(Ok)?;
                buf.drain(..used);
                if let Some(body) = body {
                    break body;
                }
                fill(flow, buf, cfg, deadline).await.map_err(Err)?;
            };
        }
    }
    Ok((request, head.close))
}

/// Serves `flow` until it ends; never panics on what the client sends.
pub async fn serve<F, H, T, M, P>(mut flow: F, handler: &H, cfg: &Config<T, M, P>, meter: &Meter)
where
    F: TcpFlow,
    H: Handler,
    T: Time,
    M: MonotonicClock,
    P: PosixClock,
{
    let mut buf = Vec::new();
    loop {
        let read = next_request(&mut flow, &mut buf, cfg).await;
        // The clock is read only for a metrics device.
        let started = metrics::enabled().then(|| cfg.mclock.elapsed_ns());
        let (response, head_only, close) = match read {
            Ok((request, close)) => {
                let head_only = request.method == Method::Head;
                (handler.handle(request).await, head_only, close)
            }
            Err(Ok(reject)) => {
                log::debug!(
                    "http: {} from {}: {}",
                    reject.status,
                    flow.peer(),
                    reject.why
                );
                (Response::text(reject.status, reject.why), false, true)
            }
            Err(Err(Stop::Late)) if !buf.is_empty() => {
                (Response::text(408, "request timeout"), false, true)
            }
            Err(Err(_)) => break,
        };
        let head = response.head(date(&cfg.pclock).as_deref(), close);
        let body = response.body_sent(head_only);
        // A large body goes as it is, not copied behind its head; a small
        // one goes with it in one write (one TLS record over HTTPS).
        let sent = match body.len() > WRITE_PIECE {
            true => send(&mut flow, &head, cfg).await && send(&mut flow, body, cfg).await,
            false => send(&mut flow, &[&head[..], body].concat(), cfg).await,
        };
        if let Some(started) = started {
            meter.record(
                response.status,
                cfg.mclock.elapsed_ns().saturating_sub(started),
            );
        }
        if !sent || close {
            break;
        }
    }
    flow.close().await;
}
