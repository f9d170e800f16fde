//! The socket stack: `Stack` on the host's own TCP/IP, as Mirage's
//! `socket_stackv4v6` on unix.
//!
//! Sockets are non-blocking and wait on the platform's `ppoll` (see
//! [`crate::readable`]). Like Mirage's, the stack listens on every address
//! of the host: IPv6 sockets that also take IPv4 (v4-mapped), IPv6 alone
//! with `--ipv6-only`, IPv4 alone with `--ipv4-only`. Peers are reported
//! with plain IPv4 addresses, never v4-mapped ones.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::rc::Rc;

use mirage_runtime::metrics;
use mirage_types::{Datagram, IpVersions, NetError};

use crate::admission::Admission;
use crate::socket_flow::{flow_error, SocketFlow};
use crate::udp::{Listening, Stop, UdpSockets};

/// Bytes read at once from a connection, and the largest datagram.
pub(crate) const READ_SIZE: usize = 64 * 1024;

/// The host's TCP/IP stack.
#[derive(Clone, Debug)]
pub struct SocketStack {
    versions: IpVersions,
    udp: UdpSockets,
    listening: Listening,
    admission: Admission,
}

impl SocketStack {
    /// The stack, speaking IPv4, IPv6 or both; peers hold at most
    /// `max_connections` accepted connections, `per_peer` from one address
    /// (`--tcp-max-connections`, `--tcp-max-connections-per-peer`).
    pub async fn connect(
        ipv4_only: bool,
        ipv6_only: bool,
        max_connections: i64,
        per_peer: i64,
    ) -> Result<SocketStack, String> {
        let versions = IpVersions::from_flags(ipv4_only, ipv6_only)?;
        let admission = Admission::from_args(max_connections, per_peer)?;
        let speaks = match versions {
            IpVersions::Both => "IPv4 and IPv6",
            IpVersions::V4 => "IPv4",
            IpVersions::V6 => "IPv6",
        };
        log::info!(target: "tcpip", "socket stack up: {speaks} on every host address");
        Ok(SocketStack {
            versions,
            udp: Rc::default(),
            listening: Rc::default(),
            admission,
        })
    }

