//! Listening TCP ports. [`BACKLOG`] sockets listen on each port; a socket
//! that takes a SYN is replaced at once and completes its handshake among
//! the pending; established ones are handed to the port's handler.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp;

use mirage_runtime::metrics::{self, Counter};

use crate::peers::Peers;
use crate::table::{Renaming, Table};
use crate::{socket_addr, Flow, Handler, TCP_KEEP_ALIVE, TCP_TIMEOUT};

/// Sockets listening on each port, and connection requests (SYNs) taken
/// per driver turn (the listening sockets are renewed between turns):
/// connections that arrive together (wrk opens 32 at once) find one each
/// instead of a reset.
pub(crate) const BACKLOG: usize = 16;

/// Half-open connections (a SYN taken, the handshake not done) each port
/// keeps; past it the oldest is dropped, so a SYN flood holds this many
/// sockets and a client that completes its handshake still gets in.
pub(crate) const HALF_OPEN: usize = 64;

/// A TCP socket with `buffer` bytes each way, tuned for the tap (its
/// buffers zeroed: [`Table::tcp_socket`] reuses a closed one instead).
pub(crate) fn tcp_socket(buffer: usize) -> tcp::Socket<'static> {
    let mut socket = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; buffer]),
        tcp::SocketBuffer::new(vec![0; buffer]),
    );
    tune(&mut socket);
    socket
}

/// The options every TCP socket of the stack starts with.
pub(crate) fn tune(socket: &mut tcp::Socket<'static>) {
    socket.set_timeout(None);
    // Acknowledge every segment: smoltcp's 10 ms delayed ACK holds the
    // sender's window back (bench/network.sh: 381 -> 450-510 MB/s on spt).
    socket.set_ack_delay(None);
    // No Nagle (nginx sets TCP_NODELAY too): a response's last small
    // segment would wait for the ACK a Linux peer delays by 40 ms
    // (bench/network.sh, 1 MiB responses: 24 MB/s with Nagle).
    socket.set_nagle_enabled(false);
    // Idle connections live while their peer answers (see TCP_TIMEOUT).
    socket.set_keep_alive(Some(TCP_KEEP_ALIVE));
}

fn listening_socket(sockets: &mut Table, port: u16, buffer: usize) -> Result<SocketHandle, String> {
    let mut socket = sockets.tcp_socket(buffer);
    // A SYN never acknowledged (a SYN flood) frees its socket in time.
    socket.set_timeout(Some(TCP_TIMEOUT));
    socket
        .listen(port)
        .map_err(|e| format!("listen on {port}: {e}"))?;
    Ok(sockets.add(socket))
}

/// One listening port.
pub(crate) struct Listener {
    port: u16,
    /// [`BACKLOG`] sockets listening on `port`.
    sockets: Vec<SocketHandle>,
    /// Sockets that left `sockets` with a SYN, until they are established.
    pending: Vec<SocketHandle>,
    handler: Handler<Flow>,
    /// Connections established, and reset during their handshake.
    accepted: Counter,
    reset: Counter,
}

impl Listener {
    /// Listens on `port` with connections of `buffer` bytes each way.
    pub(crate) fn new(
        sockets: &mut Table,
        port: u16,
        buffer: usize,
        handler: Handler<Flow>,
    ) -> Result<Listener, String> {
        Ok(Listener {
            port,
            sockets: (0..BACKLOG)
                .map(|_| listening_socket(sockets, port, buffer))
                .collect::<Result<_, _>>()?,
            pending: Vec::new(),
            handler,
            accepted: metrics::tcp_accepted(port),
            reset: metrics::counter(
                "mirage_tcp_connections_reset_total",
                "TCP connections reset or timed out: during the handshake, or not closed within a minute of closing.",
                &[("when", "handshake")],
            ),
        })
    }

    /// Renames its sockets after the table was rebuilt.
    pub(crate) fn rename(&mut self, renaming: &Renaming) {
        for h in self.sockets.iter_mut().chain(&mut self.pending) {
            *h = renaming[h];
        }
    }

    /// Established connections, each with its handler and peer; a socket
    /// listens again in the place of each that took a SYN.
    /// Each socket that took a SYN is its peer's in `peers`.
    pub(crate) fn accept(
        &mut self,
        sockets: &mut Table,
        peers: &mut Peers,
        buffer: usize,
    ) -> Vec<(Handler<Flow>, SocketHandle, String)> {
        for slot in &mut self.sockets {
            let socket = sockets.get::<tcp::Socket>(*slot);
            if socket.state() == tcp::State::Listen {
                continue;
            }
            peers.taken(socket, *slot);
            let Ok(fresh) = listening_socket(sockets, self.port, buffer) else {
                continue;
            };
            self.pending.push(core::mem::replace(slot, fresh));
        }
        let mut accepted = Vec::new();
        self.pending.retain(|&h| {
            let socket = sockets.get::<tcp::Socket>(h);
            match socket.state() {
                tcp::State::SynReceived => true,
                // Reset during the handshake (smoltcp listens again), or
                // timed out: nothing to hand over.
                tcp::State::Listen | tcp::State::Closed => {
                    self.reset.inc();
                    sockets.remove(h);
                    peers.freed(h);
                    false
                }
                _ => {
                    let peer = socket
                        .remote_endpoint()
                        .map_or_else(|| "?".into(), |e| format!("{}", socket_addr(e)));
                    self.accepted.inc();
                    accepted.push((self.handler.clone(), h, peer));
                    false
                }
            }
        });
        let excess = self.pending.len().saturating_sub(HALF_OPEN);
        for h in self.pending.drain(..excess) {
            sockets.remove(h);
            peers.freed(h);
        }
        if excess > 0 {
            log::debug!(target: "tcpip", "port {}: {excess} oldest half-open connections dropped", self.port);
        }
        accepted
    }
}

#[cfg(test)]
mod tests;
