//! The direct stack: smoltcp over a `Net` device, driven by the runtime.
//!
//! Ethernet, ARP, IPv4, IPv6 (link-local plus `--ipv6`, NDP), ICMP and
//! ICMPv6 echo, UDP, TCP and a DHCPv4 client. One driver task owns the
//! interface. It polls smoltcp, accepts new connections on listening ports
//! and hands received datagrams out (each handler call in a task of its
//! own), then sleeps until the interface's next deadline or until the device
//! may have a frame: it never busy-polls. Flows and UDP writes wake the
//! driver, so acknowledgements and data leave promptly.
//!
//! Invariant: the interface, the socket set and the device are only touched
//! with the single `RefCell` of [`Inner`] borrowed, and never across an
//! `.await`.
#![no_std]
#![deny(unsafe_code)]

extern crate alloc;

mod config;
mod device;
mod dhcp;
mod flow;
mod listen;
mod offload;
mod peers;
mod table;
mod udp;

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::{poll_fn, Future};
use core::pin::Pin;
use core::task::{Poll, Waker};

use smoltcp::iface::{Config as IfaceConfig, Interface, SocketHandle};
use smoltcp::socket::{dhcpv4, tcp};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, IpEndpoint};

use mirage_types::{Datagram, Net, NetError, SocketAddr};

pub use config::Config;
pub use flow::Flow;
use listen::{Listener, BACKLOG, HALF_OPEN};

/// Egress polls per driver turn at most, between reads of the device.
const EGRESS_BATCH: usize = 64;

/// How long a connection may wait for its peer before it is aborted.
/// smoltcp counts it from the peer's last segment whatever the state, so
/// an idle connection needs [`TCP_KEEP_ALIVE`] to live longer.
pub(crate) const TCP_TIMEOUT: smoltcp::time::Duration = smoltcp::time::Duration::from_secs(30);

/// How long a connection stays quiet before it probes its peer: a live
/// peer answers, and an idle connection (a keep-alive HTTP client between
/// requests) lasts as long as its application wants; a peer silent for
/// [`TCP_TIMEOUT`] is gone.
pub(crate) const TCP_KEEP_ALIVE: smoltcp::time::Duration = smoltcp::time::Duration::from_secs(10);

/// Local ports for outgoing connections and anonymous datagrams.
const EPHEMERAL: core::ops::RangeInclusive<u16> = 49152..=65535;

pub(crate) type Handler<T> = Rc<dyn Fn(T) -> Pin<Box<dyn Future<Output = ()>>>>;

pub(crate) struct Inner {
    iface: Interface,
    sockets: table::Table,
    /// The socket of each open flow, by the flow's id (handles change when
    /// the table is rebuilt; ids do not).
    flows: BTreeMap<u64, SocketHandle>,
    next_flow: u64,
    device: device::Device,
    listeners: Vec<Listener>,
    /// Bytes of buffer per direction of each TCP connection.
    tcp_buffer: usize,
    udp: udp::Bindings,
    /// Sockets whose flow was closed or dropped, and when they are aborted
    /// if still not closed: removed once closed.
    closing: Vec<(SocketHandle, Instant)>,
    /// Connections open, and aborted at their linger's end.
    flow_metrics: flow::Metrics,
    /// The DHCP client, when the address comes from DHCP.
    dhcp: Option<SocketHandle>,
    /// The next ephemeral port to try.
    next_port: u16,
    /// Set when a flow or a write has work for the driver; cleared by it.
    kicked: bool,
    driver: Option<Waker>,
}

impl Inner {
    /// Makes the driver poll the interface again soon.
    pub(crate) fn wake_driver(&mut self) {
        self.kicked = true;
        if let Some(w) = self.driver.take() {
            w.wake();
        }
    }

    /// An ephemeral port, in turn.
    pub(crate) fn ephemeral_port(&mut self) -> u16 {
        let port = self.next_port;
        self.next_port = if port == *EPHEMERAL.end() {
            *EPHEMERAL.start()
        } else {
            port + 1
        };
        port
    }
}

/// A TCP/IP stack on smoltcp.
#[derive(Clone)]
pub struct SmolStack {
    inner: Rc<RefCell<Inner>>,
}

fn now() -> Instant {
    Instant::from_micros((mirage_runtime::platform::get().now_ns() / 1000) as i64)
}

/// A smoltcp endpoint as a `SocketAddr`.
pub(crate) fn socket_addr(e: IpEndpoint) -> SocketAddr {
    SocketAddr::new(e.addr.into(), e.port)
}

