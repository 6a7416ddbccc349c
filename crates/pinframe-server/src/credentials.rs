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

/// Checks waiting for a verifier at most; more wait on the semaphore, holding no memory but their
/// request.
const QUEUED_CHECKS: usize = 64;

/// One check for a verifier thread.
struct Check {
    secret: Zeroizing<String>,
    stored: String,
    reply: tokio::sync::oneshot::Sender<bool>,
}

/// The checks waiting for a verifier: those of clients known at their address first.
#[derive(Default)]
struct Queue {
    waiting: std::sync::Mutex<[std::collections::VecDeque<Check>; 2]>,
    ready: std::sync::Condvar,
}

impl Queue {
    fn push(&self, check: Check, known: bool) {
        if let Ok(mut waiting) = self.waiting.lock() {
            waiting[usize::from(!known)].push_back(check);
            self.ready.notify_one();
        }
    }

    fn pop(&self) -> Option<Check> {
        let mut waiting = self.waiting.lock().ok()?;
        loop {
            if let Some(check) = waiting.iter_mut().find_map(|q| q.pop_front()) {
                return Some(check);
            }
            waiting = self.ready.wait(waiting).ok()?;
        }
    }
}

/// The verifier threads: one per core, each with its own Argon2 memory (19 MiB with the default
/// parameters) allocated once and reused for every check. However many wrong secrets arrive, the
/// process holds that memory and no more: the allocator never sees a 19 MiB block freed and
/// requested again on ever-new blocking threads, which grew a process to gigabytes under a flood.
/// Checks for a client at an address it has authenticated from go first, so that a flood of
/// wrong secrets from elsewhere does not queue in front of it.
fn verifiers() -> &'static (std::sync::Arc<Queue>, Semaphore) {
    static VERIFIERS: OnceLock<(std::sync::Arc<Queue>, Semaphore)> = OnceLock::new();
    VERIFIERS.get_or_init(|| {
        let queue = std::sync::Arc::new(Queue::default());
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        for n in 0..threads {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new().name(format!("argon2-{n}")).spawn(move || {
                let mut memory: Vec<argon2::Block> = Vec::new();
                while let Some(check) = queue.pop() {
                    let matches = verify_with_memory(&check.secret, &check.stored, &mut memory);
                    let _ = check.reply.send(matches);
                }
            });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "an Argon2 verifier thread could not start");
            }
        }
        (queue, Semaphore::new(QUEUED_CHECKS))
    })
}

/// Checks `secret` against a stored PHC hash in `memory`, grown to the hash's parameters once.
fn verify_with_memory(secret: &str, stored: &str, memory: &mut Vec<argon2::Block>) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else { return false };
    let (Some(expected), Some(salt)) = (hash.hash, hash.salt) else { return false };
    let Ok(params) = argon2::Params::try_from(&hash) else { return false };
    let Ok(algorithm) = argon2::Algorithm::try_from(hash.algorithm) else { return false };
    let version = hash.version.map_or(Ok(argon2::Version::default()), argon2::Version::try_from);
    let Ok(version) = version else { return false };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else { return false };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, argon2::Block::default());
    }
    let mut out = Zeroizing::new(vec![0u8; expected.len()]);
    let argon = Argon2::new(algorithm, version, params);
    if argon.hash_password_into_with_memory(secret.as_bytes(), salt, &mut out, &mut memory[..blocks]).is_err() {
        return false;
    }
    // `Output`'s equality is constant-time.
    argon2::password_hash::Output::new(&out).is_ok_and(|computed| computed == expected)
}

/// Checks a client secret against the stored hash of its client on the verifier threads, at most
/// [`QUEUED_CHECKS`] queued. With no stored hash (an unknown client id) the decoy is checked
/// instead, so that timing does not reveal which client ids exist; the answer is `false`.
pub async fn check_secret(secret: Zeroizing<String>, stored: Option<String>) -> Result<bool, String> {
    check_secret_queued(secret, stored, false).await
}

/// [`check_secret`], first in the queue when `known`.
async fn check_secret_queued(
    secret: Zeroizing<String>,
    stored: Option<String>,
    known_client: bool,
) -> Result<bool, String> {
    let (queue, permits) = verifiers();
    let _permit = permits.acquire().await.map_err(|e| e.to_string())?;
    let known = stored.is_some();
    let stored = stored.unwrap_or_else(|| decoy_hash().to_owned());
    let (reply, answer) = tokio::sync::oneshot::channel();
    queue.push(Check { secret, stored, reply }, known_client);
    let matches = answer.await.map_err(|_| "an Argon2 verifier stopped".to_owned())?;
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
    let known = throttle.is_known(client_id, source);
    let matches = check_secret_queued(secret, stored, known).await.map_err(AppError::internal)?;
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
    fn the_verifier_threads_agree_with_the_argon2_crate() {
        let hash = hash_secret("demo-secret");
        let mut memory = Vec::new();
        assert!(verify_with_memory("demo-secret", &hash, &mut memory));
        assert!(!verify_with_memory("demo-secreT", &hash, &mut memory));
        assert!(!verify_with_memory("demo-secret", decoy_hash(), &mut memory));
        assert!(!verify_with_memory("demo-secret", "not a PHC string", &mut memory));
        // Argon2d and other parameters, hashed by the crate itself: the memory grows to fit.
        let params = argon2::Params::new(4096, 1, 1, None).unwrap();
        let other = Argon2::new(argon2::Algorithm::Argon2d, argon2::Version::V0x13, params)
            .hash_password(b"x", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(verify_with_memory("x", &other, &mut memory) && !verify_with_memory("y", &other, &mut memory));
    }

    #[tokio::test]
    async fn check_secret_runs_on_the_verifiers() {
        let hash = hash_secret("s3cret");
        assert!(check_secret(Zeroizing::new("s3cret".to_owned()), Some(hash.clone())).await.unwrap());
        assert!(!check_secret(Zeroizing::new("nope".to_owned()), Some(hash)).await.unwrap());
        assert!(!check_secret(Zeroizing::new("s3cret".to_owned()), None).await.unwrap());
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
