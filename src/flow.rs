//! The view flow: session, ephemeral key, PIN request, decryption. The ephemeral private key lives
//! only inside [`view_pin`] and is wiped when it returns; so is every buffer that held the PIN.

use std::rc::Rc;

use pinframe_core::{jwe, Pin, PrivateJwk};
use pinframe_protocol::widget::{SessionResponse, ViewRequest, ViewResponse, NO_PIN, VIEW_PATH};
use pinframe_protocol::{Action, ErrorBody, Origin};
use serde_json::value::RawValue;

use crate::api::{self, Answer};
use crate::framing::Parent;
use crate::link;
use crate::rng::BrowserRng;
use crate::state::{Display, Failure};

/// The result of the flow, and the origins a desktop parent may be told it through.
#[derive(Debug)]
pub struct Outcome {
    pub result: Result<(Pin, Display), Failure>,
    pub parent_origins: Rc<[String]>,
    /// The session's language, once the session is known.
    pub language: Option<String>,
    /// When the token expires (this device's clock, ms), once the session is known.
    pub deadline_ms: Option<f64>,
}

/// Maps a refused answer to what the cardholder is told. A 401 does not say whether the token
/// was used or expired; [`refused`] tells them apart where the widget knows the expiry.
pub(crate) fn failure_for(answer: &Answer) -> Failure {
    match answer.status {
        401 => Failure::Refused,
        403 => Failure::WrongPage,
        404 if error_code(answer).as_deref() == Some(NO_PIN) => Failure::NoPin,
        408 | 429 | 500..=599 => Failure::Unavailable,
        _ => Failure::Broken,
    }
}

fn error_code(answer: &Answer) -> Option<String> {
    serde_json::from_slice::<ErrorBody>(answer.body.as_bytes()).ok().map(|body| body.error)
}

/// A refusal of the token, as the cardholder should hear it: expired once its known expiry has
/// passed, else no longer valid.
pub(crate) fn refused(deadline_ms: Option<f64>, now_ms: f64) -> Failure {
    if deadline_ms.is_some_and(|deadline| now_ms >= deadline) {
        Failure::Expired
    } else {
        Failure::Refused
    }
}

/// [`failure_for`], with a 401 after the token's known expiry told as expired.
pub(crate) fn failure_at(answer: &Answer, deadline_ms: Option<f64>) -> Failure {
    match failure_for(answer) {
        Failure::Refused => refused(deadline_ms, link::now_ms()),
        other => other,
    }
}

/// When a token the session says lives `expires_in` more seconds expires, by this device's clock:
/// counted from when the session's answer arrived (`received_ms`).
pub(crate) fn deadline_of(session: &SessionResponse, received_ms: f64) -> f64 {
    received_ms + session.expires_in.max(0) as f64 * 1000.0
}

/// Where a desktop parent may hear about a token: its `parentOrigin` alone, or nowhere.
pub(crate) fn origins_of(parent_origin: Option<&Origin>) -> Rc<[String]> {
    parent_origin.map(|origin| origin.as_str().to_owned()).into_iter().collect()
}

/// Where a desktop parent may hear that the session was refused: the `parentOrigin` the service
/// names in its 401 when it still keeps the token, else nowhere. A framing page the token was not
/// issued for never hears about it, whatever went wrong.
pub(crate) fn refusal_origins(answer: &Answer) -> Rc<[String]> {
    let body = serde_json::from_slice::<ErrorBody>(answer.body.as_bytes()).ok();
    origins_of(body.as_ref().and_then(|body| body.parent_origin.as_ref()))
}

/// `Err(WrongHost)` unless the page around the widget may see this token's PIN ([`crate::framing`]).
pub(crate) fn check_parent(parent_origin: Option<&Origin>) -> Result<(), Failure> {
    if Parent::of_this_page().allows(parent_origin) {
        Ok(())
    } else {
        Err(Failure::WrongHost)
    }
}

/// Reads the PIN out of the decrypted `{"pin":"…"}` without copying it into a `String`.
pub fn pin_from_plaintext(plaintext: &[u8]) -> Result<Pin, Failure> {
    let text = pinframe_protocol::widget::pin_from_plaintext(plaintext).ok_or(Failure::Broken)?;
    Pin::parse(text).map_err(|_| Failure::Broken)
}

