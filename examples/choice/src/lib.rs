//! A configure-time choice: `--reporter=console|none` decides at configure
//! time whether the image has a log reporter at all.
#![no_std]

extern crate alloc;

use alloc::format;
use mirage_types::{Console, Info};

/// Logs one line, then writes the configuration to the console directly.
pub async fn start<C: Console, I: Info>(console: C, info: I) -> Result<(), C::Error> {
    log::info!("the reporter is on");
    let info = info.info();
    let keys: alloc::vec::Vec<_> = info.keys.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let line = format!(
        "{} on {} with {}\n",
        info.label,
        info.target,
        keys.join(" ")
    );
    console.write(line.as_bytes()).await
}
