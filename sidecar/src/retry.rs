//! Steps that need the network, retried until they succeed: a node whose peers do not
//! answer yet, or went away while it was down, keeps running and says in its log what it
//! is waiting for.

use std::future::Future;
use std::time::Duration;

/// The wait after the first failure; it doubles after each one, up to [`MAX_WAIT`].
pub const FIRST_WAIT: Duration = Duration::from_secs(2);
/// The longest wait between two attempts.
pub const MAX_WAIT: Duration = Duration::from_secs(300);

/// Runs `attempt` until it succeeds, waiting longer after each failure; its value.
pub async fn until_ok<T, E, F, Fut>(what: &str, mut attempt: F) -> T
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut wait = FIRST_WAIT;
    loop {
        match attempt().await {
            Ok(value) => return value,
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?wait, "{what} failed; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(MAX_WAIT);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn a_failing_step_is_retried_with_growing_waits_until_it_succeeds() {
        let tries = AtomicU32::new(0);
        let started = tokio::time::Instant::now();
        let value = until_ok("a step", || async {
            match tries.fetch_add(1, Ordering::SeqCst) {
                0..=3 => Err("the network does not answer"),
                n => Ok(n),
            }
        })
        .await;
        assert_eq!(value, 4, "the fifth attempt succeeds");
        // 2 + 4 + 8 + 16 s of waiting between the five attempts.
        assert_eq!(started.elapsed(), Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn the_wait_between_attempts_stops_growing_at_the_cap() {
        let tries = AtomicU32::new(0);
        let started = tokio::time::Instant::now();
        until_ok("a step", || async {
            match tries.fetch_add(1, Ordering::SeqCst) {
                0..=9 => Err("down"),
                _ => Ok(()),
            }
        })
        .await;
        // Ten waits: 2, 4 … 256 s (510 s in all), then the 300 s cap twice.
        assert_eq!(started.elapsed(), Duration::from_secs(510 + 300 + 300));
    }
}
