//! Public encryption keys as servers publish them: in `/.well-known/jwks.json` (RFC 7517 §5) and in
//! the widget's session.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use pinframe_core::PublicJwk;
use pinframe_protocol::issuer::Jwks;
use pinframe_protocol::RawJwk;
use serde_json::value::RawValue;

/// A public encryption key as a JWKS publishes it: with `use: enc` and `alg: ECDH-ES`.
pub fn encryption_jwk(key: &PublicJwk) -> RawJwk {
    let json = key.to_json();
    let members = json.strip_suffix('}').unwrap_or_else(|| unreachable!("a public JWK serializes to a JSON object"));
    RawValue::from_string(format!("{members},\"use\":\"enc\",\"alg\":\"ECDH-ES\"}}"))
        .unwrap_or_else(|_| unreachable!("a JSON object with two more string members is JSON"))
}

/// `GET /.well-known/jwks.json`: `keys`, cacheable for five minutes.
pub fn jwks_response(jwks: &Jwks) -> Response {
    let mut response = Json(jwks).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
}

#[cfg(test)]
mod tests {
    use pinframe_core::rand_core::OsRng;
    use pinframe_core::PrivateJwk;

    use super::*;

    #[test]
    fn the_published_key_parses_back_with_use_and_alg() {
        let key = PrivateJwk::generate(&mut OsRng);
        let jwk = encryption_jwk(key.public());
        let parsed: serde_json::Map<String, serde_json::Value> = serde_json::from_str(jwk.get()).unwrap();
        assert_eq!((parsed["use"].as_str(), parsed["alg"].as_str()), (Some("enc"), Some("ECDH-ES")));
        assert_eq!(parsed["kid"].as_str(), Some(key.kid()));
        assert_eq!(PublicJwk::parse(jwk.get()).unwrap().kid(), key.kid());
    }
}
