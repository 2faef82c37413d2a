//! Where article links may lead. Full-text fetching follows URLs that
//! strangers wrote into their feeds; without a check, a feed could make
//! storywatch fetch the cloud metadata service, a router's admin page or a
//! database on loopback and store the answer. Article links (and every
//! redirect they take) may only reach public addresses, unless the operator
//! allows private ones (`[fetch] allow_private`) or names the host
//! (`[fetch] allow_hosts`, or `allow_hosts` on the feed for its links).
//!
//! Feed URLs are the operator's own, so their hosts are trusted wherever
//! they are; a feed's redirect to any other host is checked like a link.
//!
//! The address is checked where it is used: the page client resolves names
//! through [`GuardedResolver`], which drops non-public addresses, so a name
//! that resolves to a public address for a check and a private one for the
//! connection (DNS rebinding) gets nowhere. URLs with an address literal
//! never reach the resolver; [`check_url`] and the redirect policy check them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// What the operator allows beyond public addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Guard {
    pub allow_private: bool,
    /// Lower-case host names whose links may lead anywhere.
    pub allow_hosts: Vec<String>,
}

impl Guard {
    fn host_allowed(&self, host: &str) -> bool {
        self.allow_private || {
            let h = host.trim_end_matches('.').to_ascii_lowercase();
            self.allow_hosts.contains(&h)
        }
    }

    /// Refuses a URL whose host is a non-public address literal, or a name
    /// that can only mean this machine; names are checked at resolution.
    pub fn check_url(&self, url: &Url) -> Result<(), Refused> {
        let Some(host) = url.host() else {
            return Err(Refused(format!("{url} has no host")));
        };
        let host_str = url.host_str().unwrap_or_default();
        if self.host_allowed(host_str) {
            return Ok(());
        }
        let ip = match host {
            Host::Ipv4(v4) => IpAddr::V4(v4),
            Host::Ipv6(v6) => IpAddr::V6(v6),
            Host::Domain(d) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                if d == "localhost" || d.ends_with(".localhost") {
                    return Err(refusal(host_str, "this machine"));
                }
                return Ok(());
            }
        };
        if is_public(ip) {
            Ok(())
        } else {
            Err(refusal(host_str, "a non-public address"))
        }
    }
}

/// Why a link or a redirect was not followed. Typed, so the fetcher can
/// find it among reqwest's wrapped errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refused: {0}; article links, and redirects from feeds to other hosts, may only lead to public addresses (set [fetch] allow_private = true, or list the host in [fetch] allow_hosts or the feed's allow_hosts)")]
pub struct Refused(pub String);

fn refusal(host: &str, what: &str) -> Refused {
    Refused(format!("{host} is {what}"))
}

/// Whether an address is reachable on the public internet: not loopback,
/// private (RFC 1918, fc00::/7), link-local (169.254.0.0/16 with cloud
/// metadata, fe80::/10), shared (100.64.0.0/10), unspecified, broadcast,
/// multicast, documentation or reserved (IPv4-compatible `::a.b.c.d`
/// included).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let seg = v6.segments();
            // ::a.b.c.d, the deprecated IPv4-compatible form: some stacks
            // still route it to the IPv4 address, and no public host uses it.
            if seg[..6] == [0; 6] {
                return false;
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local
                || (seg[0] & 0xffc0) == 0xfe80 // link-local
                || (seg[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
                || (seg[0] == 0x0064 && seg[1] == 0xff9b) // NAT64 onto IPv4
                || seg[0] == 0x2002) // 6to4 carries an IPv4 address
        }
    }
}

fn is_public_v4(v4: Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    !(v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || v4.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

/// A resolver that hands the page client only public addresses (or all of
/// them for allowed hosts).
pub struct GuardedResolver {
    pub guard: Arc<Guard>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if guard.host_allowed(&host) {
                return Ok(Box::new(found.into_iter()) as Addrs);
            }
            let public: Vec<SocketAddr> = found.into_iter().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(refusal(&host, "resolved only to non-public addresses").into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "::127.0.0.1",
            "::10.0.0.1",
            "::8.8.8.8",
        ] {
            assert!(!is_public(ip(private)), "{private} counted as public");
        }
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip(public)), "{public} counted as private");
        }
    }

    #[test]
    fn urls_with_private_literals_are_refused_unless_allowed() {
        let g = Guard::default();
        for bad in [
            "http://127.0.0.1:8080/a",
            "http://[::1]/a",
            "http://[::127.0.0.1]/a",
            "http://169.254.169.254/latest/meta-data/",
            "http://localhost/a",
            "http://api.localhost/a",
            "http://0x7f000001/a",
            "http://2130706433/a",
        ] {
            let err = g
                .check_url(&Url::parse(bad).unwrap())
                .unwrap_err()
                .to_string();
            assert!(err.contains("allow_private"), "{bad}: {err}");
        }
        assert!(g
            .check_url(&Url::parse("https://example.org/a").unwrap())
            .is_ok());
        let open = Guard {
            allow_private: true,
            ..Guard::default()
        };
        assert!(open
            .check_url(&Url::parse("http://127.0.0.1/a").unwrap())
            .is_ok());
        let listed = Guard {
            allow_hosts: vec!["intranet.local".into(), "10.0.0.5".into()],
            ..Guard::default()
        };
        assert!(listed
            .check_url(&Url::parse("http://Intranet.local./x").unwrap())
            .is_ok());
        assert!(listed
            .check_url(&Url::parse("http://10.0.0.5/x").unwrap())
            .is_ok());
        assert!(listed
            .check_url(&Url::parse("http://10.0.0.6/x").unwrap())
            .is_err());
    }

    #[tokio::test]
    async fn the_resolver_hands_out_no_private_address() {
        use std::str::FromStr;
        let strict = GuardedResolver {
            guard: Arc::new(Guard::default()),
        };
        let err = match strict.resolve(Name::from_str("localhost").unwrap()).await {
            Ok(addrs) => panic!("resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("non-public"), "{err}");
        let open = GuardedResolver {
            guard: Arc::new(Guard {
                allow_private: true,
                ..Guard::default()
            }),
        };
        let addrs: Vec<SocketAddr> = open
            .resolve(Name::from_str("localhost").unwrap())
            .await
            .unwrap()
            .collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()) && !addrs.is_empty());
    }
}
