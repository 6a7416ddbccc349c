//! OAuth 2.0 for the issuer-facing APIs: the client credentials grant (RFC 6749 §4.4, client
//! authenticated with HTTP Basic) issuing ES256 JWTs (RFC 7519), and the verifier every
//! Bearer-protected route of the Register API (service) and the D1 PIN Management API (CMS) uses.
//!
//! The service and the CMS each have their own signing key, issuer (`iss`, their public URL) and
//! audience, so a token of one is worthless at the other. Signatures are made and checked by the
//! `jsonwebtoken` crate with the algorithm pinned to ES256; times are checked here against the
//! server's [`Clock`](crate::clock::Clock), so that tests can expire a token without sleeping.
//!
//! A handler that needs an access token takes a [`Principal`], an extractor that answers 401 with
//! the Bearer challenge before any other check runs.

use std::collections::HashSet;
use std::fmt;

use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64ct::{Base64UrlUnpadded, Encoding};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use pinframe_core::rand_core::{OsRng, RngCore};
use pinframe_core::{IssuerId, PrivateJwk};
use pinframe_protocol::issuer::{AccessTokenClaims as Claims, AccessTokenResponse, OAuthErrorBody};
use zeroize::Zeroizing;

use crate::credentials::{self, BasicCredentials};
use crate::error::{challenge, has_media_type, AppError, ErrorInfo, Scheme, RETRY_AFTER_SECONDS};
use crate::keyring::{Live, Ring};
use crate::keystore::EcKey;

/// Clock skew tolerated between servers for `iat` and `nbf`, in seconds. `exp` gets none.
const SKEW: i64 = 60;

/// Which issuers a token lets its holder act for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    /// The listed issuers (an issuer's own client: exactly its own id).
    Issuers(Vec<IssuerId>),
    /// Any issuer: the reference CMS's client when it was started without `--issuer`. Written as
    /// `["*"]` in the token, which can never be an issuer id (those are 10 characters).
    AnyIssuer,
}

impl Grant {
    pub fn allows(&self, issuer: &IssuerId) -> bool {
        match self {
            Self::Issuers(ids) => ids.contains(issuer),
            Self::AnyIssuer => true,
        }
    }

    fn to_claim(&self) -> Vec<String> {
        match self {
            Self::Issuers(ids) => ids.iter().map(|id| id.as_str().to_owned()).collect(),
            Self::AnyIssuer => vec!["*".to_owned()],
        }
    }

    fn from_claim(claim: &[String]) -> Option<Self> {
        if claim == ["*"] {
            return Some(Self::AnyIssuer);
        }
        claim.iter().map(|id| IssuerId::parse(id).ok()).collect::<Option<Vec<_>>>().map(Self::Issuers)
    }
}

/// What a verified access token allows. As an extractor, it reads `Authorization: Bearer <JWT>`
/// and verifies it against the state's [`OAuthState::authority`]; 401 otherwise.
#[derive(Debug, Clone)]
pub struct Principal {
    pub client_id: String,
    pub grant: Grant,
}

/// A server state that verifies access tokens.
pub trait OAuthState: Send + Sync {
    fn authority(&self) -> &JwtAuthority;
    fn now(&self) -> i64;
}

impl<S: OAuthState> FromRequestParts<S> for Principal {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        state.authority().authenticate(&parts.headers, state.now())
    }
}

impl Principal {
    /// For a route `…/{issuerId}/…/{id}`: checks the path's identifiers (the second with
    /// `parse_second`), then that the token may act for the issuer: 400, then 403. (The 401 came
    /// first, from the extractor.)
    pub fn authorize_path<T>(
        &self,
        path: Result<Path<(String, String)>, PathRejection>,
        parse_second: impl FnOnce(&str) -> Result<T, AppError>,
    ) -> Result<(IssuerId, T), AppError> {
        let Path((issuer, second)) =
            path.map_err(|_| AppError::bad_request("invalid_path", "The path is malformed."))?;
        let issuer = IssuerId::parse(&issuer).map_err(|e| AppError::invalid("invalid_issuer_id", e))?;
        let second = parse_second(&second)?;
        self.authorize(&issuer)?;
        Ok((issuer, second))
    }

