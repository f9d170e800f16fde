//! The direct stack's addresses: runtime args and the `--dhcp` key, checked
//! before the interface comes up.
//!
//! Invariant: a [`Plan`] speaks at least one IP version, has an IPv4
//! address or DHCP when it speaks IPv4, and only has gateways for the
//! versions it speaks.

use alloc::format;
use alloc::string::String;

use smoltcp::wire::{Ipv4Address, Ipv4Cidr, Ipv6Address, Ipv6Cidr};

use mirage_types::IpVersions;

use crate::peers::Limits;

/// How `direct_stackv4v6` was configured, as the generated `main.rs` passes
/// it: Mirage 4's runtime args and the `--dhcp` configure key.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// `--ipv4=ADDRESS/PREFIX`.
    pub ipv4: String,
    /// `--ipv4-gateway=ADDRESS`; empty for none.
    pub ipv4_gateway: String,
    /// `--ipv6=ADDRESS/PREFIX`; empty for the link-local address alone.
    pub ipv6: String,
    /// `--ipv6-gateway=ADDRESS`; empty for none.
    pub ipv6_gateway: String,
    /// `--ipv4-only`.
    pub ipv4_only: bool,
    /// `--ipv6-only`.
    pub ipv6_only: bool,
    /// `--dhcp=true`: the IPv4 address comes from DHCP.
    pub dhcp: bool,
    /// `--tcp-buffer=BYTES`: buffer per direction of each TCP connection.
    pub tcp_buffer: i64,
    /// `--tcp-max-connections=N`: sockets peers may hold on listening
    /// ports, half-open, open and closing.
    pub tcp_max_connections: i64,
    /// `--tcp-max-connections-per-peer=N`: the same, for one address.
    pub tcp_max_connections_per_peer: i64,
}

/// A checked [`Config`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The static IPv4 address; `None` with DHCP or without IPv4.
    pub ipv4: Option<Ipv4Cidr>,
    pub ipv4_gateway: Option<Ipv4Address>,
    /// Whether IPv6 is on: the link-local address, and `ipv6` if any.
    pub ipv6_on: bool,
    pub ipv6: Option<Ipv6Cidr>,
    pub ipv6_gateway: Option<Ipv6Address>,
    pub dhcp: bool,
    pub tcp_buffer: usize,
    pub limits: Limits,
}

/// The smallest and largest `--tcp-buffer`.
const TCP_BUFFER: core::ops::RangeInclusive<usize> = 1024..=16 << 20;

fn parse<T: core::str::FromStr>(flag: &str, value: &str, what: &str) -> Result<Option<T>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    value
        .parse()
        .map(Some)
        .map_err(|_| format!("--{flag}={value}: expected {what}"))
}

impl Config {
    /// Checks the flags against each other.
    pub(crate) fn plan(&self) -> Result<Plan, String> {
        let versions = IpVersions::from_flags(self.ipv4_only, self.ipv6_only)?;
        if self.dhcp && !versions.ipv4() {
            return Err("--dhcp=true needs IPv4, but --ipv6-only is set".into());
        }
        let ipv4_on = versions.ipv4();
        let ipv6_on = versions.ipv6();
        let ipv4 = parse::<Ipv4Cidr>("ipv4", &self.ipv4, "ADDRESS/PREFIX")?;
        if ipv4_on && !self.dhcp && ipv4.is_none() {
            return Err("--ipv4 is empty: give ADDRESS/PREFIX, --dhcp=true or --ipv6-only".into());
        }
        let ipv4_gateway = parse("ipv4-gateway", &self.ipv4_gateway, "an IPv4 address")?;
        let ipv6 = parse::<Ipv6Cidr>("ipv6", &self.ipv6, "ADDRESS/PREFIX")?;
        let ipv6_gateway = parse("ipv6-gateway", &self.ipv6_gateway, "an IPv6 address")?;
        let tcp_buffer = usize::try_from(self.tcp_buffer)
            .ok()
            .filter(|b| TCP_BUFFER.contains(b))
            .ok_or_else(|| {
                format!(
                    "--tcp-buffer={} is not {} to {} bytes",
                    self.tcp_buffer,
                    TCP_BUFFER.start(),
                    TCP_BUFFER.end()
                )
            })?;
        let count = |flag: &str, value: i64| {
            usize::try_from(value)
                .ok()
                .filter(|&n| n >= 1)
                .ok_or_else(|| format!("--{flag}={value} is not a positive number"))
        };
        let limits = Limits {
            max: count("tcp-max-connections", self.tcp_max_connections)?,
            per_peer: count(
                "tcp-max-connections-per-peer",
                self.tcp_max_connections_per_peer,
            )?,
        };
        Ok(Plan {
            ipv4: ipv4.filter(|_| ipv4_on && !self.dhcp),
            ipv4_gateway: ipv4_gateway.filter(|_| ipv4_on),
            ipv6_on,
            ipv6: ipv6.filter(|_| ipv6_on),
            ipv6_gateway: ipv6_gateway.filter(|_| ipv6_on),
            dhcp: self.dhcp,
            tcp_buffer,
            limits,
        })
    }
}

