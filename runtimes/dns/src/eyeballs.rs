//! Happy Eyeballs (RFC 8305), after Mirage's `generic_happy_eyeballs`:
//! connect to `HOST:PORT` by name. The AAAA and A lookups run together;
//! the addresses are tried IPv6 first, alternating families, a new attempt
//! starting every `--happy-eyeballs-delay` milliseconds (or at once when
//! one fails) while earlier ones go on; the first connection wins, and
//! the whole must succeed within `--happy-eyeballs-timeout` seconds.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::future::Future;
use core::net::{IpAddr, SocketAddr};
use core::pin::{pin, Pin};
use core::task::Poll;

use mirage_runtime::time::{positive_seconds_ns, within};
use mirage_types::{Connect, Stack, Time};

use crate::{Dns, Kind};

/// The `happy_eyeballs` device.
#[derive(Clone)]
pub struct HappyEyeballs<S, D, T> {
    stack: S,
    dns: D,
    time: T,
    delay_ns: u64,
    timeout_ns: u64,
}

impl<S: Stack, D: Dns, T: Time> HappyEyeballs<S, D, T> {
    /// Connects the device: `timeout_s` from `--happy-eyeballs-timeout`,
    /// `delay_ms` from `--happy-eyeballs-delay`.
    pub async fn connect(
        stack: S,
        dns: D,
        time: T,
        timeout_s: i64,
        delay_ms: i64,
    ) -> Result<Self, String> {
        let timeout_ns = positive_seconds_ns(timeout_s, "happy-eyeballs-timeout")?;
        let delay_ms =
            u64::try_from(delay_ms).map_err(|_| "--happy-eyeballs-delay must be >= 0")?;
        Ok(HappyEyeballs {
            stack,
            dns,
            time,
            delay_ns: delay_ms * 1_000_000,
            timeout_ns,
        })
    }

    /// `host`'s addresses in the order to try: IPv6 and IPv4 alternating,
    /// IPv6 first.
    async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, String> {
        if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
            return Ok(alloc::vec![ip]);
        }
        let mut six = pin!(self.dns.getaddrinfo(host, Kind::Aaaa));
        let mut four = pin!(self.dns.getaddrinfo(host, Kind::A));
        let (mut six_done, mut four_done) = (None, None);
        core::future::poll_fn(|cx| {
            if six_done.is_none() {
                if let Poll::Ready(r) = six.as_mut().poll(cx) {
                    six_done = Some(r);
                }
            }
            if four_done.is_none() {
                if let Poll::Ready(r) = four.as_mut().poll(cx) {
                    four_done = Some(r);
                }
            }
            if six_done.is_some() && four_done.is_some() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        let (six, four) = (
            six_done.unwrap_or(Ok(Vec::new())),
            four_done.unwrap_or(Ok(Vec::new())),
        );
        let (six, four) = match (six, four) {
            (Err(e6), Err(e4)) => return Err(format!("{e4}; {e6}")),
            (s, f) => (s.unwrap_or_default(), f.unwrap_or_default()),
        };
        Ok(interleave(six, four))
    }

    /// Races connections to `addresses`, staggered by the delay.
    async fn race(&self, addresses: &[SocketAddr]) -> Result<S::Flow, String> {
        let mut attempts: Vec<(SocketAddr, Pin<Box<_>>)> = Vec::new();
        let mut next = 0;
        let mut failures: Vec<String> = Vec::new();
        let mut stagger = Box::pin(self.time.sleep_ns(self.delay_ns));
        let mut start_now = true;
        core::future::poll_fn(|cx| loop {
            let due = stagger.as_mut().poll(cx).is_ready();
            if (due || start_now) && next < addresses.len() {
                let to = addresses[next];
                next += 1;
                start_now = false;
                log::debug!("happy eyeballs: trying {to}");
                attempts.push((to, Box::pin(self.stack.connect_tcp(to))));
                stagger = Box::pin(self.time.sleep_ns(self.delay_ns));
                continue;
            }
            let mut i = 0;
            while i < attempts.len() {
                match attempts[i].1.as_mut().poll(cx) {
                    Poll::Ready(Ok(flow)) => return Poll::Ready(Ok(flow)),
                    Poll::Ready(Err(e)) => {
                        let (to, _) = attempts.remove(i);
                        failures.push(format!("{to}: {e}"));
                        // A failure starts the next attempt at once.
                        start_now = true;
                    }
                    Poll::Pending => i += 1,
                }
            }
            if attempts.is_empty() && next == addresses.len() {
                return Poll::Ready(Err(failures.join(", ")));
            }
            if !(start_now && next < addresses.len()) {
                return Poll::Pending;
            }
        })
        .await
    }
}

impl<S: Stack + 'static, D: Dns + 'static, T: Time + 'static> Connect for HappyEyeballs<S, D, T> {
    type Flow = S::Flow;

    async fn connect(&self, host: &str, port: u16) -> Result<S::Flow, String> {
        let attempt = async {
            let addresses = self
                .addresses(host)
                .await
                .map_err(|e| format!("{host}: {e}"))?;
            let addresses: Vec<SocketAddr> = addresses
                .into_iter()
                .map(|ip| SocketAddr::new(ip, port))
                .collect();
            self.race(&addresses)
                .await
                .map_err(|e| format!("{host} port {port}: {e}"))
        };
        within(&self.time, self.timeout_ns, attempt)
            .await
            .unwrap_or_else(|| {
                Err(format!(
                    "{host} port {port}: no connection within {} s",
                    self.timeout_ns / 1_000_000_000
                ))
            })
    }
}

/// RFC 8305's order: IPv6 and IPv4 alternating, IPv6 first.
fn interleave(six: Vec<IpAddr>, four: Vec<IpAddr>) -> Vec<IpAddr> {
    let mut order = Vec::with_capacity(six.len() + four.len());
    let (mut six, mut four) = (six.into_iter(), four.into_iter());
    loop {
        match (six.next(), four.next()) {
            (None, None) => return order,
            (a, b) => order.extend(a.into_iter().chain(b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_first_then_alternating() {
        let ips = |s: &[&str]| -> Vec<IpAddr> { s.iter().map(|a| a.parse().unwrap()).collect() };
        assert_eq!(
            interleave(
                ips(&["fd00::1", "fd00::2"]),
                ips(&["10.0.0.1", "10.0.0.2", "10.0.0.3"])
            ),
            ips(&["fd00::1", "10.0.0.1", "fd00::2", "10.0.0.2", "10.0.0.3"])
        );
        assert_eq!(
            interleave(Vec::new(), ips(&["10.0.0.1"])),
            ips(&["10.0.0.1"])
        );
    }
}
