//! Network device signatures: the Ethernet interface, TCP flows, TLS
//! sides, connections by name and the IPv4+IPv6 stack (`Mirage_net.S`,
//! `Tcpip.Stack.V4V6`, `Tls_mirage`), with the errors they share.

use core::fmt::Display;
use core::future::Future;

pub use core::net::{IpAddr, SocketAddr};

/// Why a network operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetError {
    /// The device refused the frame or failed.
    Device(alloc::string::String),
    /// The connection was reset or closed by the peer.
    Closed,
    /// The peer refused the connection.
    Refused,
    /// No route or no source address reaches the destination, or the stack
    /// does not speak its IP version.
    Unreachable,
    /// The port is taken.
    InUse(u16),
    /// The datagram is larger than this many bytes, the most one frame carries.
    TooLarge(usize),
}

impl Display for NetError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            NetError::Device(why) => write!(f, "network device: {why}"),
            NetError::Closed => f.write_str("connection closed"),
            NetError::Refused => f.write_str("connection refused"),
            NetError::Unreachable => f.write_str("destination unreachable"),
            NetError::InUse(port) => write!(f, "port {port} is in use"),
            NetError::TooLarge(max) => write!(f, "datagram larger than {max} bytes"),
        }
    }
}

/// `Mirage_net.S`: an Ethernet interface.
pub trait Net: Clone {
    /// Its MAC address.
    fn mac(&self) -> [u8; 6];
    /// The largest frame payload it carries (without the Ethernet header).
    fn mtu(&self) -> usize;
    /// Reads one frame into `buf` without waiting: `Ok(None)` when none is
    /// pending.
    fn read(&self, buf: &mut [u8]) -> Result<Option<usize>, NetError>;
    /// Completes when a frame may be pending.
    fn readable(&self) -> impl Future<Output = ()>;
    /// Sends one frame.
    fn write(&self, frame: &[u8]) -> Result<(), NetError>;
    /// Whether every frame read and written carries a `virtio_net_hdr`
    /// in front and may be a TCP segment of up to 64 KiB that the host
    /// cuts and checksums for a wire of [`Net::mtu`] (Solo5's tenders with
    /// rules_mirage's offload patch).
    fn offload(&self) -> bool {
        false
    }
}

/// A TCP connection (`Tcpip.Tcp.S` flows).
pub trait TcpFlow {
    /// The next bytes received; `Ok(None)` once the peer closed its side.
    fn read(&mut self) -> impl Future<Output = Result<Option<alloc::vec::Vec<u8>>, NetError>>;
    /// Sends all of `data`.
    fn write(&mut self, data: &[u8]) -> impl Future<Output = Result<(), NetError>>;
    /// Closes the connection.
    fn close(&mut self) -> impl Future<Output = ()>;
    /// The peer, as `address:port`.
    fn peer(&self) -> alloc::string::String;
}

/// A TLS server (`Tls_mirage`'s server side): wraps accepted TCP flows.
pub trait TlsServer: Clone + 'static {
    /// An established TLS connection over flow `F`: a flow of plaintext.
    type Flow<F: TcpFlow>: TcpFlow;
    /// Completes the handshake over `flow`.
    fn accept<F: TcpFlow>(&self, flow: F) -> impl Future<Output = Result<Self::Flow<F>, NetError>>;
}

/// A TLS client (`Tls_mirage`'s client side): wraps connected TCP flows.
pub trait TlsClient: Clone + 'static {
    /// An established TLS connection over flow `F`: a flow of plaintext.
    type Flow<F: TcpFlow>: TcpFlow;
    /// Completes the handshake over `flow` with server `host` (a DNS name
    /// or an IP address), whose certificate must be valid for it.
    fn connect<F: TcpFlow>(
        &self,
        host: &str,
        flow: F,
    ) -> impl Future<Output = Result<Self::Flow<F>, NetError>>;
}

/// TCP connections by host name (the `happy_eyeballs` device type).
pub trait Connect: Clone + 'static {
    /// Its connections.
    type Flow: TcpFlow + 'static;
    /// A connection to `host` (a name or an IP address) on `port`; the
    /// error says what failed (lookup, refusals, timeout).
    fn connect(
        &self,
        host: &str,
        port: u16,
    ) -> impl Future<Output = Result<Self::Flow, alloc::string::String>>;
}

/// Which IP versions a stack speaks: `--ipv4-only` and `--ipv6-only`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpVersions {
    /// IPv4 and IPv6 (neither flag).
    Both,
    /// IPv4 alone.
    V4,
    /// IPv6 alone.
    V6,
}

impl IpVersions {
    /// From the two flags, which exclude each other.
    pub fn from_flags(ipv4_only: bool, ipv6_only: bool) -> Result<IpVersions, &'static str> {
        match (ipv4_only, ipv6_only) {
            (true, true) => Err("--ipv4-only and --ipv6-only exclude each other"),
            (true, false) => Ok(IpVersions::V4),
            (false, true) => Ok(IpVersions::V6),
            (false, false) => Ok(IpVersions::Both),
        }
    }

    /// Whether IPv4 is spoken.
    pub fn ipv4(self) -> bool {
        self != IpVersions::V6
    }

    /// Whether IPv6 is spoken.
    pub fn ipv6(self) -> bool {
        self != IpVersions::V4
    }
}

/// A UDP datagram received on a listening port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// Where it came from.
    pub src: SocketAddr,
    /// The local port it was sent to.
    pub dst_port: u16,
    /// Its payload.
    pub data: alloc::vec::Vec<u8>,
}

/// `Tcpip.Stack.V4V6`: an IPv4 and IPv6 stack with TCP and UDP.
///
/// Listening never fails the caller: a port that cannot be bound is logged
/// (source `tcpip`), as Mirage's `listen` does. Everything else returns
/// errors as values.
pub trait Stack: Clone {
    /// Its TCP connections.
    type Flow: TcpFlow + 'static;
    /// Calls `handler` with each new connection to TCP `port`, each in a
    /// task of its own.
    fn listen_tcp<F, Fut>(&self, port: u16, handler: F)
    where
        F: Fn(Self::Flow) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static;
    /// Opens a TCP connection to `dst`.
    fn connect_tcp(&self, dst: SocketAddr) -> impl Future<Output = Result<Self::Flow, NetError>>;
    /// Calls `handler` with each datagram sent to UDP `port`, each in a task
    /// of its own.
    fn listen_udp<F, Fut>(&self, port: u16, handler: F)
    where
        F: Fn(Datagram) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static;
    /// Like `listen_udp`, for a port the caller frees with `unlisten_udp`
    /// (a client's port for one exchange), and saying when it cannot:
    /// `InUse` when the port is taken.
    fn bind_udp<F, Fut>(&self, port: u16, handler: F) -> Result<(), NetError>
    where
        F: Fn(Datagram) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static;
    /// Stops delivering datagrams to UDP `port` and frees it (and its
    /// buffers); datagrams to it are dropped from now on.
    fn unlisten_udp(&self, port: u16);
    /// Sends `data` in one datagram to `dst`, from `src_port` (a listening
    /// port, or any port) or else from an ephemeral port.
    fn write_udp(
        &self,
        src_port: Option<u16>,
        dst: SocketAddr,
        data: &[u8],
    ) -> impl Future<Output = Result<(), NetError>>;
}
