//! Names to addresses: the `dns_client` device type (Mirage's
//! `Dns_client.S`), for the devices that look names up (happy eyeballs,
//! the syslog reporter) and for unikernels.

use alloc::vec::Vec;
use core::fmt::{self, Display};
use core::future::Future;
use core::net::IpAddr;

/// The record kinds looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// IPv4 addresses.
    A,
    /// IPv6 addresses.
    Aaaa,
}

impl Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::A => "A",
            Kind::Aaaa => "AAAA",
        })
    }
}

/// The `dns_client` device type.
pub trait Dns: Clone + 'static {
    /// Why a lookup failed.
    type Error: Display + Clone;

    /// `name`'s addresses of `kind` (an IP address is its own answer).
    fn getaddrinfo(
        &self,
        name: &str,
        kind: Kind,
    ) -> impl Future<Output = Result<Vec<IpAddr>, Self::Error>>;

    /// `name`'s IPv6 addresses, then its IPv4 ones; an error (the IPv4
    /// lookup's) only when it has neither.
    fn resolve(&self, name: &str) -> impl Future<Output = Result<Vec<IpAddr>, Self::Error>> {
        async move {
            let v6 = self.getaddrinfo(name, Kind::Aaaa).await;
            let v4 = self.getaddrinfo(name, Kind::A).await;
            match (v6, v4) {
                (Ok(mut six), Ok(four)) => {
                    six.extend(four);
                    Ok(six)
                }
                (Ok(six), Err(_)) => Ok(six),
                (Err(_), four) => four,
            }
        }
    }
}
