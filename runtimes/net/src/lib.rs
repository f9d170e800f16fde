//! The direct stack: smoltcp over a `Net` device, driven by the runtime.
//!
//! One driver task owns the interface. It polls smoltcp, accepts new
//! connections on listening ports (handing each to its handler in a task of
//! its own), then sleeps until the interface's next deadline or until the
//! device may have a frame: it never busy-polls. Flows wake the driver after
//! every read, write and close, so acknowledgements and data leave promptly.
//!
//! Invariant: the interface, the socket set and the device are only touched
//! with the single `RefCell` of [`Inner`] borrowed, and never across an
//! `.await`.
#![no_std]
#![deny(unsafe_code)]

extern crate alloc;

mod device;
mod flow;

use alloc::boxed::Box;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::{poll_fn, Future};
use core::pin::Pin;
use core::task::{Poll, Waker};

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::socket::{dhcpv4, tcp};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Address, Ipv4Cidr};

use mirage_types::Net;

pub use flow::Flow;

/// Bytes of buffer per TCP direction per connection.
const TCP_BUFFER: usize = 256 * 1024;

type Handler = Rc<dyn Fn(Flow) -> Pin<Box<dyn Future<Output = ()>>>>;

struct Listener {
    port: u16,
    socket: SocketHandle,
    handler: Handler,
}

pub(crate) struct Inner {
    iface: Interface,
    sockets: SocketSet<'static>,
    device: device::Device,
    listeners: Vec<Listener>,
    /// Sockets whose flow was closed or dropped: removed once closed.
    closing: Vec<SocketHandle>,
    /// The DHCP client, when the address comes from DHCP.
    dhcp: Option<SocketHandle>,
    driver: Option<Waker>,
}

impl Inner {
    pub(crate) fn wake_driver(&mut self) {
        if let Some(w) = self.driver.take() {
            w.wake();
        }
    }
}

/// A TCP/IPv4 stack on smoltcp.
#[derive(Clone)]
pub struct SmolStack {
    inner: Rc<RefCell<Inner>>,
}

fn now() -> Instant {
    Instant::from_micros((mirage_runtime::platform::get().now_ns() / 1000) as i64)
}

fn listening_socket(sockets: &mut SocketSet<'static>, port: u16) -> Result<SocketHandle, String> {
    let mut socket = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; TCP_BUFFER]),
        tcp::SocketBuffer::new(vec![0; TCP_BUFFER]),
    );
    socket
        .listen(port)
        .map_err(|e| format!("listen on {port}: {e}"))?;
    Ok(sockets.add(socket))
}

impl SmolStack {
    /// Brings the interface up with address `ipv4` (`A.B.C.D/N`) and, if
    /// not empty, default route `gateway`, or with DHCP when `dhcp`; then
    /// starts the driver.
    pub async fn connect<N: Net + 'static>(
        net: N,
        ipv4: String,
        gateway: String,
        dhcp: bool,
    ) -> Result<SmolStack, String> {
        let cidr: Ipv4Cidr = ipv4
            .parse()
            .map_err(|_| format!("--ipv4={ipv4}: expected ADDRESS/PREFIX"))?;
        let mut device = device::Device::new(net.clone());
        let mac = EthernetAddress(net.mac());
        let mut iface = Interface::new(
            Config::new(HardwareAddress::Ethernet(mac)),
            &mut device,
            now(),
        );
        let mut sockets = SocketSet::new(Vec::new());
        let dhcp = dhcp.then(|| {
            let mut client = dhcpv4::Socket::new();
            // Ask again every second until a server answers: the first
            // DISCOVER often leaves before the link is up.
            let mut retry = dhcpv4::RetryConfig::default();
            retry.discover_timeout = smoltcp::time::Duration::from_secs(1);
            client.set_retry_config(retry);
            sockets.add(client)
        });
        if dhcp.is_none() {
            iface.update_ip_addrs(|addrs| {
                let _ = addrs.push(IpCidr::Ipv4(cidr));
            });
        }
        if !gateway.is_empty() {
            let gw: Ipv4Address = gateway
                .parse()
                .map_err(|_| format!("--ipv4-gateway={gateway}: expected an address"))?;
            iface
                .routes_mut()
                .add_default_ipv4_route(gw)
                .map_err(|_| String::from("too many routes"))?;
        }
        match dhcp {
            Some(_) => {
                log::info!(target: "tcpip", "interface {mac} up, asking DHCP for an address")
            }
            None => log::info!(target: "tcpip", "interface {mac} up with {cidr}"),
        }
        let inner = Rc::new(RefCell::new(Inner {
            iface,
            sockets,
            dhcp,
            device,
            listeners: Vec::new(),
            closing: Vec::new(),
            driver: None,
        }));
        mirage_runtime::spawn(drive(inner.clone(), net));
        Ok(SmolStack { inner })
    }
}

