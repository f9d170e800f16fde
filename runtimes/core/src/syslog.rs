//! The syslog reporter (Mirage's `syslog_udp` and `syslog_tcp`): every log
//! line as an RFC 5424 message to a collector, over UDP or over TCP with
//! octet counting (RFC 6587), alongside the console or instead of it.
//!
//! Invariant: logging never waits and never fails its caller. Messages
//! wait in a bounded queue (the oldest are dropped, and counted, when the
//! collector falls behind); one task sends them. What the stack logs while
//! that task sends is not sent (it would feed itself).

use alloc::collections::VecDeque;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use log::Record;
use mirage_types::{Console, Dns, PosixClock, SocketAddr, Stack, TcpFlow};

use crate::log::{console_line, install, rfc3339, Levels, Sink};

/// Messages waiting at most; older ones are dropped first.
const QUEUE: usize = 1024;
/// The collector's port when `--syslog` names none.
const DEFAULT_PORT: u16 = 514;
/// Facility `daemon` (RFC 5424 table 1): a system service.
const FACILITY: u8 = 3;

/// How messages travel to the collector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// One datagram per message.
    Udp,
    /// One connection, messages framed by their length (RFC 6587).
    Tcp,
}

/// Checks `--syslog-transport`.
pub fn check_transport(value: &str) -> Result<(), String> {
    parse_transport(value).map(|_| ())
}

fn parse_transport(value: &str) -> Result<Transport, String> {
    match value {
        "udp" => Ok(Transport::Udp),
        "tcp" => Ok(Transport::Tcp),
        _ => Err(format!("`{value}` is not udp or tcp")),
    }
}

/// Checks `--syslog`: a host (an IP address or a name), with a port or not.
pub fn check_server(value: &str) -> Result<(), String> {
    parse_server(value).map(|_| ())
}

/// Where `--syslog` points.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Server {
    /// An address.
    At(SocketAddr),
    /// A name the DNS client looks up when the reporter connects, and a
    /// port.
    Named(String, u16),
}

/// `HOST[:PORT]`, `[V6]:PORT` or a bare IPv6 address; HOST an IP address
/// or a DNS name.
fn parse_server(value: &str) -> Result<Server, String> {
    if let Ok(addr) = value.parse::<SocketAddr>() {
        return Ok(Server::At(addr));
    }
    if let Ok(ip) = value.trim_matches(['[', ']']).parse() {
        return Ok(Server::At(SocketAddr::new(ip, DEFAULT_PORT)));
    }
    let (host, port) = match value.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().ok()),
        None => (value, Some(DEFAULT_PORT)),
    };
    let name_like = !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    match port {
        Some(port) if name_like => Ok(Server::Named(host.to_string(), port)),
        _ => Err(format!(
            "`{value}` is not HOST[:PORT] (an IP address or a name; IPv6 in brackets with a port)"
        )),
    }
}

/// The RFC 5424 message of one log line. `severity` is RFC 5424's.
pub fn message(severity: u8, stamp: &str, hostname: &str, source: &str, text: &str) -> String {
    // PRI VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG
    format!(
        "<{}>1 {stamp} {} {} - - - {text}",
        FACILITY * 8 + severity,
        header_field(hostname, 255),
        header_field(source, 48)
    )
}

/// A header field: printable ASCII without spaces, at most `max` bytes,
/// `-` when empty.
fn header_field(value: &str, max: usize) -> String {
    let field: String = value
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if field.is_empty() {
        "-".to_string()
    } else {
        field
    }
}

fn severity(level: log::Level) -> u8 {
    match level {
        log::Level::Error => 3,
        log::Level::Warn => 4,
        log::Level::Info => 6,
        log::Level::Debug | log::Level::Trace => 7,
    }
}

/// The queue between the logger and the sending task.
#[derive(Default)]
struct Queue {
    messages: RefCell<VecDeque<Vec<u8>>>,
    waker: RefCell<Option<Waker>>,
    dropped: Cell<u64>,
    sending: Cell<bool>,
}

impl Queue {
    fn push(&self, message: Vec<u8>) {
        let mut messages = self.messages.borrow_mut();
        if messages.len() == QUEUE {
            messages.pop_front();
            self.dropped.set(self.dropped.get() + 1);
        }
        messages.push_back(message);
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }

    /// The next message, once there is one.
    fn next(&self) -> impl Future<Output = Vec<u8>> + '_ {
        Next(self)
    }
}

struct Next<'a>(&'a Queue);

