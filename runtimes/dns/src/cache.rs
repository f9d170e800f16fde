//! Answers kept for their TTL (RFC 1035 section 7.4; negative answers for
//! the SOA minimum, RFC 2308), keyed by lower-case name and kind, at most
//! [`ENTRIES`] of them: the one closest to expiry goes first.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::IpAddr;

use crate::{DnsError, Kind};

/// Entries kept at most.
pub const ENTRIES: usize = 256;

/// The longest an answer is kept, whatever its TTL says: a day (a
/// poisoned or mistaken answer does not outlive it).
pub const MAX_TTL_S: u32 = 86_400;

/// A lookup's result.
pub type Answer = Result<Vec<IpAddr>, DnsError>;

/// What is known, until when (monotonic ns).
#[derive(Default)]
pub struct Cache {
    entries: BTreeMap<(String, Kind), (u64, Answer)>,
}

impl Cache {
    /// The answer for `name`'s `kind` still valid at `now`.
    pub fn get(&mut self, name: &str, kind: Kind, now: u64) -> Option<Answer> {
        let key = (name.to_ascii_lowercase(), kind);
        match self.entries.get(&key) {
            Some((until, answer)) if *until > now => Some(answer.clone()),
            Some(_) => {
                self.entries.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Keeps `answer` for `ttl_s` seconds from `now`, [`MAX_TTL_S`] at
    /// most (not at all for 0).
    pub fn put(
        &mut self,
        name: &str,
        kind: Kind,
        now: u64,
        ttl_s: u32,
        answer: Result<Vec<IpAddr>, DnsError>,
    ) {
        if ttl_s == 0 {
            return;
        }
        if self.entries.len() >= ENTRIES {
            let soonest = self
                .entries
                .iter()
                .min_by_key(|(_, (until, _))| *until)
                .map(|(k, _)| k.clone());
            if let Some(k) = soonest {
                self.entries.remove(&k);
            }
        }
        let until = now.saturating_add(u64::from(ttl_s.min(MAX_TTL_S)) * 1_000_000_000);
        self.entries
            .insert((name.to_ascii_lowercase(), kind), (until, answer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn answers_last_their_ttl_case_blind() {
        let mut c = Cache::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        c.put("Host.Example", Kind::A, 0, 2, Ok(vec![ip]));
        assert_eq!(
            c.get("host.example", Kind::A, 1_999_999_999),
            Some(Ok(vec![ip]))
        );
        assert_eq!(c.get("host.example", Kind::Aaaa, 0), None);
        assert_eq!(c.get("host.example", Kind::A, 2_000_000_000), None);
        c.put("gone.example", Kind::A, 0, 0, Ok(vec![ip]));
        assert_eq!(c.get("gone.example", Kind::A, 0), None);
    }

    #[test]
    fn no_answer_is_kept_longer_than_a_day() {
        let mut c = Cache::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        c.put("long.example", Kind::A, 0, u32::MAX, Ok(vec![ip]));
        let day = u64::from(MAX_TTL_S) * 1_000_000_000;
        assert!(c.get("long.example", Kind::A, day - 1).is_some());
        assert_eq!(c.get("long.example", Kind::A, day), None);
    }

    #[test]
    fn a_full_cache_drops_the_soonest_to_expire() {
        let mut c = Cache::default();
        for i in 0..ENTRIES {
            c.put(
                &alloc::format!("h{i}"),
                Kind::A,
                0,
                10 + i as u32,
                Ok(vec![]),
            );
        }
        c.put("new", Kind::A, 0, 5, Ok(vec![]));
        assert_eq!(c.get("h0", Kind::A, 0), None);
        assert!(c.get("h1", Kind::A, 0).is_some());
        assert!(c.get("new", Kind::A, 0).is_some());
    }
}
