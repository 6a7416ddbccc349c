//! The view flow's state, as a pure reducer (tested natively): loading, then the PIN or a failure.

use std::rc::Rc;

use pinframe_core::Pin;
use yew::Reducible;

use pinframe_protocol::host::ErrorCode;

use crate::i18n::Key;

/// Why the flow stopped. Each has one message for the cardholder; none says more than they need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The page was opened without a token in its fragment (and none was kept for a reload).
    MissingToken,
    /// The service refused the token: unknown, already used, or used up by refused attempts. Its
    /// 401 does not say which, on purpose.
    Refused,
    /// The token expired before it was used (the widget knows when, from the session).
    Expired,
    /// The service refused set-PIN attempts until the token was used up.
    TooManyAttempts,
    /// The card has no PIN at the issuer's CMS yet.
    NoPin,
    /// The token is for another page (a set-PIN link opened as view, say).
    WrongPage,
    /// The page is framed by another origin than the token's `parentOrigin` (or, for a webview's
    /// token, framed at all): the PIN is neither asked for nor taken ([`crate::framing`]).
    WrongHost,
    /// No answer came: the device is offline or the request did not get through.
    NoNetwork,
    /// The service answered that it (or its database, or the CMS) is unavailable.
    Unavailable,
    /// The answer could not be decrypted or read.
    Broken,
}

impl Failure {
    pub const ALL: [Failure; 10] = [
        Self::MissingToken,
        Self::Refused,
        Self::Expired,
        Self::TooManyAttempts,
        Self::NoPin,
        Self::WrongPage,
        Self::WrongHost,
        Self::NoNetwork,
        Self::Unavailable,
        Self::Broken,
    ];

    /// Its name, for the notice's `data-failure` (what tests read); a table, not `Debug`, which
    /// would bring formatting code into the widget.
    pub fn name(self) -> &'static str {
        match self {
            Self::MissingToken => "MissingToken",
            Self::Refused => "Refused",
            Self::Expired => "Expired",
            Self::TooManyAttempts => "TooManyAttempts",
            Self::NoPin => "NoPin",
            Self::WrongPage => "WrongPage",
            Self::WrongHost => "WrongHost",
            Self::NoNetwork => "NoNetwork",
            Self::Unavailable => "Unavailable",
            Self::Broken => "Broken",
        }
    }

    /// What the cardholder is told, from the message catalogues.
    pub fn key(self) -> Key {
        match self {
            Self::MissingToken => Key::FailureMissingToken,
            Self::Refused => Key::FailureRefused,
            Self::Expired => Key::FailureExpired,
            Self::TooManyAttempts => Key::FailureTooMany,
            Self::NoPin => Key::FailureNoPin,
            Self::WrongPage => Key::FailureWrongPage,
            Self::WrongHost => Key::FailureWrongHost,
            Self::NoNetwork => Key::FailureNoNetwork,
            Self::Unavailable => Key::FailureUnavailable,
            Self::Broken => Key::FailureBroken,
        }
    }

    /// The `code` of the host's `error` event.
    pub fn code(self) -> ErrorCode {
        match self {
            Self::MissingToken => ErrorCode::LinkMissing,
            Self::Refused => ErrorCode::LinkInvalid,
            Self::Expired => ErrorCode::LinkExpired,
            Self::TooManyAttempts => ErrorCode::TooManyAttempts,
            Self::NoPin => ErrorCode::NoPin,
            Self::WrongPage => ErrorCode::WrongPage,
            Self::WrongHost => ErrorCode::WrongHost,
            Self::NoNetwork => ErrorCode::NoNetwork,
            Self::Unavailable => ErrorCode::ServiceUnavailable,
            Self::Broken => ErrorCode::Failed,
        }
    }

    /// Whether trying again with the same token can help: the widget offers "Try again".
    pub fn retryable(self) -> bool {
        self.code().retryable()
    }
}

/// How the issuer wants a revealed PIN shown (the session's `hideAfterSeconds` and `allowCopy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Display {
    /// The PIN hides itself this long after it is revealed.
    pub hide_after_seconds: u32,
    /// Whether the cardholder may copy the PIN to the clipboard.
    pub allow_copy: bool,
}

impl Default for Display {
    fn default() -> Self {
        Self { hide_after_seconds: pinframe_protocol::widget::DEFAULT_HIDE_AFTER_SECONDS, allow_copy: false }
    }
}

impl Display {
    /// How the session says to show the PIN; the defaults where it is silent.
    pub fn of(session: &pinframe_protocol::widget::SessionResponse) -> Self {
        Self { hide_after_seconds: session.hide_after(), allow_copy: session.allow_copy }
    }
}

#[derive(Debug, Default)]
pub enum Phase {
    /// Getting the session and the PIN.
    #[default]
    Loading,
    /// The PIN, decrypted in this page. It is wiped when the state that holds it is dropped.
    Shown(Rc<Pin>, Display),
    Failed(Failure),
}

