//! An issuer's card management system over HTTP: the D1 PIN Management API as its client
//! (`pinframe serve --cms-url`).
//!
//! - Access tokens come from the CMS's own `/oauth2/token` (client credentials, HTTP Basic) and are
//!   reused until a minute before they expire; a 401 fetches a new one once.
//! - Every request has a connect timeout and an overall timeout. Only the idempotent GETs are
//!   retried (twice, after 100 and 400 ms) on a transport error or a 5xx; a PUT is sent once.
//! - The CMS's encryption key is pinned with `--cms-jwk`, or read from its `/.well-known/jwks.json`
//!   and kept for five minutes.
//! - Responses are read up to 64 KiB. Nothing secret is logged: no token, no block, no secret.

use std::fmt;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pinframe_cms::{CmsError, EncryptedPinBlock, PinManagement};
use pinframe_core::{CardId, CorrelationId, IssuerId, PublicJwk};
use pinframe_protocol::d1::{
    change_counter_path, pin_path, ChangeCounterBody, PinBlockType, PinBody, MAX_ENCRYPTED_PIN_BLOCK_LEN,
};
use pinframe_protocol::issuer::{AccessTokenResponse, Jwks, JWKS_PATH, OAUTH_TOKEN_PATH};
use pinframe_protocol::ops::READY_PATH;
use pinframe_server::middleware::CORRELATION_HEADER;
use reqwest::{Method, StatusCode};
use tokio::sync::Mutex;
use zeroize::Zeroizing;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const GET_ATTEMPTS: u32 = 3;
const MAX_RESPONSE: usize = 64 * 1024;
const KEY_CACHE: Duration = Duration::from_secs(300);
/// A token is renewed this long before it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);

struct CachedToken {
    token: Zeroizing<String>,
    renew_at: Instant,
}

pub struct RemoteCms {
    http: reqwest::Client,
    base: String,
    client_id: String,
    secret: Zeroizing<String>,
    token: Mutex<Option<CachedToken>>,
    pinned_key: Option<PublicJwk>,
    fetched_key: Mutex<Option<(PublicJwk, Instant)>>,
}

impl fmt::Debug for RemoteCms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteCms")
            .field("base", &self.base)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

fn unavailable(why: impl fmt::Display) -> CmsError {
    CmsError::Unavailable(why.to_string())
}

impl RemoteCms {
    /// A client of the CMS at `base` (e.g. `https://cms.bank.example`), authenticating as
    /// `client_id` with `secret`; `pinned_key` is the CMS's encryption key, if configured.
    pub fn new(
        base: &str,
        client_id: String,
        secret: Zeroizing<String>,
        pinned_key: Option<PublicJwk>,
    ) -> Result<Self, String> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(format!("--cms-url {base}: expected an http:// or https:// URL"));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("pinframe/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Self { http, base, client_id, secret, token: Mutex::new(None), pinned_key, fetched_key: Mutex::new(None) })
    }