impl SmolStack {
    /// Brings the interface up as `config` says, then starts the driver.
    pub async fn connect<N: Net + 'static>(net: N, config: Config) -> Result<SmolStack, String> {
        let plan = config.plan()?;
        let mut device = device::Device::new(net.clone(), plan.limits);
        let mac = EthernetAddress(net.mac());
        let mut iface = Interface::new(
            IfaceConfig::new(HardwareAddress::Ethernet(mac)),
            &mut device,
            now(),
        );
        let mut sockets = table::Table::new();
        let dhcp = plan.dhcp.then(|| {
            let mut client = dhcpv4::Socket::new();
            // Ask again every second until a server answers: the first
            // DISCOVER often leaves before the link is up.
            let mut retry = dhcpv4::RetryConfig::default();
            retry.discover_timeout = smoltcp::time::Duration::from_secs(1);
            client.set_retry_config(retry);
            sockets.add(client)
        });
        let mut addrs: Vec<IpCidr> = Vec::new();
        addrs.extend(plan.ipv4.map(IpCidr::Ipv4));
        if plan.ipv6_on {
            addrs.push(IpCidr::Ipv6(config::link_local(mac.0)));
            addrs.extend(plan.ipv6.map(IpCidr::Ipv6));
        }
        iface.update_ip_addrs(|a| a.extend(addrs.iter().copied()));
        let routes = iface.routes_mut();
        if let Some(gw) = plan.ipv4_gateway {
            routes
                .add_default_ipv4_route(gw)
                .map_err(|_| String::from("too many routes"))?;
        }
        if let Some(gw) = plan.ipv6_gateway {
            routes
                .add_default_ipv6_route(gw)
                .map_err(|_| String::from("too many routes"))?;
        }
        // What peers can make the image spend on TCP buffers, at most.
        let listening = plan.tcp_buffer * 2 * (BACKLOG + HALF_OPEN);
        log::info!(
            target: "tcpip",
            "TCP: at most {} connections ({} per peer) of 2 x {} bytes, {} bytes more per listening port",
            plan.limits.max,
            plan.limits.per_peer,
            plan.tcp_buffer,
            listening
        );
        let shown: Vec<String> = addrs.iter().map(|a| format!("{a}")).collect();
        let offload = match net.offload() {
            true => "TCP segmentation and checksum offload on",
            false => "no offload",
        };
        log::info!(
            target: "tcpip",
            "interface {mac} up with {}; wire MTU {}, {offload}",
            shown.join(", "),
            net.mtu()
        );
        if dhcp.is_some() {
            log::info!(target: "tcpip", "asking DHCP for an IPv4 address");
        }
        let inner = Rc::new(RefCell::new(Inner {
            iface,
            sockets,
            dhcp,
            device,
            listeners: Vec::new(),
            tcp_buffer: plan.tcp_buffer,
            udp: udp::Bindings::default(),
            closing: Vec::new(),
            flow_metrics: flow::Metrics::new(),
            flows: BTreeMap::new(),
            next_flow: 0,
            // Spread restarts over the range, so a rebooted unikernel does
            // not reuse the ports of its previous life at once.
            next_port: *EPHEMERAL.start() + (now().total_micros() % 16384) as u16,
            kicked: false,
            driver: None,
        }));
        mirage_runtime::spawn(drive(inner.clone(), net));
        Ok(SmolStack { inner })
    }
}

/// Work the driver found for handlers.
enum Work {
    Connection(Handler<Flow>, SocketHandle, String),
    Datagram(Handler<Datagram>, Datagram),
}

