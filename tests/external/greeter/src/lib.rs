//! A user-defined device type, `greeter`, and one implementation of it
//! that writes on the console it is applied to.
#![no_std]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use core::future::Future;

use mirage_types::Console;

/// The `greeter` device type.
pub trait Greeter: Clone {
    /// Greets `name`.
    fn greet(&self, name: &str) -> impl Future<Output = ()>;
}

/// A greeter on a console, with a greeting chosen at boot.
#[derive(Clone)]
pub struct ConsoleGreeter<C> {
    console: C,
    greeting: String,
}

impl<C: Console> ConsoleGreeter<C> {
    /// Connects the greeter to `console`.
    pub async fn connect(console: C, greeting: String) -> Result<Self, core::convert::Infallible> {
        Ok(ConsoleGreeter { console, greeting })
    }
}

impl<C: Console> Greeter for ConsoleGreeter<C> {
    async fn greet(&self, name: &str) {
        let line = format!("{}, {name}!\n", self.greeting);
        let _ = self.console.write(line.as_bytes()).await;
    }
}
