//! The tutorial's hello-key: logs the `--hello` runtime argument four times.
#![no_std]

extern crate alloc;

use alloc::string::String;
use mirage_types::Time;

/// Logs `hello` four times, one second apart.
pub async fn start<T: Time>(time: T, hello: String) -> Result<(), core::convert::Infallible> {
    for _ in 0..4 {
        log::info!("{hello}");
        time.sleep_ns(1_000_000_000).await;
    }
    Ok(())
}
