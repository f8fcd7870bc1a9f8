//! Who is on the other end (`auth::ClientInfo`), read from the request: the client address (believing
//! `X-Forwarded-For` only from configured proxies) and the user agent.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use super::AppState;
pub use crate::auth::ClientInfo;

/// Attacker-controlled; stored truncated.
const USER_AGENT_MAX_CHARS: usize = 256;

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok());
        let ip = client_ip(peer, forwarded, &state.settings.trusted_proxies);
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| {
                ua.chars()
                    .filter(|c| !c.is_control())
                    .take(USER_AGENT_MAX_CHARS)
                    .collect()
            });
        Ok(ClientInfo { ip, user_agent })
    }
}

/// The address to rate-limit and record: the peer, unless the peer is a
/// trusted proxy, in which case the right-most `X-Forwarded-For` entry that
/// is not itself a trusted proxy (entries to its left are client-supplied).
pub fn client_ip<'a>(peer: IpAddr, forwarded: impl Iterator<Item = &'a str>, trusted: &[IpAddr]) -> IpAddr {
    // `::ffff:10.0.0.1` from a dual-stack listener is the IPv4 proxy 10.0.0.1.
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|t| t.to_canonical() == *ip);
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded.flat_map(|v| v.split(',')).map(str::trim).collect();
    // Walk from the nearest hop outwards. An entry that is not a plain
    // address ends the walk: everything to its left is the client's word.
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
            Ok(ip) if is_trusted(&ip) => continue,
            Ok(ip) => return ip,
            Err(_) => return peer,
        }
    }
    peer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let proxy = ip("10.0.0.1");
        let spoofed = ["1.2.3.4"].into_iter();
        assert_eq!(client_ip(ip("203.0.113.9"), spoofed, &[proxy]), ip("203.0.113.9"));
        let chain = ["6.6.6.6, 198.51.100.7"].into_iter();
        assert_eq!(
            client_ip(proxy, chain, &[proxy]),
            ip("198.51.100.7"),
            "the left entry is client-supplied"
        );
        let through_two = ["198.51.100.7, 10.0.0.2"].into_iter();
        assert_eq!(
            client_ip(proxy, through_two, &[proxy, ip("10.0.0.2")]),
            ip("198.51.100.7")
        );
        assert_eq!(client_ip(proxy, ["garbage"].into_iter(), &[proxy]), proxy);
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(
            client_ip(mapped, ["198.51.100.7"].into_iter(), &[proxy]),
            ip("198.51.100.7")
        );
        let port_suffix = ["6.6.6.6, 198.51.100.7:4711"].into_iter();
        assert_eq!(
            client_ip(proxy, port_suffix, &[proxy]),
            proxy,
            "an unparsable hop ends the walk"
        );
    }
}
