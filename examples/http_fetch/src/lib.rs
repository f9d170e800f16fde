//! mirage-skeleton's device-usage/http-fetch: GET the URL of `--uri`, log
//! the status line, the headers at debug level, and the body's size and
//! sha256; succeed on a 2xx status.
#![no_std]

extern crate alloc;

use alloc::format;
use alloc::string::String;

use mirage_http::HttpClient;
use sha2::{Digest, Sha256};

/// Fetches `uri` once.
pub async fn start<H: HttpClient>(http: H, uri: String) -> Result<(), String> {
    let response = http.get(&uri).await?;
    log::info!("{}: {} {}", response.url, response.status, response.reason);
    for (name, value) in &response.headers {
        log::debug!("{name}: {value}");
    }
    let digest = Sha256::digest(&response.body);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    log::info!("body: {} bytes, sha256 {hex}", response.body.len());
    match response.status {
        200..=299 => Ok(()),
        status => Err(format!("{} answered {status}", response.url)),
    }
}
