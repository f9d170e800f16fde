//! `--dns-servers`: comma-separated `IP`, `IP:PORT` or `[IPV6]:PORT`, port
//! 53 when none is given.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::SocketAddr;

/// Checks `--dns-servers`.
pub fn check_servers(value: &str) -> Result<(), String> {
    parse_servers(value).map(|_| ())
}

/// `--dns-servers`: comma-separated `IP`, `IP:PORT` or `[IPV6]:PORT`
/// (port 53 when none).
pub(crate) fn parse_servers(value: &str) -> Result<Vec<SocketAddr>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<SocketAddr>()
                .or_else(|_| {
                    s.trim_matches(['[', ']'])
                        .parse()
                        .map(|ip| SocketAddr::new(ip, 53))
                })
                .map_err(|_| {
                    format!("`{s}` is not IP[:PORT] (an IPv6 address in brackets with a port)")
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn servers_are_ip_and_port_lists() {
        assert_eq!(
            parse_servers("10.0.0.1, 10.0.0.2:5353,[fd00::1]:53,fd00::2").unwrap(),
            [
                "10.0.0.1:53".parse().unwrap(),
                "10.0.0.2:5353".parse().unwrap(),
                "[fd00::1]:53".parse().unwrap(),
                "[fd00::2]:53".parse().unwrap(),
            ]
        );
        assert_eq!(
            check_servers("ns.example"),
            Err(
                "`ns.example` is not IP[:PORT] (an IPv6 address in brackets with a port)"
                    .to_string()
            )
        );
    }
}
