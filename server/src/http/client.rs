//! Who is on the other end: the client address (believing
//! `X-Forwarded-For` only from configured proxies) and the user agent.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use super::AppState;

/// Attacker-controlled; stored truncated.
const USER_AGENT_MAX_CHARS: usize = 256;

#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub ip: IpAddr,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    pub fn ip_string(&self) -> String {
        self.ip.to_string()
    }
}

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
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = forwarded
        .flat_map(|v| v.split(','))
        .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
        .collect();
    hops.into_iter()
        .rev()
        .find(|hop| !trusted.contains(hop))
        .unwrap_or(peer)
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
    }
}