/// The EUI-64 link-local address of `mac` (RFC 4291, appendix A).
pub(crate) fn link_local(mac: [u8; 6]) -> Ipv6Cidr {
    let [a, b, c, d, e, f] = mac;
    let addr = Ipv6Address::new(
        0xfe80,
        0,
        0,
        0,
        u16::from_be_bytes([a ^ 0x02, b]),
        u16::from_be_bytes([c, 0xff]),
        u16::from_be_bytes([0xfe, d]),
        u16::from_be_bytes([e, f]),
    );
    Ipv6Cidr::new(addr, 64)
}

#[cfg(test)]
mod tests {
    use alloc::string::ToString;

    use super::*;

    fn config() -> Config {
        Config {
            ipv4: "10.0.0.2/24".into(),
            tcp_buffer: 65536,
            tcp_max_connections: 256,
            tcp_max_connections_per_peer: 64,
            ..Config::default()
        }
    }

    #[test]
    fn defaults_speak_both_versions() {
        let plan = config().plan().unwrap();
        assert_eq!(plan.ipv4.unwrap().to_string(), "10.0.0.2/24");
        assert!(plan.ipv6_on);
        assert_eq!(plan.ipv6, None);
    }

    #[test]
    fn only_flags_turn_a_version_off() {
        let v4 = Config {
            ipv4_only: true,
            ipv6: "fd00::2/64".into(),
            ..config()
        };
        let plan = v4.plan().unwrap();
        assert!(!plan.ipv6_on);
        assert_eq!(plan.ipv6, None);
        let v6 = Config {
            ipv6_only: true,
            ipv4_gateway: "10.0.0.1".into(),
            ..config()
        };
        let plan = v6.plan().unwrap();
        assert_eq!((plan.ipv4, plan.ipv4_gateway), (None, None));
        let both = Config {
            ipv4_only: true,
            ipv6_only: true,
            ..config()
        };
        assert_eq!(
            both.plan().unwrap_err(),
            "--ipv4-only and --ipv6-only exclude each other"
        );
    }

    #[test]
    fn bad_addresses_name_their_flag() {
        let bad = Config {
            ipv6: "fd00::2".into(),
            ..config()
        };
        assert_eq!(
            bad.plan().unwrap_err(),
            "--ipv6=fd00::2: expected ADDRESS/PREFIX"
        );
        let bad = Config {
            ipv4_gateway: "nope".into(),
            ..config()
        };
        assert_eq!(
            bad.plan().unwrap_err(),
            "--ipv4-gateway=nope: expected an IPv4 address"
        );
    }

    #[test]
    fn link_local_follows_eui64() {
        let ll = link_local([0x02, 0x00, 0x5e, 0x10, 0x20, 0x30]);
        assert_eq!(ll.to_string(), "fe80::5eff:fe10:2030/64");
    }

    #[test]
    fn tcp_buffers_have_bounds() {
        assert_eq!(config().plan().unwrap().tcp_buffer, 65536);
        let tiny = Config {
            tcp_buffer: 10,
            ..config()
        };
        assert_eq!(
            tiny.plan().unwrap_err(),
            "--tcp-buffer=10 is not 1024 to 16777216 bytes"
        );
    }

    #[test]
    fn connection_limits_are_positive() {
        let limits = config().plan().unwrap().limits;
        assert_eq!((limits.max, limits.per_peer), (256, 64));
        let none = Config {
            tcp_max_connections_per_peer: 0,
            ..config()
        };
        assert_eq!(
            none.plan().unwrap_err(),
            "--tcp-max-connections-per-peer=0 is not a positive number"
        );
    }
}
