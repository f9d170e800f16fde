//! One sector on the device below: `nonce (12) | ciphertext | tag (16)`,
//! authenticated with the disk's identity and the sector's number (so a
//! sector moved or copied from another disk fails); all zeros is a sector
//! never written, read as zeros.

use mirage_types::{BlockError, Random};
use ring::aead::{Aad, LessSafeKey, Nonce, NONCE_LEN};

use crate::header::DISK_ID;

/// Bytes a sector takes on the device below beyond its own: nonce and tag.
pub const OVERHEAD: usize = NONCE_LEN + TAG_LEN;

const TAG_LEN: usize = 16;

/// The associated data of sector `at` of disk `disk`.
fn aad(disk: &[u8; DISK_ID], at: u64) -> [u8; DISK_ID + 8] {
    let mut aad = [0; DISK_ID + 8];
    aad[..DISK_ID].copy_from_slice(disk);
    aad[DISK_ID..].copy_from_slice(&at.to_le_bytes());
    aad
}

/// Encrypts `plain` as sector `at` into `sealed` (`OVERHEAD` bytes longer).
pub(crate) fn seal<R: Random>(
    key: &LessSafeKey,
    random: &R,
    disk: &[u8; DISK_ID],
    at: u64,
    plain: &[u8],
    sealed: &mut [u8],
) {
    let (nonce, rest) = sealed.split_at_mut(NONCE_LEN);
    random.generate(nonce);
    let (body, tag) = rest.split_at_mut(plain.len());
    body.copy_from_slice(plain);
    let nonce = Nonce::try_assume_unique_for_key(nonce).expect("NONCE_LEN bytes");
    let computed = key
        .seal_in_place_separate_tag(nonce, Aad::from(aad(disk, at)), body)
        .expect("a sector is far below GCM's length limit");
    tag.copy_from_slice(computed.as_ref());
}

/// Decrypts sector `at` from `sealed` into `plain`, or says it failed
/// its check.
pub(crate) fn open(
    key: &LessSafeKey,
    disk: &[u8; DISK_ID],
    at: u64,
    sealed: &mut [u8],
    plain: &mut [u8],
) -> Result<(), BlockError> {
    if sealed.iter().all(|&b| b == 0) {
        plain.fill(0);
        return Ok(());
    }
    let (nonce, rest) = sealed.split_at_mut(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).expect("NONCE_LEN bytes");
    let opened = key
        .open_in_place(nonce, Aad::from(aad(disk, at)), rest)
        .map_err(|_| BlockError::Integrity)?;
    plain.copy_from_slice(opened);
    Ok(())
}
