//! A TCP connection of the socket stack: a non-blocking host socket, read
//! and written as the platform's `ppoll` says it is ready.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;

use mirage_runtime::metrics::{self, Gauge};
use mirage_types::NetError;

use crate::admission::Slot;
use crate::socket::{canonical, retry, READ_SIZE};

/// A TCP connection through a host socket. Dropping it closes it.
#[derive(Debug)]
pub struct SocketFlow {
    stream: TcpStream,
    peer: SocketAddr,
    /// An accepted connection's place among what peers hold.
    _slot: Option<Slot>,
    /// `mirage_tcp_connections_open`, lowered when the flow goes.
    open: Gauge,
}

impl SocketFlow {
    pub(crate) fn new(stream: TcpStream, peer: SocketAddr, slot: Option<Slot>) -> SocketFlow {
        // Small writes leave at once, as on the direct stack.
        let _ = stream.set_nodelay(true);
        let open = metrics::tcp_open();
        open.add(1);
        SocketFlow {
            stream,
            peer: canonical(peer),
            _slot: slot,
            open,
        }
    }
}

impl Drop for SocketFlow {
    fn drop(&mut self) {
        self.open.add(-1);
    }
}

impl mirage_types::TcpFlow for SocketFlow {
    async fn read(&mut self) -> Result<Option<Vec<u8>>, NetError> {
        let fd = self.stream.as_raw_fd();
        let mut buf = vec![0; READ_SIZE];
        let n = retry(|| (&self.stream).read(&mut buf), || crate::readable(fd))
            .await
            .map_err(flow_error)?;
        buf.truncate(n);
        Ok((n > 0).then_some(buf))
    }

    async fn write(&mut self, data: &[u8]) -> Result<(), NetError> {
        let fd = self.stream.as_raw_fd();
        let mut sent = 0;
        while sent < data.len() {
            sent += retry(
                || (&self.stream).write(&data[sent..]),
                || crate::writable(fd),
            )
            .await
            .map_err(flow_error)?;
        }
        Ok(())
    }

    async fn close(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    fn peer(&self) -> String {
        self.peer.to_string()
    }
}

/// A connection's I/O error as the stack reports it.
pub(crate) fn flow_error(e: io::Error) -> NetError {
    match e.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::NotConnected => NetError::Closed,
        io::ErrorKind::ConnectionRefused => NetError::Refused,
        io::ErrorKind::NetworkUnreachable
        | io::ErrorKind::HostUnreachable
        | io::ErrorKind::AddrNotAvailable => NetError::Unreachable,
        _ => NetError::Device(e.to_string()),
    }
}
