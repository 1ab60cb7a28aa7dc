//! The client-side cap on writes (`--write-qps`, `--write-burst`): a token bucket shared by
//! status applies and Events. Off by default: the API server's priority and fairness paces
//! its clients and answers 429 with `Retry-After`, which the writer honours.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// A token bucket of `burst` tokens refilled at `qps` per second, kept as the time at which
/// the bucket would be full again (the generic cell rate algorithm), in whole nanoseconds.
#[derive(Debug)]
pub struct RateLimit {
    /// Time per token.
    interval: Duration,
    /// How far ahead of now the full time may run: `burst - 1` tokens.
    slack: Duration,
    full_at: Mutex<Option<Instant>>,
}

impl RateLimit {
    /// A full bucket; `None` when `qps` is 0 (no cap).
    pub fn new(qps: f64, burst: u32) -> Option<RateLimit> {
        (qps > 0.0).then(|| {
            let interval = Duration::from_secs_f64(1.0 / qps);
            RateLimit {
                interval,
                slack: interval.saturating_mul(burst.max(1) - 1),
                full_at: Mutex::new(None),
            }
        })
    }

    /// Takes a token at `now`, or says how long until one is there (taking nothing).
    pub fn try_take(&self, now: Instant) -> Result<(), Duration> {
        let mut full_at = self.full_at.lock().unwrap_or_else(PoisonError::into_inner);
        let from = full_at.map_or(now, |t| t.max(now));
        let ahead = from - now;
        if ahead > self.slack {
            return Err(ahead - self.slack);
        }
        *full_at = Some(from + self.interval);
        Ok(())
    }

    /// Waits for a token and takes it.
    pub async fn take(&self) {
        while let Err(wait) = self.try_take(Instant::now()) {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn no_rate_means_no_cap() {
        assert!(RateLimit::new(0.0, 10).is_none());
    }

    #[test]
    fn a_burst_goes_out_at_once_and_the_rest_at_the_rate() {
        let limit = RateLimit::new(10.0, 3).unwrap();
        let t = Instant::now();
        for _ in 0..3 {
            assert_eq!(limit.try_take(t), Ok(()));
        }
        assert_eq!(limit.try_take(t), Err(Duration::from_millis(100)));
        // Half a token later: still 50 ms to wait.
        let later = t + Duration::from_millis(50);
        assert_eq!(limit.try_take(later), Err(Duration::from_millis(50)));
        assert_eq!(limit.try_take(t + Duration::from_millis(100)), Ok(()));
        // A long quiet spell refills no more than the burst.
        let quiet = t + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(limit.try_take(quiet), Ok(()));
        }
        assert!(limit.try_take(quiet).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn take_waits_for_the_next_token() {
        let limit = RateLimit::new(4.0, 1).unwrap();
        let start = Instant::now();
        for _ in 0..5 {
            limit.take().await;
        }
        // One at once, then four at 250 ms each.
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }
}