    /// A valid access token: the cached one, or a new one from `/oauth2/token`.
    async fn access_token(&self, renew: bool) -> Result<Zeroizing<String>, CmsError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| !renew && Instant::now() < t.renew_at) {
            return Ok(token.token.clone());
        }
        let response = self
            .http
            .post(format!("{}{OAUTH_TOKEN_PATH}", self.base))
            .basic_auth(&self.client_id, Some(self.secret.as_str()))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .map_err(|e| unavailable(format!("token request: {}", transport(e))))?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::BAD_REQUEST {
            return Err(CmsError::Misconfigured(format!("the CMS refused the client credentials ({status})")));
        }
        if !status.is_success() {
            return Err(unavailable(format!("token request: {status}")));
        }
        let body = Zeroizing::new(read_limited(response).await?);
        let mut parsed: AccessTokenResponse =
            serde_json::from_slice(&body).map_err(|_| unavailable("token response is not the OAuth 2.0 JSON"))?;
        let expires_in =
            u64::try_from(parsed.expires_in).map_err(|_| unavailable("token response has a negative expires_in"))?;
        let lifetime = Duration::from_secs(expires_in).saturating_sub(TOKEN_MARGIN);
        let token = Zeroizing::new(std::mem::take(&mut parsed.access_token));
        *cached = Some(CachedToken { token: token.clone(), renew_at: Instant::now() + lifetime });
        Ok(token)
    }

    /// Sends one D1 request and returns its status and body. GETs are retried on transport errors
    /// and 5xx; any request is repeated once with a new token after a 401.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&PinBody>,
        correlation: &CorrelationId,
    ) -> Result<(StatusCode, Zeroizing<Vec<u8>>), CmsError> {
        let attempts = if method == Method::GET { GET_ATTEMPTS } else { 1 };
        let mut renewed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let token = self.access_token(false).await?;
            let mut request = self
                .http
                .request(method.clone(), format!("{}{path}", self.base))
                .bearer_auth(token.as_str())
                .header(CORRELATION_HEADER, correlation.as_str());
            if let Some(body) = body {
                request = request.json(body);
            }
            let started = Instant::now();
            let outcome = request.send().await;
            let retry = match outcome {
                Ok(response) if response.status() == StatusCode::UNAUTHORIZED && !renewed => {
                    renewed = true;
                    attempt -= 1;
                    self.access_token(true).await?;
                    continue;
                }
                Ok(response) if response.status().is_server_error() && attempt < attempts => {
                    format!("{}", response.status())
                }
                Ok(response) => {
                    let status = response.status();
                    tracing::info!(
                        target: "pinframe::cms",
                        %method, status = status.as_u16(), latency_ms = started.elapsed().as_millis() as u64,
                        correlation_id = correlation.as_str(), "CMS call"
                    );
                    return Ok((status, Zeroizing::new(read_limited(response).await?)));
                }
                Err(e) if attempt < attempts => transport(e),
                Err(e) => return Err(unavailable(transport(e))),
            };
            tracing::warn!(
                target: "pinframe::cms", %method, attempt, reason = retry.as_str(),
                correlation_id = correlation.as_str(), "CMS call failed; retrying"
            );
            tokio::time::sleep(Duration::from_millis(100 * 4u64.pow(attempt - 1))).await;
        }
    }

    fn pin_path(issuer: &IssuerId, card: &CardId) -> String {
        // Identifiers are of [A-Za-z0-9_-] only: nothing to escape.
        pin_path(issuer.as_str(), card.as_str())
    }
}

