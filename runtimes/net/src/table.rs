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
//! The table also keeps TCP sockets removed, closed, as spares:
//! [`Table::tcp_socket`] reuses one (smoltcp clears its buffers when it
//! listens or connects again) instead of zeroing two new buffers, which
//! was half of the image's time for short connections (wrk opening 32 at
//! a time). It keeps at most [`SPARES`], as many as one turn frees under
//! such a load; after [`SPARES_IDLE`] without a socket made, all but one
//! are freed at the next turn, so the heap after a burst is as it was
//! after one connection.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::ops::{Deref, DerefMut};

use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::{tcp, AnySocket, Socket};

use crate::listen::{tcp_socket, tune, BACKLOG};
use crate::Inner;

/// A table that never held more sockets than this is left as it is.
const SMALL: usize = 1024;

/// Spare TCP sockets kept at most.
const SPARES: usize = 2 * BACKLOG;

/// How long spares beyond one outlive the last socket made.
const SPARES_IDLE: smoltcp::time::Duration = smoltcp::time::Duration::from_secs(1);

/// New handles by old ones, after [`Table::compact`].
pub(crate) type Renaming = BTreeMap<SocketHandle, SocketHandle>;

/// A `SocketSet` that counts its sockets; reads go through `Deref`.
pub(crate) struct Table {
    set: SocketSet<'static>,
    live: usize,
    peak: usize,
    spares: Vec<tcp::Socket<'static>>,
    /// Whether a TCP socket was made since the last [`Table::trim`], and
    /// when one last was, as the turns saw it.
    made: bool,
    made_at: smoltcp::time::Instant,
}

impl Table {
    /// An empty table.
    pub(crate) fn new() -> Table {
        Table {
            set: SocketSet::new(Vec::new()),
            live: 0,
            peak: 0,
            spares: Vec::new(),
            made: false,
            made_at: smoltcp::time::Instant::ZERO,
        }
    }

    /// A closed TCP socket with `buffer` bytes each way, as
    /// [`tcp_socket`] makes one: a spare if one has that size.
    pub(crate) fn tcp_socket(&mut self, buffer: usize) -> tcp::Socket<'static> {
        self.made = true;
        let fits = |s: &tcp::Socket| s.recv_capacity() == buffer && s.send_capacity() == buffer;
        match self.spares.iter().rposition(fits) {
            Some(at) => {
                let mut socket = self.spares.swap_remove(at);
                // Out of the table it sends nothing: this only marks it
                // closed, so listen and connect take it.
                socket.abort();
                tune(&mut socket);
                socket
            }
            None => tcp_socket(buffer),
        }
    }

    /// Called each turn at `now`: frees the spares but one once no
    /// socket was made for [`SPARES_IDLE`].
    pub(crate) fn trim(&mut self, now: smoltcp::time::Instant) {
        if core::mem::take(&mut self.made) {
            self.made_at = now;
        } else if now >= self.made_at + SPARES_IDLE {
            self.spares.truncate(1);
        }
    }

    /// Adds `socket`; its handle.
    pub(crate) fn add<T: AnySocket<'static>>(&mut self, socket: T) -> SocketHandle {
        self.live += 1;
        self.peak = self.peak.max(self.live);
        self.set.add(socket)
    }

    /// Removes the socket `handle`: a TCP one becomes a spare while there
    /// are fewer than [`SPARES`]; others are freed.
    pub(crate) fn remove(&mut self, handle: SocketHandle) {
        self.live -= 1;
        if let Socket::Tcp(socket) = self.set.remove(handle) {
            if self.spares.len() < SPARES {
                self.spares.push(socket);
            }
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
        assert!(table.spares.is_empty(), "taken");

        // A spare of another size is not reused.
        let handle = table.add(again);
        table.remove(handle);
        assert_eq!(table.tcp_socket(128).recv_capacity(), 128);
    }

    #[test]
    fn spares_are_bounded_and_all_but_one_freed_when_idle() {
        use smoltcp::time::{Duration, Instant};
        let mut table = Table::new();
        let handles: Vec<SocketHandle> = (0..3 * SPARES)
            .map(|_| {
                let socket = table.tcp_socket(64);
                table.add(socket)
            })
            .collect();
        for h in handles {
            table.remove(h);
        }
        assert_eq!(table.spares.len(), SPARES, "kept at most");
        // Under load: sockets made each turn, the spares stay.
        let t0 = Instant::from_secs(10);
        table.trim(t0);
        let _ = table.tcp_socket(64);
        table.trim(t0 + Duration::from_secs(2));
        assert_eq!(table.spares.len(), SPARES - 1);
        table.trim(t0 + Duration::from_millis(2500));
        assert_eq!(
            table.spares.len(),
            SPARES - 1,
            "idle for less than a second"
        );
        table.trim(t0 + Duration::from_millis(3001));
        assert_eq!(table.spares.len(), 1, "idle for a second");
    }
}
