//! Connections on listening ports, by peer: a SYN for a connection that
//! already has a socket belongs to that socket, never to a listening one.
//!
//! smoltcp hands a segment to the first socket of its set that accepts it,
//! and a listening socket accepts any SYN to its port. When a peer sends
//! its SYN again (its SYN-ACK was late, as under load) and a listening
//! socket sits in a lower slot than the connection's socket, that
//! listening socket takes the copy: a second handshake for the same peer,
//! whose SYN-ACK (answered by the peer's ACK, then this stack's RST) or
//! whose RST for the first connection's ACK resets the peer's connection,
//! even after it was established. The device drops such a SYN instead, as
//! a lost one: the connection's own socket sends its SYN-ACK again.
//!
//! A new connection that reuses the 4-tuple of one still closing here
//! waits for it to be freed (the peer sends its SYN again).
//!
//! The same count bounds what peers may open: a SYN beyond
//! `--tcp-max-connections` sockets on listening ports (half-open, open and
//! closing alike), or beyond `--tcp-max-connections-per-peer` from one
//! address, is dropped as a full backlog drops it; the peer tries again
//! later. So one client, or many, can hold only so many sockets' buffers.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp;
use smoltcp::wire::IpAddress;

/// A connection as its SYN names it: the peer's address and port, and the
/// local port.
pub(crate) type Key = (IpAddress, u16, u16);

/// How many sockets peers may hold on listening ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// All peers together.
    pub max: usize,
    /// One peer address.
    pub per_peer: usize,
}

#[cfg(test)]
impl Limits {
    /// No limit: for tests of what limits do not touch.
    pub(crate) const NONE: Limits = Limits {
        max: usize::MAX,
        per_peer: usize::MAX,
    };
}

/// What becomes of a SYN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    /// A listening socket may take it.
    Admit,
    /// Its connection has a socket: dropped, that socket answers.
    Again,
    /// Dropped: the limit named (a runtime arg) is reached.
    Full(&'static str),
}

/// The connections on listening ports that have a socket, and the SYNs let
/// through since the listeners last looked.
pub(crate) struct Peers {
    by_key: BTreeMap<Key, SocketHandle>,
    by_socket: BTreeMap<SocketHandle, Key>,
    /// Sockets per peer address.
    by_addr: BTreeMap<IpAddress, usize>,
    /// SYNs let through in this poll: a copy in the same poll is dropped
    /// too, before any socket has taken the first.
    fresh: Vec<Key>,
    limits: Limits,
}

impl Peers {
    /// No connections yet, at most `limits`.
    pub(crate) fn new(limits: Limits) -> Peers {
        Peers {
            by_key: BTreeMap::new(),
            by_socket: BTreeMap::new(),
            by_addr: BTreeMap::new(),
            fresh: Vec::new(),
            limits,
        }
    }

    /// Whether a SYN naming `key` may reach the sockets; if so, it counts
    /// as taken until [`Peers::settle`].
    pub(crate) fn admit(&mut self, key: Key) -> Admission {
        if self.by_key.contains_key(&key) || self.fresh.contains(&key) {
            return Admission::Again;
        }
        if self.by_key.len() + self.fresh.len() >= self.limits.max {
            return Admission::Full("--tcp-max-connections");
        }
        let fresh = self.fresh.iter().filter(|k| k.0 == key.0).count();
        if self.by_addr.get(&key.0).copied().unwrap_or(0) + fresh >= self.limits.per_peer {
            return Admission::Full("--tcp-max-connections-per-peer");
        }
        self.fresh.push(key);
        Admission::Admit
    }

    /// `socket`, which has just left listening with a SYN, is its peer's.
    pub(crate) fn taken(&mut self, socket: &tcp::Socket, handle: SocketHandle) {
        if let (Some(remote), Some(local)) = (socket.remote_endpoint(), socket.local_endpoint()) {
            let key = (remote.addr, remote.port, local.port);
            self.by_key.insert(key, handle);
            self.by_socket.insert(handle, key);
            *self.by_addr.entry(key.0).or_default() += 1;
        }
    }

    /// Every socket that took a SYN in this poll was passed to
    /// [`Peers::taken`].
    pub(crate) fn settle(&mut self) {
        self.fresh.clear();
    }

    /// The socket `handle` is freed: its peer may connect again.
    pub(crate) fn freed(&mut self, handle: SocketHandle) {
        if let Some(key) = self.by_socket.remove(&handle) {
            self.by_key.remove(&key);
            if let Some(n) = self.by_addr.get_mut(&key.0) {
                *n -= 1;
                if *n == 0 {
                    self.by_addr.remove(&key.0);
                }
            }
        }
    }

    /// Renames the sockets after the table was rebuilt.
    pub(crate) fn rename(&mut self, renaming: &crate::table::Renaming) {
        self.by_key = core::mem::take(&mut self.by_key)
            .into_iter()
            .filter_map(|(key, h)| Some((key, *renaming.get(&h)?)))
            .collect();
        self.by_socket = core::mem::take(&mut self.by_socket)
            .into_iter()
            .filter_map(|(h, key)| Some((*renaming.get(&h)?, key)))
            .collect();
    }

    /// Connections known by peer.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_key.len()
    }
}
