//! Connections peers may hold on the socket stack's listening ports, as on
//! the direct stack: at most `--tcp-max-connections` in all and
//! `--tcp-max-connections-per-peer` from one address. The host's kernel
//! completes every handshake its backlog holds, so the stack accepts each
//! connection and closes at once one beyond a limit; what it holds is
//! counted until the flow is dropped. Refusals are logged at every power
//! of two, so an attack shows without flooding the console.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::rc::Rc;

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_addr: BTreeMap<IpAddr, usize>,
    refused: u64,
}

/// The limits and what peers hold now.
#[derive(Debug, Clone)]
pub(crate) struct Admission {
    max: usize,
    per_peer: usize,
    counts: Rc<RefCell<Counts>>,
}

/// A connection counted against its peer; dropping it frees its place.
#[derive(Debug)]
pub(crate) struct Slot {
    counts: Rc<RefCell<Counts>>,
    addr: IpAddr,
}

impl Admission {
    /// At most `max` connections in all, `per_peer` from one address.
    pub(crate) fn new(max: usize, per_peer: usize) -> Admission {
        Admission {
            max,
            per_peer,
            counts: Rc::default(),
        }
    }

    /// The limits the runtime args give, each a positive number.
    pub(crate) fn from_args(max: i64, per_peer: i64) -> Result<Admission, String> {
        let count = |flag: &str, value: i64| {
            usize::try_from(value)
                .ok()
                .filter(|&n| n >= 1)
                .ok_or_else(|| format!("--{flag}={value} is not a positive number"))
        };
        Ok(Admission::new(
            count("tcp-max-connections", max)?,
            count("tcp-max-connections-per-peer", per_peer)?,
        ))
    }

    /// A place for a connection from `addr`, or `None` when a limit is
    /// reached (the refusal is counted and, now and then, logged).
    pub(crate) fn admit(&self, addr: IpAddr) -> Option<Slot> {
        let mut counts = self.counts.borrow_mut();
        let mine = counts.by_addr.get(&addr).copied().unwrap_or(0);
        let limit = if counts.total >= self.max {
            "--tcp-max-connections"
        } else if mine >= self.per_peer {
            "--tcp-max-connections-per-peer"
        } else {
            counts.total += 1;
            counts.by_addr.insert(addr, mine + 1);
            return Some(Slot {
                counts: self.counts.clone(),
                addr,
            });
        };
        counts.refused += 1;
        if counts.refused.is_power_of_two() {
            log::warn!(target: "tcpip", "{} connections refused so far, the last from {addr} at {limit}", counts.refused);
        }
        None
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.counts.borrow_mut();
        counts.total -= 1;
        if let Some(n) = counts.by_addr.get_mut(&self.addr) {
            *n -= 1;
            if *n == 0 {
                counts.by_addr.remove(&self.addr);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_hold_and_a_dropped_slot_frees_its_place() {
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 3].into();
        let admission = Admission::new(3, 2);
        let first = admission.admit(a).unwrap();
        let _second = admission.admit(a).unwrap();
        assert!(admission.admit(a).is_none(), "a's third, per peer");
        let _third = admission.admit(b).unwrap();
        assert!(admission.admit(b).is_none(), "b's second, in all");
        drop(first);
        assert!(admission.admit(b).is_some(), "a's first freed a place");
        assert_eq!(admission.counts.borrow().refused, 2);
    }
}
