//! A disk in memory whose power can be cut, and whose host can crash
//! (losing what it had not flushed) or be unable to flush at all.

use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;

use mirage_types::{Block, BlockError, BlockInfo};

const SECTOR: usize = 512;

/// When the power goes.
#[derive(Clone, Copy)]
pub(super) enum Cut {
    /// Never.
    Never,
    /// At write `n` (0-based): it and every later write are lost.
    At(usize),
    /// At write `n`: its first sector lands, the rest and every later
    /// write are lost.
    Torn(usize),
}

pub(super) struct Disk {
    pub(super) bytes: Vec<u8>,
    /// Reads the device served.
    pub(super) reads: usize,
    pub(super) writes: usize,
    cut: Cut,
    /// What each write since the last flush overwrote (offset, old
    /// bytes): a host crash puts it back.
    unflushed: Vec<(usize, Vec<u8>)>,
    /// Whether the host can flush (false: an unpatched Solo5 tender).
    pub(super) flushes: bool,
}

/// How the machine comes back after the cut.
#[derive(Clone, Copy)]
pub(super) enum Restart {
    /// The image's process was killed: what reached the host stays.
    Process,
    /// The host went down: writes it had not flushed are lost.
    Host,
}

/// A disk in memory whose power can be cut.
#[derive(Clone)]
pub(super) struct MemDisk(pub(super) Rc<RefCell<Disk>>);

impl MemDisk {
    pub(super) fn new(sectors: usize) -> Self {
        MemDisk(Rc::new(RefCell::new(Disk {
            bytes: vec![0; sectors * SECTOR],
            reads: 0,
            writes: 0,
            cut: Cut::Never,
            unflushed: Vec::new(),
            flushes: true,
        })))
    }

    /// The same bytes, powered again.
    pub(super) fn reboot(&self) -> Self {
        self.restart(Restart::Process)
    }

    /// The disk as it is after `restart`.
    pub(super) fn restart(&self, restart: Restart) -> Self {
        let d = self.0.borrow();
        let mut bytes = d.bytes.clone();
        if let Restart::Host = restart {
            for (at, old) in d.unflushed.iter().rev() {
                bytes[*at..*at + old.len()].copy_from_slice(old);
            }
        }
        MemDisk(Rc::new(RefCell::new(Disk {
            bytes,
            reads: 0,
            writes: 0,
            cut: Cut::Never,
            unflushed: Vec::new(),
            flushes: d.flushes,
        })))
    }

    pub(super) fn cut(&self, cut: Cut) {
        let mut d = self.0.borrow_mut();
        d.writes = 0;
        d.cut = cut;
    }
}

impl Block for MemDisk {
    fn info(&self) -> BlockInfo {
        BlockInfo {
            read_write: true,
            sector_size: SECTOR,
            size_sectors: (self.0.borrow().bytes.len() / SECTOR) as u64,
        }
    }

    async fn read(&self, sector: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        self.info().check(sector, buf.len())?;
        let at = sector as usize * SECTOR;
        let mut d = self.0.borrow_mut();
        d.reads += 1;
        buf.copy_from_slice(&d.bytes[at..at + buf.len()]);
        Ok(())
    }

    async fn write(&self, sector: u64, buf: &[u8]) -> Result<(), BlockError> {
        self.info().check(sector, buf.len())?;
        let at = sector as usize * SECTOR;
        let mut d = self.0.borrow_mut();
        let n = d.writes;
        d.writes += 1;
        let landed = match d.cut {
            Cut::Never => buf.len(),
            Cut::At(cut) if n < cut => buf.len(),
            Cut::Torn(cut) if n < cut => buf.len(),
            Cut::Torn(cut) if n == cut => SECTOR,
            Cut::At(_) | Cut::Torn(_) => 0,
        };
        let old = d.bytes[at..at + landed].to_vec();
        d.unflushed.push((at, old));
        d.bytes[at..at + landed].copy_from_slice(&buf[..landed]);
        match landed == buf.len() {
            true => Ok(()),
            // The machine is gone: nothing after this is acknowledged.
            false => Err(BlockError::Io),
        }
    }

    async fn flush(&self) -> Result<(), BlockError> {
        let mut d = self.0.borrow_mut();
        if !d.flushes {
            return Err(BlockError::NoFlush);
        }
        let gone = match d.cut {
            Cut::Never => false,
            Cut::At(cut) | Cut::Torn(cut) => d.writes > cut,
        };
        if gone {
            return Err(BlockError::Io);
        }
        d.unflushed.clear();
        Ok(())
    }
}
