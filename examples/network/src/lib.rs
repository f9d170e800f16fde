//! The tutorial's network example: listen on `--port`, log each connection,
//! and log what it sends at debug level.
#![no_std]

extern crate alloc;

use mirage_types::{Stack, TcpFlow};

/// Listens forever.
pub async fn start<S: Stack>(stack: S, port: i64) -> Result<(), &'static str> {
    let port = u16::try_from(port).map_err(|_| "--port must be 0 to 65535")?;
    stack.listen_tcp(port, |mut flow| async move {
        log::info!("new tcp connection from {}", flow.peer());
        while let Ok(Some(data)) = flow.read().await {
            log::debug!(
                "read: {} bytes:\n{}",
                data.len(),
                alloc::string::String::from_utf8_lossy(&data)
            );
        }
        flow.close().await;
    });
    log::info!("listening on port {port}");
    core::future::pending().await
}