    /// 403 unless the token may act for `issuer`.
    pub fn authorize(&self, issuer: &IssuerId) -> Result<(), AppError> {
        if self.grant.allows(issuer) {
            Ok(())
        } else {
            Err(AppError::Forbidden { message: "The access token does not allow acting for this issuer." })
        }
    }
}

/// One ES256 key: its private half signs (in memory or in an HSM, the JWS assembled here), its
/// public half verifies through `jsonwebtoken`.
struct Signer {
    key: EcKey,
    decoding: DecodingKey,
    kid: String,
}

impl Signer {
    fn new(key: EcKey) -> Result<Self, SigningKeyError> {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        let point = key.public().key().to_encoded_point(false);
        let (x, y) = (point.x().ok_or(SigningKeyError)?, point.y().ok_or(SigningKeyError)?);
        let decoding =
            DecodingKey::from_ec_components(&Base64UrlUnpadded::encode_string(x), &Base64UrlUnpadded::encode_string(y))
                .map_err(|_| SigningKeyError)?;
        let kid = key.kid().to_owned();
        Ok(Self { key, decoding, kid })
    }

    /// A compact JWS (ES256) of `claims` with `header`: `BASE64URL(header).BASE64URL(claims)`
    /// signed, as RFC 7515 §5.1 makes it.
    fn sign(&self, header: &Header, claims: &impl serde::Serialize) -> Result<String, SigningKeyError> {
        let header = serde_json::to_vec(header).map_err(|_| SigningKeyError)?;
        let claims = serde_json::to_vec(claims).map_err(|_| SigningKeyError)?;
        let mut jws = Base64UrlUnpadded::encode_string(&header);
        jws.push('.');
        jws.push_str(&Base64UrlUnpadded::encode_string(&claims));
        let signature = self.key.sign_es256(jws.as_bytes()).map_err(|e| {
            tracing::error!(error = %e, kid = %self.kid, "the signing key did not sign");
            SigningKeyError
        })?;
        jws.push('.');
        jws.push_str(&Base64UrlUnpadded::encode_string(&signature));
        Ok(jws)
    }
}

/// Signs and verifies one server's access tokens. Its signing keys are a [`Ring`]: new tokens are
/// signed with the key active at the time, and a token of either key verifies, chosen by the
/// header's `kid`, until the previous key is retired. [`replace_keys`](Self::replace_keys) swaps
/// them in a running server.
pub struct JwtAuthority {
    signers: Live<Ring<Signer>>,
    /// ES256 only, `iss` and `aud` ours, the registered claims present; built once.
    validation: Validation,
    issuer: String,
    audience: &'static str,
    scope: &'static str,
    ttl: i64,
}

impl fmt::Debug for JwtAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthority")
            .field("kids", &self.kids())
            .field("iss", &self.issuer)
            .field("aud", &self.audience)
            .finish_non_exhaustive()
    }
}

/// Why a signing key could not be used.
#[derive(Debug)]
pub struct SigningKeyError;

impl fmt::Display for SigningKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the signing key is not a usable P-256 private key, or its HSM did not sign")
    }
}

impl std::error::Error for SigningKeyError {}

impl JwtAuthority {
    /// `key` signs (ES256); `issuer` is this server's public URL; `audience` names the API the
    /// tokens are for; `ttl` is their lifetime in seconds.
    pub fn new(
        key: &PrivateJwk,
        issuer: String,
        audience: &'static str,
        scope: &'static str,
        ttl: i64,
    ) -> Result<Self, SigningKeyError> {
        let key = PrivateJwk::parse(&key.to_json()).map_err(|_| SigningKeyError)?;
        Self::with_keys(Ring::single(EcKey::from(key)), issuer, audience, scope, ttl)
    }

    /// [`new`](Self::new) with a current and, during a rotation, a previous signing key.
    pub fn with_keys(
        keys: Ring<EcKey>,
        issuer: String,
        audience: &'static str,
        scope: &'static str,
        ttl: i64,
    ) -> Result<Self, SigningKeyError> {
        let signers = keys.try_into_map(Signer::new)?;
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_issuer(&[&issuer]);
        validation.set_audience(&[audience]);
        validation.required_spec_claims = HashSet::from(["exp", "iat", "nbf", "iss", "aud", "sub"].map(String::from));
        // Times are ours to check, against the injected clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        Ok(Self { signers: Live::new(signers), validation, issuer, audience, scope, ttl })
    }

