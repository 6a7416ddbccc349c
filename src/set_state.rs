//! The set flow's state, as a pure reducer (tested natively), and the form check the widget runs
//! on every keystroke. The check is the core's [`PinPolicy`], the same code the service runs.

use std::rc::Rc;

use pinframe_core::{PinPolicy, Violation};
use subtle::ConstantTimeEq;
use yew::Reducible;

use crate::i18n::Key;
use crate::state::Failure;

/// What is wrong with the form, if anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormProblem {
    /// The new PIN breaks the policy.
    Policy(Violation),
    /// The confirmation differs from the new PIN.
    Mismatch,
}

impl FormProblem {
    pub fn key(self) -> Key {
        match self {
            Self::Policy(violation) => Key::for_violation(violation),
            Self::Mismatch => Key::Mismatch,
        }
    }
}

/// `Ok` exactly when the form may be submitted: the new PIN passes the policy and both fields match.
/// This is the `pin_valid` the host hears.
pub fn form_check(policy: &PinPolicy, new: &str, confirm: &str) -> Result<(), FormProblem> {
    policy.check(new).map_err(FormProblem::Policy)?;
    if bool::from(new.as_bytes().ct_eq(confirm.as_bytes())) {
        Ok(())
    } else {
        Err(FormProblem::Mismatch)
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
pub enum SetPhase {
    #[default]
    Loading,
    /// The form is up.
    Ready,
    /// The encrypted PIN is on its way.
    Submitting,
    /// The service accepted the PIN.
    Done,
    Failed(Failure),
}

/// What the form shows. It never holds the PIN, only lengths and the check's verdict.
#[derive(Debug, Default)]
pub struct SetState {
    pub phase: SetPhase,
    pub policy: PinPolicy,
    pub parent_origins: Rc<[String]>,
    pub new_len: usize,
    pub confirm_len: usize,
    pub check: Option<Result<(), FormProblem>>,
    /// What the last refused submission was refused for (by the widget's check or by the
    /// service), until the cardholder types again.
    pub refused: Option<FormProblem>,
    /// A submission was refused: from now on every message shows as soon as it applies.
    pub insist: bool,
    /// A submission that did not get through, and may on a second try; the form keeps what was typed.
    pub trouble: Option<Failure>,
}

#[derive(Debug)]
pub enum SetAction {
    Ready {
        policy: PinPolicy,
        parent_origins: Rc<[String]>,
    },
    Typed {
        new_len: usize,
        confirm_len: usize,
        check: Result<(), FormProblem>,
    },
    Submitting,
    Refused(FormProblem),
    /// The submission failed in a way that may pass ([`Failure::retryable`]): back to the form.
    Trouble(Failure),
    Done,
    Fail {
        failure: Failure,
        parent_origins: Option<Rc<[String]>>,
    },
    /// "Try again" after the session failed in a way that may pass: back to loading.
    Retry,
    /// The unused token expired.
    Expire,
}

impl Reducible for SetState {
    type Action = SetAction;

    fn reduce(self: Rc<Self>, action: SetAction) -> Rc<Self> {
        let mut next = Self {
            phase: SetPhase::Loading,
            policy: self.policy,
            parent_origins: self.parent_origins.clone(),
            new_len: self.new_len,
            confirm_len: self.confirm_len,
            check: self.check,
            refused: self.refused,
            insist: self.insist,
            trouble: self.trouble,
        };
        match (&self.phase, action) {
            (SetPhase::Loading, SetAction::Ready { policy, parent_origins }) => {
                next.phase = SetPhase::Ready;
                next.policy = policy;
                next.parent_origins = parent_origins;
            }
            (SetPhase::Ready, SetAction::Typed { new_len, confirm_len, check }) => {
                next.phase = SetPhase::Ready;
                (next.new_len, next.confirm_len, next.check) = (new_len, confirm_len, Some(check));
                // From the next keystroke on, the messages are the live check's.
                next.refused = None;
            }
            (SetPhase::Ready, SetAction::Submitting) => {
                next.phase = SetPhase::Submitting;
                next.trouble = None;
            }
            (SetPhase::Ready | SetPhase::Submitting, SetAction::Refused(problem)) => {
                next.phase = SetPhase::Ready;
                next.refused = Some(problem);
                next.insist = true;
            }
            (SetPhase::Submitting, SetAction::Trouble(failure)) if failure.retryable() => {
                next.phase = SetPhase::Ready;
                next.trouble = Some(failure);
            }
            (SetPhase::Failed(failure), SetAction::Retry) if failure.retryable() => next.phase = SetPhase::Loading,
            (SetPhase::Ready | SetPhase::Submitting, SetAction::Expire) => {
                next.phase = SetPhase::Failed(Failure::Expired)
            }
            (SetPhase::Failed(failure), SetAction::Expire) if failure.retryable() => {
                next.phase = SetPhase::Failed(Failure::Expired);
            }
            (SetPhase::Submitting, SetAction::Done) => next.phase = SetPhase::Done,
            (
                SetPhase::Loading | SetPhase::Ready | SetPhase::Submitting,
                SetAction::Fail { failure, parent_origins },
            ) => {
                next.phase = SetPhase::Failed(failure);
                if let Some(origins) = parent_origins {
                    next.parent_origins = origins;
                }
            }
            _ => return self,
        }
        Rc::new(next)
    }
}

impl SetState {
    /// The message under the new-PIN field, from the check of what is typed now (or, until the next
    /// keystroke, the refusal): once it is as long as the policy's minimum (no nagging at the
    /// first digit), or at once after a refused submission. It goes as soon as the PIN is valid.
    pub fn new_pin_message(&self) -> Option<Key> {
        let problem = match (self.refused, self.check) {
            (Some(p @ FormProblem::Policy(_)), _) => Some(p),
            (_, Some(Err(p @ FormProblem::Policy(_)))) => Some(p),
            _ => None,
        }?;
        let shown = self.insist
            || self.new_len >= self.policy.min_len()
            || self.new_len > 0 && {
                matches!(problem, FormProblem::Policy(Violation::NotDigits | Violation::TooLong))
            };
        shown.then(|| problem.key())
    }

    /// The message under the confirmation field: once it is as long as the new PIN, or at once
    /// after a refused submission; it goes as soon as both match.
    pub fn confirm_message(&self) -> Option<Key> {
        let mismatch = match self.refused {
            Some(refused) => refused == FormProblem::Mismatch,
            None => self.check == Some(Err(FormProblem::Mismatch)),
        };
        let shown = self.insist || (self.confirm_len > 0 && self.confirm_len >= self.new_len);
        (mismatch && shown).then_some(Key::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready() -> Rc<SetState> {
        Rc::<SetState>::default()
            .reduce(SetAction::Ready { policy: PinPolicy::default(), parent_origins: Rc::from(Vec::new()) })
    }

    fn typed(state: Rc<SetState>, new: &str, confirm: &str) -> Rc<SetState> {
        let check = form_check(&state.policy, new, confirm);
        state.reduce(SetAction::Typed { new_len: new.len(), confirm_len: confirm.len(), check })
    }

    #[test]
    fn the_form_check_is_the_policy_plus_a_match() {
        let policy = PinPolicy::default();
        assert_eq!(form_check(&policy, "2580", "2580"), Ok(()));
        assert_eq!(form_check(&policy, "2580", "2581"), Err(FormProblem::Mismatch));
        assert_eq!(form_check(&policy, "1234", "1234"), Err(FormProblem::Policy(Violation::Sequential)));
        assert_eq!(form_check(&policy, "", ""), Err(FormProblem::Policy(Violation::TooShort)));
    }

    #[test]
    fn messages_appear_when_they_help() {
        let state = typed(ready(), "1", "");
        assert_eq!(state.new_pin_message(), None, "no nagging at the first digit");
        let state = typed(state, "1a", "");
        assert_eq!(state.new_pin_message(), Some(Key::PolicyNotDigits));
        let state = typed(state, "1111", "");
        assert_eq!(state.new_pin_message(), Some(Key::PolicyAllSame));
        let state = typed(state, "2580", "25");
        assert_eq!((state.new_pin_message(), state.confirm_message()), (None, None));
        let state = typed(state, "2580", "2581");
        assert_eq!(state.confirm_message(), Some(Key::Mismatch));
        let state = typed(state, "2580", "2580");
        assert_eq!(state.check, Some(Ok(())));
    }

    #[test]
    fn messages_follow_every_keystroke_after_a_refusal() {
        let state = typed(ready(), "25", "");
        let state = state.reduce(SetAction::Refused(FormProblem::Policy(Violation::TooShort)));
        assert_eq!(state.new_pin_message(), Some(Key::PolicyTooShort));
        assert_eq!(state.confirm_message(), None);
        // Still too short: said at once, without waiting for the minimum length.
        let state = typed(state, "258", "");
        assert_eq!(state.new_pin_message(), Some(Key::PolicyTooShort));
        // Fixed, with the confirmation still to type: the stale message is gone.
        let state = typed(state, "2580", "");
        assert_eq!(state.new_pin_message(), None);
        assert_eq!(state.confirm_message(), Some(Key::Mismatch));
        let state = typed(state, "2580", "2580");
        assert_eq!((state.new_pin_message(), state.confirm_message()), (None, None));
        // And back: breaking it again shows the new problem at once.
        let state = typed(state, "1111", "2580");
        assert_eq!(state.new_pin_message(), Some(Key::PolicyAllSame));
    }

    #[test]
    fn a_submission_that_did_not_get_through_keeps_the_form() {
        let state = typed(ready(), "2580", "2580").reduce(SetAction::Submitting);
        let state = state.reduce(SetAction::Trouble(Failure::NoNetwork));
        assert_eq!((&state.phase, state.trouble), (&SetPhase::Ready, Some(Failure::NoNetwork)));
        assert_eq!(state.new_len, 4, "what was typed stays");
        let state = state.reduce(SetAction::Submitting);
        assert_eq!(state.trouble, None);
        let final_failure = state.reduce(SetAction::Trouble(Failure::Refused));
        assert_eq!(final_failure.phase, SetPhase::Submitting, "only a failure that may pass goes back to the form");
        let expired = typed(ready(), "25", "").reduce(SetAction::Expire);
        assert_eq!(expired.phase, SetPhase::Failed(Failure::Expired));
        let offline =
            Rc::<SetState>::default().reduce(SetAction::Fail { failure: Failure::NoNetwork, parent_origins: None });
        assert_eq!(offline.reduce(SetAction::Retry).phase, SetPhase::Loading);
    }

    #[test]
    fn submission_is_one_at_a_time() {
        let state = typed(ready(), "2580", "2580");
        let state = state.reduce(SetAction::Submitting);
        assert_eq!(state.phase, SetPhase::Submitting);
        let same = state.clone().reduce(SetAction::Submitting);
        assert!(Rc::ptr_eq(&same, &state), "no second submission while one is on its way");
        let done = state.reduce(SetAction::Done);
        assert_eq!(done.phase, SetPhase::Done);
        let after = done.clone().reduce(SetAction::Fail { failure: Failure::Broken, parent_origins: None });
        assert!(Rc::ptr_eq(&after, &done), "a finished flow stays finished");
    }
}