/// Session, ephemeral key, view request, decryption, with `token`. `deadline_ms` is the token's
/// expiry when an earlier attempt's session named it.
/// `asked` is called once the view request is on the network.
pub async fn view_pin(token: &str, mut deadline_ms: Option<f64>, asked: &dyn Fn()) -> Outcome {
    // Until the service names the token's origin, no desktop parent hears anything.
    let mut parent_origins: Rc<[String]> = Rc::from([]);
    let mut language = None;
    let (correlation, session) = api::session(token);
    let result = async {
        // The ephemeral key is made while the session request is on the network.
        let key = PrivateJwk::generate(&mut BrowserRng);
        let answer = session.await.map_err(|_| Failure::NoNetwork)?;
        if answer.status != 200 {
            parent_origins = refusal_origins(&answer);
            return Err(failure_at(&answer, deadline_ms));
        }
        let session: SessionResponse =
            serde_json::from_slice(answer.body.as_bytes()).map_err(|_| Failure::Unavailable)?;
        deadline_ms = Some(deadline_of(&session, answer.at_ms));
        // From here on, only the origin this token was issued for hears about it.
        parent_origins = origins_of(session.parent_origin.as_ref());
        language = session.language.clone();
        let display = Display::of(&session);
        // Before the PIN is asked for: only inside the page the token was issued for.
        check_parent(session.parent_origin.as_ref())?;
        if session.action != Action::ViewPin {
            return Err(Failure::WrongPage);
        }

        let epk = RawValue::from_string(key.public().to_json()).map_err(|_| Failure::Broken)?;
        let body = serde_json::to_string(&ViewRequest { epk }).map_err(|_| Failure::Broken)?;
        let answer = api::post(VIEW_PATH, token, &correlation, Some(&body));
        asked();
        let answer = answer.await.map_err(|_| Failure::NoNetwork)?;
        if answer.status != 200 {
            return Err(failure_at(&answer, deadline_ms));
        }
        let view: ViewResponse = serde_json::from_slice(answer.body.as_bytes()).map_err(|_| Failure::Broken)?;
        let plaintext = jwe::decrypt(&key, &view.encrypted_pin).map_err(|_| Failure::Broken)?;
        Ok((pin_from_plaintext(&plaintext)?, display))
    }
    .await;
    Outcome { result, parent_origins, language, deadline_ms }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_pin_plaintext_and_nothing_else() {
        assert_eq!(pin_from_plaintext(br#"{"pin":"2468"}"#).unwrap().expose(), "2468");
        assert_eq!(pin_from_plaintext(br#" { "pin" : "123456789012" } "#).unwrap().expose(), "123456789012");
        for bad in [
            &br#"{"pin":"24a8"}"#[..],
            br#"{"pin":"246"}"#,
            br#"{"pin":2468}"#,
            br#"{"pin":"2468","x":1}"#,
            b"2468",
            b"",
        ] {
            assert_eq!(pin_from_plaintext(bad).unwrap_err(), Failure::Broken);
        }
    }

    #[test]
    fn a_refusal_is_heard_only_by_the_origin_it_names() {
        let answer = |body: &str| Answer { status: 401, body: body.to_owned(), at_ms: 0.0 };
        let named = r#"{"error":"unauthorized","message":"…","parentOrigin":"https://a.example"}"#;
        assert_eq!(&*refusal_origins(&answer(named)), ["https://a.example".to_owned()]);
        assert!(refusal_origins(&answer(r#"{"error":"unauthorized","message":"…"}"#)).is_empty());
        assert!(refusal_origins(&answer(r#"{"error":"x","message":"…","parentOrigin":"javascript:1"}"#)).is_empty());
        assert!(refusal_origins(&answer("<html>a proxy's page</html>")).is_empty());
    }

    #[test]
    fn refusals_map_to_messages() {
        let answer = |status| Answer { status, body: String::new(), at_ms: 0.0 };
        assert_eq!(failure_for(&answer(401)), Failure::Refused);
        assert_eq!(failure_for(&answer(403)), Failure::WrongPage);
        assert_eq!(failure_for(&answer(503)), Failure::Unavailable);
        assert_eq!(failure_for(&answer(500)), Failure::Unavailable);
        assert_eq!(failure_for(&answer(429)), Failure::Unavailable);
        assert_eq!(failure_for(&answer(400)), Failure::Broken);
        assert_eq!(failure_for(&answer(404)), Failure::Broken);
        let no_pin = Answer { status: 404, body: r#"{"error":"no_pin","message":"…"}"#.to_owned(), at_ms: 0.0 };
        assert_eq!(failure_for(&no_pin), Failure::NoPin);
        let unknown = Answer { status: 404, body: r#"{"error":"not_found","message":"…"}"#.to_owned(), at_ms: 0.0 };
        assert_eq!(failure_for(&unknown), Failure::Broken);
    }

    #[test]
    fn a_refusal_after_the_known_expiry_is_an_expiry() {
        assert_eq!(refused(None, 1_000.0), Failure::Refused);
        assert_eq!(refused(Some(2_000.0), 1_000.0), Failure::Refused);
        assert_eq!(refused(Some(1_000.0), 1_000.0), Failure::Expired);
        assert_eq!(refused(Some(1_000.0), 5_000.0), Failure::Expired);
    }
}
