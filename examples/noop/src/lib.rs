//! The tutorial's noop: a unikernel that starts and stops.
#![no_std]

/// Does nothing, successfully.
pub async fn start() -> Result<(), core::convert::Infallible> {
    Ok(())
}
