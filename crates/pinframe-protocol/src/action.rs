//! What a PIN-control token lets its holder do, once.

use serde::{Deserialize, Serialize};

/// The `action` of a PIN-control token request and of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    #[serde(rename = "VIEW_PIN")]
    ViewPin,
    #[serde(rename = "SET_PIN")]
    SetPin,
}

impl Action {
    /// The action's name on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ViewPin => "VIEW_PIN",
            Self::SetPin => "SET_PIN",
        }
    }

    /// The one parser of an action's name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "VIEW_PIN" => Some(Self::ViewPin),
            "SET_PIN" => Some(Self::SetPin),
            _ => None,
        }
    }

    /// The widget page of the action: `/pin/{issuerId}/{page}`.
    pub fn page(self) -> &'static str {
        match self {
            Self::ViewPin => "view",
            Self::SetPin => "set",
        }
    }

    /// The action of a widget page, from its last path segment.
    pub fn from_page(page: &str) -> Option<Self> {
        match page {
            "view" => Some(Self::ViewPin),
            "set" => Some(Self::SetPin),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Action;

    #[test]
    fn names_round_trip() {
        for action in [Action::ViewPin, Action::SetPin] {
            assert_eq!(Action::parse(action.as_str()), Some(action));
            assert_eq!(Action::from_page(action.page()), Some(action));
            let json = serde_json::to_string(&action).unwrap();
            assert_eq!(json, alloc::format!("\"{}\"", action.as_str()));
            assert_eq!(serde_json::from_str::<Action>(&json).unwrap(), action);
        }
        assert_eq!(Action::parse("view_pin"), None);
        assert_eq!(Action::parse(""), None);
        assert!(serde_json::from_str::<Action>("\"READ_PIN\"").is_err());
    }
}
