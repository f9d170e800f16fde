//! `http` and `https` URLs, as a client needs them (RFC 3986): the scheme,
//! the host (a name, an IPv4 address, or an IPv6 one in brackets), the
//! port, and the request target; a redirect's `Location` resolved against
//! the URL it answered.

use alloc::format;
use alloc::string::{String, ToString};
use core::fmt::{self, Display};

/// A URL a client fetches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    /// `https`, rather than `http`.
    pub https: bool,
    /// The host, without brackets.
    pub host: String,
    /// The port (80 or 443 unless given).
    pub port: u16,
    /// The path and query, from `/`.
    pub target: String,
}

impl Url {
    /// Parses an absolute `http://` or `https://` URL; the fragment goes.
    pub fn parse(url: &str) -> Result<Url, String> {
        let bad = |why: &str| format!("`{url}` is not an http or https URL: {why}");
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "http" => false,
            "https" => true,
            _ => return Err(bad("the scheme is not http or https")),
        };
        let rest = rest.split('#').next().unwrap_or_default();
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(split);
        if authority.contains('@') {
            return Err(bad("user information is not supported"));
        }
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => {
                let (host, after) = v6.split_once(']').ok_or_else(|| bad("no `]`"))?;
                host.parse::<core::net::Ipv6Addr>()
                    .map_err(|_| bad("not an IPv6 address in brackets"))?;
                (host, after.strip_prefix(':'))
            }
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        if host.is_empty()
            || host
                .chars()
                .any(|c| c.is_ascii_control() || c == ' ' || c == '%')
        {
            return Err(bad("no valid host"));
        }
        let port = match port {
            Some(p) => p.parse().map_err(|_| bad("the port is not 0 to 65535"))?,
            None if https => 443,
            None => 80,
        };
        let target = match target {
            "" => "/".to_string(),
            t if t.starts_with('?') => format!("/{t}"),
            t => t.to_string(),
        };
        if target.chars().any(|c| c.is_ascii_control() || c == ' ') {
            return Err(bad("spaces or control characters in the path"));
        }
        Ok(Url {
            https,
            host: host.to_string(),
            port,
            target,
        })
    }

    /// Where a redirect to `location` leads from here.
    pub fn join(&self, location: &str) -> Result<Url, String> {
        if location.contains("://") {
            return Url::parse(location);
        }
        let scheme = if self.https { "https" } else { "http" };
        if let Some(rest) = location.strip_prefix("//") {
            return Url::parse(&format!("{scheme}://{rest}"));
        }
        let target = if location.starts_with('/') {
            location.to_string()
        } else {
            let path = self.target.split('?').next().unwrap_or("/");
            let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
            format!("{dir}{location}")
        };
        Url::parse(&format!("{scheme}://{}{target}", self.authority()))
    }

    /// Scheme, host and port: what credentials are scoped to.
    pub fn origin(&self) -> (bool, String, u16) {
        (self.https, self.host.to_ascii_lowercase(), self.port)
    }

    /// `host[:port]`, the port only when not the scheme's: the `Host`
    /// header.
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match (self.https, self.port) {
            (false, 80) | (true, 443) => host,
            (_, port) => format!("{host}:{port}"),
        }
    }
}

impl Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.authority(), self.target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_into_their_parts() {
        let u = Url::parse("https://web.test/files/a.bin?x=1#top").unwrap();
        assert_eq!(
            (u.https, &*u.host, u.port, &*u.target),
            (true, "web.test", 443, "/files/a.bin?x=1")
        );
        let u = Url::parse("http://[fd00::1]:8080").unwrap();
        assert_eq!((&*u.host, u.port, &*u.target), ("fd00::1", 8080, "/"));
        assert_eq!(u.to_string(), "http://[fd00::1]:8080/");
        assert_eq!(Url::parse("HTTP://10.0.0.1?q").unwrap().target, "/?q");
        for bad in [
            "ftp://x/",
            "web.test/",
            "http:///",
            "http://a:99999/",
            "http://u@h/",
            "http://h/a b",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redirects_resolve_against_the_url() {
        let u = Url::parse("http://web.test:8080/a/b?c").unwrap();
        assert_eq!(u.join("/x").unwrap().to_string(), "http://web.test:8080/x");
        assert_eq!(u.join("y").unwrap().to_string(), "http://web.test:8080/a/y");
        assert_eq!(
            u.join("https://other.test/").unwrap().to_string(),
            "https://other.test/"
        );
        assert_eq!(
            u.join("//other.test/z").unwrap().to_string(),
            "http://other.test/z"
        );
    }
}
