//! A DNS client over any `stackv4v6`, after Mirage's `generic_dns_client`.
//!
//! A [`Client`] looks up A and AAAA records: a query over UDP to each server
//! of `--dns-servers` in turn, each given `--dns-timeout` seconds and tried
//! `--dns-retries` more times; a truncated answer is asked again over TCP
//! (RFC 7766). Answers are cached for their TTL, negative ones for their
//! SOA minimum. Errors say what happened: the name does not exist, it has
//! no record of that kind, a server failed or refused, or no answer came.
//! Messages are built and parsed by simple-dns; what a server sends never
//! panics the image. Each query carries a random ID from the `random`
//! device and leaves from a random port of its own, freed when it is
//! answered or given up (RFC 5452: a spoofer must guess both, anew for
//! every query), and only the asked server's answer to that ID counts.
#![no_std]
#![deny(unsafe_code)]

extern crate alloc;

mod cache;
mod eyeballs;
mod servers;
mod wire;

pub use eyeballs::HappyEyeballs;
pub use servers::check_servers;
use servers::parse_servers;

use alloc::collections::VecDeque;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::RefCell;
use core::fmt::{self, Display};
use core::net::{IpAddr, SocketAddr};
use core::task::{Context, Poll, Waker};

use mirage_runtime::time::{positive_seconds_ns, within};
use mirage_types::{Datagram, MonotonicClock, NetError, Random, Stack, TcpFlow, Time};
pub use mirage_types::{Dns, Kind};

use wire::Outcome;

/// Why a lookup failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsError {
    /// Not a domain name.
    BadName(String),
    /// The name does not exist (NXDOMAIN).
    NxDomain(String),
    /// The name has no record of this kind.
    NoRecords(String, Kind),
    /// A server failed (SERVFAIL), refused, or answered another code.
    Server(String, SocketAddr, &'static str),
    /// No server answered, after this many queries.
    Timeout(String, usize),
    /// `--dns-servers` names no server.
    NoServers(String),
}

impl Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsError::BadName(name) => write!(f, "`{name}` is not a domain name"),
            DnsError::NxDomain(name) => write!(f, "{name} does not exist (NXDOMAIN)"),
            DnsError::NoRecords(name, kind) => write!(f, "{name} has no {kind} record"),
            DnsError::Server(name, server, what) => write!(f, "{server} {what} for {name}"),
            DnsError::NoServers(name) => write!(f, "cannot look up {name}: no --dns-servers given"),
            DnsError::Timeout(name, queries) => {
                write!(
                    f,
                    "no answer for {name} after {queries} queries to --dns-servers"
                )
            }
        }
    }
}

/// Datagrams to the client's port, until a lookup takes them.
#[derive(Default)]
struct Inbox {
    datagrams: VecDeque<Datagram>,
    waiting: Vec<Waker>,
}

/// Datagrams kept at most; older ones are dropped first.
const INBOX: usize = 64;

/// Random ports tried for a query before it is given up (one taken by a
/// listener of the image, or of the host on unix, is tried again).
const PORT_TRIES: usize = 8;

impl Inbox {
    /// Keeps `datagram` for a lookup to take.
    fn put(&mut self, datagram: Datagram) {
        if self.datagrams.len() == INBOX {
            self.datagrams.pop_front();
        }
        self.datagrams.push_back(datagram);
        self.waiting.drain(..).for_each(Waker::wake);
    }

