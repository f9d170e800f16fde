//! A TLS connection over a TCP flow, driving rustls's unbuffered API, the
//! same for both sides: the records received wait in `incoming` until
//! they are whole, the records to send are encoded into `outgoing` and
//! written to the flow.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use mirage_types::{NetError, TcpFlow};
use rustls::client::UnbufferedClientConnection;
use rustls::server::UnbufferedServerConnection;
use rustls::unbuffered::{ConnectionState, EncodeError, EncryptError, UnbufferedStatus};

/// A side of a connection: rustls gives each its own record processing.
pub trait Side {
    /// The side's connection data.
    type Data;
    /// rustls's `process_tls_records` of this side.
    fn process<'c, 'i>(
        &'c mut self,
        incoming: &'i mut [u8],
    ) -> UnbufferedStatus<'c, 'i, Self::Data>;
}

impl Side for UnbufferedServerConnection {
    type Data = rustls::server::ServerConnectionData;
    fn process<'c, 'i>(
        &'c mut self,
        incoming: &'i mut [u8],
    ) -> UnbufferedStatus<'c, 'i, Self::Data> {
        self.process_tls_records(incoming)
    }
}

impl Side for UnbufferedClientConnection {
    type Data = rustls::client::ClientConnectionData;
    fn process<'c, 'i>(
        &'c mut self,
        incoming: &'i mut [u8],
    ) -> UnbufferedStatus<'c, 'i, Self::Data> {
        self.process_tls_records(incoming)
    }
}

/// A TLS connection, server side by default: a [`TcpFlow`] of plaintext.
pub struct TlsFlow<F, C = UnbufferedServerConnection> {
    flow: F,
    conn: C,
    /// Bytes received and not yet processed (a partial record).
    incoming: Vec<u8>,
    /// Encoding space for the records to send.
    outgoing: Vec<u8>,
    /// Application data decrypted and not yet read.
    plain: Vec<u8>,
    /// The peer sent close_notify.
    peer_closed: bool,
}

/// What the connection does when it may send application data.
enum Action<'a> {
    Nothing,
    Send(&'a [u8]),
    CloseNotify,
}

/// Where processing stopped.
enum Next {
    /// The handshake waits for more bytes from the peer.
    NeedBytes,
    /// The handshake is complete; the action was done.
    Traffic,
    /// Both sides closed.
    Closed,
}

fn tls_error(e: impl core::fmt::Display) -> NetError {
    NetError::Device(format!("tls: {e}"))
}

/// A handshake failure, in words a user acts on: rustls shows some
/// certificate problems only in debug form.
fn handshake_error(e: rustls::Error) -> NetError {
    use rustls::CertificateError as C;
    let date = |t: rustls::pki_types::UnixTime| {
        let secs = t.as_secs();
        mirage_runtime::log::rfc3339((secs / 86_400) as i64, secs % 86_400 * 1_000_000_000_000)
    };
    let why = match &e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::NotValidForNameContext {
                expected,
                presented,
            } => {
                // rustls gives the names in debug form: DnsName("x").
                let bare = |n: &str| {
                    let inner = n
                        .split_once('(')
                        .map_or(n, |(_, rest)| rest.trim_end_matches(')'));
                    inner.trim_matches('"').to_string()
                };
                let presented: Vec<String> = presented.iter().map(|n| bare(n)).collect();
                let expected = match expected {
                    rustls::pki_types::ServerName::DnsName(d) => d.as_ref().to_string(),
                    other => bare(&format!("{other:?}")),
                };
                format!(
                    "the server's certificate is for {}, not {expected}",
                    presented.join(", ")
                )
            }
            C::NotValidForName => "the server's certificate is not for this name".into(),
            C::ExpiredContext { not_after, .. } => {
                format!("the server's certificate expired at {}", date(*not_after))
            }
            C::Expired => "the server's certificate has expired".into(),
            C::NotValidYetContext { not_before, .. } => {
                format!(
                    "the server's certificate is valid from {} only",
                    date(*not_before)
                )
            }
            C::NotValidYet => "the server's certificate is not valid yet".into(),
            C::UnknownIssuer => "the server's certificate is signed by no trusted CA".into(),
            other => format!("the server's certificate: {other:?}"),
        },
        other => other.to_string(),
    };
    NetError::Device(format!("tls: {why}"))
}

