//! The service's side of the D1 hop: PANs sealed at rest (and moved to a new data key by `pinframe
//! keys retire`), and PINs read from and written to the CMS as ISO 9564 format-0 blocks inside
//! JWEs. A clear PIN exists here only for the length of a request.

use pinframe_cms::EncryptedPinBlock;
use pinframe_core::pinblock::{decode_iso0, encode_iso0, hex_decode, hex_encode};
use pinframe_core::rand_core::OsRng;
use pinframe_core::{jwe, CardId, CorrelationId, IssuerId, Pan, Pin};
use pinframe_protocol::d1::{PinBlockJson, PinBlockType};
use pinframe_protocol::widget::NO_PIN;
use pinframe_server::error::AppError;
use pinframe_server::rotation::{Resealed, RESEAL_PAGE};
use zeroize::Zeroizing;

use crate::state::{AppState, ServiceKeys};
use crate::store::{SqlStore, StoreError};

fn pan_aad(issuer: &IssuerId, card: &CardId) -> Vec<u8> {
    format!("pinframe-card-pan-v1|{}|{}", issuer.as_str(), card.as_str()).into_bytes()
}

/// A PAN sealed under the data key active at `now`, bound to its card.
pub fn seal_pan(
    keys: &ServiceKeys,
    issuer: &IssuerId,
    card: &CardId,
    pan: &Pan,
    now: i64,
) -> Result<Vec<u8>, AppError> {
    keys.seal(&pan_aad(issuer, card), pan.as_bytes(), now)
        .map_err(|_| AppError::internal("the data key did not seal a PAN (its HSM did not answer)"))
}

/// Opens a PAN sealed under the current or the previous data key.
pub fn open_pan(keys: &ServiceKeys, issuer: &IssuerId, card: &CardId, sealed: &[u8]) -> Result<Pan, AppError> {
    let bytes = keys
        .open(&pan_aad(issuer, card), sealed)
        .map_err(|_| AppError::internal("a stored PAN does not open under the data key"))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| AppError::internal("a stored PAN is not text"))?;
    Pan::parse(text).map_err(|_| AppError::internal("a stored PAN does not parse"))
}

/// One pass of `pinframe keys retire` over the stored PANs: each PAN sealed under the previous data
/// key is sealed again under the current one, one card at a time, by an update that applies only
/// if the card still holds what was read (a card registered again meanwhile keeps its new PAN). A
/// crash part-way leaves every PAN under one key or the other, both still on disk.
pub async fn reseal_pans(store: &SqlStore, keys: &ServiceKeys) -> Result<Resealed, StoreError> {
    let mut report = Resealed::default();
    let mut after: Option<(IssuerId, CardId)> = None;
    loop {
        let page = store.sealed_pans(after.as_ref().map(|(i, c)| (i, c)), RESEAL_PAGE).await?;
        let full = page.len() as i64 == RESEAL_PAGE;
        for row in page {
            match keys.reseal(&pan_aad(&row.issuer, &row.card), &row.pan_sealed) {
                Err(_) => report.unreadable += 1,
                Ok(None) => report.current += 1,
                Ok(Some(new)) => {
                    if store.reseal_pan(&row.issuer, &row.card, &row.pan_sealed, &new).await? {
                        report.moved += 1;
                    } else {
                        report.raced += 1;
                    }
                }
            }
            after = Some((row.issuer, row.card));
        }
        if !full {
            return Ok(report);
        }
    }
}

/// The 404 `not_found` message for a card the issuer has not registered.
pub const NO_CARD: &str = "No such card is registered for this issuer.";

/// The PAN of a registered card; 404 when the issuer has no such card.
pub async fn card_pan(state: &AppState, issuer: &IssuerId, card: &CardId) -> Result<Pan, AppError> {
    let record = state.store.card(issuer, card).await?.ok_or(AppError::NotFound { message: NO_CARD })?;
    open_pan(&state.keys, issuer, card, &record.pan_sealed)
}

