//! What a client sends never panics the server: a real ClientHello, then
//! 100,000 fixed-seed mutations of it and of other records, each through a
//! server handshake over an in-memory flow. The certificate is made with
//! openssl at test time.

extern crate std;

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use mirage_runtime::fuzz::Rng;
use mirage_types::{NetError, TcpFlow, TlsServer as _};
use rustls::client::UnbufferedClientConnection;
use rustls::pki_types::ServerName;
use rustls::unbuffered::ConnectionState;
use rustls::{ClientConfig, RootCertStore};

use crate::TlsServer;

/// A flow whose peer sent `incoming`, then closed.
struct MemFlow {
    incoming: VecDeque<Vec<u8>>,
    sent: Vec<u8>,
}

impl TcpFlow for MemFlow {
    async fn read(&mut self) -> Result<Option<Vec<u8>>, NetError> {
        Ok(self.incoming.pop_front())
    }
    async fn write(&mut self, data: &[u8]) -> Result<(), NetError> {
        self.sent.extend_from_slice(data);
        Ok(())
    }
    async fn close(&mut self) {}
    fn peer(&self) -> String {
        String::from("test")
    }
}

/// Runs `fut`, which an in-memory flow never leaves waiting.
fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("an in-memory flow never waits"),
    }
}

#[derive(Clone, Copy)]
struct Random;

impl mirage_types::Random for Random {
    fn generate(&self, buf: &mut [u8]) {
        buf.fill(0x5a);
    }
}

/// 2026-11-29.
#[derive(Clone, Copy)]
struct Clock;

impl mirage_types::PosixClock for Clock {
    fn now_d_ps(&self) -> (i64, u64) {
        (20_786, 0)
    }
    fn current_tz_offset_s(&self) -> Option<i32> {
        Some(0)
    }
}

/// A server with a fresh self-signed P-256 certificate for localhost.
fn server() -> TlsServer {
    static MADE: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);
    let n = MADE.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(std::format!("mirage-tls-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is installed");
    assert!(out.status.success(), "{out:?}");
    let server = TlsServer::from_pem(
        &std::fs::read(&cert).unwrap(),
        &std::fs::read(&key).unwrap(),
        Random,
        Clock,
    );
    std::fs::remove_dir_all(&dir).unwrap();
    server.unwrap()
}

/// A real client's first flight: its ClientHello record.
fn client_hello() -> Vec<u8> {
    let config = ClientConfig::builder_with_details(
        Arc::new(rustls::crypto::ring::default_provider()),
        Arc::new(crate::provider::Time(Clock)),
    )
    .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
    .unwrap()
    .with_root_certificates(RootCertStore::empty())
    .with_no_client_auth();
    let name = ServerName::try_from("localhost").unwrap();
    let mut client = UnbufferedClientConnection::new(Arc::new(config), name).unwrap();
    let status = client.process_tls_records(&mut []);
    let Ok(ConnectionState::EncodeTlsData(mut data)) = status.state else {
        panic!("a client starts by encoding its hello");
    };
    let mut hello = vec![0; 4096];
    let n = data.encode(&mut hello).unwrap();
    hello.truncate(n);
    hello
}

/// The handshake of a server whose client sent `chunks` and closed.
fn handshake(server: &TlsServer, chunks: Vec<Vec<u8>>) -> Vec<u8> {
    let mut sent = Vec::new();
    let flow = MemFlow {
        incoming: chunks.into(),
        sent: Vec::new(),
    };
    // The peer never finishes: every handshake must end in an error.
    match block_on(server.accept(SentTo(flow, &mut sent))) {
        Ok(_) => panic!("a handshake completed without a client"),
        Err(_) => sent,
    }
}

/// Keeps what the server sent after the flow is dropped.
struct SentTo<'a>(MemFlow, &'a mut Vec<u8>);

impl TcpFlow for SentTo<'_> {
    async fn read(&mut self) -> Result<Option<Vec<u8>>, NetError> {
        self.0.read().await
    }
    async fn write(&mut self, data: &[u8]) -> Result<(), NetError> {
        self.1.extend_from_slice(data);
        Ok(())
    }
    async fn close(&mut self) {}
    fn peer(&self) -> String {
        self.0.peer()
    }
}

#[test]
fn a_real_client_hello_is_answered_with_a_server_hello() {
    let sent = handshake(&server(), vec![client_hello()]);
    // A handshake record (22) of TLS 1.2's record version, as TLS 1.3 sends.
    assert_eq!(&sent[..3], &[22, 3, 3], "{sent:?}");
}

#[test]
fn a_hundred_thousand_mutated_records_never_panic() {
    let server = server();
    let hello = client_hello();
    let records: [&[u8]; 4] = [
        &hello,
        // An alert, application data, and a change_cipher_spec.
        &[21, 3, 3, 0, 2, 2, 40],
        &[23, 3, 3, 0, 5, b'h', b'e', b'l', b'l', b'o'],
        &[20, 3, 3, 0, 1, 1],
    ];
    let mut rng = Rng::new(0x7f4a_7c15_9e37_79b9);
    let (mut answered, mut silent) = (0u32, 0u32);
    for _ in 0..100_000 {
        let mut bytes = rng.pick(&records).to_vec();
        rng.mutate(&mut bytes, 2, &[0, 1, 3, 22, 0xff]);
        // Delivered whole or cut in two reads.
        let cut = rng.below(bytes.len() + 1);
        let chunks = vec![bytes[..cut].to_vec(), bytes[cut..].to_vec()];
        if handshake(&server, chunks).is_empty() {
            silent += 1;
        } else {
            answered += 1;
        }
    }
    assert!(
        answered > 1_000 && silent > 1_000,
        "{answered} answered, {silent} silent"
    );
}
