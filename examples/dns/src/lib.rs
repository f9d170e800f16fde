//! mirage-skeleton's dns application: resolves each name of `--names`
//! with the `dns_client` device and logs its addresses, IPv6 first; fails
//! when any name does not resolve.
#![no_std]

extern crate alloc;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use mirage_dns::Dns;

/// Resolves every name of `names` (comma-separated).
pub async fn start<D: Dns>(dns: D, names: String) -> Result<(), String> {
    let names: Vec<&str> = names
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    let mut failed = 0;
    for name in &names {
        match dns.resolve(name).await {
            Ok(addresses) => {
                let addresses: Vec<String> = addresses.iter().map(ToString::to_string).collect();
                log::info!("{name}: {}", addresses.join(" "));
            }
            Err(e) => {
                log::error!("{name}: {e}");
                failed += 1;
            }
        }
    }
    match failed {
        0 => Ok(()),
        n => Err(format!("{n} of {} names did not resolve", names.len())),
    }
}
