//! A fixed-seed pseudo-random sequence for the fuzz tests that run in CI
//! (HTTP requests, Ethernet frames, TLS records, BUILD files): the same
//! seed gives the same inputs everywhere, so a failure reproduces.
//! Not for secrets: the `random` device is.

use alloc::rc::Rc;
use core::cell::RefCell;

use mirage_types::Random;

/// xorshift64*: small, fast, the same sequence on every platform.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// The sequence of `seed` (zero, which xorshift cannot leave, is
    /// replaced).
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// One of `items` (not empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// `bytes` changed by one to `edits` random edits: a byte replaced,
    /// one of `alphabet` inserted, a byte removed, or the tail cut.
    pub fn mutate(&mut self, bytes: &mut alloc::vec::Vec<u8>, edits: usize, alphabet: &[u8]) {
        for _ in 0..=self.below(edits.max(1)) {
            let at = self.below(bytes.len() + 1);
            match self.below(4) {
                0 if at < bytes.len() => bytes[at] = self.next_u64() as u8,
                1 if !alphabet.is_empty() => bytes.insert(at, *self.pick(alphabet)),
                2 if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ => bytes.truncate(at),
            }
        }
    }
}

/// A `random` device on a fixed-seed sequence, for host tests of the
/// devices that take one (nonces, identities); clones share the sequence,
/// as the platform's devices share theirs, so no two draws repeat.
#[derive(Clone, Debug)]
pub struct SeededRandom(Rc<RefCell<Rng>>);

impl SeededRandom {
    /// The device drawing from the sequence of `seed`.
    pub fn new(seed: u64) -> SeededRandom {
        SeededRandom(Rc::new(RefCell::new(Rng::new(seed))))
    }
}

impl Random for SeededRandom {
    fn generate(&self, buf: &mut [u8]) {
        let mut rng = self.0.borrow_mut();
        for chunk in buf.chunks_mut(8) {
            chunk.copy_from_slice(&rng.next_u64().to_le_bytes()[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequence_is_fixed() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        let xs: alloc::vec::Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        assert!(xs.iter().all(|&x| x == b.next_u64()));
        assert_ne!(xs[0], xs[1]);
        assert_ne!(Rng::new(0).next_u64(), 0);
    }
}
