//! An echo server: every byte received on `--port` goes back.
#![no_std]

extern crate alloc;

use mirage_types::{Stack, TcpFlow};

/// Echoes forever.
pub async fn start<S: Stack>(stack: S, port: i64) -> Result<(), &'static str> {
    let port = u16::try_from(port).map_err(|_| "--port must be 0 to 65535")?;
    stack.listen_tcp(port, |mut flow| async move {
        log::info!("echo: connection from {}", flow.peer());
        while let Ok(Some(data)) = flow.read().await {
            if flow.write(&data).await.is_err() {
                break;
            }
        }
        flow.close().await;
    });
    log::info!("echo: listening on port {port}");
    core::future::pending().await
}
