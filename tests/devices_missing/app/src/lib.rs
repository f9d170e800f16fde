//! Reads the first sector of its disk; what matters is whether it starts.
#![no_std]

use mirage_types::{Block, BlockError};

/// Reads sector 0.
pub async fn start<B: Block>(disk: B) -> Result<(), BlockError> {
    let mut sector = [0u8; 512];
    disk.read(0, &mut sector).await
}