/// Why a request did not get a response, without the URL (reqwest's Display names it).
fn transport(error: reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "cannot connect".to_owned()
    } else {
        error.without_url().to_string()
    }
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, CmsError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| unavailable(transport(e)))? {
        if body.len() + chunk.len() > MAX_RESPONSE {
            return Err(unavailable("response larger than 64 KiB"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn unexpected(status: StatusCode) -> CmsError {
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            CmsError::Misconfigured(format!("the CMS refused our access token ({status})"))
        }
        StatusCode::BAD_REQUEST => CmsError::Rejected("the CMS answered 400 Bad Request"),
        other => unavailable(format!("the CMS answered {other}")),
    }
}

#[async_trait]
impl PinManagement for RemoteCms {
    async fn ready(&self) -> Result<(), CmsError> {
        let response = self
            .http
            .get(format!("{}{READY_PATH}", self.base))
            .timeout(Duration::from_secs(1))
            .send()
            .await
            .map_err(|e| unavailable(format!("readiness: {}", transport(e))))?;
        match response.status() {
            StatusCode::OK => Ok(()),
            other => Err(unavailable(format!("readiness: the CMS answered {other}"))),
        }
    }

    async fn encryption_key(&self, correlation: &CorrelationId) -> Result<PublicJwk, CmsError> {
        if let Some(key) = &self.pinned_key {
            return Ok(key.clone());
        }
        let mut cached = self.fetched_key.lock().await;
        if let Some((key, _)) = cached.as_ref().filter(|(_, at)| at.elapsed() < KEY_CACHE) {
            return Ok(key.clone());
        }
        let response = self
            .http
            .get(format!("{}{JWKS_PATH}", self.base))
            .header(CORRELATION_HEADER, correlation.as_str())
            .send()
            .await
            .map_err(|e| unavailable(format!("JWKS: {}", transport(e))))?;
        if !response.status().is_success() {
            return Err(unavailable(format!("JWKS: {}", response.status())));
        }
        let body = read_limited(response).await?;
        let jwks: Jwks = serde_json::from_slice(&body).map_err(|_| unavailable("JWKS is not a JWK set"))?;
        let key = jwks
            .keys
            .iter()
            .filter(|k| {
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(k.get())
                    .is_ok_and(|members| members.get("use").is_none_or(|u| u == "enc"))
            })
            .find_map(|k| PublicJwk::parse(k.get()).ok())
            .ok_or_else(|| unavailable("the CMS's JWKS has no P-256 encryption key"))?;
        tracing::info!(target: "pinframe::cms", kid = key.kid(), "CMS encryption key read from its JWKS");
        *cached = Some((key.clone(), Instant::now()));
        Ok(key)
    }

    async fn get_pin(
        &self,
        issuer: &IssuerId,
        card: &CardId,
        correlation: &CorrelationId,
    ) -> Result<EncryptedPinBlock, CmsError> {
        let (status, body) = self.call(Method::GET, &Self::pin_path(issuer, card), None, correlation).await?;
        match status {
            StatusCode::OK => {
                let parsed: PinBody =
                    serde_json::from_slice(&body).map_err(|_| unavailable("GET pin: the body is not the D1 JSON"))?;
                let block_type = PinBlockType::parse(&parsed.block_type)
                    .ok_or_else(|| unavailable("GET pin: unknown PIN block type"))?;
                if parsed.encrypted_pin_block.len() > MAX_ENCRYPTED_PIN_BLOCK_LEN {
                    return Err(unavailable("GET pin: encryptedPinBlock longer than 8192 characters"));
                }
                Ok(EncryptedPinBlock { block_type, jwe: parsed.encrypted_pin_block })
            }
            StatusCode::NOT_FOUND => Err(CmsError::NotFound),
            other => Err(unexpected(other)),
        }
    }

    async fn set_pin(
        &self,
        issuer: &IssuerId,
        card: &CardId,
        block: &EncryptedPinBlock,
        correlation: &CorrelationId,
    ) -> Result<(), CmsError> {
        let body = PinBody { block_type: block.block_type.as_str().to_owned(), encrypted_pin_block: block.jwe.clone() };
        let (status, _) = self.call(Method::PUT, &Self::pin_path(issuer, card), Some(&body), correlation).await?;
        match status {
            StatusCode::NO_CONTENT | StatusCode::OK => Ok(()),
            StatusCode::NOT_FOUND => Err(CmsError::NotFound),
            StatusCode::BAD_REQUEST => {
                // Our key for the CMS may be stale: read it again next time.
                *self.fetched_key.lock().await = None;
                Err(CmsError::Rejected("the CMS refused the PIN block"))
            }
            other => Err(unexpected(other)),
        }
    }

    async fn change_counter(
        &self,
        issuer: &IssuerId,
        card: &CardId,
        correlation: &CorrelationId,
    ) -> Result<u64, CmsError> {
        let path = change_counter_path(issuer.as_str(), card.as_str());
        let (status, body) = self.call(Method::GET, &path, None, correlation).await?;
        match status {
            StatusCode::OK => serde_json::from_slice::<ChangeCounterBody>(&body)
                .map(|b| b.change_counter)
                .map_err(|_| unavailable("changeCounter: the body is not the D1 JSON")),
            StatusCode::NOT_FOUND => Err(CmsError::NotFound),
            other => Err(unexpected(other)),
        }
    }
}
