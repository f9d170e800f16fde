//! The tutorial's hello: logs "hello" four times, one second apart.
#![no_std]

use mirage_types::Time;

/// Logs "hello" four times, sleeping one second after each.
pub async fn start<T: Time>(time: T) -> Result<(), core::convert::Infallible> {
    for _ in 0..4 {
        log::info!("hello");
        time.sleep_ns(1_000_000_000).await;
    }
    Ok(())
}
