//! Where a webhook may be sent. Checked after DNS resolution, inside the HTTP client's
//! resolver, so the address connected to is the address checked (no window for a DNS
//! answer to change in between); literal IP hosts, which skip the resolver, are checked
//! before the request. Redirects are never followed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why a destination was refused; found again in the client's error chain.
#[derive(Debug, thiserror::Error)]
#[error("destination refused: {0}")]
pub struct Refused(pub String);

/// Whether an address is one a webhook must not reach by default: loopback, private,
/// link-local (cloud metadata lives at 169.254.169.254 and fd00:ec2::254), carrier-grade
/// NAT, unspecified, multicast, broadcast, documentation and reserved ranges, and IPv6
/// forms that embed such an IPv4 address.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => is_internal_v6(v6),
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // 100.64.0.0/10, carrier-grade NAT
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // 192.0.0.0/24, protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // 198.18.0.0/15, benchmarking
        || a >= 240 // reserved
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_internal_v4(v4);
    }
    let segments = ip.segments();
    // NAT64 (64:ff9b::/96) embeds an IPv4 address in the last 32 bits.
    if segments[0] == 0x64 && segments[1] == 0xff9b && segments[2..6] == [0, 0, 0, 0] {
        let octets = ip.octets();
        return is_internal_v4(Ipv4Addr::new(
            octets[12], octets[13], octets[14], octets[15],
        ));
    }
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00 // unique local, fc00::/7
        || (segments[0] & 0xffc0) == 0xfe80 // link-local, fe80::/10
        || (segments[0] & 0xffc0) == 0xfec0 // site-local (deprecated), fec0::/10
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
        // IPv4-compatible (::a.b.c.d), deprecated but still routed by some stacks.
        || (segments[..6] == [0, 0, 0, 0, 0, 0])
}

/// A resolver that drops internal addresses (unless allowed) and refuses a name that
/// resolves only to them.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub allow_internal: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_internal = self.allow_internal;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?
                .collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|addr| allow_internal || !is_internal(addr.ip()))
                .collect();
            if allowed.is_empty() {
                let listed: Vec<String> = found.iter().map(|a| a.ip().to_string()).collect();
                return Err(Box::new(Refused(format!(
                    "{host} resolves to {} (not a public address)",
                    listed.join(", ")
                )))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// Refuses a URL whose host is a literal internal address (the resolver never sees
/// those).
pub fn check_literal(url: &reqwest::Url, allow_internal: bool) -> Result<(), Refused> {
    if allow_internal {
        return Ok(());
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
        _ => return Ok(()),
    };
    if is_internal(ip) {
        return Err(Refused(format!("{ip} is not a public address")));
    }
    Ok(())
}

/// Whether a client error was a refusal of ours.
pub fn refusal_in(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(refused) = error.downcast_ref::<Refused>() {
            return Some(refused.0.clone());
        }
        current = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognised() {
        for internal in [
            "127.0.0.1",
            "127.8.9.10",
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::10.0.0.1",
        ] {
            assert!(
                is_internal(internal.parse().unwrap()),
                "{internal} is internal"
            );
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
        ] {
            assert!(!is_internal(public.parse().unwrap()), "{public} is public");
        }
    }

    #[test]
    fn literal_hosts_are_checked_before_any_request() {
        let url = |s: &str| reqwest::Url::parse(s).unwrap();
        assert!(check_literal(&url("http://127.0.0.1:8080/"), false).is_err());
        assert!(check_literal(&url("http://[::1]/"), false).is_err());
        assert!(check_literal(&url("http://169.254.169.254/latest/meta-data"), false).is_err());
        assert!(check_literal(&url("http://10.1.2.3/"), false).is_err());
        assert!(check_literal(&url("http://127.0.0.1:8080/"), true).is_ok());
        assert!(check_literal(&url("https://example.com/"), false).is_ok());
    }
}
