//! Who is on the other end, as plain facts: the HTTP edge fills this in
//! (`http::client`, believing `X-Forwarded-For` only from configured
//! proxies) and the engine records it on sessions and audit events.

use std::net::IpAddr;

#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub ip: IpAddr,
    /// Attacker-controlled: truncated and stripped of control characters
    /// by whoever builds this.
    pub user_agent: Option<String>,
}

impl ClientInfo {
    pub fn ip_string(&self) -> String {
        self.ip.to_string()
    }
}
