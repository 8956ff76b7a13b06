//! The invocation's deadline: Lambda gives it as epoch milliseconds; the core works to a
//! monotonic [`Instant`], kept back by a margin so that the answer and the logs still go
//! out before the runtime would kill the invocation.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// Time kept back from Lambda's deadline to answer and flush logs before the runtime
/// would kill the invocation.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(500);

/// The handler's deadline for a Lambda deadline of `deadline_epoch_ms` (milliseconds since
/// the Unix epoch) seen at `now`, less [`DEADLINE_MARGIN`]; at once when already past.
pub fn deadline_from_epoch_millis(deadline_epoch_ms: u64, now: SystemTime) -> Instant {
    let deadline = SystemTime::UNIX_EPOCH + Duration::from_millis(deadline_epoch_ms);
    let remaining = deadline
        .duration_since(now)
        .unwrap_or(Duration::ZERO)
        .saturating_sub(DEADLINE_MARGIN);
    Instant::now() + remaining
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lambda_deadline_is_kept_back_by_the_margin_and_never_in_the_past() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let in_ten_s = 1_700_000_010_000;
        let before = Instant::now();
        let deadline = deadline_from_epoch_millis(in_ten_s, now);
        let after = Instant::now();
        let expected = Duration::from_secs(10) - DEADLINE_MARGIN;
        assert!(deadline >= before + expected && deadline <= after + expected);
        let past = deadline_from_epoch_millis(1_000, now);
        assert!(past <= Instant::now());
    }
}
