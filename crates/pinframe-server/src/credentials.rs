//! Client credentials: HTTP Basic (RFC 7617) and client secrets, stored as Argon2id hashes. The
//! issuers' clients at the service and the PIN service's client at the CMS both authenticate so.

use std::fmt;
use std::net::IpAddr;
use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::http::{header, HeaderMap};
use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use pinframe_core::rand_core::{OsRng, RngCore};
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use crate::error::AppError;
use crate::throttle::AuthThrottle;

/// HTTP Basic credentials (RFC 7617). The secret is wiped on drop and never printed.
pub struct BasicCredentials {
    pub client_id: String,
    pub secret: Zeroizing<String>,
}

impl fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicCredentials").field("client_id", &self.client_id).finish_non_exhaustive()
    }
}

/// The credentials of `Authorization: <scheme> <credentials>`, the scheme matched case-insensitively.
pub fn authorization<'h>(headers: &'h HeaderMap, scheme: &str) -> Option<&'h str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (given, rest) = value.split_once(' ')?;
    given.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}

/// Reads `Authorization: Basic …`. `None` for a missing or malformed header.
pub fn basic_credentials(headers: &HeaderMap) -> Option<BasicCredentials> {
    let encoded = authorization(headers, "Basic")?;
    let decoded = Zeroizing::new(Base64::decode_vec(encoded).ok()?);
    let text = std::str::from_utf8(&decoded).ok()?;
    let (client_id, secret) = text.split_once(':')?;
    if client_id.is_empty() || client_id.len() > 128 {
        return None;
    }
    Some(BasicCredentials { client_id: client_id.to_owned(), secret: Zeroizing::new(secret.to_owned()) })
}

/// Hashes a client secret with Argon2id (the crate's defaults: 19 MiB, 2 passes) and a random salt.
pub fn hash_secret(secret: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .unwrap_or_else(|_| unreachable!("Argon2 with default parameters accepts any secret and a generated salt"))
}

/// Checks `secret` against a stored PHC hash. Costs one Argon2 run: call it off the async threads.
pub fn verify_secret(secret: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| Argon2::default().verify_password(secret.as_bytes(), &hash).is_ok())
}

/// Argon2 costs 19 MiB and tens of milliseconds per check; a flood of Basic requests must queue
/// here rather than grow the blocking pool (and memory) without bound.
fn argon2_permits() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()) * 2))
}

/// Checks a client secret against the stored hash of its client, off the async threads and
/// behind a bound on concurrent checks. With no stored hash (an unknown client id) the decoy is
/// checked instead, so that timing does not reveal which client ids exist; the answer is `false`.
pub async fn check_secret(secret: Zeroizing<String>, stored: Option<String>) -> Result<bool, String> {
    let _permit = argon2_permits().acquire().await.map_err(|e| e.to_string())?;
    let known = stored.is_some();
    let stored = stored.unwrap_or_else(|| decoy_hash().to_owned());
    let matches =
        tokio::task::spawn_blocking(move || verify_secret(&secret, &stored)).await.map_err(|e| e.to_string())?;
    Ok(known && matches)
}

/// Checks a client's secret and counts the outcome in the failed-authentication limits. Call
/// [`AuthThrottle::admit`] first, before looking the client up, so that a locked-out source costs
/// neither a database read nor an Argon2 run. `Ok(false)`: wrong secret or unknown client.
pub async fn check_counted(
    throttle: &AuthThrottle,
    source: IpAddr,
    client_id: &str,
    secret: Zeroizing<String>,
    stored: Option<String>,
) -> Result<bool, AppError> {
    let matches = check_secret(secret, stored).await.map_err(AppError::internal)?;
    if matches {
        throttle.succeeded(client_id, source);
    } else {
        throttle.failed(client_id, source);
    }
    Ok(matches)
}

/// A hash to verify against when the client id is unknown, so that the answer takes as long as for
/// a known client with a wrong secret.
pub fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_secret("decoy secret that matches no client"))
}

/// Generates a client secret to hand to an issuer once: 256 bits, base64url.
pub fn generate_secret() -> Zeroizing<String> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(bytes.as_mut());
    Zeroizing::new(Base64UrlUnpadded::encode_string(bytes.as_ref()))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn basic_credentials_follow_rfc_7617() {
        // RFC 7617 §2: "Aladdin" / "open sesame".
        let c = basic_credentials(&headers("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")).unwrap();
        assert_eq!((c.client_id.as_str(), c.secret.as_str()), ("Aladdin", "open sesame"));
        assert!(basic_credentials(&headers("basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")).is_some());
        assert!(basic_credentials(&headers("Bearer QWxhZGRpbjpvcGVuIHNlc2FtZQ==")).is_none());
        assert!(basic_credentials(&headers("Basic not-base64!")).is_none());
        assert!(basic_credentials(&headers("Basic bm9jb2xvbg==")).is_none()); // "nocolon"
        assert!(basic_credentials(&HeaderMap::new()).is_none());
    }

    #[test]
    fn secrets_verify_only_against_their_hash() {
        let hash = hash_secret("demo-secret");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_secret("demo-secret", &hash));
        assert!(!verify_secret("demo-secreT", &hash));
        assert!(!verify_secret("demo-secret", decoy_hash()));
        assert!(!verify_secret("demo-secret", "not a PHC string"));
    }
}
