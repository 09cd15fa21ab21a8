//! Sending webhooks: Standard Webhooks signatures and the SSRF guard.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use sha2::Sha256;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Per-attempt timeout of a delivery.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, where the key is the
/// base64 part of a `whsec_…` secret (Standard Webhooks).
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap_or(secret)).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{msg_id}.{timestamp}.{body}").as_bytes());
    Some(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// How long registration waits for a webhook host to resolve.
pub const REGISTRATION_DNS_TIMEOUT: Duration = Duration::from_secs(3);

/// The setting that lets webhooks reach private targets; every refusal names it.
const ALLOW_PRIVATE_HINT: &str =
    "webhook targets must be public; set WEBHOOK_ALLOW_PRIVATE=true on the server to allow private targets";

/// IPv4 ranges a webhook may not reach: not globally reachable (IANA special-purpose
/// registry) or not unicast. Checked in order; the first match names the range.
const FORBIDDEN_V4: &[([u8; 4], u8, &str)] = &[
    ([0, 0, 0, 0], 8, "\"this network\" range 0.0.0.0/8"),
    ([10, 0, 0, 0], 8, "private range 10.0.0.0/8"),
    ([100, 64, 0, 0], 10, "carrier-grade NAT range 100.64.0.0/10"),
    ([127, 0, 0, 0], 8, "loopback range 127.0.0.0/8"),
    ([169, 254, 0, 0], 16, "link-local range 169.254.0.0/16 (cloud metadata)"),
    ([172, 16, 0, 0], 12, "private range 172.16.0.0/12"),
    ([192, 0, 0, 0], 24, "IETF protocol assignments range 192.0.0.0/24"),
    ([192, 0, 2, 0], 24, "documentation range 192.0.2.0/24"),
    ([192, 88, 99, 0], 24, "6to4 relay anycast range 192.88.99.0/24"),
    ([192, 168, 0, 0], 16, "private range 192.168.0.0/16"),
    ([198, 18, 0, 0], 15, "benchmarking range 198.18.0.0/15"),
    ([198, 51, 100, 0], 24, "documentation range 198.51.100.0/24"),
    ([203, 0, 113, 0], 24, "documentation range 203.0.113.0/24"),
    ([224, 0, 0, 0], 4, "multicast range 224.0.0.0/4"),
    ([255, 255, 255, 255], 32, "broadcast range 255.255.255.255/32"),
    ([240, 0, 0, 0], 4, "reserved range 240.0.0.0/4"),
];

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let bits = u32::from(ip);
    FORBIDDEN_V4.iter().find_map(|(net, len, name)| {
        let mask = u32::MAX.checked_shl(32 - u32::from(*len)).unwrap_or(0);
        (bits & mask == u32::from(Ipv4Addr::from(*net))).then_some(*name)
    })
}

