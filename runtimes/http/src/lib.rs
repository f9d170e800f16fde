//! HTTP/1.1 servers over any `stackv4v6`, after Mirage's `http_server`.
//!
//! An [`HttpServer`] device serves a [`Handler`] on a port: requests
//! parsed by httparse, keep-alive and pipelining, `Content-Length` and
//! chunked bodies, `HEAD`, `Connection: close`, `Date` from the POSIX
//! clock. Limits have clear answers: 431 for a head over 8 KiB or 64
//! headers, 413 for a body over `--http-max-body`, 501 for an unknown
//! method or transfer coding, 400 for a malformed request, 408 for a
//! request slower than `--http-timeout`; each then closes the connection.
//! A client that takes no 64 KiB of a response within the timeout is
//! dropped. What a client sends never panics the image. An [`HttpsServer`] serves
//! the same over any [`mirage_types::TlsServer`].
#![no_std]
#![deny(unsafe_code)]

extern crate alloc;

mod chunked;
pub mod client;
mod connection;
mod date;
mod https;
pub mod metrics;
pub mod request;
pub mod response;
pub mod url;

use alloc::rc::Rc;
use alloc::string::String;
use core::future::Future;

use mirage_runtime::time::positive_seconds_ns;
use mirage_types::{MonotonicClock, PosixClock, Stack, Time};

pub use client::{Client, ClientResponse, HttpClient};
pub use date::imf_fixdate;
pub use https::HttpsServer;
pub use metrics::Metrics;
pub use request::{Method, Request};
pub use response::Response;

/// What answers requests: async, errors as responses.
pub trait Handler: Clone + 'static {
    /// The response to `request`.
    fn handle(&self, request: Request) -> impl Future<Output = Response>;
}

/// The `http_server` device type: serves handlers on TCP ports.
pub trait Http: Clone {
    /// Serves `handler` on TCP `port`, each connection in a task of its own.
    fn serve<H: Handler>(&self, port: u16, handler: H);
}

/// Request heads larger than this are answered 431.
pub const MAX_HEAD: usize = 8 * 1024;

/// The HTTP/1.1 server over stack `S`.
pub struct HttpServer<S, T, M, P> {
    stack: S,
    config: Rc<connection::Config<T, M, P>>,
}

impl<S: Clone, T, M, P> Clone for HttpServer<S, T, M, P> {
    fn clone(&self) -> Self {
        HttpServer {
            stack: self.stack.clone(),
            config: self.config.clone(),
        }
    }
}

impl<S, T, M, P> HttpServer<S, T, M, P>
where
    S: Stack,
    T: Time + 'static,
    M: MonotonicClock + 'static,
    P: PosixClock + 'static,
{
    /// Connects the server: `timeout_s` bounds each request's arrival and
    /// each idle wait; `max_body` bounds request bodies, in bytes.
    pub async fn connect(
        stack: S,
        time: T,
        mclock: M,
        pclock: P,
        timeout_s: i64,
        max_body: i64,
    ) -> Result<Self, String> {
        let timeout_ns = positive_seconds_ns(timeout_s, "http-timeout")?;
        let max_body = usize::try_from(max_body).map_err(|_| "--http-max-body must be >= 0")?;
        Ok(HttpServer {
            stack,
            config: Rc::new(connection::Config {
                time,
                mclock,
                pclock: Some(pclock),
                limits: request::Limits {
                    max_head: MAX_HEAD,
                    max_body,
                },
                timeout_ns,
            }),
        })
    }
}

impl<S, T, M, P> Http for HttpServer<S, T, M, P>
where
    S: Stack,
    T: Time + 'static,
    M: MonotonicClock + 'static,
    P: PosixClock + 'static,
{
    fn serve<H: Handler>(&self, port: u16, handler: H) {
        let config = self.config.clone();
        let meter = Rc::new(connection::Meter::new(port));
        self.stack.listen_tcp(port, move |flow| {
            let config = config.clone();
            let handler = handler.clone();
            let meter = meter.clone();
            async move { connection::serve(flow, &handler, &config, &meter).await }
        });
        log::info!("http: listening on port {port}");
    }
}
