//! One connection: requests read, answered in order (pipelined ones too),
//! until the client closes, asks to close, errs, or is too slow.
//!
//! Every request must arrive whole (head and body) within the timeout of
//! its first byte, and an idle connection is closed after the timeout:
//! slow and idle clients cannot hold the server (slowloris).

use alloc::vec::Vec;

use mirage_runtime::time::within;
use mirage_types::{MonotonicClock, PosixClock, TcpFlow, Time};

use crate::date::imf_fixdate;
use crate::request::{decode_chunked, parse_head, Framing, Limits, Method, Reject, Request};
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

fn date<P: PosixClock>(pclock: &Option<P>) -> Option<alloc::string::String> {
    pclock.as_ref().map(|c| {
        let (days, ps) = c.now_d_ps();
        imf_fixdate(days, ps / 1_000_000_000_000)
    })
}

/// The next whole request in `buf` (reading more as needed), and whether
/// the connection closes after it.
async fn next_request<F: TcpFlow, T: Time, M: MonotonicClock, P>(
    flow: &mut F,
    buf: &mut Vec<u8>,
    cfg: &Config<T, M, P>,
) -> Result<(Request, bool), Result<Reject, Stop>> {
    let mut deadline = cfg.mclock.elapsed_ns() + cfg.timeout_ns;
    let head = loop {
        if buf.is_empty() {
            // Idle: the request's own time starts with its first byte.
            deadline = cfg.mclock.elapsed_ns() + cfg.timeout_ns;
        }
        match parse_head(buf, &cfg.limits) {
            Err(reject) => return Err(Ok(reject)),
            Ok(Some(head)) => break head,
            Ok(None) => fill(flow, buf, cfg, deadline).await.map_err(Err)?,
        }
    };
    let mut request = head.request;
    loop {
        let rest = &buf[head.len..];
        let body = match head.framing {
            Framing::Length(n) => (rest.len() >= n).then(|| (rest[..n].to_vec(), n)),
            Framing::Chunked => decode_chunked(rest, cfg.limits.max_body).map_err(Ok)?,
        };
        if let Some((body, used)) = body {
            request.body = body;
            buf.drain(..head.len + used);
            return Ok((request, head.close));
        }
        fill(flow, buf, cfg, deadline).await.map_err(Err)?;
    }
}

/// Serves `flow` until it ends; never panics on what the client sends.
pub async fn serve<F, H, T, M, P>(mut flow: F, handler: &H, cfg: &Config<T, M, P>)
where
    F: TcpFlow,
    H: Handler,
    T: Time,
    M: MonotonicClock,
    P: PosixClock,
{
    let mut buf = Vec::new();
    loop {
        let (response, head_only, close) = match next_request(&mut flow, &mut buf, cfg).await {
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
        let bytes = response.to_bytes(head_only, date(&cfg.pclock).as_deref(), close);
        if flow.write(&bytes).await.is_err() || close {
            break;
        }
    }
    flow.close().await;
}