/// The IPv4 address an IPv6 address carries, and the name of the form, for the forms a
/// packet can be translated or tunnelled to that IPv4 through: IPv4-compatible `::/96`,
/// IPv4-mapped `::ffff:0:0/96`, IPv4-translated `::ffff:0:0:0/96`, NAT64 `64:ff9b::/96`
/// and 6to4 `2002::/16`.
fn embedded_v4(ip: Ipv6Addr) -> Option<(&'static str, Ipv4Addr)> {
    let bits = u128::from(ip);
    let low = Ipv4Addr::from(bits as u32);
    match bits >> 32 {
        0 => Some(("IPv4-compatible", low)),
        0xffff => Some(("IPv4-mapped", low)),
        0xffff_0000 => Some(("IPv4-translated", low)),
        0x0064_ff9b_0000_0000_0000_0000 => Some(("NAT64", low)),
        _ if bits >> 112 == 0x2002 => Some(("6to4", Ipv4Addr::from((bits >> 80) as u32))),
        _ => None,
    }
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<String> {
    if ip.is_unspecified() {
        return Some("the unspecified address".into());
    }
    if ip.is_loopback() {
        return Some("the loopback address".into());
    }
    if let Some((form, v4)) = embedded_v4(ip) {
        return forbidden_v4(v4).map(|range| format!("the {form} form of {v4}, in the {range}"));
    }
    let bits = u128::from(ip);
    let top = (bits >> 112) as u16;
    let top32 = (bits >> 96) as u32;
    let range = if bits >> 80 == 0x0064_ff9b_0001 {
        "local-use NAT64 range 64:ff9b:1::/48"
    } else if top & 0xfe00 == 0xfc00 {
        "unique-local range fc00::/7"
    } else if top & 0xffc0 == 0xfe80 {
        "link-local range fe80::/10"
    } else if top & 0xffc0 == 0xfec0 {
        "site-local range fec0::/10"
    } else if top & 0xff00 == 0xff00 {
        "multicast range ff00::/8"
    } else if bits >> 64 == 0x0100_0000_0000_0000 {
        "discard-only range 100::/64"
    } else if top & 0xe000 != 0x2000 {
        "space outside global unicast 2000::/3"
    } else if top32 == 0x2001_0db8 {
        "documentation range 2001:db8::/32"
    } else if top32 >> 9 == 0x2001_0000 >> 9 {
        "IETF protocol assignments range 2001::/23 (Teredo, benchmarking, ORCHID)"
    } else if top32 >> 12 == 0x3fff_0000 >> 12 {
        "documentation range 3fff::/20"
    } else {
        return None;
    };
    Some(format!("in the {range}"))
}

/// Why a webhook may not reach `ip` (the range it is in), or `None` when it may. The one
/// rule for every webhook target — registration, IP literals at delivery, and every
/// address the delivery resolver returns. An IPv6 address that embeds an IPv4 one
/// (`::a.b.c.d`, `::ffff:a.b.c.d`, `64:ff9b::a.b.c.d`, 6to4) is judged as that IPv4.
pub fn forbidden_reason(ip: IpAddr) -> Option<String> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4).map(|range| format!("in the {range}")),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

/// Whether a webhook may reach `ip` when private targets are not allowed.
pub fn is_allowed_ip(ip: IpAddr) -> bool {
    forbidden_reason(ip).is_none()
}

/// Names that mean this machine whatever DNS says: `localhost` and its subdomains, and the
/// loopback names of common `/etc/hosts` files — with or without the trailing dot.
pub fn is_loopback_name(host: &str) -> bool {
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || matches!(
            name.as_str(),
            "ip6-localhost" | "ip6-loopback" | "localhost6" | "localhost.localdomain" | "localhost6.localdomain6"
        )
}

/// Why a webhook URL is refused at registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRefusal {
    /// Field error code: `invalid_url`, `private_target` or `unresolvable_host`.
    pub code: &'static str,
    pub message: String,
}

impl TargetRefusal {
    fn private(message: String) -> TargetRefusal {
        TargetRefusal {
            code: "private_target",
            message: format!("{message}; {ALLOW_PRIVATE_HINT}"),
        }
    }
}

