//! A monorepo team's unikernel, using its own `greeter` device.
#![no_std]

extern crate alloc;

use alloc::string::String;

use greeter::Greeter;

/// Greets `name` once.
pub async fn start<G: Greeter>(greeter: G, name: String) -> Result<(), core::convert::Infallible> {
    greeter.greet(&name).await;
    Ok(())
}
