//! DNS messages on the wire (RFC 1035), through simple-dns: the query for
//! a name and record kind, and what an answer says about it. What a server
//! sends never panics: anything malformed, or not an answer to our
//! question, is `None` (fuzzed with a fixed seed below).
//!
//! An answer is believed only as far as it answers: its ID, and its
//! question section (the one name, type and class asked); and of its
//! records only those owned by the name asked or by a name the CNAME
//! chain from it reaches. Records about other names (a spoofer's or a
//! poisoner's additions) are ignored.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use simple_dns::rdata::RData;
use simple_dns::{Name, Packet, PacketFlag, Question, CLASS, QCLASS, QTYPE, RCODE, TYPE};

use crate::Kind;

/// The query with `id` for `name`'s `kind` records, recursion desired;
/// `None` when `name` is not a domain name (an empty label, one over 63
/// bytes, over 255 bytes in all).
pub fn query(id: u16, name: &str, kind: Kind) -> Option<Vec<u8>> {
    if !is_domain_name(name) {
        return None;
    }
    let qname = Name::new(name).ok()?;
    let mut packet = Packet::new_query(id);
    packet.set_flags(PacketFlag::RECURSION_DESIRED);
    packet.questions.push(Question::new(
        qname,
        QTYPE::TYPE(rtype(kind)),
        QCLASS::CLASS(CLASS::IN),
        false,
    ));
    packet.build_bytes_vec().ok()
}

/// Whether `name` can be asked: no empty label (simple-dns would skip
/// one), none over 63 bytes, at most 255 bytes in all.
pub fn is_domain_name(name: &str) -> bool {
    !name.split('.').any(str::is_empty) && Name::new(name).is_ok()
}

fn rtype(kind: Kind) -> TYPE {
    match kind {
        Kind::A => TYPE::A,
        Kind::Aaaa => TYPE::AAAA,
    }
}

/// What an answer says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The addresses, and the least TTL among the records that led there.
    Addresses(Vec<IpAddr>, u32),
    /// The name does not exist; negative TTL from the authority's SOA.
    NxDomain(Option<u32>),
    /// The name exists without records of the kind asked.
    NoData(Option<u32>),
    /// The server could not answer (SERVFAIL).
    ServFail,
    /// The server would not answer (REFUSED).
    Refused,
    /// Another response code.
    Other(u16),
}

/// CNAMEs followed from the name asked, at most.
const MAX_CHAIN: usize = 8;

