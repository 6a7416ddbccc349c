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
    /// A submission was refused (by the widget's check or by the service): show every message now.
    pub refused: Option<FormProblem>,
}

#[derive(Debug)]
pub enum SetAction {
    Ready { policy: PinPolicy, parent_origins: Rc<[String]> },
    Typed { new_len: usize, confirm_len: usize, check: Result<(), FormProblem> },
    Submitting,
    Refused(FormProblem),
    Done,
    Fail { failure: Failure, parent_origins: Option<Rc<[String]>> },
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
                // A refusal stands until the cardholder fixes what it was about.
                if check.is_ok() {
                    next.refused = None;
                }
            }
            (SetPhase::Ready, SetAction::Submitting) => next.phase = SetPhase::Submitting,
            (SetPhase::Ready | SetPhase::Submitting, SetAction::Refused(problem)) => {
                next.phase = SetPhase::Ready;
                next.refused = Some(problem);
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
    /// The message under the new-PIN field: once it is as long as the policy's minimum (no nagging
    /// at the first digit), or after a refused submission.
    pub fn new_pin_message(&self) -> Option<Key> {
        let problem = match (self.check, self.refused) {
            (_, Some(FormProblem::Policy(v))) => Some(FormProblem::Policy(v)),
            (Some(Err(p @ FormProblem::Policy(_))), _) => Some(p),
            _ => None,
        }?;
        let shown = self.refused.is_some()
            || self.new_len >= self.policy.min_len()
            || self.new_len > 0 && {
                matches!(problem, FormProblem::Policy(Violation::NotDigits | Violation::TooLong))
            };
        shown.then(|| problem.key())
    }

    /// The message under the confirmation field: once it is as long as the new PIN, or after a
    /// refused submission.
    pub fn confirm_message(&self) -> Option<Key> {
        let mismatch = self.check == Some(Err(FormProblem::Mismatch)) || self.refused == Some(FormProblem::Mismatch);
        let shown = self.refused.is_some() || (self.confirm_len > 0 && self.confirm_len >= self.new_len);
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
    fn a_refusal_shows_until_fixed_and_submission_is_one_at_a_time() {
        let state = typed(ready(), "25", "");
        let state = state.reduce(SetAction::Refused(FormProblem::Policy(Violation::TooShort)));
        assert_eq!(state.new_pin_message(), Some(Key::PolicyTooShort));
        let state = typed(state, "2580", "2580");
        assert_eq!(state.refused, None);
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
