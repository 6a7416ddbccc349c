//! Identifier, PIN and PAN parsing: never panics; whatever is accepted prints back unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pinframe_core::{CardId, ConsumerId, CorrelationId, IssuerId, Pan, Pin};

fuzz_target!(|data: &str| {
    if let Ok(id) = IssuerId::parse(data) {
        assert_eq!(id.as_str(), data);
    }
    if let Ok(id) = CardId::parse(data) {
        assert_eq!(id.as_str(), data);
    }
    if let Ok(id) = ConsumerId::parse(data) {
        assert_eq!(id.as_str(), data);
    }
    if let Ok(id) = CorrelationId::parse(data) {
        assert_eq!(id.as_str(), data);
    }
    if let Ok(pin) = Pin::parse(data) {
        assert_eq!(pin.expose(), data);
    }
    if let Ok(pan) = Pan::parse(data) {
        assert_eq!(pan.expose(), data);
    }
});