/// Whether two domain names are the same (DNS compares them without case).
fn same(a: &Name, b: &str) -> bool {
    a.to_string()
        .trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

/// An answer to the query with `id` for `name`'s `kind` records:
/// `(truncated, outcome)`.
pub fn answer(bytes: &[u8], id: u16, name: &str, kind: Kind) -> Option<(bool, Outcome)> {
    let packet = Packet::parse(bytes).ok()?;
    if packet.id() != id || !packet.has_flags(PacketFlag::RESPONSE) {
        return None;
    }
    match packet.questions.as_slice() {
        [q] if same(&q.qname, name)
            && q.qtype == QTYPE::TYPE(rtype(kind))
            && q.qclass == QCLASS::CLASS(CLASS::IN) => {}
        _ => return None,
    }
    // The names the answer may speak of: the one asked, and where its
    // CNAME chain leads (records may come in any order).
    let mut chain = alloc::vec![String::from(name)];
    let mut chain_ttl = u32::MAX;
    while chain.len() <= MAX_CHAIN {
        let last = chain.last().expect("the name asked");
        let next = packet.answers.iter().find_map(|rr| match &rr.rdata {
            RData::CNAME(c) if same(&rr.name, last) => Some((c.0.to_string(), rr.ttl)),
            _ => None,
        });
        match next {
            Some((target, ttl)) if !chain.iter().any(|n| n.eq_ignore_ascii_case(&target)) => {
                chain_ttl = chain_ttl.min(ttl);
                chain.push(target);
            }
            _ => break,
        }
    }
    let owned = |rr_name: &Name| chain.iter().any(|n| same(rr_name, n));
    let truncated = packet.has_flags(PacketFlag::TRUNCATION);
    let negative_ttl = packet.name_servers.iter().find_map(|rr| match &rr.rdata {
        RData::SOA(soa) => Some(rr.ttl.min(soa.minimum)),
        _ => None,
    });
    let outcome = match packet.rcode() {
        RCODE::NoError => {
            // The CNAMEs on the way count for the TTL.
            let mut ttl = chain_ttl;
            let mut addresses = Vec::new();
            for rr in packet.answers.iter().filter(|rr| owned(&rr.name)) {
                let ip = match (&rr.rdata, kind) {
                    (RData::A(a), Kind::A) => IpAddr::V4(Ipv4Addr::from(a.address)),
                    (RData::AAAA(a), Kind::Aaaa) => IpAddr::V6(Ipv6Addr::from(a.address)),
                    _ => continue,
                };
                ttl = ttl.min(rr.ttl);
                addresses.push(ip);
            }
            if addresses.is_empty() {
                Outcome::NoData(negative_ttl)
            } else {
                Outcome::Addresses(addresses, ttl)
            }
        }
        RCODE::NameError => Outcome::NxDomain(negative_ttl),
        RCODE::ServerFailure => Outcome::ServFail,
        RCODE::Refused => Outcome::Refused,
        other => Outcome::Other(other as u16),
    };
    Some((truncated, outcome))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;
    use simple_dns::rdata::{A, AAAA, CNAME, SOA};
    use simple_dns::ResourceRecord;

    /// Reply `id` to a question for www.example's `kind` records.
    fn reply(id: u16, kind: Kind, rcode: RCODE, answers: Vec<ResourceRecord<'static>>) -> Vec<u8> {
        let mut p = Packet::new_reply(id);
        p.questions.push(Question::new(
            name("www.example"),
            QTYPE::TYPE(rtype(kind)),
            QCLASS::CLASS(CLASS::IN),
            false,
        ));
        *p.rcode_mut() = rcode;
        p.answers = answers;
        p.build_bytes_vec().unwrap()
    }

    fn name(s: &'static str) -> Name<'static> {
        Name::new_unchecked(s)
    }

    /// Reply `id` to `kind`: www.example, a CNAME (TTL 60) of
    /// host.example, which has A `address` (TTL 300), then `more`.
    fn cname_then_a(
        id: u16,
        kind: Kind,
        address: u32,
        more: &[ResourceRecord<'static>],
    ) -> Vec<u8> {
        let mut answers = vec![
            ResourceRecord::new(
                name("www.example"),
                CLASS::IN,
                60,
                RData::CNAME(CNAME(name("host.example"))),
            ),
            ResourceRecord::new(
                name("host.example"),
                CLASS::IN,
                300,
                RData::A(A { address }),
            ),
        ];
        answers.extend_from_slice(more);
        reply(id, kind, RCODE::NoError, answers)
    }

    #[test]
    fn a_query_asks_for_its_name_and_kind() {
        let q = query(0x1234, "host.example", Kind::Aaaa).unwrap();
        let p = Packet::parse(&q).unwrap();
        assert_eq!(p.id(), 0x1234);
        assert!(p.has_flags(PacketFlag::RECURSION_DESIRED));
        assert_eq!(p.questions[0].qname.to_string(), "host.example");
        assert_eq!(p.questions[0].qtype, QTYPE::TYPE(TYPE::AAAA));
        assert_eq!(query(1, "a..b", Kind::A), None);
        assert_eq!(query(1, "", Kind::A), None);
        assert_eq!(query(1, &"x".repeat(64), Kind::A), None);
    }

    #[test]
    fn answers_give_addresses_with_the_least_ttl_through_cnames() {
        let aaaa = ResourceRecord::new(
            name("host.example"),
            CLASS::IN,
            300,
            RData::AAAA(AAAA { address: 1 }),
        );
        let a = cname_then_a(7, Kind::A, 0x0a00_0001, core::slice::from_ref(&aaaa));
        assert_eq!(
            answer(&a, 7, "www.example", Kind::A),
            Some((
                false,
                Outcome::Addresses(vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))], 60)
            ))
        );
        let bytes = cname_then_a(7, Kind::Aaaa, 0x0a00_0001, &[aaaa]);
        assert_eq!(
            answer(&bytes, 7, "WWW.example", Kind::Aaaa),
            Some((
                false,
                Outcome::Addresses(vec![IpAddr::V6(Ipv6Addr::from(1u128))], 60)
            ))
        );
        // Another query's answer is not ours: its ID, its name, its kind.
        assert_eq!(answer(&a, 8, "www.example", Kind::A), None);
        assert_eq!(answer(&a, 7, "other.example", Kind::A), None);
        assert_eq!(answer(&a, 7, "www.example", Kind::Aaaa), None);
    }

    /// Records about names the question does not lead to are a spoofer's
    /// or a poisoner's: ignored.
    #[test]
    fn records_off_the_cname_chain_are_ignored() {
        let poison = ResourceRecord::new(
            name("bank.example"),
            CLASS::IN,
            86400,
            RData::A(A {
                address: 0x0101_0101,
            }),
        );
        let bytes = cname_then_a(7, Kind::A, 0x0a00_0001, core::slice::from_ref(&poison));
        assert_eq!(
            answer(&bytes, 7, "www.example", Kind::A),
            Some((
                false,
                Outcome::Addresses(vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))], 60)
            ))
        );
        // Only an unrelated address: no address for the name asked.
        let only = reply(7, Kind::A, RCODE::NoError, vec![poison]);
        assert_eq!(
            answer(&only, 7, "www.example", Kind::A),
            Some((false, Outcome::NoData(None)))
        );
        // A reply without the question is not an answer.
        let mut bare = Packet::new_reply(7);
        bare.answers.push(ResourceRecord::new(
            name("www.example"),
            CLASS::IN,
            60,
            RData::A(A { address: 1 }),
        ));
        let bare = bare.build_bytes_vec().unwrap();
        assert_eq!(answer(&bare, 7, "www.example", Kind::A), None);
    }

    #[test]
    fn negative_answers_carry_the_soa_minimum() {
        let mut p = Packet::new_reply(9);
        p.questions.push(Question::new(
            name("www.example"),
            QTYPE::TYPE(TYPE::A),
            QCLASS::CLASS(CLASS::IN),
            false,
        ));
        *p.rcode_mut() = RCODE::NameError;
        p.name_servers.push(ResourceRecord::new(
            name("example"),
            CLASS::IN,
            3600,
            RData::SOA(SOA {
                mname: name("ns.example"),
                rname: name("admin.example"),
                serial: 1,
                refresh: 1,
                retry: 1,
                expire: 1,
                minimum: 30,
            }),
        ));
        let bytes = p.build_bytes_vec().unwrap();
        assert_eq!(
            answer(&bytes, 9, "www.example", Kind::A),
            Some((false, Outcome::NxDomain(Some(30))))
        );
        let servfail = reply(3, Kind::A, RCODE::ServerFailure, vec![]);
        assert_eq!(
            answer(&servfail, 3, "www.example", Kind::A),
            Some((false, Outcome::ServFail))
        );
        let nodata = reply(4, Kind::A, RCODE::NoError, vec![]);
        assert_eq!(
            answer(&nodata, 4, "www.example", Kind::A),
            Some((false, Outcome::NoData(None)))
        );
    }

    /// Mangled answers are `None` or an outcome, never a panic.
    #[test]
    fn fuzzed_answers_never_panic() {
        let base = cname_then_a(5, Kind::A, 1, &[]);
        let mut rng = mirage_runtime::fuzz::Rng::new(0x5eed_d115);
        let mut parsed = 0;
        for _ in 0..20_000 {
            let edits = 1 + rng.below(8);
            let mut bytes = base.clone();
            rng.mutate(&mut bytes, edits, &[0, 0xc0, 0xff, 1, 28, 5]);
            if answer(&bytes, 5, "www.example", Kind::A).is_some() {
                parsed += 1;
            }
        }
        // Some mutations keep a valid answer: the parser was exercised.
        assert!(parsed > 0);
    }
}
