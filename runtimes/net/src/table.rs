//! The socket table: smoltcp's `SocketSet`, rebuilt after a burst.
//!
//! A `SocketSet` keeps every slot it ever grew to (512 bytes each, and
//! every poll walks them all): after 10,000 connections it held 8.4 MB
//! for a handful of sockets. When the live sockets fall to a quarter of
//! the most the table held since it was last built (and that was more
//! than [`SMALL`]), [`Table::compact`] rebuilds it with the live ones
//! alone. Their handles change: it returns the renaming, which the stack
//! applies to every handle it keeps.
//!
//! The table also keeps the last TCP socket removed, closed, as a spare:
//! [`Table::tcp_socket`] reuses it (smoltcp clears its buffers when it
//! listens or connects again) instead of zeroing two new buffers, which
//! was a third of the image's time for short connections. One spare
//! keeps the heap after a burst as it was after one connection.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::ops::{Deref, DerefMut};

use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::{tcp, AnySocket, Socket};

use crate::listen::{tcp_socket, tune};
use crate::Inner;

/// A table that never held more sockets than this is left as it is.
const SMALL: usize = 1024;

/// New handles by old ones, after [`Table::compact`].
pub(crate) type Renaming = BTreeMap<SocketHandle, SocketHandle>;

/// A `SocketSet` that counts its sockets; reads go through `Deref`.
pub(crate) struct Table {
    set: SocketSet<'static>,
    live: usize,
    peak: usize,
    spare: Option<tcp::Socket<'static>>,
}

impl Table {
    /// An empty table.
    pub(crate) fn new() -> Table {
        Table {
            set: SocketSet::new(Vec::new()),
            live: 0,
            peak: 0,
            spare: None,
        }
    }

    /// A closed TCP socket with `buffer` bytes each way, as
    /// [`tcp_socket`] makes one: the spare if it has that size.
    pub(crate) fn tcp_socket(&mut self, buffer: usize) -> tcp::Socket<'static> {
        match self.spare.take() {
            Some(mut socket)
                if socket.recv_capacity() == buffer && socket.send_capacity() == buffer =>
            {
                // Out of the table it sends nothing: this only marks it
                // closed, so listen and connect take it.
                socket.abort();
                tune(&mut socket);
                socket
            }
            _ => tcp_socket(buffer),
        }
    }

    /// Adds `socket`; its handle.
    pub(crate) fn add<T: AnySocket<'static>>(&mut self, socket: T) -> SocketHandle {
        self.live += 1;
        self.peak = self.peak.max(self.live);
        self.set.add(socket)
    }

    /// Removes the socket `handle`: a TCP one becomes the spare, the one
    /// before it (or another kind) is freed.
    pub(crate) fn remove(&mut self, handle: SocketHandle) {
        self.live -= 1;
        if let Socket::Tcp(socket) = self.set.remove(handle) {
            self.spare = Some(socket);
        }
    }

    /// Rebuilds the table with its live sockets alone if it shrank to a
    /// quarter of its peak; the renaming if it did.
    pub(crate) fn compact(&mut self) -> Option<Renaming> {
        if self.peak <= SMALL || self.live * 4 > self.peak {
            return None;
        }
        let handles: Vec<SocketHandle> = self.set.iter().map(|(h, _)| h).collect();
        let mut fresh = SocketSet::new(Vec::with_capacity(handles.len()));
        let renaming = handles
            .into_iter()
            .map(|old| {
                let new = match self.set.remove(old) {
                    Socket::Tcp(s) => fresh.add(s),
                    Socket::Udp(s) => fresh.add(s),
                    Socket::Dhcpv4(s) => fresh.add(s),
                };
                (old, new)
            })
            .collect();
        self.set = fresh;
        self.peak = self.live;
        Some(renaming)
    }
}

impl Deref for Table {
    type Target = SocketSet<'static>;

    fn deref(&self) -> &SocketSet<'static> {
        &self.set
    }
}

impl DerefMut for Table {
    fn deref_mut(&mut self) -> &mut SocketSet<'static> {
        &mut self.set
    }
}

/// Rebuilds the socket table after a burst, renaming every handle the
/// stack keeps; the driver calls it when no handle is in flight.
pub(crate) fn compact(i: &mut Inner) {
    let Some(renaming) = i.sockets.compact() else {
        return;
    };
    let rename = |h: &mut SocketHandle| *h = renaming[h];
    i.flows.values_mut().for_each(rename);
    i.closing.iter_mut().for_each(|(h, _)| rename(h));
    i.dhcp.iter_mut().for_each(rename);
    i.listeners.iter_mut().for_each(|l| l.rename(&renaming));
    i.udp.rename(&renaming);
    i.device.peers.rename(&renaming);
    match mirage_runtime::platform::get().heap_used() {
        Some(used) => log::debug!(
            target: "tcpip",
            "socket table rebuilt with its {} sockets; heap in use: {used} bytes",
            renaming.len()
        ),
        None => {
            log::debug!(target: "tcpip", "socket table rebuilt with its {} sockets", renaming.len())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listen::tcp_socket;
    use smoltcp::socket::tcp;

    #[test]
    fn after_a_burst_the_table_keeps_its_live_sockets_renamed() {
        let mut table = Table::new();
        let handles: Vec<SocketHandle> = (0..2000).map(|_| table.add(tcp_socket(64))).collect();
        // A mark on the survivors: their listening ports.
        for (n, &h) in handles.iter().enumerate().step_by(10) {
            table
                .get_mut::<tcp::Socket>(h)
                .listen(n as u16 + 1)
                .unwrap();
        }
        for (n, &h) in handles.iter().enumerate() {
            if n % 10 != 0 {
                table.remove(h);
                if n < 1500 {
                    assert!(table.compact().is_none(), "{n}: not yet a quarter");
                }
            }
        }
        let renaming = table.compact().expect("200 live of a 2,000 peak");
        assert_eq!(renaming.len(), 200);
        for (n, &h) in handles.iter().enumerate().step_by(10) {
            let socket = table.get::<tcp::Socket>(renaming[&h]);
            assert_eq!(socket.listen_endpoint().port, n as u16 + 1);
        }
        assert_eq!(table.iter().count(), 200);
        assert!(table.compact().is_none(), "rebuilt: its peak is now 200");
    }

    #[test]
    fn a_removed_tcp_socket_is_reused_closed_and_tuned() {
        let mut table = Table::new();
        let mut socket = table.tcp_socket(64);
        socket.listen(80).unwrap();
        socket.set_timeout(Some(smoltcp::time::Duration::from_secs(1)));
        socket.set_keep_alive(None);
        let handle = table.add(socket);
        table.remove(handle);

        let mut again = table.tcp_socket(64);
        assert_eq!(again.state(), tcp::State::Closed);
        assert_eq!(again.timeout(), None);
        assert_eq!(again.keep_alive(), Some(crate::TCP_KEEP_ALIVE));
        assert!(!again.nagle_enabled());
        again.listen(81).unwrap();
        assert_eq!(again.listen_endpoint().port, 81);
        assert!(table.spare.is_none(), "taken");

        // A spare of another size is not reused.
        let handle = table.add(again);
        table.remove(handle);
        assert_eq!(table.tcp_socket(128).recv_capacity(), 128);
    }
}