    /// `server`'s answer to query `id`, once it has come.
    fn take(
        &mut self,
        server: SocketAddr,
        (id, name, kind): (u16, &str, Kind),
        cx: &mut Context<'_>,
    ) -> Poll<(bool, Outcome)> {
        let found = self.datagrams.iter().enumerate().find_map(|(i, d)| {
            (d.src == server)
                .then(|| wire::answer(&d.data, id, name, kind))
                .flatten()
                .map(|a| (i, a))
        });
        if let Some((i, answer)) = found {
            self.datagrams.remove(i);
            return Poll::Ready(answer);
        }
        if !self.waiting.iter().any(|w| w.will_wake(cx.waker())) {
            self.waiting.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// The `dns_client` device.
pub struct Client<S, T, M, R> {
    inner: Rc<Inner<S, T, M, R>>,
}

impl<S, T, M, R> Clone for Client<S, T, M, R> {
    fn clone(&self) -> Self {
        Client {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<S, T, M, R> {
    stack: S,
    time: T,
    mclock: M,
    random: R,
    servers: Vec<SocketAddr>,
    timeout_ns: u64,
    tries: usize,
    cache: RefCell<cache::Cache>,
}

impl<S, T, M, R> Client<S, T, M, R>
where
    S: Stack + 'static,
    T: Time,
    M: MonotonicClock,
    R: Random,
{
    /// Connects the device: `servers` from `--dns-servers`, `timeout_s`
    /// from `--dns-timeout`, `retries` from `--dns-retries`.
    pub async fn connect(
        stack: S,
        time: T,
        mclock: M,
        random: R,
        servers: String,
        timeout_s: i64,
        retries: i64,
    ) -> Result<Self, String> {
        let servers = parse_servers(&servers).map_err(|e| format!("--dns-servers: {e}"))?;
        let timeout_ns = positive_seconds_ns(timeout_s, "dns-timeout")?;
        let retries = usize::try_from(retries).map_err(|_| "--dns-retries must be >= 0")?;
        let list: Vec<String> = servers.iter().map(ToString::to_string).collect();
        match list.is_empty() {
            true => log::info!("dns: no --dns-servers: only IP addresses resolve"),
            false => log::info!("dns: servers {}", list.join(", ")),
        }
        Ok(Client {
            inner: Rc::new(Inner {
                stack,
                time,
                mclock,
                random,
                servers,
                timeout_ns,
                tries: retries + 1,
                cache: RefCell::new(cache::Cache::default()),
            }),
        })
    }

    fn id(&self) -> u16 {
        let mut id = [0; 2];
        self.inner.random.generate(&mut id);
        u16::from_be_bytes(id)
    }

    /// A random ephemeral port (RFC 6335) of its own whose datagrams go
    /// to `inbox`, or `None` when none could be had.
    fn bind(&self, inbox: &Rc<RefCell<Inbox>>) -> Option<u16> {
        for _ in 0..PORT_TRIES {
            let mut port = [0; 2];
            self.inner.random.generate(&mut port);
            let port = 49152 + u16::from_be_bytes(port) % 16384;
            let mailbox = inbox.clone();
            let deliver = move |datagram| {
                let inbox = mailbox.clone();
                async move { inbox.borrow_mut().put(datagram) }
            };
            match self.inner.stack.bind_udp(port, deliver) {
                Ok(()) => return Some(port),
                Err(NetError::InUse(_)) => continue,
                Err(e) => {
                    log::debug!("dns: UDP port {port}: {e}");
                    return None;
                }
            }
        }
        log::debug!("dns: {PORT_TRIES} random UDP ports were taken");
        None
    }

    /// One query over UDP to `server`, from a port of its own, and its
    /// answer in time.
    async fn udp(&self, server: SocketAddr, name: &str, kind: Kind) -> Option<(bool, Outcome)> {
        let i = &self.inner;
        let id = self.id();
        let query = wire::query(id, name, kind)?;
        let inbox = Rc::new(RefCell::new(Inbox::default()));
        let port = self.bind(&inbox)?;
        let exchange = async {
            if let Err(e) = i.stack.write_udp(Some(port), server, &query).await {
                log::debug!("dns: {server}: {e}");
                return None;
            }
            let reply =
                core::future::poll_fn(|cx| inbox.borrow_mut().take(server, (id, name, kind), cx));
            within(&i.time, i.timeout_ns, reply).await
        };
        let answer = exchange.await;
        i.stack.unlisten_udp(port);
        answer
    }

    /// The same over TCP, for answers too large for a datagram.
    async fn tcp(&self, server: SocketAddr, name: &str, kind: Kind) -> Option<(bool, Outcome)> {
        let i = &self.inner;
        let id = self.id();
        let query = wire::query(id, name, kind)?;
        let exchange = async {
            let mut flow = i.stack.connect_tcp(server).await.ok()?;
            let mut message = Vec::with_capacity(query.len() + 2);
            message.extend_from_slice(&(query.len() as u16).to_be_bytes());
            message.extend_from_slice(&query);
            flow.write(&message).await.ok()?;
            let mut got = Vec::new();
            loop {
                if let [hi, lo, rest @ ..] = &got[..] {
                    let len = usize::from(u16::from_be_bytes([*hi, *lo]));
                    if rest.len() >= len {
                        let answer = wire::answer(&rest[..len], id, name, kind);
                        flow.close().await;
                        return answer;
                    }
                }
                got.extend(flow.read().await.ok()??);
            }
        };
        within(&i.time, i.timeout_ns, exchange).await.flatten()
    }

    /// Asks the servers in turn until one answers.
    async fn ask(&self, name: &str, kind: Kind) -> Result<(Vec<IpAddr>, u32), (DnsError, u32)> {
        let i = &self.inner;
        if i.servers.is_empty() {
            return Err((DnsError::NoServers(name.to_string()), 0));
        }
        let mut failed = None;
        let mut queries = 0;
        for _ in 0..i.tries {
            for &server in &i.servers {
                queries += 1;
                log::debug!("dns: {kind} {name}? to {server}");
                let answer = match self.udp(server, name, kind).await {
                    Some((true, _)) => self.tcp(server, name, kind).await,
                    answer => answer,
                };
                let Some((_, outcome)) = answer else { continue };
                let owned = name.to_string();
                let what = match outcome {
                    Outcome::Addresses(ips, ttl) => return Ok((ips, ttl)),
                    Outcome::NxDomain(ttl) => {
                        return Err((DnsError::NxDomain(owned), ttl.unwrap_or(0)))
                    }
                    Outcome::NoData(ttl) => {
                        return Err((DnsError::NoRecords(owned, kind), ttl.unwrap_or(0)))
                    }
                    Outcome::ServFail => "failed (SERVFAIL)",
                    Outcome::Refused => "refused (REFUSED)",
                    Outcome::Other(_) => "answered with an error",
                };
                // Another server may do better.
                failed = Some(DnsError::Server(owned, server, what));
            }
        }
        Err((
            failed.unwrap_or(DnsError::Timeout(name.to_string(), queries)),
            0,
        ))
    }
}

impl<S, T, M, R> Dns for Client<S, T, M, R>
where
    S: Stack + 'static,
    T: Time + 'static,
    M: MonotonicClock + 'static,
    R: Random + 'static,
{
    type Error = DnsError;

    async fn getaddrinfo(&self, name: &str, kind: Kind) -> Result<Vec<IpAddr>, DnsError> {
        if let Ok(ip) = name.trim_matches(['[', ']']).parse::<IpAddr>() {
            return match (ip, kind) {
                (IpAddr::V4(_), Kind::A) | (IpAddr::V6(_), Kind::Aaaa) => Ok(alloc::vec![ip]),
                _ => Err(DnsError::NoRecords(name.to_string(), kind)),
            };
        }
        let name = name.strip_suffix('.').unwrap_or(name);
        if !wire::is_domain_name(name) {
            return Err(DnsError::BadName(name.to_string()));
        }
        let now = self.inner.mclock.elapsed_ns();
        if let Some(known) = self.inner.cache.borrow_mut().get(name, kind, now) {
            return known;
        }
        let (answer, ttl) = match self.ask(name, kind).await {
            Ok((ips, ttl)) => (Ok(ips), ttl),
            Err((e, ttl)) => (Err(e), ttl),
        };
        let now = self.inner.mclock.elapsed_ns();
        self.inner
            .cache
            .borrow_mut()
            .put(name, kind, now, ttl, answer.clone());
        answer
    }
}
