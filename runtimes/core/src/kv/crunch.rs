//! `crunch`: a directory embedded into the image at build time.

use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;

use mirage_types::{KvError, KvKind, KvRo};

use crate::metrics::Io;

use super::{Digests, Index};

/// Files embedded by the generated code: `(key, contents)`, sorted.
pub type Files = &'static [(&'static str, &'static [u8])];

/// A read-only store over embedded files.
#[derive(Clone, Debug)]
pub struct Crunch {
    index: Rc<Index<&'static [u8]>>,
    digests: Digests,
    io: Io,
}

impl Crunch {
    /// Indexes the embedded `files`.
    pub async fn connect(files: Files) -> Result<Crunch, KvError> {
        let mut index = Index::default();
        for (key, contents) in files {
            index.insert(key, *contents)?;
        }
        Ok(Crunch {
            index: Rc::new(index),
            digests: Digests::default(),
            io: Io::kv("crunch"),
        })
    }
}

impl KvRo for Crunch {
    async fn exists(&self, key: &str) -> Result<Option<KvKind>, KvError> {
        self.index.kind(key)
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, KvError> {
        let value = self.index.value(key)?.to_vec();
        self.io.read(value.len());
        Ok(value)
    }

    async fn get_partial(&self, key: &str, offset: u64, length: usize) -> Result<Vec<u8>, KvError> {
        let value = super::slice(self.index.value(key)?, offset, length);
        self.io.read(value.len());
        Ok(value)
    }

    async fn list(&self, key: &str) -> Result<Vec<(String, KvKind)>, KvError> {
        self.index.list(key)
    }

    async fn last_modified(&self, key: &str) -> Result<i64, KvError> {
        // Embedded content has no time of its own: builds are reproducible.
        self.index.value(key).map(|_| 0)
    }

    async fn digest(&self, key: &str) -> Result<[u8; 32], KvError> {
        if let Some(digest) = self.digests.get(key) {
            return Ok(digest);
        }
        Ok(self.digests.put(key, super::sha256(self.index.value(key)?)))
    }

    async fn size(&self, key: &str) -> Result<u64, KvError> {
        Ok(self.index.value(key)?.len() as u64)
    }
}
