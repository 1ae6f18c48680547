//! Which network addresses are inside a deployment's own network: what alert channels (and
//! anything else that sends to a URL a user typed) must not reach.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        // 0.0.0.0/8 (this network) and 100.64.0.0/10 (carrier-grade NAT).
        || a == 0
        || (a == 100 && (64..128).contains(&b))
}

fn internal_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        // fc00::/7 unique local, fe80::/10 link-local.
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || ip.to_ipv4_mapped().is_some_and(internal_v4)
}

/// Whether `ip` is loopback, private (RFC 1918, fc00::/7), link-local (169.254/16 — cloud
/// metadata — and fe80::/10), unspecified, broadcast, "this network", carrier-grade NAT, or an
/// IPv4-mapped such address.
pub fn internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => internal_v6(v6),
    }
}

/// Whether a URL host (as `url` prints it: IPv6 in brackets) names this machine or an internal
/// address without a lookup: `localhost`, `*.localhost`, or an internal IP literal.
pub fn internal_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => internal(ip),
        Err(_) => {
            let d = host.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_hosts_and_addresses() {
        for host in [
            "localhost",
            "LOCALHOST.",
            "api.localhost",
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "100.64.0.1",
            "255.255.255.255",
            "[::1]",
            "[::]",
            "[fd00::1]",
            "[fe80::1]",
            "[::ffff:127.0.0.1]",
        ] {
            assert!(internal_host(host), "{host}");
        }
        for host in [
            "hooks.slack.com",
            "93.184.216.34",
            "100.128.0.1",
            "172.32.0.1",
            "[2606:2800:220:1::]",
            "localhost.example.com",
        ] {
            assert!(!internal_host(host), "{host}");
        }
    }
}
