//! Who a request comes from: the connection's peer, or — when the peer is one of the operator's
//! load balancers (`--trusted-proxy`) — the address those put in `X-Forwarded-For`. Rate limits
//! and logs key on it. A client cannot choose it by sending `X-Forwarded-For` itself: only hops
//! appended by trusted proxies are read, from the right.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use ipnet::IpNet;

/// The client's address as the listener determined it; `0.0.0.0` for a request that did not come
/// through the listener (in-process tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Self>().copied().unwrap_or(Self(IpAddr::V4(Ipv4Addr::UNSPECIFIED))))
    }
}

fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    let bare = hop.strip_prefix('[').and_then(|rest| rest.split_once(']')).map_or(hop, |(address, _)| address);
    bare.parse().ok()
}

/// The client's address: `peer`, unless `peer` is a trusted proxy; then the right-most address of
/// `X-Forwarded-For` that is not itself a trusted proxy. A malformed hop stops the walk at the
/// last address known good.
pub fn client_address(headers: &HeaderMap, peer: IpAddr, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |address: &IpAddr| trusted.iter().any(|net| net.contains(address));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    let hops = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>();
    for hop in hops.iter().rev().flat_map(|value| value.rsplit(',')) {
        match parse_hop(hop) {
            Some(address) => {
                client = address;
                if !is_trusted(&address) {
                    break;
                }
            }
            None => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let headers = forwarded(&["203.0.113.9"]);
        assert_eq!(client_address(&headers, ip("198.51.100.7"), &[]), ip("198.51.100.7"));
        let lb: IpNet = "10.0.0.0/8".parse().unwrap();
        assert_eq!(client_address(&headers, ip("198.51.100.7"), &[lb]), ip("198.51.100.7"));
    }

    #[test]
    fn a_trusted_peer_hands_over_the_right_most_untrusted_hop() {
        let lb: IpNet = "10.0.0.0/8".parse().unwrap();
        // The client forged the first hop; the load balancers appended the real one.
        let headers = forwarded(&["1.2.3.4, 203.0.113.9", "10.0.0.5"]);
        assert_eq!(client_address(&headers, ip("10.0.0.6"), &[lb]), ip("203.0.113.9"));
        let v6 = forwarded(&["[2001:db8::1]:4711"]);
        assert_eq!(client_address(&v6, ip("10.0.0.6"), &[lb]), ip("2001:db8::1"));
        // Nothing forwarded, or garbage: the proxy itself.
        assert_eq!(client_address(&HeaderMap::new(), ip("10.0.0.6"), &[lb]), ip("10.0.0.6"));
        assert_eq!(client_address(&forwarded(&["nonsense"]), ip("10.0.0.6"), &[lb]), ip("10.0.0.6"));
    }
}
