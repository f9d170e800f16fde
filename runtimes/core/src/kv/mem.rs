//! `kv_rw_mem`: a read-write store in memory, empty at boot.

use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use mirage_types::{KvError, KvKind, KvRo, KvRw};

use super::Index;

/// A store in memory.
#[derive(Clone, Debug, Default)]
pub struct KvMem {
    index: Rc<RefCell<Index<Vec<u8>>>>,
}

impl KvMem {
    /// An empty store.
    pub async fn connect() -> Result<KvMem, core::convert::Infallible> {
        Ok(KvMem::default())
    }
}

impl KvRo for KvMem {
    async fn exists(&self, key: &str) -> Result<Option<KvKind>, KvError> {
        self.index.borrow().kind(key)
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, KvError> {
        self.index.borrow().value(key).cloned()
    }

    async fn get_partial(&self, key: &str, offset: u64, length: usize) -> Result<Vec<u8>, KvError> {
        Ok(super::slice(
            self.index.borrow().value(key)?,
            offset,
            length,
        ))
    }

    async fn list(&self, key: &str) -> Result<Vec<(String, KvKind)>, KvError> {
        self.index.borrow().list(key)
    }

    async fn last_modified(&self, key: &str) -> Result<i64, KvError> {
        self.index.borrow().value(key).map(|_| 0)
    }

    async fn digest(&self, key: &str) -> Result<[u8; 32], KvError> {
        Ok(super::sha256(self.index.borrow().value(key)?))
    }

    async fn size(&self, key: &str) -> Result<u64, KvError> {
        Ok(self.index.borrow().value(key)?.len() as u64)
    }
}

impl KvRw for KvMem {
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        let mut index = self.index.borrow_mut();
        if index.kind(key)? == Some(KvKind::Value) {
            index.remove(key)?;
        }
        index.insert(key, value.to_vec())
    }

    async fn remove(&self, key: &str) -> Result<(), KvError> {
        self.index.borrow_mut().remove(key)
    }
}