impl Future for Next<'_> {
    type Output = Vec<u8>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<u8>> {
        match self.0.messages.borrow_mut().pop_front() {
            Some(m) => Poll::Ready(m),
            None => {
                *self.0.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// What the reporter does with each record: the console's line, if
/// alongside it, and an RFC 5424 message for the sending task.
struct Syslog<C, P> {
    console: Option<C>,
    clock: P,
    hostname: String,
    queue: Rc<Queue>,
}

impl<C: Console + 'static, P: PosixClock + 'static> Sink for Syslog<C, P> {
    fn write(&self, record: &Record, source: &str) {
        let (days, ps) = self.clock.now_d_ps();
        let stamp = rfc3339(days, ps);
        if let Some(console) = &self.console {
            console.log(&console_line(&stamp, record, source));
        }
        if !self.queue.sending.get() {
            let text = format!("{}", record.args());
            let m = message(
                severity(record.level()),
                &stamp,
                &self.hostname,
                source,
                &text,
            );
            self.queue.push(m.into_bytes());
        }
    }
}

/// The syslog reporter: connect-only, like the console reporter.
#[derive(Clone, Debug)]
pub struct Reporter;

impl Reporter {
    /// Installs the reporter as the `log` logger and starts sending to
    /// `server` (`--syslog`) over `transport` (`--syslog-transport`) as
    /// `hostname` (`--syslog-hostname`, default the image's name); with
    /// `console`, every line is written there too. A server given by name
    /// is looked up with `dns` once, here. `application` is the
    /// unikernel crate's name, reported as source `application`.
    #[allow(clippy::too_many_arguments)]
    pub async fn connect<S, P, C, D>(
        stack: S,
        clock: P,
        console: C,
        dns: D,
        levels: String,
        server: String,
        hostname: String,
        transport: String,
        alongside_console: bool,
        application: &'static str,
    ) -> Result<Reporter, String>
    where
        S: Stack + 'static,
        P: PosixClock + 'static,
        C: Console + 'static,
        D: Dns,
    {
        let levels = Levels::parse(&levels)?;
        let server = match parse_server(&server).map_err(|e| format!("--syslog: {e}"))? {
            Server::At(addr) => addr,
            Server::Named(host, port) => {
                let found = dns
                    .resolve(&host)
                    .await
                    .map_err(|e| format!("--syslog: {e}"))?;
                // The first address: IPv6 first, as Happy Eyeballs would.
                let ip = found
                    .first()
                    .ok_or_else(|| format!("--syslog: {host} has no address"))?;
                SocketAddr::new(*ip, port)
            }
        };
        let transport = parse_transport(&transport)?;
        let queue = Rc::new(Queue::default());
        let hostname = match hostname.is_empty() {
            true => application.to_string(),
            false => hostname,
        };
        let sink = Syslog {
            console: alongside_console.then_some(console),
            clock,
            hostname,
            queue: queue.clone(),
        };
        install(levels, application, sink)?;
        crate::spawn(send(stack, server, transport, queue));
        Ok(Reporter)
    }
}

/// Sends every queued message, in order, for ever.
async fn send<S: Stack>(stack: S, server: SocketAddr, transport: Transport, queue: Rc<Queue>) {
    let mut flow: Option<S::Flow> = None;
    loop {
        let message = queue.next().await;
        queue.sending.set(true);
        match transport {
            Transport::Udp => {
                let _ = stack.write_udp(None, server, &message).await;
            }
            Transport::Tcp => {
                let mut framed = format!("{} ", message.len()).into_bytes();
                framed.extend_from_slice(&message);
                // A broken connection is opened again once, for this
                // message; the message is dropped if that fails too.
                for _ in 0..2 {
                    if flow.is_none() {
                        flow = stack.connect_tcp(server).await.ok();
                    }
                    let Some(f) = flow.as_mut() else { break };
                    if f.write(&framed).await.is_ok() {
                        break;
                    }
                    flow = None;
                }
            }
        }
        queue.sending.set(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5424_header_fields() {
        assert_eq!(
            message(
                6,
                "2026-11-29T20:00:00-00:00",
                "web 1",
                "application",
                "hello"
            ),
            "<30>1 2026-11-29T20:00:00-00:00 web1 application - - - hello"
        );
        assert_eq!(message(3, "T", "", "", "x"), "<27>1 T - - - - - x");
        assert_eq!(header_field(&"a".repeat(60), 48).len(), 48);
    }

    #[test]
    fn servers_are_ip_addresses_with_or_without_ports() {
        assert_eq!(
            parse_server("10.0.0.1").unwrap(),
            Server::At("10.0.0.1:514".parse().unwrap())
        );
        assert_eq!(
            parse_server("10.0.0.1:5514").unwrap(),
            Server::At("10.0.0.1:5514".parse().unwrap())
        );
        assert_eq!(
            parse_server("[fd00::1]:5514").unwrap(),
            Server::At("[fd00::1]:5514".parse().unwrap())
        );
        assert_eq!(
            parse_server("fd00::1").unwrap(),
            Server::At("[fd00::1]:514".parse().unwrap())
        );
        assert_eq!(
            parse_server("logs.example:5514").unwrap(),
            Server::Named("logs.example".into(), 5514)
        );
        assert_eq!(
            parse_server("logs").unwrap(),
            Server::Named("logs".into(), 514)
        );
        for bad in ["logs..example", "logs example", "logs:port", ":514"] {
            assert!(parse_server(bad).is_err(), "{bad}");
        }
        assert!(check_transport("udp").is_ok() && check_transport("tls").is_err());
    }

    #[test]
    fn a_full_queue_drops_the_oldest() {
        let q = Queue::default();
        for i in 0..QUEUE + 2 {
            q.push(i.to_string().into_bytes());
        }
        assert_eq!(q.dropped.get(), 2);
        assert_eq!(q.messages.borrow().front().unwrap(), b"2");
    }
}
