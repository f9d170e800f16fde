//! An echo server: every byte received on TCP `--port` goes back, and so
//! does every UDP datagram to that port. With `--peer=ADDRESS:PORT` it also
//! connects out and echoes on that connection, after a greeting.
#![no_std]

extern crate alloc;

use mirage_types::{SocketAddr, Stack, TcpFlow};

/// Sends back what `flow` receives until the peer closes.
async fn echo<F: TcpFlow>(mut flow: F) {
    while let Ok(Some(data)) = flow.read().await {
        if flow.write(&data).await.is_err() {
            break;
        }
    }
    flow.close().await;
}

/// Echoes forever.
pub async fn start<S: Stack + 'static>(
    stack: S,
    port: i64,
    peer: alloc::string::String,
) -> Result<(), &'static str> {
    let port = u16::try_from(port).map_err(|_| "--port must be 0 to 65535")?;
    stack.listen_tcp(port, |flow| async move {
        log::info!("echo: connection from {}", flow.peer());
        echo(flow).await;
    });
    let udp = stack.clone();
    stack.listen_udp(port, move |d| {
        let udp = udp.clone();
        async move {
            log::info!("echo: {} bytes over UDP from {}", d.data.len(), d.src);
            if let Err(e) = udp.write_udp(Some(port), d.src, &d.data).await {
                log::warn!("echo: UDP reply to {}: {e}", d.src);
            }
        }
    });
    log::info!("echo: listening on port {port}");
    if !peer.is_empty() {
        let dst: SocketAddr = peer.parse().map_err(|_| "--peer must be ADDRESS:PORT")?;
        match stack.connect_tcp(dst).await {
            Ok(mut flow) => {
                log::info!("echo: connected to {dst}");
                if flow.write(b"echo: hello\n").await.is_ok() {
                    echo(flow).await;
                }
            }
            Err(e) => log::error!("echo: connecting to {dst}: {e}"),
        }
    }
    core::future::pending().await
}
