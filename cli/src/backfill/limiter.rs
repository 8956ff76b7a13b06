//! The write-capacity ceiling of `audit backfill --max-wcu`: one-second windows counted
//! from the start of the run. A write reserves its estimated units in the current window
//! before it is sent, waiting for the next window when they do not fit; when its answer
//! comes back, the reservation is replaced by the `ConsumedCapacity` the answer reports,
//! which is also what the window's log records. The log is the measure: the sum of consumed
//! capacity per one-second window of sending, never above the ceiling while every write's
//! estimate is at least what it consumes (an item's size after the update, rounded up to
//! the next KB, as DynamoDB bills an UpdateItem).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A ceiling of write capacity units per second, and the log of what was consumed.
#[derive(Debug)]
pub struct Limiter {
    ceiling: Option<f64>,
    start: Instant,
    windows: Mutex<Windows>,
}

#[derive(Debug, Default)]
struct Windows {
    /// Units reserved or consumed per window, for admission.
    used: BTreeMap<u64, f64>,
    /// Units the answers reported per window of sending.
    consumed: BTreeMap<u64, f64>,
}

/// A write admitted in a window.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    window: u64,
    estimate: f64,
}

impl Limiter {
    /// A limiter with `ceiling` units per second (none: no limit, only the log).
    pub fn new(ceiling: Option<f64>) -> Self {
        Self {
            ceiling,
            start: Instant::now(),
            windows: Mutex::new(Windows::default()),
        }
    }

    /// Waits until `estimate` units fit in the current window, and reserves them. A write
    /// larger than the whole ceiling is admitted alone in an empty window.
    pub async fn admit(&self, estimate: f64) -> Ticket {
        loop {
            let elapsed = self.start.elapsed();
            let window = elapsed.as_secs();
            {
                let mut windows = self.lock();
                let used = windows.used.entry(window).or_insert(0.0);
                let fits = match self.ceiling {
                    None => true,
                    Some(ceiling) => *used + estimate <= ceiling || *used <= 0.0,
                };
                if fits {
                    *used += estimate;
                    return Ticket { window, estimate };
                }
            }
            let next = Duration::from_secs(window + 1).saturating_sub(elapsed);
            tokio::time::sleep(next.max(Duration::from_millis(1))).await;
        }
    }

    /// Records what the write admitted by `ticket` consumed (`None`: the answer did not say,
    /// the estimate stands).
    pub fn consumed(&self, ticket: Ticket, units: Option<f64>) {
        let units = units.unwrap_or(ticket.estimate);
        let mut windows = self.lock();
        *windows.used.entry(ticket.window).or_insert(0.0) += units - ticket.estimate;
        *windows.consumed.entry(ticket.window).or_insert(0.0) += units;
    }

    /// Units consumed per one-second window of sending, in order.
    pub fn per_second(&self) -> Vec<f64> {
        self.lock().consumed.values().copied().collect()
    }

    /// Units consumed in the last full second, for the progress line.
    pub fn last_second(&self) -> f64 {
        let now = self.start.elapsed().as_secs();
        let windows = self.lock();
        now.checked_sub(1)
            .and_then(|w| windows.consumed.get(&w).copied())
            .unwrap_or(0.0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Windows> {
        // A panic while holding the lock cannot leave the maps inconsistent.
        self.windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn writes_beyond_the_ceiling_wait_for_the_next_second() {
        let limiter = Limiter::new(Some(10.0));
        let mut windows = Vec::new();
        for _ in 0..25 {
            let ticket = limiter.admit(1.0).await;
            windows.push(ticket.window);
            limiter.consumed(ticket, Some(1.0));
        }
        assert_eq!(windows.iter().filter(|w| **w == 0).count(), 10);
        assert_eq!(windows.iter().filter(|w| **w == 1).count(), 10);
        assert_eq!(limiter.per_second(), vec![10.0, 10.0, 5.0]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_overestimate_is_given_back() {
        let limiter = Limiter::new(Some(4.0));
        let first = limiter.admit(4.0).await;
        limiter.consumed(first, Some(1.0));
        let second = limiter.admit(3.0).await;
        assert_eq!(second.window, 0);
    }
}
