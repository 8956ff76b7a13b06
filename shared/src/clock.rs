//! The service's one clock: every function asks it for "now", and tests inject a fixed one.
//!
//! "Now" decides what has expired (query), bounds `occurredAt` and becomes `recordedAt`
//! (ingest); one trait keeps those answers consistent and lets every handler's tests pin it.

use std::sync::Arc;

use crate::domain::Timestamp;

/// A source of the current instant.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The clock a context holds: cheap to clone, shared across concurrent requests.
pub type SharedClock = Arc<dyn Clock>;

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that always answers the same instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// The system clock, shared.
pub fn system() -> SharedClock {
    Arc::new(SystemClock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_answers_its_instant_every_time() {
        let t = Timestamp::parse_rfc3339("t", "2024-03-01T05:00:00Z").unwrap();
        let clock: SharedClock = Arc::new(FixedClock(t));
        assert_eq!((clock.now(), clock.now()), (t, t));
    }

    #[test]
    fn the_system_clock_moves_forward() {
        let clock = system();
        let (a, b) = (clock.now(), clock.now());
        assert!(a <= b);
    }
}