/// Reads the card's PIN from the CMS. A registered card the CMS has no PIN for is 404 `no_pin`
/// (not the `not_found` of an unregistered card): the caller keeps its token for a later try.
pub async fn read_pin(
    state: &AppState,
    issuer: &IssuerId,
    card: &CardId,
    pan: &Pan,
    correlation: &CorrelationId,
) -> Result<Pin, AppError> {
    let block = timed("get_pin", state.cms.get_pin(issuer, card, correlation)).await.map_err(|e| match e {
        pinframe_cms::CmsError::NotFound => {
            AppError::Absent { code: NO_PIN, message: "This card has no PIN yet: set one first, then view it." }
        }
        other => AppError::from(other),
    })?;
    if block.block_type != PinBlockType::Iso0 {
        return Err(AppError::internal("the CMS returned a PIN block type the service cannot read"));
    }
    let plaintext = state
        .keys
        .decrypt(&block.jwe)
        .map_err(|_| AppError::internal("the CMS's PIN block does not decrypt with the service key"))?;
    let json: PinBlockJson =
        serde_json::from_slice(&plaintext).map_err(|_| AppError::internal("the CMS's PIN block JSON is malformed"))?;
    let bytes = Zeroizing::new(hex_decode(&json.pin_block).unwrap_or_default());
    let block: &[u8; 8] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| AppError::internal("the CMS's PIN block is not 16 hexadecimal digits"))?;
    if json.format != PinBlockType::Iso0.as_str() {
        return Err(AppError::internal("the CMS's PIN block JSON names another format"));
    }
    decode_iso0(block, pan).map_err(|_| AppError::internal("the CMS's PIN block is not a format-0 block for this PAN"))
}

/// Writes a PIN to the CMS as a format-0 block, which raises the card's change counter by one.
pub async fn write_pin(
    state: &AppState,
    issuer: &IssuerId,
    card: &CardId,
    pan: &Pan,
    pin: &Pin,
    correlation: &CorrelationId,
) -> Result<(), AppError> {
    let block = encrypted_block(state, pan, pin, correlation).await?;
    Ok(timed("set_pin", state.cms.set_pin(issuer, card, &block, correlation)).await?)
}

/// Writes `pin` only if the card has no PIN yet (the demo's seed); returns whether it did.
pub async fn write_first_pin(
    state: &AppState,
    issuer: &IssuerId,
    card: &CardId,
    pan: &Pan,
    pin: &Pin,
    correlation: &CorrelationId,
) -> Result<bool, AppError> {
    let block = encrypted_block(state, pan, pin, correlation).await?;
    Ok(timed("set_first_pin", state.cms.set_first_pin(issuer, card, &block, correlation)).await?)
}

/// `pin` as a format-0 block for `pan`, encrypted to the CMS's key.
async fn encrypted_block(
    state: &AppState,
    pan: &Pan,
    pin: &Pin,
    correlation: &CorrelationId,
) -> Result<EncryptedPinBlock, AppError> {
    let block = Zeroizing::new(encode_iso0(pin, pan));
    let json = PinBlockJson { format: PinBlockType::Iso0.as_str().to_owned(), pin_block: hex_encode(block.as_ref()) };
    let plaintext = Zeroizing::new(serde_json::to_vec(&json).map_err(AppError::internal)?);
    let key = timed("encryption_key", state.cms.encryption_key(correlation)).await?;
    let jwe = jwe::encrypt(&key, &plaintext, &mut OsRng);
    Ok(EncryptedPinBlock { block_type: PinBlockType::Iso0, jwe })
}

/// Runs one call to the CMS and records its latency (`pinframe_cms_request_duration_seconds`), by
/// operation and outcome.
async fn timed<T>(
    operation: &'static str,
    call: impl std::future::Future<Output = Result<T, pinframe_cms::CmsError>>,
) -> Result<T, pinframe_cms::CmsError> {
    let started = std::time::Instant::now();
    let result = call.await;
    let outcome = if result.is_ok() { "ok" } else { "error" };
    pinframe_server::metrics::histogram!(
        "pinframe_cms_request_duration_seconds",
        "operation" => operation,
        "outcome" => outcome
    )
    .record(started.elapsed().as_secs_f64());
    result
}
