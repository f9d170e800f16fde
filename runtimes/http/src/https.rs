//! HTTPS: an [`HttpServer`]'s connections, each wrapped by a TLS server
//! before its requests are read (Mirage's `https_server` over
//! `conduit_direct ~tls`).

use alloc::rc::Rc;

use mirage_types::{MonotonicClock, PosixClock, Stack, Time, TlsServer};

use mirage_runtime::time::within;

use crate::connection;
use crate::{Handler, Http, HttpServer};

/// The `https_server` device: HTTP/1.1 over TLS server `L`.
pub struct HttpsServer<S, T, M, P, L> {
    http: HttpServer<S, T, M, P>,
    tls: L,
}

impl<S: Clone, T, M, P, L: Clone> Clone for HttpsServer<S, T, M, P, L> {
    fn clone(&self) -> Self {
        HttpsServer {
            http: self.http.clone(),
            tls: self.tls.clone(),
        }
    }
}

impl<S, T, M, P, L> HttpsServer<S, T, M, P, L> {
    /// Connects the server: `http`'s stack and limits, `tls`'s certificate.
    pub async fn connect(http: HttpServer<S, T, M, P>, tls: L) -> Result<Self, &'static str> {
        Ok(HttpsServer { http, tls })
    }
}

impl<S, T, M, P, L> Http for HttpsServer<S, T, M, P, L>
where
    S: Stack,
    T: Time + 'static,
    M: MonotonicClock + 'static,
    P: PosixClock + 'static,
    L: TlsServer,
{
    fn serve<H: Handler>(&self, port: u16, handler: H) {
        let config = self.http.config.clone();
        let tls = self.tls.clone();
        let meter = Rc::new(connection::Meter::new(port));
        self.http.stack.listen_tcp(port, move |flow| {
            let config = Rc::clone(&config);
            let meter = Rc::clone(&meter);
            let handler = handler.clone();
            let tls = tls.clone();
            async move {
                let peer = mirage_types::TcpFlow::peer(&flow);
                // The handshake has the time of a request, then it is dropped.
                match within(&config.time, config.timeout_ns, tls.accept(flow)).await {
                    Some(Ok(flow)) => connection::serve(flow, &handler, &config, &meter).await,
                    Some(Err(e)) => log::debug!("https: handshake with {peer}: {e}"),
                    None => log::debug!("https: handshake with {peer}: timed out"),
                }
            }
        });
        log::info!("https: listening on port {port}");
    }
}