    /// Uses `keys` from now on (a reload): tokens signed by a key no longer in the ring stop
    /// verifying at once.
    pub fn replace_keys(&self, keys: Ring<EcKey>) -> Result<(), SigningKeyError> {
        self.signers.replace(keys.try_into_map(Signer::new)?);
        Ok(())
    }

    /// The signing keys' `kid`s, current first.
    pub fn kids(&self) -> Vec<String> {
        self.signers.get().iter().map(|signer| signer.kid.clone()).collect()
    }

    pub fn ttl(&self) -> i64 {
        self.ttl
    }

    /// A new access token for `client_id`, signed with the key active at `now`. Fails only when
    /// the HSM holding the key does not sign.
    pub fn issue(&self, client_id: &str, grant: &Grant, now: i64) -> Result<Zeroizing<String>, SigningKeyError> {
        let mut jti = [0u8; 16];
        OsRng.fill_bytes(&mut jti);
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: client_id.to_owned(),
            aud: self.audience.to_owned(),
            iat: now,
            nbf: now,
            exp: now + self.ttl,
            jti: Base64UrlUnpadded::encode_string(&jti),
            scope: self.scope.to_owned(),
            issuers: grant.to_claim(),
        };
        let signers = self.signers.get();
        let signer = signers.active(now);
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(signer.kid.clone());
        signer.sign(&header, &claims).map(Zeroizing::new)
    }

    /// Checks signature (ES256 only, by the key the header's `kid` names; each key when it names
    /// none), `iss`, `aud`, `scope` and the times against `now`.
    pub fn verify(&self, token: &str, now: i64) -> Option<Principal> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != Algorithm::ES256 {
            return None;
        }
        let signers = self.signers.get();
        let claims = signers
            .iter()
            .filter(|signer| header.kid.as_ref().is_none_or(|kid| *kid == signer.kid))
            .find_map(|signer| jsonwebtoken::decode::<Claims>(token, &signer.decoding, &self.validation).ok())?
            .claims;
        let timely = now < claims.exp && claims.iat <= now + SKEW && claims.nbf <= now + SKEW;
        if !timely || claims.scope != self.scope {
            return None;
        }
        Some(Principal { client_id: claims.sub, grant: Grant::from_claim(&claims.issuers)? })
    }

    /// Reads `Authorization: Bearer <JWT>` and verifies it; 401 otherwise.
    pub fn authenticate(&self, headers: &HeaderMap, now: i64) -> Result<Principal, AppError> {
        let unauthorized = || AppError::unauthorized(Scheme::Bearer, headers);
        let token = credentials::authorization(headers, "Bearer").ok_or_else(unauthorized)?;
        self.verify(token, now).ok_or_else(unauthorized)
    }
}

/// An error of the token endpoint, in RFC 6749 §5.2's shape: `{"error", "error_description"}`.
#[derive(Debug)]
pub struct TokenError {
    status: StatusCode,
    code: &'static str,
    description: &'static str,
    /// Seconds for `Retry-After` on a 429.
    retry_after: Option<u64>,
}

impl TokenError {
    pub fn invalid_client() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "invalid_client",
            description: "Client authentication failed: use HTTP Basic with your client id and secret.",
            retry_after: None,
        }
    }

    fn invalid_request(description: &'static str) -> Self {
        Self { status: StatusCode::BAD_REQUEST, code: "invalid_request", description, retry_after: None }
    }

    pub fn server_error() -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "server_error",
            description: "Something went wrong on our side. Please try again later.",
            retry_after: None,
        }
    }

    /// 503 `temporarily_unavailable` (the code RFC 6749 §4.1.2.1 defines for a server that cannot
    /// answer now), with `Retry-After`: the database that holds the clients is out of reach.
    pub fn temporarily_unavailable() -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "temporarily_unavailable",
            description: "The server cannot reach its database. Please try again shortly.",
            retry_after: None,
        }
    }

    /// 429 `temporarily_unavailable` with `Retry-After`: too many failed authentications from this
    /// address (RFC 6749 has no code of its own for it; RFC 6585 gives the status).
    pub fn rate_limited(retry_after: u64) -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "temporarily_unavailable",
            description: "Too many failed client authentications. Try again after the seconds in Retry-After.",
            retry_after: Some(retry_after),
        }
    }

    /// The token endpoint's answer to a failure while authenticating the client.
    pub fn from_failure(error: &AppError) -> Self {
        match error {
            AppError::Unauthorized { .. } => Self::invalid_client(),
            AppError::Unavailable { .. } => Self::temporarily_unavailable(),
            AppError::TooManyRequests { retry_after } => Self::rate_limited(*retry_after),
            _ => Self::server_error(),
        }
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let body = OAuthErrorBody { error: self.code.to_owned(), error_description: self.description.to_owned() };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge(Scheme::Basic));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        response.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        response
    }
}