impl<F: TcpFlow, C: Side> TlsFlow<F, C> {
    /// Completes the handshake of `conn` over `flow`.
    pub(crate) async fn handshake(flow: F, conn: C) -> Result<TlsFlow<F, C>, NetError> {
        let mut tls = TlsFlow {
            flow,
            conn,
            incoming: Vec::new(),
            outgoing: Vec::new(),
            plain: Vec::new(),
            peer_closed: false,
        };
        loop {
            match tls.process(Action::Nothing).await? {
                Next::Traffic => return Ok(tls),
                Next::NeedBytes => tls.receive().await?,
                Next::Closed => return Err(NetError::Closed),
            }
        }
    }

    /// Appends the flow's next bytes to `incoming`.
    async fn receive(&mut self) -> Result<(), NetError> {
        match self.flow.read().await? {
            Some(data) => {
                self.incoming.extend_from_slice(&data);
                Ok(())
            }
            // A peer gone without close_notify: possibly truncated.
            None => Err(NetError::Closed),
        }
    }

    /// Processes every whole record in `incoming`, sending what the
    /// connection has to send, until it needs more bytes or may send
    /// application data, which it then does (`action`).
    async fn process(&mut self, action: Action<'_>) -> Result<Next, NetError> {
        let mut encoded = 0;
        loop {
            let UnbufferedStatus { mut discard, state } = self.conn.process(&mut self.incoming);
            let next = match state.map_err(handshake_error)? {
                ConnectionState::ReadTraffic(mut records) => {
                    while let Some(record) = records.next_record() {
                        let record = record.map_err(tls_error)?;
                        discard += record.discard;
                        self.plain.extend_from_slice(record.payload);
                    }
                    None
                }
                ConnectionState::EncodeTlsData(mut data) => {
                    loop {
                        match data.encode(&mut self.outgoing[encoded..]) {
                            Ok(n) => break encoded += n,
                            Err(EncodeError::InsufficientSize(s)) => {
                                self.outgoing.resize(encoded + s.required_size, 0)
                            }
                            Err(e) => return Err(tls_error(e)),
                        }
                    }
                    None
                }
                ConnectionState::TransmitTlsData(data) => {
                    self.flow.write(&self.outgoing[..encoded]).await?;
                    encoded = 0;
                    data.done();
                    None
                }
                ConnectionState::BlockedHandshake => Some(Next::NeedBytes),
                ConnectionState::PeerClosed => {
                    self.peer_closed = true;
                    None
                }
                ConnectionState::Closed => Some(Next::Closed),
                ConnectionState::WriteTraffic(mut traffic) => {
                    let n = match action {
                        Action::Nothing => 0,
                        Action::Send(data) => loop {
                            match traffic.encrypt(data, &mut self.outgoing) {
                                Ok(n) => break n,
                                Err(EncryptError::InsufficientSize(s)) => {
                                    self.outgoing.resize(s.required_size, 0)
                                }
                                Err(e) => return Err(tls_error(e)),
                            }
                        },
                        Action::CloseNotify => loop {
                            match traffic.queue_close_notify(&mut self.outgoing) {
                                Ok(n) => break n,
                                Err(EncryptError::InsufficientSize(s)) => {
                                    self.outgoing.resize(s.required_size, 0)
                                }
                                Err(e) => return Err(tls_error(e)),
                            }
                        },
                    };
                    if n > 0 {
                        self.flow.write(&self.outgoing[..n]).await?;
                    }
                    Some(Next::Traffic)
                }
                _ => return Err(tls_error("early data is not accepted")),
            };
            self.incoming.drain(..discard);
            if let Some(next) = next {
                return Ok(next);
            }
        }
    }
}

impl<F: TcpFlow, C: Side> TcpFlow for TlsFlow<F, C> {
    async fn read(&mut self) -> Result<Option<Vec<u8>>, NetError> {
        loop {
            if !self.plain.is_empty() {
                return Ok(Some(core::mem::take(&mut self.plain)));
            }
            if self.peer_closed {
                return Ok(None);
            }
            if let Next::Closed = self.process(Action::Nothing).await? {
                return Ok(None);
            }
            if self.plain.is_empty() && !self.peer_closed {
                match self.flow.read().await? {
                    Some(data) => self.incoming.extend_from_slice(&data),
                    None => return Ok(None),
                }
            }
        }
    }

    async fn write(&mut self, data: &[u8]) -> Result<(), NetError> {
        match self.process(Action::Send(data)).await? {
            Next::Traffic => Ok(()),
            Next::NeedBytes | Next::Closed => Err(NetError::Closed),
        }
    }

    async fn close(&mut self) {
        if let Err(e) = self.process(Action::CloseNotify).await {
            log::debug!("tls: close_notify to {}: {e}", self.flow.peer());
        }
        self.flow.close().await
    }

    fn peer(&self) -> String {
        self.flow.peer()
    }
}
