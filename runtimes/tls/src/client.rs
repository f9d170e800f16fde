//! The TLS client side (`tls_client`): server certificates are verified
//! by webpki against the CA certificates of a kv_ro store (`ca.pem`), or
//! against Mozilla's roots (webpki-roots) when the store has none, at the
//! time of the platform's POSIX clock. There is no way to skip
//! verification.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec;

use mirage_types::{KvError, KvRo, NetError, PosixClock, Random, TcpFlow};
use rustls::client::{ClientConfig, UnbufferedClientConnection};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::RootCertStore;

use crate::flow::TlsFlow;
use crate::provider;

/// The store key of the CA certificates clients trust (PEM).
pub const CA_KEY: &str = "ca.pem";

/// The `tls_client` device: one configuration, shared by its connections.
#[derive(Clone)]
pub struct TlsClient {
    config: Arc<ClientConfig>,
}

impl TlsClient {
    /// Connects the device: the roots from `roots`' `ca.pem`, or the
    /// bundled ones when it has no such key.
    pub async fn connect<K, R, P>(roots: K, random: R, pclock: P) -> Result<TlsClient, String>
    where
        K: KvRo,
        R: Random + Send + Sync + 'static,
        P: PosixClock + Send + Sync + 'static,
    {
        let mut store = RootCertStore::empty();
        match roots.get(CA_KEY).await {
            Ok(pem) => {
                for cert in CertificateDer::pem_slice_iter(&pem) {
                    let cert = cert.map_err(|e| format!("tls: {CA_KEY}: {e:?}"))?;
                    store.add(cert).map_err(|e| format!("tls: {CA_KEY}: {e}"))?;
                }
                if store.is_empty() {
                    return Err(format!("tls: {CA_KEY} holds no certificate"));
                }
                log::info!(
                    "tls: trusting the {} CA certificates of {CA_KEY}",
                    store.len()
                );
            }
            Err(KvError::NotFound(_)) => {
                store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                log::info!(
                    "tls: no {CA_KEY} in the store: trusting Mozilla's {} roots",
                    store.len()
                );
            }
            Err(e) => return Err(format!("tls: {CA_KEY}: {e}")),
        }
        let mut config = ClientConfig::builder_with_details(
            Arc::new(provider::crypto(random)),
            Arc::new(provider::Time(pclock)),
        )
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("tls: {e}"))?
        .with_root_certificates(store)
        .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsClient {
            config: Arc::new(config),
        })
    }
}

impl mirage_types::TlsClient for TlsClient {
    type Flow<F: TcpFlow> = TlsFlow<F, UnbufferedClientConnection>;

    async fn connect<F: TcpFlow>(&self, host: &str, flow: F) -> Result<Self::Flow<F>, NetError> {
        let name = ServerName::try_from(host.trim_matches(['[', ']']).to_string())
            .map_err(|_| NetError::Device(format!("tls: `{host}` is not a server name")))?;
        let conn = UnbufferedClientConnection::new(self.config.clone(), name)
            .map_err(|e| NetError::Device(format!("tls: {e}")))?;
        TlsFlow::handshake(flow, conn).await
    }
}
