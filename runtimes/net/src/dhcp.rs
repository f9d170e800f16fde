//! DHCP: what the client learnt, applied to the interface.

use smoltcp::socket::dhcpv4;
use smoltcp::wire::IpCidr;

use crate::Inner;

/// Applies what the DHCP client learnt, if anything; IPv6 addresses stay.
pub(crate) fn configure(i: &mut Inner) {
    let Some(h) = i.dhcp else { return };
    match i.sockets.get_mut::<dhcpv4::Socket>(h).poll() {
        Some(dhcpv4::Event::Configured(config)) => {
            log::info!(target: "tcpip", "DHCP: address {}", config.address);
            i.iface.update_ip_addrs(|addrs| {
                addrs.retain(|a| !matches!(a, IpCidr::Ipv4(_)));
                let _ = addrs.push(IpCidr::Ipv4(config.address));
            });
            if let Some(router) = config.router {
                let _ = i.iface.routes_mut().add_default_ipv4_route(router);
            }
        }
        Some(dhcpv4::Event::Deconfigured) => {
            log::info!(target: "tcpip", "DHCP: address lost");
            i.iface
                .update_ip_addrs(|addrs| addrs.retain(|a| !matches!(a, IpCidr::Ipv4(_))));
            i.iface.routes_mut().remove_default_ipv4_route();
        }
        None => {}
    }
}
