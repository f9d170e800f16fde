//! TCP connections of the direct stack, until their sockets are freed.

use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::poll_fn;
use core::task::Poll;

use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp;

use mirage_runtime::metrics::{self, Counter, Gauge};
use mirage_types::NetError;

use crate::{now, Inner};

/// How long a closed connection may take to deliver what was written and
/// close both ways before it is aborted: a peer that acknowledges but
/// never reads (a zero window) cannot keep a socket longer.
const CLOSE_LINGER: smoltcp::time::Duration = smoltcp::time::Duration::from_secs(60);

/// The connections' metrics (see `mirage_runtime::metrics`).
pub(crate) struct Metrics {
    open: Gauge,
    lingered: Counter,
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        Metrics {
            open: metrics::tcp_open(),
            lingered: metrics::counter(
                "mirage_tcp_connections_reset_total",
                "TCP connections reset or timed out: during the handshake, or not closed within a minute of closing.",
                &[("when", "closing")],
            ),
        }
    }
}

/// One TCP connection. Dropping it closes the connection.
pub struct Flow {
    inner: Rc<RefCell<Inner>>,
    /// Its key in `Inner::flows`, which holds its socket's handle.
    id: u64,
    peer: String,
    closed: bool,
}

impl Flow {
    pub(crate) fn new(inner: Rc<RefCell<Inner>>, handle: SocketHandle, peer: String) -> Flow {
        let id = {
            let mut i = inner.borrow_mut();
            let id = i.next_flow;
            i.next_flow += 1;
            i.flows.insert(id, handle);
            i.flow_metrics.open.add(1);
            id
        };
        Flow {
            inner,
            id,
            peer,
            closed: false,
        }
    }

    /// Its socket's handle now (the table may have been rebuilt); none
    /// once it was closed.
    pub(crate) fn handle(&self, i: &Inner) -> Option<SocketHandle> {
        i.flows.get(&self.id).copied()
    }
}

impl mirage_types::TcpFlow for Flow {
    async fn read(&mut self) -> Result<Option<Vec<u8>>, NetError> {
        poll_fn(|cx| {
            let mut i = self.inner.borrow_mut();
            let Some(handle) = self.handle(&i) else {
                return Poll::Ready(Ok(None));
            };
            let socket = i.sockets.get_mut::<tcp::Socket>(handle);
            if socket.can_recv() {
                let mut data = Vec::new();
                let _ = socket.recv(|bytes| {
                    data.extend_from_slice(bytes);
                    (bytes.len(), ())
                });
                i.wake_driver();
                return Poll::Ready(Ok(Some(data)));
            }
            if !socket.may_recv() {
                return Poll::Ready(Ok(None));
            }
            socket.register_recv_waker(cx.waker());
            Poll::Pending
        })
        .await
    }

    async fn write(&mut self, data: &[u8]) -> Result<(), NetError> {
        let mut sent = 0;
        poll_fn(|cx| {
            let mut i = self.inner.borrow_mut();
            let Some(handle) = self.handle(&i) else {
                return Poll::Ready(Err(NetError::Closed));
            };
            let socket = i.sockets.get_mut::<tcp::Socket>(handle);
            if !socket.may_send() {
                return Poll::Ready(Err(NetError::Closed));
            }
            let n = socket
                .send_slice(&data[sent..])
                .map_err(|_| NetError::Closed);
            let pending = match n {
                Ok(n) => {
                    sent += n;
                    if sent < data.len() {
                        socket.register_send_waker(cx.waker());
                    }
                    sent < data.len()
                }
                Err(e) => return Poll::Ready(Err(e)),
            };
            i.wake_driver();
            if pending {
                Poll::Pending
            } else {
                Poll::Ready(Ok(()))
            }
        })
        .await
    }

    async fn close(&mut self) {
        self.shut();
    }

    fn peer(&self) -> String {
        self.peer.clone()
    }
}

impl Flow {
    /// Starts closing the connection; the driver frees the socket once the
    /// close completes.
    fn shut(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        let mut i = self.inner.borrow_mut();
        let Some(handle) = i.flows.remove(&self.id) else {
            return;
        };
        i.flow_metrics.open.add(-1);
        let socket = i.sockets.get_mut::<tcp::Socket>(handle);
        socket.close();
        // No more probes: a peer that does not close its side within
        // TCP_TIMEOUT is aborted and the socket freed.
        socket.set_keep_alive(None);
        let linger = now() + CLOSE_LINGER;
        i.closing.push((handle, linger));
        i.wake_driver();
    }
}

impl Drop for Flow {
    fn drop(&mut self) {
        self.shut();
    }
}

/// Frees the closed sockets among the closing (in TIME-WAIT too: its
/// buffers would wait for nothing, and a late FIN then meets a RST), and
/// aborts those past their [`CLOSE_LINGER`]; whether any was aborted.
pub(crate) fn free_closed(i: &mut Inner) -> bool {
    let (sockets, peers) = (&mut i.sockets, &mut i.device.peers);
    let lingered = &i.flow_metrics.lingered;
    let now = now();
    let mut aborted = false;
    i.closing.retain(|&(h, linger)| {
        let socket = sockets.get_mut::<tcp::Socket>(h);
        match socket.state() {
            tcp::State::Closed | tcp::State::TimeWait => {
                sockets.remove(h);
                peers.freed(h);
                if let Some(used) = mirage_runtime::platform::get().heap_used() {
                    log::debug!(target: "tcpip", "connection freed; heap in use: {used} bytes");
                }
                false
            }
            _ if now >= linger => {
                log::debug!(target: "tcpip", "connection aborted: not closed within {CLOSE_LINGER}");
                socket.abort();
                lingered.inc();
                aborted = true;
                true
            }
            _ => true,
        }
    });
    aborted
}
