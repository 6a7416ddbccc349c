//! The view flow's state, as a pure reducer (tested natively): loading, then the PIN or a failure.

use std::rc::Rc;

use pinframe_core::Pin;
use yew::Reducible;

use crate::i18n::Key;

/// Why the flow stopped. Each has one message for the cardholder; none says more than they need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The page was opened without a token in its fragment.
    MissingToken,
    /// The service refused the token: unknown, expired or already used.
    Refused,
    /// The token is for another page (a set-PIN link opened as view, say).
    WrongPage,
    /// The page is framed by another origin than the token's `parentOrigin` (or, for a webview's
    /// token, framed at all): the PIN is neither asked for nor taken ([`crate::framing`]).
    WrongHost,
    /// The service or the network could not be reached, or answered with an error.
    Unavailable,
    /// The answer could not be decrypted or read.
    Broken,
}

impl Failure {
    /// What the cardholder is told, from the message catalogues.
    pub fn key(self) -> Key {
        match self {
            Self::MissingToken => Key::FailureMissingToken,
            Self::Refused => Key::FailureRefused,
            Self::WrongPage => Key::FailureWrongPage,
            Self::WrongHost => Key::FailureWrongHost,
            Self::Unavailable => Key::FailureUnavailable,
            Self::Broken => Key::FailureBroken,
        }
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
    Reveal { pin: Pin, display: Display, parent_origins: Rc<[String]> },
    Fail { failure: Failure, parent_origins: Rc<[String]> },
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
            // The flow ends once: a late answer cannot replace a shown PIN or a reported failure.
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
    fn every_failure_has_a_sentence() {
        let all = [
            Failure::MissingToken,
            Failure::Refused,
            Failure::WrongPage,
            Failure::WrongHost,
            Failure::Unavailable,
            Failure::Broken,
        ];
        for f in all {
            for lang in crate::i18n::Lang::ALL {
                assert!(lang.text(f.key()).ends_with(['.', '。']), "{lang:?} {f:?}");
            }
        }
    }
}