/// The RFC 6749 §5.2 code for an error of `status` at the token endpoint.
fn oauth_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNAUTHORIZED => "invalid_client",
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => "temporarily_unavailable",
        s if s.is_server_error() => "server_error",
        _ => "invalid_request",
    }
}

/// Rewrites an error made in the JSON error shape before or around the token endpoint's handler
/// (a bad `x-correlation-id`, say) into RFC 6749 §5.2's shape, keeping its status, headers (such as
/// `Retry-After`) and log detail: every error body of `/oauth2/token` is an OAuth one. Responses
/// that are not such errors pass unchanged.
pub fn token_endpoint_error(response: Response) -> Response {
    let Some(info) = response.extensions().get::<ErrorInfo>().cloned() else {
        return response;
    };
    let (mut parts, _) = response.into_parts();
    let body = OAuthErrorBody { error: oauth_code(parts.status).to_owned(), error_description: info.message };
    let body = serde_json::to_vec(&body).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if parts.status == StatusCode::UNAUTHORIZED {
        parts.headers.insert(header::WWW_AUTHENTICATE, challenge(Scheme::Basic));
    }
    Response::from_parts(parts, Body::from(body))
}

/// Checks a token request's form body and Basic credentials, before the caller authenticates the
/// client: `application/x-www-form-urlencoded` (UTF-8) with `grant_type=client_credentials`, within
/// the route's body limit (413 `invalid_request` beyond it). Other parameters (`scope`, say) are
/// ignored, as RFC 6749 §3.3 and §4.4.2 allow; a `client_secret` in the body is refused, because
/// only Basic authentication is accepted.
pub fn token_request(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<BasicCredentials, TokenError> {
    if !has_media_type(headers, "application/x-www-form-urlencoded") {
        return Err(TokenError::invalid_request("The body must be application/x-www-form-urlencoded, in UTF-8."));
    }
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            TokenError {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                code: "invalid_request",
                description: "The body is larger than this endpoint accepts.",
                retry_after: None,
            }
        } else {
            TokenError::invalid_request("The body could not be read.")
        }
    })?;
    // Values are wiped when `pairs` drops: a misdirected secret must not linger.
    let pairs: Zeroizing<Vec<(String, String)>> = Zeroizing::new(
        serde_urlencoded::from_bytes(&body).map_err(|_| TokenError::invalid_request("The body is not a form."))?,
    );
    if pairs.iter().any(|(name, _)| name == "client_secret") {
        return Err(TokenError::invalid_request("Send the client secret with HTTP Basic, not in the body."));
    }
    let grant_type = pairs.iter().find(|(n, _)| n == "grant_type").map(|(_, v)| v.as_str());
    match grant_type {
        Some("client_credentials") => {}
        Some(_) => {
            return Err(TokenError {
                status: StatusCode::BAD_REQUEST,
                code: "unsupported_grant_type",
                description: "Only grant_type=client_credentials is supported.",
                retry_after: None,
            })
        }
        None => return Err(TokenError::invalid_request("grant_type is required.")),
    }
    credentials::basic_credentials(headers).ok_or_else(TokenError::invalid_client)
}

/// The token endpoint's 200 body (RFC 6749 §5.1).
pub fn token_response(authority: &JwtAuthority, client_id: &str, grant: &Grant, now: i64) -> Response {
    let Ok(token) = authority.issue(client_id, grant, now) else {
        return TokenError::server_error().into_response();
    };
    let body = AccessTokenResponse {
        access_token: token.to_string(),
        token_type: "Bearer".to_owned(),
        expires_in: authority.ttl(),
    };
    let mut response = Json(&body).into_response();
    response.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests;
