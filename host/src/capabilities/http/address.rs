//! Where outbound requests may connect, whatever the URL grants say: the
//! host resolves names itself and refuses loopback, private, link-local,
//! unique-local, shared (CGNAT) and cloud metadata addresses — the classic
//! server-side request forgery targets — unless the server configuration
//! explicitly allows a CIDR. Checked for IP literals before a request is
//! made, and in the resolver for names, so the addresses checked are the
//! ones connected to (a name cannot rebind between check and connect).

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// Why an address is refused: the class it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("address {address} is refused: {class} (allow it with outbound_allow_cidrs)")]
pub struct AddressRefused {
    pub address: IpAddr,
    pub class: &'static str,
}

/// The server's outbound address policy: the special-purpose ranges are
/// refused, except CIDRs the configuration allows explicitly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    allowed: Vec<IpNet>,
}

impl AddressPolicy {
    /// Refuse every special-purpose range, except `allowed`.
    pub fn allowing(allowed: Vec<IpNet>) -> Self {
        Self { allowed }
    }

    pub fn check(&self, address: IpAddr) -> Result<(), AddressRefused> {
        let address = canonical(address);
        if self.allowed.iter().any(|net| net.contains(&address)) {
            return Ok(());
        }
        match special_purpose(address) {
            Some(class) => Err(AddressRefused { address, class }),
            None => Ok(()),
        }
    }
}

/// IPv4-mapped and IPv4-compatible IPv6 addresses are checked as the IPv4
/// address they carry (`::ffff:127.0.0.1` is loopback).
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                if s[..6] == [0; 6] && !v6.is_loopback() && !v6.is_unspecified() {
                    IpAddr::V4(Ipv4Addr::new(
                        (s[6] >> 8) as u8,
                        s[6] as u8,
                        (s[7] >> 8) as u8,
                        s[7] as u8,
                    ))
                } else {
                    address
                }
            }
        },
        v4 => v4,
    }
}

/// The class of a special-purpose address, or `None` for a public one.
fn special_purpose(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match () {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => "cloud metadata",
        _ if ip == Ipv4Addr::new(100, 100, 100, 200) => "cloud metadata",
        _ if ip.is_unspecified() || a == 0 => "unspecified (this network)",
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_private() => "private (RFC 1918)",
        _ if ip.is_link_local() => "link-local",
        _ if a == 100 && (64..128).contains(&b) => "shared address space (CGNAT)",
        _ if a == 192 && b == 0 && c == 0 => "IETF protocol assignments",
        _ if ip.is_documentation() => "documentation",
        _ if a == 198 && (b == 18 || b == 19) => "benchmarking",
        _ if ip.is_multicast() => "multicast",
        _ if ip.is_broadcast() || a >= 240 => "reserved",
        _ => return None,
    })
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    Some(match () {
        _ if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) => "cloud metadata",
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_loopback() => "loopback",
        _ if (s[0] & 0xfe00) == 0xfc00 => "unique-local",
        _ if (s[0] & 0xffc0) == 0xfe80 => "link-local",
        _ if (s[0] & 0xffc0) == 0xfec0 => "site-local (deprecated)",
        _ if s[0] == 0x64 && s[1] == 0xff9b => "NAT64",
        _ if s[0] == 0x2001 && s[1] == 0xdb8 => "documentation",
        _ if s[0] == 0x2002 => "6to4",
        _ if s[0] == 0x2001 && s[1] == 0 => "Teredo",
        _ if ip.is_multicast() => "multicast",
        _ => return None,
    })
}

/// The resolver the outbound client uses: the system's resolution, then the
/// policy on every address. A name with any refused address is refused
/// whole, so an attacker cannot mix a public and a private answer.
pub struct CheckedResolver {
    policy: Arc<AddressPolicy>,
}

impl CheckedResolver {
    pub fn new(policy: Arc<AddressPolicy>) -> Self {
        Self { policy }
    }
}

/// A name refused because of what it resolved to.
#[derive(Debug, thiserror::Error)]
#[error("{name} resolves to {refused}")]
pub struct NameRefused {
    pub name: String,
    pub refused: AddressRefused,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            // The refusal itself is boxed (not the enum) so that callers find
            // it as a `NameRefused` in the error's source chain.
            resolve_checked(&policy, name.as_str())
                .await
                .map(|addresses| Box::new(addresses.into_iter()) as reqwest::dns::Addrs)
                .map_err(|e| match e {
                    ResolveError::Lookup(e) => {
                        Box::new(e) as Box<dyn std::error::Error + Send + Sync>
                    }
                    ResolveError::Refused(e) => Box::new(e),
                })
        })
    }
}

/// Why a name cannot be connected to.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("cannot resolve: {0}")]
    Lookup(#[from] std::io::Error),
    #[error(transparent)]
    Refused(#[from] NameRefused),
}

/// The system's resolution of `host`, then the policy on every address.
/// The resolver's check, also used where a request is checked but not sent
/// (a dry run), so such a request is refused exactly when a real one would be.
pub async fn resolve_checked(
    policy: &AddressPolicy,
    host: &str,
) -> Result<Vec<SocketAddr>, ResolveError> {
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
    for address in &addresses {
        if let Err(refused) = policy.check(address.ip()) {
            return Err(NameRefused {
                name: host.to_string(),
                refused,
            }
            .into());
        }
    }
    Ok(addresses)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(policy: &AddressPolicy, text: &str) -> Option<&'static str> {
        policy.check(text.parse().unwrap()).err().map(|e| e.class)
    }

    #[test]
    fn special_purpose_addresses_are_refused_by_default() {
        let policy = AddressPolicy::default();
        for (address, class) in [
            ("127.0.0.1", "loopback"),
            ("127.8.9.10", "loopback"),
            ("10.1.2.3", "private (RFC 1918)"),
            ("172.16.0.1", "private (RFC 1918)"),
            ("192.168.1.1", "private (RFC 1918)"),
            ("169.254.169.254", "cloud metadata"),
            ("169.254.1.1", "link-local"),
            ("100.64.0.1", "shared address space (CGNAT)"),
            ("0.0.0.0", "unspecified (this network)"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "reserved"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fd00:ec2::254", "cloud metadata"),
            ("fd12:3456::1", "unique-local"),
            ("fe80::1", "link-local"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "cloud metadata"),
            ("::10.0.0.1", "private (RFC 1918)"),
            ("64:ff9b::a00:1", "NAT64"),
        ] {
            assert_eq!(refused(&policy, address), Some(class), "{address}");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:2800:220:1:248:1893:25c8:1946",
            "172.32.0.1",
            "100.128.0.1",
        ] {
            assert_eq!(refused(&policy, public), None, "{public}");
        }
    }

    #[test]
    fn only_the_configured_cidrs_are_allowed() {
        let policy = AddressPolicy::allowing(vec![
            "127.0.0.1/32".parse().unwrap(),
            "10.20.0.0/16".parse().unwrap(),
        ]);
        assert_eq!(refused(&policy, "127.0.0.1"), None);
        assert_eq!(refused(&policy, "::ffff:127.0.0.1"), None);
        assert_eq!(refused(&policy, "10.20.3.4"), None);
        assert_eq!(refused(&policy, "127.0.0.2"), Some("loopback"));
        assert_eq!(refused(&policy, "10.21.0.1"), Some("private (RFC 1918)"));
        assert_eq!(refused(&policy, "169.254.169.254"), Some("cloud metadata"));
    }
}
