//! The clock every handler reads: Unix time in seconds, injectable so that tests expire tokens
//! without sleeping.

use std::fmt;

/// Unix time in seconds. Tests move it by hand to expire tokens without sleeping.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> i64;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
    }
}