#[derive(Debug, Default)]
pub struct ViewState {
    pub phase: Phase,
    /// Where a desktop parent may be told the outcome: the token's `parentOrigin` once the session
    /// (or the service's refusal of it) names it; nowhere before that.
    pub parent_origins: Rc<[String]>,
}

#[derive(Debug)]
pub enum ViewAction {
    Reveal {
        pin: Pin,
        display: Display,
        parent_origins: Rc<[String]>,
    },
    Fail {
        failure: Failure,
        parent_origins: Rc<[String]>,
    },
    /// "Try again" after a failure that may pass: back to loading, with the same token.
    Retry,
    /// The unused token expired while a failure that may pass was shown.
    Expire,
}

impl Reducible for ViewState {
    type Action = ViewAction;

    fn reduce(self: Rc<Self>, action: ViewAction) -> Rc<Self> {
        match (&self.phase, action) {
            (Phase::Loading, ViewAction::Reveal { pin, display, parent_origins }) => {
                Rc::new(Self { phase: Phase::Shown(Rc::new(pin), display), parent_origins })
            }
            (Phase::Loading, ViewAction::Fail { failure, parent_origins }) => {
                Rc::new(Self { phase: Phase::Failed(failure), parent_origins })
            }
            (Phase::Failed(failure), ViewAction::Retry) if failure.retryable() => {
                Rc::new(Self { phase: Phase::Loading, parent_origins: self.parent_origins.clone() })
            }
            (Phase::Failed(failure), ViewAction::Expire) if failure.retryable() => {
                Rc::new(Self { phase: Phase::Failed(Failure::Expired), parent_origins: self.parent_origins.clone() })
            }
            // Otherwise the flow ends once: a late answer cannot replace a shown PIN or a final
            // failure.
            _ => self,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reduce(state: Rc<ViewState>, action: ViewAction) -> Rc<ViewState> {
        state.reduce(action)
    }

    fn origins() -> Rc<[String]> {
        Rc::from(vec!["https://bank.example".to_owned()])
    }

    fn reveal(pin: &str) -> ViewAction {
        ViewAction::Reveal { pin: Pin::parse(pin).unwrap(), display: Display::default(), parent_origins: origins() }
    }

    fn fail(failure: Failure) -> ViewAction {
        ViewAction::Fail { failure, parent_origins: origins() }
    }

    #[test]
    fn loading_reveals_the_pin_once() {
        let shown = reduce(Rc::default(), reveal("2468"));
        let Phase::Shown(pin, _) = &shown.phase else { panic!("not shown: {shown:?}") };
        assert_eq!(pin.expose(), "2468");
        assert_eq!(&*shown.parent_origins, &["https://bank.example".to_owned()]);
        let after = reduce(shown.clone(), fail(Failure::Broken));
        assert!(Rc::ptr_eq(&after, &shown));
    }

    #[test]
    fn a_failure_is_final() {
        let failed = reduce(Rc::default(), fail(Failure::Refused));
        assert!(matches!(failed.phase, Phase::Failed(Failure::Refused)));
        let after = reduce(failed.clone(), reveal("1357"));
        assert!(matches!(after.phase, Phase::Failed(Failure::Refused)));
    }

    #[test]
    fn debug_never_prints_the_pin() {
        let shown = reduce(Rc::default(), reveal("2468"));
        assert!(!format!("{shown:?}").contains("2468"));
    }

    #[test]
    fn only_a_failure_that_may_pass_is_tried_again() {
        let offline = reduce(Rc::default(), fail(Failure::NoNetwork));
        let again = reduce(offline, ViewAction::Retry);
        assert!(matches!(again.phase, Phase::Loading));
        let shown = reduce(again, reveal("2468"));
        assert!(matches!(shown.phase, Phase::Shown(..)));

        let refused = reduce(Rc::default(), fail(Failure::Refused));
        assert!(Rc::ptr_eq(&reduce(refused.clone(), ViewAction::Retry), &refused));

        let down = reduce(Rc::default(), fail(Failure::Unavailable));
        let expired = reduce(down, ViewAction::Expire);
        assert!(matches!(expired.phase, Phase::Failed(Failure::Expired)));
        assert!(Rc::ptr_eq(&reduce(expired.clone(), ViewAction::Retry), &expired));
    }

    #[test]
    fn failures_have_distinct_messages_and_codes() {
        let keys: std::collections::HashSet<_> = Failure::ALL.iter().map(|f| f.key()).collect();
        let codes: std::collections::HashSet<_> = Failure::ALL.iter().map(|f| f.code()).collect();
        assert_eq!((keys.len(), codes.len()), (Failure::ALL.len(), Failure::ALL.len()));
        let retried: Vec<_> = Failure::ALL.into_iter().filter(|f| f.retryable()).collect();
        assert_eq!(retried, [Failure::NoNetwork, Failure::Unavailable]);
    }

    #[test]
    fn every_failure_has_a_sentence() {
        for f in Failure::ALL {
            for lang in crate::i18n::Lang::ALL {
                assert!(lang.text(f.key()).ends_with(['.', '。']), "{lang:?} {f:?}");
            }
        }
    }
}