/// The driver task: poll, accept, sleep until needed.
async fn drive<N: Net>(inner: Rc<RefCell<Inner>>, net: N) {
    loop {
        let (delay, accepted) = {
            let mut guard = inner.borrow_mut();
            let i = &mut *guard;
            i.iface.poll(now(), &mut i.device, &mut i.sockets);
            configure(i);
            let accepted = accept(i);
            let sockets = &mut i.sockets;
            i.closing.retain(|&h| {
                let closed = sockets.get::<tcp::Socket>(h).state() == tcp::State::Closed;
                if closed {
                    sockets.remove(h);
                    if let Some(used) = mirage_runtime::platform::get().heap_used() {
                        log::debug!(target: "tcpip", "connection freed; heap in use: {used} bytes");
                    }
                }
                !closed
            });
            (i.iface.poll_delay(now(), &i.sockets), accepted)
        };
        for (handler, socket, peer) in accepted {
            mirage_runtime::spawn(handler(Flow::new(inner.clone(), socket, peer)));
        }
        if delay == Some(smoltcp::time::Duration::ZERO) {
            continue;
        }
        let mut sleep = delay.map(|d| mirage_runtime::time::sleep_ns(d.total_micros() * 1000));
        let mut readable = core::pin::pin!(net.readable());
        let inner = &inner;
        poll_fn(|cx| {
            inner.borrow_mut().driver = Some(cx.waker().clone());
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

/// Applies what the DHCP client learnt, if anything.
fn configure(i: &mut Inner) {
    let Some(h) = i.dhcp else { return };
    match i.sockets.get_mut::<dhcpv4::Socket>(h).poll() {
        Some(dhcpv4::Event::Configured(config)) => {
            log::info!(target: "tcpip", "DHCP: address {}", config.address);
            i.iface.update_ip_addrs(|addrs| {
                addrs.clear();
                let _ = addrs.push(IpCidr::Ipv4(config.address));
            });
            if let Some(router) = config.router {
                let _ = i.iface.routes_mut().add_default_ipv4_route(router);
            }
        }
        Some(dhcpv4::Event::Deconfigured) => {
            log::info!(target: "tcpip", "DHCP: address lost");
            i.iface.update_ip_addrs(|addrs| addrs.clear());
            i.iface.routes_mut().remove_default_ipv4_route();
        }
        None => {}
    }
}

/// Established connections, each with its handler and peer; each
/// listening port gets a fresh listening socket.
fn accept(i: &mut Inner) -> Vec<(Handler, SocketHandle, String)> {
    let mut accepted = Vec::new();
    for l in &mut i.listeners {
        let state = i.sockets.get::<tcp::Socket>(l.socket).state();
        if state == tcp::State::Listen || state == tcp::State::SynReceived {
            continue;
        }
        let Ok(fresh) = listening_socket(&mut i.sockets, l.port) else {
            continue;
        };
        let socket = core::mem::replace(&mut l.socket, fresh);
        let peer = i
            .sockets
            .get::<tcp::Socket>(socket)
            .remote_endpoint()
            .map_or_else(|| "?".into(), |e| format!("{e}"));
        accepted.push((l.handler.clone(), socket, peer));
    }
    accepted
}

impl mirage_types::Stack for SmolStack {
    type Flow = Flow;

    fn listen_tcp<F, Fut>(&self, port: u16, handler: F)
    where
        F: Fn(Flow) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let mut i = self.inner.borrow_mut();
        match listening_socket(&mut i.sockets, port) {
            Ok(socket) => {
                let handler: Handler = Rc::new(move |flow| Box::pin(handler(flow)));
                i.listeners.push(Listener {
                    port,
                    socket,
                    handler,
                });
                i.wake_driver();
            }
            Err(e) => log::error!(target: "tcpip", "{e}"),
        }
    }
}