/// The checks that need no DNS: the URL parses, an IP-literal host is allowed, a name is not
/// a loopback name. `Ok(Some(name))` is a domain still to be resolved.
fn check_literal(url: &str) -> Result<Option<String>, TargetRefusal> {
    let parsed = url::Url::parse(url).map_err(|e| TargetRefusal {
        code: "invalid_url",
        message: format!("not a URL: {e}"),
    })?;
    let refuse = |shown: String, ip: IpAddr| match forbidden_reason(ip) {
        Some(reason) => Err(TargetRefusal::private(format!("{shown} is {reason}"))),
        None => Ok(None),
    };
    match parsed.host() {
        Some(url::Host::Ipv4(ip)) => refuse(ip.to_string(), IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => refuse(format!("[{ip}]"), IpAddr::V6(ip)),
        Some(url::Host::Domain(d)) if is_loopback_name(d) => {
            Err(TargetRefusal::private(format!("{d} is a loopback name")))
        }
        Some(url::Host::Domain(d)) => Ok(Some(d.to_string())),
        None => Err(TargetRefusal {
            code: "invalid_url",
            message: "the URL has no host".into(),
        }),
    }
}

/// Judges what a name resolved to: refused when it resolved to nothing, or when ANY address
/// is not allowed (a name that also points inside is not a public target).
pub fn judge_resolved(host: &str, addrs: &[IpAddr]) -> Result<(), TargetRefusal> {
    if addrs.is_empty() {
        return Err(TargetRefusal {
            code: "unresolvable_host",
            message: format!("{host} does not resolve to any address"),
        });
    }
    for ip in addrs {
        if let Some(reason) = forbidden_reason(*ip) {
            return Err(TargetRefusal::private(format!(
                "{host} resolves to {ip}, which is {reason}"
            )));
        }
    }
    Ok(())
}

/// The synchronous guard, run before every delivery: the URL parses, an IP-literal host is
/// allowed and a name is not a loopback name. (Names are judged again, address by address,
/// by the delivery client's resolver.) Always `Ok` when private targets are allowed.
pub fn check_url_target(url: &str, allow_private: bool) -> Result<(), String> {
    if allow_private {
        return url::Url::parse(url).map(|_| ()).map_err(|e| format!("not a URL: {e}"));
    }
    check_literal(url).map(|_| ()).map_err(|r| r.message)
}

/// The registration guard: everything `check_url_target` checks, then the host is resolved
/// (within [`REGISTRATION_DNS_TIMEOUT`]) and refused if it does not resolve or if ANY of its
/// addresses is not allowed. When private targets are allowed nothing is resolved or refused.
pub async fn check_registration_target(url: &str, allow_private: bool) -> Result<(), TargetRefusal> {
    if allow_private {
        return Ok(());
    }
    let Some(host) = check_literal(url)? else {
        return Ok(());
    };
    let unresolvable = |why: String| TargetRefusal {
        code: "unresolvable_host",
        message: format!("{host} could not be resolved ({why}); webhook hosts must resolve when registered"),
    };
    let addrs: Vec<IpAddr> =
        match tokio::time::timeout(REGISTRATION_DNS_TIMEOUT, tokio::net::lookup_host((host.as_str(), 0))).await {
            Err(_) => {
                return Err(unresolvable(format!(
                    "no answer within {} s",
                    REGISTRATION_DNS_TIMEOUT.as_secs()
                )));
            }
            Ok(Err(e)) => return Err(unresolvable(e.to_string())),
            Ok(Ok(addrs)) => addrs.map(|a| a.ip()).collect(),
        };
    judge_resolved(&host, &addrs)
}

/// A resolver that drops forbidden addresses, so a public name that resolves to (or is
/// rebound to) a private address cannot be reached.
struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = addrs.into_iter().filter(|a| is_allowed_ip(a.ip())).collect();
            if allowed.is_empty() {
                return Err(
                    format!("{host} resolves only to addresses webhooks may not reach; {ALLOW_PRIVATE_HINT}").into(),
                );
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The HTTP client used for deliveries: no redirects (a redirect could point inside),
/// bounded timeouts, and the guarded resolver unless private targets are allowed.
pub fn client(allow_private: bool) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .timeout(DELIVERY_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Meeboter-Webhooks/", env!("CARGO_PKG_VERSION")));
    if !allow_private {
        builder = builder.dns_resolver(Arc::new(GuardedResolver));
    }
    builder.build().expect("static HTTP client configuration is valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        // Test vector from the Standard Webhooks specification.
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    fn allowed(ip: &str) -> bool {
        is_allowed_ip(ip.parse().unwrap())
    }

    #[test]
    fn non_public_ipv4_is_refused() {
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "10.1.2.3",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.0.9",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.7",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!allowed(ip), "{ip} must be refused");
        }
    }

    #[test]
    fn non_public_ipv6_is_refused() {
        for ip in [
            "::",
            "::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "ff0e::1",
            "100::1",
            "2001:db8::1",
            "2001::1",      // Teredo
            "2001:2::1",    // benchmarking
            "3fff::1",      // documentation (2024)
            "64:ff9b:1::1", // local-use NAT64
            "64:ff9b:1:ffff::808:808",
            "4000::1", // outside 2000::/3
        ] {
            assert!(!allowed(ip), "{ip} must be refused");
        }
    }

    #[test]
    fn an_embedded_ipv4_is_judged_as_that_ipv4() {
        for ip in [
            "::127.0.0.1", // IPv4-compatible
            "::7f00:1",
            "::10.0.0.1",
            "::169.254.169.254",
            "::ffff:127.0.0.1", // IPv4-mapped
            "::ffff:192.168.0.1",
            "::ffff:0.0.0.0",
            "::ffff:0:127.0.0.1", // IPv4-translated
            "64:ff9b::7f00:1",    // NAT64 of 127.0.0.1
            "64:ff9b::10.0.0.1",
            "64:ff9b::a9fe:a9fe", // NAT64 of 169.254.169.254
            "64:ff9b::",
            "2002:7f00:1::1", // 6to4 of 127.0.0.1
            "2002:a00:1::",   // 6to4 of 10.0.0.1
        ] {
            assert!(!allowed(ip), "{ip} must be refused");
        }
        for ip in [
            "64:ff9b::808:808", // NAT64 of 8.8.8.8
            "64:ff9b::1.1.1.1",
            "::ffff:1.1.1.1",
            "::8.8.8.8",
            "2002:808:808::1", // 6to4 of 8.8.8.8
        ] {
            assert!(allowed(ip), "{ip} must be allowed");
        }
        let reason = forbidden_reason("64:ff9b::7f00:1".parse().unwrap()).unwrap();
        assert!(reason.contains("NAT64") && reason.contains("127.0.0.1"), "{reason}");
    }

    #[test]
    fn public_addresses_are_allowed() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "192.0.3.1",
            "198.20.0.1",
            "223.255.255.254",
            "2606:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450:4001::1",
        ] {
            assert!(allowed(ip), "{ip} must be allowed");
        }
    }

    #[test]
    fn loopback_names_are_refused_with_or_without_the_trailing_dot() {
        for name in [
            "localhost",
            "localhost.",
            "LOCALHOST",
            "api.localhost",
            "api.localhost.",
            "ip6-localhost",
            "ip6-loopback.",
            "localhost6",
            "localhost.localdomain",
        ] {
            assert!(is_loopback_name(name), "{name}");
        }
        for name in ["example.com", "localhost.example.com", "mylocalhost", "hooks.example."] {
            assert!(!is_loopback_name(name), "{name}");
        }
    }

    #[test]
    fn url_literals_are_checked_without_dns() {
        for url in [
            "http://127.0.0.1:9/x",
            "http://127.1/x",
            "http://0x7f.1/x",
            "http://2130706433/x",
            "http://[::1]/x",
            "http://[::127.0.0.1]/x",
            "http://[::ffff:127.0.0.1]/x",
            "http://[64:ff9b::7f00:1]/x",
            "http://localhost/x",
            "http://localhost.:8080/x",
            "http://ip6-localhost/x",
            "http://[fd00::1]/x",
        ] {
            let err = check_url_target(url, false).unwrap_err();
            assert!(err.contains("WEBHOOK_ALLOW_PRIVATE"), "{url}: {err}");
            assert!(
                check_url_target(url, true).is_ok(),
                "{url} with private targets allowed"
            );
        }
        for url in [
            "https://hooks.example.com/x",
            "http://1.1.1.1/x",
            "https://[2606:4700::1111]/x",
        ] {
            assert!(check_url_target(url, false).is_ok(), "{url}");
        }
    }

    #[test]
    fn a_name_is_refused_when_any_address_it_resolves_to_is_not_allowed() {
        let public: IpAddr = "93.184.216.34".parse().unwrap();
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert!(judge_resolved("hooks.example.com", &[public]).is_ok());
        let mixed = judge_resolved("rebind.example.com", &[public, loopback]).unwrap_err();
        assert_eq!(mixed.code, "private_target");
        assert!(mixed.message.contains("127.0.0.1"), "{}", mixed.message);
        assert!(mixed.message.contains("WEBHOOK_ALLOW_PRIVATE"), "{}", mixed.message);
        assert_eq!(
            judge_resolved("x.example.com", &[mapped]).unwrap_err().code,
            "private_target"
        );
        assert_eq!(
            judge_resolved("x.example.com", &[]).unwrap_err().code,
            "unresolvable_host"
        );
    }

    #[tokio::test]
    async fn registration_resolves_names_and_refuses_what_does_not_resolve() {
        let r = check_registration_target("http://localhost.:8080/x", false)
            .await
            .unwrap_err();
        assert_eq!(r.code, "private_target");
        // `.invalid` never resolves (RFC 6761).
        let r = check_registration_target("https://nowhere.invalid/x", false)
            .await
            .unwrap_err();
        assert_eq!(r.code, "unresolvable_host", "{}", r.message);
        assert!(check_registration_target("http://1.1.1.1/x", false).await.is_ok());
        // With private targets allowed nothing is refused, nor resolved.
        assert!(check_registration_target("http://localhost:8080/x", true).await.is_ok());
        assert!(
            check_registration_target("https://nowhere.invalid/x", true)
                .await
                .is_ok()
        );
    }
}
