//! Public encryption keys as servers publish them: in `/.well-known/jwks.json` (RFC 7517 §5) and in
//! the widget's session.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use pinframe_core::PublicJwk;
use pinframe_protocol::issuer::Jwks;
use pinframe_protocol::RawJwk;
use serde_json::value::RawValue;

use crate::keyring::Ring;
use crate::keystore::EcKey;

/// A public encryption key as a JWKS publishes it: with `use: enc` and `alg: ECDH-ES`.
pub fn encryption_jwk(key: &PublicJwk) -> RawJwk {
    let json = key.to_json();
    let members = json.strip_suffix('}').unwrap_or_else(|| unreachable!("a public JWK serializes to a JSON object"));
    RawValue::from_string(format!("{members},\"use\":\"enc\",\"alg\":\"ECDH-ES\"}}"))
        .unwrap_or_else(|_| unreachable!("a JSON object with two more string members is JSON"))
}

/// How long a client may cache a JWKS, in seconds: after a key rotation, a client may encrypt to
/// the previous key for this long, which `keys retire` waits out.
pub const MAX_AGE: i64 = 300;

/// A JWKS of `keys`' public halves as published: the one active at `now` first, then the other
/// during a rotation (different `kid`s).
pub fn encryption_jwks(keys: &Ring<EcKey>, now: i64) -> Jwks {
    Jwks { keys: keys.by_preference(now).map(|key| encryption_jwk(key.public())).collect() }
}

/// `GET /.well-known/jwks.json`: `keys`, cacheable for [`MAX_AGE`] seconds.
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

    #[test]
    fn during_a_rotation_both_keys_are_published_the_active_one_first() {
        let (old, new) = (PrivateJwk::generate(&mut OsRng), PrivateJwk::generate(&mut OsRng));
        let (old_kid, new_kid) = (old.kid().to_owned(), new.kid().to_owned());
        let ring = Ring::new(EcKey::from(new), Some(EcKey::from(old)), 100);
        let kids = |now| -> Vec<String> {
            encryption_jwks(&ring, now)
                .keys
                .iter()
                .map(|k| PublicJwk::parse(k.get()).unwrap().kid().to_owned())
                .collect()
        };
        assert_eq!(kids(100), [new_kid.clone(), old_kid.clone()]);
        assert_eq!(kids(99), [old_kid, new_kid]);
        let response = jwks_response(&encryption_jwks(&ring, 100));
        assert_eq!(response.headers()[header::CACHE_CONTROL], format!("public, max-age={MAX_AGE}"));
    }
}