    /// A socket of `kind` bound to `port` on every address the stack speaks.
    fn bind(&self, kind: libc::c_int, port: u16) -> io::Result<OwnedFd> {
        let any = match self.versions {
            IpVersions::V4 => SocketAddr::from(([0, 0, 0, 0], port)),
            IpVersions::V6 | IpVersions::Both => SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)),
        };
        let fd = socket(any, kind)?;
        if self.versions == IpVersions::V6 {
            set_option(&fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 1)?;
        }
        if kind == libc::SOCK_STREAM {
            set_option(&fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
        }
        let (addr, len) = sockaddr(any);
        // SAFETY: `addr` is a valid socket address of `len` bytes.
        check(unsafe { libc::bind(fd.as_raw_fd(), (&raw const addr).cast(), len) })?;
        Ok(fd)
    }

    /// `dst` as this stack's sockets reach it, or `Unreachable`.
    fn destination(&self, dst: SocketAddr) -> Result<SocketAddr, NetError> {
        match (self.versions, dst.ip()) {
            (IpVersions::V4, IpAddr::V6(_)) | (IpVersions::V6, IpAddr::V4(_)) => {
                Err(NetError::Unreachable)
            }
            (IpVersions::Both, IpAddr::V4(v4)) => {
                Ok(SocketAddr::new(v4.to_ipv6_mapped().into(), dst.port()))
            }
            _ => Ok(dst),
        }
    }

    /// The UDP socket of `src_port`, bound now if need be; an ephemeral one
    /// for `None`.
    fn udp_socket(&self, src_port: Option<u16>) -> Result<Rc<UdpSocket>, NetError> {
        let port = src_port.unwrap_or(0);
        if let Some((_, s)) = self.udp.borrow().iter().find(|(p, _)| *p == port) {
            return Ok(s.clone());
        }
        let socket = self
            .bind(libc::SOCK_DGRAM, port)
            .map_err(|e| bind_error(e, port))?;
        let socket = Rc::new(UdpSocket::from(socket));
        self.udp.borrow_mut().push((port, socket.clone()));
        Ok(socket)
    }
}

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// A non-blocking socket of `kind` for `addr`'s family.
fn socket(addr: SocketAddr, kind: libc::c_int) -> io::Result<OwnedFd> {
    let domain = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain system call; the result is checked.
    let fd =
        check(unsafe { libc::socket(domain, kind | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn set_option(
    fd: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `value` is a valid c_int for the call's duration.
    check(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw const value).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// `addr` as the C socket address the kernel reads.
fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from(*a.ip()).to_be(),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than, and aligned for, sockaddr_in.
            unsafe { (&raw mut storage).cast::<libc::sockaddr_in>().write(sin) };
            size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than, and aligned for, sockaddr_in6.
            unsafe { (&raw mut storage).cast::<libc::sockaddr_in6>().write(sin6) };
            size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// `addr` with a v4-mapped IPv6 address given as plain IPv4.
pub(crate) fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

fn bind_error(e: io::Error, port: u16) -> NetError {
    if e.kind() == io::ErrorKind::AddrInUse {
        NetError::InUse(port)
    } else {
        NetError::Device(e.to_string())
    }
}

/// Retries `op` until it does not block, waiting with `ready` in between.
pub(crate) async fn retry<T, R: Future<Output = ()>>(
    mut op: impl FnMut() -> io::Result<T>,
    ready: impl Fn() -> R,
) -> io::Result<T> {
    loop {
        match op() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => ready().await,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

impl mirage_types::Stack for SocketStack {
    type Flow = SocketFlow;

    fn listen_tcp<F, Fut>(&self, port: u16, handler: F)
    where
        F: Fn(SocketFlow) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let listener = self.bind(libc::SOCK_STREAM, port).and_then(|fd| {
            // SAFETY: plain system call on a socket we own.
            check(unsafe { libc::listen(fd.as_raw_fd(), libc::SOMAXCONN) })?;
            Ok(TcpListener::from(fd))
        });
        let listener = match listener {
            Ok(l) => l,
            Err(e) => return log::error!(target: "tcpip", "listen on TCP port {port}: {e}"),
        };
        let admission = self.admission.clone();
        let accepted = metrics::tcp_accepted(port);
        mirage_runtime::spawn(async move {
            let fd = listener.as_raw_fd();
            loop {
                match retry(|| listener.accept(), || crate::readable(fd)).await {
                    Ok((stream, peer)) => {
                        // Beyond a limit the stream is dropped: closed.
                        let Some(slot) = admission.admit(canonical(peer).ip()) else {
                            continue;
                        };
                        let _ = stream.set_nonblocking(true);
                        accepted.inc();
                        mirage_runtime::spawn(handler(SocketFlow::new(stream, peer, Some(slot))));
                    }
                    Err(e) => {
                        // Out of descriptors, say: give the others time to close.
                        log::error!(target: "tcpip", "accept on TCP port {port}: {e}");
                        mirage_runtime::time::sleep_ns(100_000_000).await;
                    }
                }
            }
        });
    }

    async fn connect_tcp(&self, dst: SocketAddr) -> Result<SocketFlow, NetError> {
        let to = self.destination(dst)?;
        let fd = socket(to, libc::SOCK_STREAM).map_err(flow_error)?;
        let (addr, len) = sockaddr(to);
        // SAFETY: `addr` is a valid socket address of `len` bytes.
        let r = check(unsafe { libc::connect(fd.as_raw_fd(), (&raw const addr).cast(), len) });
        match r {
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
                crate::writable(fd.as_raw_fd()).await;
                let stream = TcpStream::from(fd);
                if let Some(e) = stream.take_error().map_err(flow_error)? {
                    return Err(flow_error(e));
                }
                Ok(SocketFlow::new(stream, dst, None))
            }
            Err(e) => Err(flow_error(e)),
            Ok(_) => Ok(SocketFlow::new(TcpStream::from(fd), dst, None)),
        }
    }

    fn listen_udp<F, Fut>(&self, port: u16, handler: F)
    where
        F: Fn(Datagram) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        if let Err(e) = self.bind_udp(port, handler) {
            log::error!(target: "tcpip", "UDP port {port}: {e}");
        }
    }

    fn bind_udp<F, Fut>(&self, port: u16, handler: F) -> Result<(), NetError>
    where
        F: Fn(Datagram) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        if self.listening.borrow().iter().any(|(p, _)| *p == port) {
            return Err(NetError::InUse(port));
        }
        let socket = self.udp_socket(Some(port))?;
        let stop = Rc::new(Stop::default());
        self.listening.borrow_mut().push((port, stop.clone()));
        mirage_runtime::spawn(crate::udp::receive(socket, port, stop, handler));
        Ok(())
    }

    fn unlisten_udp(&self, port: u16) {
        self.udp.borrow_mut().retain(|(p, _)| *p != port);
        let mut listening = self.listening.borrow_mut();
        if let Some(at) = listening.iter().position(|(p, _)| *p == port) {
            listening.swap_remove(at).1.raise();
        }
    }

    async fn write_udp(
        &self,
        src_port: Option<u16>,
        dst: SocketAddr,
        data: &[u8],
    ) -> Result<(), NetError> {
        let to = self.destination(dst)?;
        let socket = self.udp_socket(src_port)?;
        let fd = socket.as_raw_fd();
        retry(|| socket.send_to(data, to), || crate::writable(fd))
            .await
            .map(drop)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::EMSGSIZE) => NetError::TooLarge(READ_SIZE),
                _ => flow_error(e),
            })
    }
}
