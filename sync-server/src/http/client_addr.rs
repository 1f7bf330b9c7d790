//! Who is asking, by network address: the public receipt check and the login throttle count per
//! client address. The address is the TCP peer's (the server is served with connect info); only
//! when the server is told it sits behind a proxy it trusts (`--trusted-proxy-header`, e.g.
//! `X-Forwarded-For`) is that header's last entry taken instead — the one the proxy itself
//! appended — because anyone can send the header to a server that is reached directly.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderName;

use crate::http::error::AppError;
use crate::http::state::AppState;

/// Where the client's address comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientAddrConfig {
    /// A header set by a reverse proxy in front of the server (the peer is then always the proxy).
    /// `None`: the peer address, and any such header is ignored.
    pub trusted_proxy_header: Option<HeaderName>,
}

/// The client's address; `None` when the server was not served with connect info (in-process
/// tests through `oneshot`) and no trusted header named one: all such requests share one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    /// The address as a bucket key.
    pub fn key(&self) -> String {
        match self.0 {
            Some(ip) => ip.to_string(),
            None => "unknown".to_string(),
        }
    }

    /// The address of a request's parts under `config`.
    pub fn of(parts: &Parts, config: &ClientAddrConfig) -> Self {
        if let Some(name) = &config.trusted_proxy_header {
            let forwarded = parts
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|v| v.trim().parse::<IpAddr>().ok())
                .next_back();
            if forwarded.is_some() {
                return Self(forwarded);
            }
        }
        Self(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip()))
    }
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self::of(parts, &state.client_addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(peer: Option<&str>, header: Option<&str>) -> Parts {
        let mut req = Request::get("/").body(()).unwrap();
        if let Some(peer) = peer {
            req.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        }
        if let Some(h) = header {
            req.headers_mut().insert("x-forwarded-for", h.parse().unwrap());
        }
        req.into_parts().0
    }

    #[test]
    fn the_peer_address_unless_a_trusted_proxy_header_is_configured() {
        let direct = ClientAddrConfig::default();
        let proxied = ClientAddrConfig { trusted_proxy_header: Some(HeaderName::from_static("x-forwarded-for")) };
        let p = parts(Some("10.0.0.1:5000"), Some("203.0.113.9, 198.51.100.7"));
        // reached directly, a forwarded header is anyone's to forge
        assert_eq!(ClientAddr::of(&p, &direct).key(), "10.0.0.1");
        // behind the proxy, its own (last) entry
        assert_eq!(ClientAddr::of(&p, &proxied).key(), "198.51.100.7");
        // a configured header that is missing or garbled: the peer
        assert_eq!(ClientAddr::of(&parts(Some("10.0.0.1:5000"), Some("nonsense")), &proxied).key(), "10.0.0.1");
        assert_eq!(ClientAddr::of(&parts(None, None), &direct).key(), "unknown");
    }
}