/// The driver task: poll, accept, deliver, sleep until needed.
async fn drive<N: Net>(inner: Rc<RefCell<Inner>>, net: N) {
    loop {
        let (delay, work) = {
            let mut guard = inner.borrow_mut();
            let i = &mut *guard;
            i.kicked = false;
            i.device.syns = BACKLOG;
            i.iface.poll(now(), &mut i.device, &mut i.sockets);
            // A poll sends one segment per socket: go on sending while
            // segments go out, without reading the device each time.
            for _ in 0..EGRESS_BATCH {
                let sent = i.device.sent;
                i.iface.poll_egress(now(), &mut i.device, &mut i.sockets);
                if i.device.sent == sent {
                    break;
                }
            }
            dhcp::configure(i);
            let aborted = flow::free_closed(i);
            i.sockets.trim(now());
            // Before new connections are accepted: no handle in flight.
            table::compact(i);
            let mut work: Vec<Work> = i
                .listeners
                .iter_mut()
                .flat_map(|l| l.accept(&mut i.sockets, &mut i.device.peers, i.tcp_buffer))
                .map(|(handler, socket, peer)| Work::Connection(handler, socket, peer))
                .collect();
            i.device.peers.settle();
            work.extend(
                i.udp
                    .received(&mut i.sockets)
                    .into_iter()
                    .map(|(h, d)| Work::Datagram(h, d)),
            );
            let delay = match i.device.held {
                // A SYN waits for the next turn's listening sockets; an
                // abort's RST goes out in the next poll.
                _ if aborted => Some(smoltcp::time::Duration::ZERO),
                Some(_) => Some(smoltcp::time::Duration::ZERO),
                None => i.iface.poll_delay(now(), &i.sockets),
            };
            (delay, work)
        };
        for w in work {
            match w {
                Work::Connection(handler, socket, peer) => {
                    mirage_runtime::spawn(handler(Flow::new(inner.clone(), socket, peer)))
                }
                Work::Datagram(handler, datagram) => mirage_runtime::spawn(handler(datagram)),
            }
        }
        if delay == Some(smoltcp::time::Duration::ZERO) {
            continue;
        }
        let mut sleep = delay.map(|d| mirage_runtime::time::sleep_ns(d.total_micros() * 1000));
        let mut readable = core::pin::pin!(net.readable());
        let inner = &inner;
        poll_fn(|cx| {
            let mut i = inner.borrow_mut();
            if i.kicked {
                return Poll::Ready(());
            }
            i.driver = Some(cx.waker().clone());
            drop(i);
            if readable.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
            if let Some(s) = sleep.as_mut() {
                if Pin::new(s).poll(cx).is_ready() {
                    return Poll::Ready(());
                }
            }
            Poll::Pending
        })
        .await;
        // A frame may be waiting, or a flow asked us to send: poll again.
    }
}

impl mirage_types::Stack for SmolStack {
    type Flow = Flow;

    fn listen_tcp<F, Fut>(&self, port: u16, handler: F)
    where
        F: Fn(Flow) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let mut guard = self.inner.borrow_mut();
        let i = &mut *guard;
        let handler: Handler<Flow> = Rc::new(move |flow| Box::pin(handler(flow)));
        match Listener::new(&mut i.sockets, port, i.tcp_buffer, handler) {
            Ok(listener) => {
                i.listeners.push(listener);
                i.wake_driver();
            }
            Err(e) => log::error!(target: "tcpip", "{e}"),
        }
    }

    async fn connect_tcp(&self, dst: SocketAddr) -> Result<Flow, NetError> {
        let handle = {
            let mut guard = self.inner.borrow_mut();
            let i = &mut *guard;
            let mut socket = i.sockets.tcp_socket(i.tcp_buffer);
            socket.set_timeout(Some(TCP_TIMEOUT));
            let port = i.ephemeral_port();
            socket
                .connect(i.iface.context(), dst, port)
                .map_err(|_| NetError::Unreachable)?;
            let handle = i.sockets.add(socket);
            i.wake_driver();
            handle
        };
        // Dropping the flow on error frees the socket.
        let flow = Flow::new(self.inner.clone(), handle, format!("{dst}"));
        let connected = poll_fn(|cx| {
            let mut i = self.inner.borrow_mut();
            let Some(handle) = flow.handle(&i) else {
                return Poll::Ready(Err(NetError::Closed));
            };
            let socket = i.sockets.get_mut::<tcp::Socket>(handle);
            match socket.state() {
                tcp::State::SynSent | tcp::State::SynReceived => {
                    socket.register_send_waker(cx.waker());
                    Poll::Pending
                }
                _ if socket.may_send() => Poll::Ready(Ok(())),
                _ => Poll::Ready(Err(NetError::Refused)),
            }
        })
        .await;
        connected.map(|()| flow)
    }

    fn listen_udp<F, Fut>(&self, port: u16, handler: F)
    where
        F: Fn(Datagram) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        if let Err(e) = self.bind_udp(port, handler) {
            log::error!(target: "tcpip", "UDP port {port}: {e}");
        }
    }

    fn bind_udp<F, Fut>(&self, port: u16, handler: F) -> Result<(), NetError>
    where
        F: Fn(Datagram) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let handler: Handler<Datagram> = Rc::new(move |d| Box::pin(handler(d)));
        udp::listen(&mut self.inner.borrow_mut(), port, handler)
    }

    fn unlisten_udp(&self, port: u16) {
        let i = &mut *self.inner.borrow_mut();
        i.udp.unlisten(&mut i.sockets, port);
    }

    async fn write_udp(
        &self,
        src_port: Option<u16>,
        dst: SocketAddr,
        data: &[u8],
    ) -> Result<(), NetError> {
        poll_fn(|cx| {
            let mut guard = self.inner.borrow_mut();
            let i = &mut *guard;
            let sent = udp::send(i, src_port, dst, data, cx.waker());
            i.wake_driver();
            sent
        })
        .await
    }
}
