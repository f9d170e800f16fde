//! TLS servers and clients over any TCP flow, after Mirage's `tls_mirage`:
//! rustls (no_std, ring's primitives), TLS 1.2 and 1.3, ALPN `http/1.1`.
//! Clients ([`TlsClient`]) verify the server's certificate (see `client`).
//!
//! A [`TlsServer`] reads its certificate chain and private key from a
//! kv_ro store when it connects (`server.pem`, `server.key`, as
//! mirage-skeleton's static_website_tls does), takes randomness from the
//! platform's random device and the time from its POSIX clock, and wraps
//! accepted flows into [`TlsFlow`]s. A malformed record closes the
//! connection (without the fatal alert rustls queues: its unbuffered API
//! reads the next record before it would hand the alert over); nothing a
//! client sends panics the image.
#![no_std]
#![deny(unsafe_code)]

extern crate alloc;

mod client;
mod flow;
mod provider;
#[cfg(test)]
mod tests;

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use mirage_types::{KvRo, NetError, PosixClock, Random, TcpFlow};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ServerConfig, UnbufferedServerConnection};

pub use client::{TlsClient, CA_KEY};
pub use flow::TlsFlow;

/// The store key of the certificate chain (PEM, leaf first).
pub const CERT_KEY: &str = "server.pem";
/// The store key of the private key (PEM: PKCS#8, PKCS#1 or SEC1).
pub const PRIVATE_KEY: &str = "server.key";

/// The `tls_server` device: one configuration, shared by its connections.
#[derive(Clone)]
pub struct TlsServer {
    config: Arc<ServerConfig>,
}

impl TlsServer {
    /// Connects the device: reads the certificate chain and key from
    /// `keys`, checks that they match.
    pub async fn connect<K, R, P>(keys: K, random: R, pclock: P) -> Result<TlsServer, String>
    where
        K: KvRo,
        R: Random + Send + Sync + 'static,
        P: PosixClock + Send + Sync + 'static,
    {
        let chain = keys
            .get(CERT_KEY)
            .await
            .map_err(|e| format!("tls: the certificate chain: {e}"))?;
        let key = keys
            .get(PRIVATE_KEY)
            .await
            .map_err(|e| format!("tls: the private key: {e}"))?;
        let server = TlsServer::from_pem(&chain, &key, random, pclock)?;
        log::info!("tls: certificate chain and key loaded from the store");
        Ok(server)
    }

    /// The server of a PEM certificate chain and private key.
    pub fn from_pem<R, P>(chain: &[u8], key: &[u8], random: R, pclock: P) -> Result<Self, String>
    where
        R: Random + Send + Sync + 'static,
        P: PosixClock + Send + Sync + 'static,
    {
        let chain = CertificateDer::pem_slice_iter(chain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("tls: {CERT_KEY}: {e:?}"))?;
        if chain.is_empty() {
            return Err(format!("tls: {CERT_KEY} holds no certificate"));
        }
        let key =
            PrivateKeyDer::from_pem_slice(key).map_err(|e| format!("tls: {PRIVATE_KEY}: {e:?}"))?;
        let mut config = ServerConfig::builder_with_details(
            Arc::new(provider::crypto(random)),
            Arc::new(provider::Time(pclock)),
        )
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("tls: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("tls: the certificate and key: {e}"))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        // The server's order (ring's: AES-256-GCM, AES-128-GCM, ChaCha20),
        // not the client's, picks the suite.
        config.ignore_client_order = true;
        Ok(TlsServer {
            config: Arc::new(config),
        })
    }
}

impl mirage_types::TlsServer for TlsServer {
    type Flow<F: TcpFlow> = TlsFlow<F>;

    async fn accept<F: TcpFlow>(&self, flow: F) -> Result<TlsFlow<F>, NetError> {
        let conn = UnbufferedServerConnection::new(self.config.clone())
            .map_err(|e| NetError::Device(format!("tls: {e}")))?;
        TlsFlow::handshake(flow, conn).await
    }
}
