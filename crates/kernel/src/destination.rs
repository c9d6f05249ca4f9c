//! Where a webhook or a chat message may be sent. Checked after DNS resolution, inside the HTTP client's
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

/// How long a check at save may wait for DNS before giving the name the benefit of
/// the doubt (every delivery checks again, after resolution).
const SAVE_LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The one way to build a client that sends to destinations tenants choose (webhooks,
/// chat): no redirects, the guarded resolver, and **no proxy**. reqwest honours
/// `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY` from the environment by default, and a proxy
/// resolves the name itself, so the resolver's check would never run: a URL naming
/// `localhost` would reach the proxy's loopback. Keep every outbound client of that
/// kind on this builder; `tests/api/proxy_env.rs` proves the guard holds with those
/// variables set.
pub fn client(
    allow_internal: bool,
    user_agent: &'static str,
    timeout: std::time::Duration,
) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(std::time::Duration::from_secs(5)))
        .user_agent(user_agent)
        .dns_resolver(std::sync::Arc::new(GuardedResolver { allow_internal }))
        .build()
}

/// What every tenant-chosen destination must be before it is stored: an absolute
/// http(s) URL (https only when `https_only`), with a host and no credentials in it,
/// whose literal address is not internal. Messages are for the field's error.
pub fn parse_url(
    value: &str,
    https_only: bool,
    allow_internal: bool,
) -> Result<reqwest::Url, String> {
    if value.chars().count() > 2000 {
        return Err("is longer than 2000 characters".into());
    }
    let parsed = reqwest::Url::parse(value.trim()).map_err(|e| format!("is not a URL: {e}"))?;
    match parsed.scheme() {
        "https" => {}
        "http" if !https_only || allow_internal => {}
        _ if https_only => return Err("must be https".into()),
        _ => return Err("must be http or https".into()),
    }
    if parsed.host().is_none() {
        return Err("must name a host".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not carry credentials".into());
    }
    check_literal(&parsed, allow_internal).map_err(|why| why.to_string())?;
    Ok(parsed)
}

/// Refuses, at save, a URL whose name is `localhost` or resolves only to internal
/// addresses. A name that does not resolve (yet) within a moment is let through: the
/// resolver checks again at every delivery, and a delivery is what could do harm.
pub async fn check_resolved(url: &reqwest::Url, allow_internal: bool) -> Result<(), Refused> {
    if allow_internal {
        return Ok(());
    }
    let Some(url::Host::Domain(name)) = url.host() else {
        return Ok(());
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return Err(Refused(format!("{name} is not a public name")));
    }
    let lookup =
        tokio::net::lookup_host((name.as_str(), url.port_or_known_default().unwrap_or(443)));
    let Ok(Ok(found)) = tokio::time::timeout(SAVE_LOOKUP_TIMEOUT, lookup).await else {
        return Ok(());
    };
    let found: Vec<IpAddr> = found.map(|addr| addr.ip()).collect();
    if !found.is_empty() && found.iter().all(|ip| is_internal(*ip)) {
        let listed: Vec<String> = found.iter().map(IpAddr::to_string).collect();
        return Err(Refused(format!(
            "{name} resolves to {} (not a public address)",
            listed.join(", ")
        )));
    }
    Ok(())
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

    #[test]
    fn destinations_are_http_urls_with_a_host_and_no_credentials() {
        assert!(parse_url("https://hooks.example.com/x", true, false).is_ok());
        assert!(parse_url("http://hooks.example.com/x", false, false).is_ok());
        assert!(parse_url("http://hooks.example.com/x", true, false).is_err());
        assert!(parse_url("http://127.0.0.1:9/x", true, true).is_ok());
        for bad in [
            "ftp://example.com/",
            "file:///etc/passwd",
            "not a url",
            "https://user:pw@example.com/",
            "https://token@example.com/",
            "https://127.0.0.1/",
            "https://[::1]/",
            "javascript:alert(1)",
        ] {
            assert!(parse_url(bad, false, false).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn names_of_this_machine_are_refused_at_save() {
        let url = |s: &str| reqwest::Url::parse(s).unwrap();
        assert!(check_resolved(&url("http://localhost:9/"), false)
            .await
            .is_err());
        assert!(check_resolved(&url("http://api.localhost./"), false)
            .await
            .is_err());
        assert!(check_resolved(&url("http://localhost:9/"), true)
            .await
            .is_ok());
    }
}
