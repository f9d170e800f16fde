//! The header, the first sector of the device below: a magic string, the
//! disk's random identity, and a key check (the tag of nothing, sealed
//! under the key with the magic and the identity), then zeros.

use alloc::string::String;

use mirage_types::Random;
use ring::aead::{Aad, LessSafeKey, Nonce, NONCE_LEN};

/// What the header starts with.
const MAGIC: &[u8; 16] = b"mirage-encblock1";

/// Bytes of a disk's identity.
pub(crate) const DISK_ID: usize = 16;

// Where the fields lie: magic, identity, nonce, tag.
const DISK_AT: usize = MAGIC.len();
const NONCE_AT: usize = DISK_AT + DISK_ID;
const TAG_AT: usize = NONCE_AT + NONCE_LEN;
const END: usize = TAG_AT + 16;

/// A disk's header.
pub(crate) struct Header {
    pub(crate) disk: [u8; DISK_ID],
    nonce: [u8; NONCE_LEN],
    tag: [u8; END - TAG_AT],
}

/// What a first sector holds.
pub(crate) enum Found {
    /// Zeros: no disk yet.
    Blank,
    /// A header.
    Header(Header),
    /// Something else: not an encrypted disk.
    Foreign,
}

/// The key check's associated data: the magic and the identity.
fn aad(disk: &[u8; DISK_ID]) -> [u8; NONCE_AT] {
    let mut aad = [0; NONCE_AT];
    aad[..DISK_AT].copy_from_slice(MAGIC);
    aad[DISK_AT..].copy_from_slice(disk);
    aad
}

impl Header {
    /// A new disk's header, its identity and nonce random.
    pub(crate) fn new<R: Random>(random: &R) -> Header {
        let mut header = Header {
            disk: [0; DISK_ID],
            nonce: [0; NONCE_LEN],
            tag: [0; END - TAG_AT],
        };
        random.generate(&mut header.disk);
        random.generate(&mut header.nonce);
        header
    }

    /// The header `sector` holds, if any.
    pub(crate) fn read(sector: &[u8]) -> Found {
        if sector.iter().all(|&b| b == 0) {
            return Found::Blank;
        }
        match sector.get(..END) {
            Some(fields) if fields.starts_with(MAGIC) => {
                let mut header = Header {
                    disk: [0; DISK_ID],
                    nonce: [0; NONCE_LEN],
                    tag: [0; END - TAG_AT],
                };
                header.disk.copy_from_slice(&fields[DISK_AT..NONCE_AT]);
                header.nonce.copy_from_slice(&fields[NONCE_AT..TAG_AT]);
                header.tag.copy_from_slice(&fields[TAG_AT..END]);
                Found::Header(header)
            }
            _ => Found::Foreign,
        }
    }

    /// Fills `sector` with this header, its key check computed with `key`.
    pub(crate) fn write(&self, key: &LessSafeKey, sector: &mut [u8]) {
        let nonce = Nonce::assume_unique_for_key(self.nonce);
        let tag = key
            .seal_in_place_separate_tag(nonce, Aad::from(aad(&self.disk)), &mut [])
            .expect("nothing to seal");
        sector.fill(0);
        sector[..DISK_AT].copy_from_slice(MAGIC);
        sector[DISK_AT..NONCE_AT].copy_from_slice(&self.disk);
        sector[NONCE_AT..TAG_AT].copy_from_slice(&self.nonce);
        sector[TAG_AT..END].copy_from_slice(tag.as_ref());
    }

    /// Whether `key` is the one the disk was made with.
    pub(crate) fn check(&self, key: &LessSafeKey) -> Result<(), String> {
        let nonce = Nonce::assume_unique_for_key(self.nonce);
        let mut tag = self.tag;
        key.open_in_place(nonce, Aad::from(aad(&self.disk)), &mut tag)
            .map(|_| ())
            .map_err(|_| "the key does not open this disk (another key encrypted it)".into())
    }
}
