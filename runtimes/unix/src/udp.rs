//! UDP on the socket stack: the host sockets of its ports, and the task
//! that hands a listening port's datagrams to its handler until
//! `unlisten_udp` stops it (then the socket closes).

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::io;
use std::net::UdpSocket;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::task::{Poll, Waker};

use mirage_types::Datagram;

use crate::socket::{canonical, READ_SIZE};

/// UDP sockets by local port (0 for the ephemeral one), for writes from
/// that port.
pub(crate) type UdpSockets = Rc<RefCell<Vec<(u16, Rc<UdpSocket>)>>>;

/// The stop of each listening UDP port.
pub(crate) type Listening = Rc<RefCell<Vec<(u16, Rc<Stop>)>>>;

/// What stops a listening UDP port's task: raised by `unlisten_udp`.
#[derive(Debug, Default)]
pub(crate) struct Stop {
    raised: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Stop {
    /// Stops the task, now if it waits.
    pub(crate) fn raise(&self) {
        self.raised.set(true);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    /// Waits until the stop is raised or `fd` may be readable.
    async fn or_readable(&self, fd: RawFd) {
        let mut readable = std::pin::pin!(crate::readable(fd));
        poll_fn(|cx| {
            if self.raised.get() {
                return Poll::Ready(());
            }
            *self.waker.borrow_mut() = Some(cx.waker().clone());
            readable.as_mut().poll(cx)
        })
        .await
    }
}

/// Calls `handler` with each datagram `socket` (bound to `port`)
/// receives, each in a task of its own, until `stop` is raised.
pub(crate) async fn receive<F, Fut>(socket: Rc<UdpSocket>, port: u16, stop: Rc<Stop>, handler: F)
where
    F: Fn(Datagram) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let fd = socket.as_raw_fd();
    let mut buf = vec![0; READ_SIZE];
    while !stop.raised.get() {
        match socket.recv_from(&mut buf) {
            Ok((n, src)) => mirage_runtime::spawn(handler(Datagram {
                src: canonical(src),
                dst_port: port,
                data: buf[..n].to_vec(),
            })),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => stop.or_readable(fd).await,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                log::error!(target: "tcpip", "UDP port {port}: {e}");
                mirage_runtime::time::sleep_ns(100_000_000).await;
            }
        }
    }
    // Nothing may wait on the descriptor once it closes, with this task.
    crate::forget(fd);
}
