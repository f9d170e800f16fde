//! UDP on the direct stack: one smoltcp socket per bound local port.
//!
//! A port is bound by `listen_udp` or `bind_udp` (with a handler) or by a
//! write from it (without), and freed by `unlisten_udp`; writes with no
//! source port share one ephemeral binding.
//! Datagrams reaching a binding without a handler are dropped, as Mirage's
//! UDP drops datagrams to ports nobody listens on.

use alloc::vec;
use alloc::vec::Vec;
use core::task::{Poll, Waker};

use smoltcp::iface::SocketHandle;
use smoltcp::socket::udp;

use mirage_types::{Datagram, NetError, SocketAddr};

use crate::table::{Renaming, Table};
use crate::{socket_addr, Handler, Inner};

/// Datagrams queued per direction per port.
const PACKETS: usize = 32;
/// Payload bytes queued per direction per port.
const BYTES: usize = 64 * 1024;

/// IPv4 + UDP headers, and IPv6 + UDP headers: what a datagram adds to its
/// payload. Without IP fragmentation a datagram must fit the MTU.
const V4_HEADERS: usize = 20 + 8;
const V6_HEADERS: usize = 40 + 8;

struct Binding {
    port: u16,
    socket: SocketHandle,
    handler: Option<Handler<Datagram>>,
}

/// The bound UDP ports.
#[derive(Default)]
pub(crate) struct Bindings {
    bound: Vec<Binding>,
    /// The binding of writes without a source port.
    anonymous: Option<SocketHandle>,
}

fn bind(sockets: &mut Table, port: u16) -> Result<SocketHandle, NetError> {
    let buffer =
        || udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; PACKETS], vec![0; BYTES]);
    let mut socket = udp::Socket::new(buffer(), buffer());
    socket.bind(port).map_err(|_| NetError::InUse(port))?;
    Ok(sockets.add(socket))
}

impl Bindings {
    /// Renames its sockets after the table was rebuilt.
    pub(crate) fn rename(&mut self, renaming: &Renaming) {
        for b in &mut self.bound {
            b.socket = renaming[&b.socket];
        }
        if let Some(h) = &mut self.anonymous {
            *h = renaming[h];
        }
    }

    /// Delivers datagrams to `port` to `handler`.
    pub(crate) fn listen(
        &mut self,
        sockets: &mut Table,
        port: u16,
        handler: Handler<Datagram>,
    ) -> Result<(), NetError> {
        match self.bound.iter_mut().find(|b| b.port == port) {
            Some(Binding {
                handler: Some(_), ..
            }) => Err(NetError::InUse(port)),
            Some(b) => {
                b.handler = Some(handler);
                Ok(())
            }
            None => {
                let socket = bind(sockets, port)?;
                self.bound.push(Binding {
                    port,
                    socket,
                    handler: Some(handler),
                });
                Ok(())
            }
        }
    }

    /// Frees `port`'s socket, if it has one.
    pub(crate) fn unlisten(&mut self, sockets: &mut Table, port: u16) {
        if let Some(at) = self.bound.iter().position(|b| b.port == port) {
            sockets.remove(self.bound.swap_remove(at).socket);
        }
    }

    /// Every datagram received since the last call, with its handler.
    pub(crate) fn received(&mut self, sockets: &mut Table) -> Vec<(Handler<Datagram>, Datagram)> {
        let mut out = Vec::new();
        for b in &self.bound {
            let socket = sockets.get_mut::<udp::Socket>(b.socket);
            while let Ok((data, meta)) = socket.recv() {
                if let Some(h) = &b.handler {
                    let datagram = Datagram {
                        src: socket_addr(meta.endpoint),
                        dst_port: b.port,
                        data: data.to_vec(),
                    };
                    out.push((h.clone(), datagram));
                }
            }
        }
        if let Some(h) = self.anonymous {
            while sockets.get_mut::<udp::Socket>(h).recv().is_ok() {}
        }
        out
    }
}

/// Delivers datagrams to `port` to `handler` (`Stack::bind_udp`).
pub(crate) fn listen(i: &mut Inner, port: u16, handler: Handler<Datagram>) -> Result<(), NetError> {
    i.udp.listen(&mut i.sockets, port, handler)?;
    i.wake_driver();
    Ok(())
}

/// One attempt to queue `data` for `dst` from `src_port`: pending (with
/// `waker` registered) while the port's send queue is full.
pub(crate) fn send(
    i: &mut Inner,
    src_port: Option<u16>,
    dst: SocketAddr,
    data: &[u8],
    waker: &Waker,
) -> Poll<Result<(), NetError>> {
    let max = i.device.mtu()
        - if dst.is_ipv4() {
            V4_HEADERS
        } else {
            V6_HEADERS
        };
    if data.len() > max {
        return Poll::Ready(Err(NetError::TooLarge(max)));
    }
    let handle = match src_port {
        Some(port) => match i.udp.bound.iter().find(|b| b.port == port) {
            Some(b) => b.socket,
            None => match bind(&mut i.sockets, port) {
                Ok(socket) => {
                    i.udp.bound.push(Binding {
                        port,
                        socket,
                        handler: None,
                    });
                    socket
                }
                Err(e) => return Poll::Ready(Err(e)),
            },
        },
        None => match i.udp.anonymous {
            Some(h) => h,
            None => {
                let port = i.ephemeral_port();
                match bind(&mut i.sockets, port) {
                    Ok(h) => *i.udp.anonymous.insert(h),
                    Err(e) => return Poll::Ready(Err(e)),
                }
            }
        },
    };
    let socket = i.sockets.get_mut::<udp::Socket>(handle);
    match socket.send_slice(data, dst) {
        Ok(()) => Poll::Ready(Ok(())),
        Err(udp::SendError::BufferFull) => {
            socket.register_send_waker(waker);
            Poll::Pending
        }
        Err(udp::SendError::Unaddressable) => Poll::Ready(Err(NetError::Unreachable)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::boxed::Box;
    use alloc::rc::Rc;

    fn handler() -> Handler<Datagram> {
        Rc::new(|_| Box::pin(async {}))
    }

    #[test]
    fn a_port_is_taken_until_unlistened_and_then_freed() {
        let mut sockets = Table::new();
        let mut udp = Bindings::default();
        udp.listen(&mut sockets, 50000, handler()).unwrap();
        assert_eq!(
            udp.listen(&mut sockets, 50000, handler()),
            Err(NetError::InUse(50000))
        );
        assert_eq!(sockets.iter().count(), 1);
        udp.unlisten(&mut sockets, 50000);
        assert_eq!(sockets.iter().count(), 0, "the socket and its buffers");
        udp.unlisten(&mut sockets, 50000);
        udp.listen(&mut sockets, 50000, handler()).unwrap();
    }
}
