//! Handing invited content to its invitees. Invited content stays off the DHT: the
//! conductor copies each version to each invitee by a remote call (`deliver_shares`).
//! One worker asks it to, when this node publishes invited content, and again while an
//! invitee's node has not answered: soon at first, then less often ([`wait_after`]).

use crate::dht::Dht;
use crate::worker::{Step, Work, Workers};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::Notify;

/// How long the worker first waits before trying copies an invitee did not take; the wait
/// doubles while copies stay pending, up to five minutes, and starts over at each publish of
/// content kept off the DHT.
pub const RETRY: Duration = Duration::from_secs(5);
/// How long it waits when everything is handed over (a publish wakes it sooner).
pub const IDLE: Duration = Duration::from_secs(600);

/// The worker's handle: started on the first nudge, woken by each.
#[derive(Default)]
pub struct Shares {
    started: OnceLock<()>,
    wake: Arc<Notify>,
    nudged: Arc<AtomicBool>,
}

impl Shares {
    /// Makes the worker hand over what is pending now (starting it the first time).
    pub fn nudge(&self, workers: &Arc<Workers>, dht: Option<Arc<dyn Dht>>) {
        let Some(dht) = dht else { return };
        self.started.get_or_init(|| {
            workers.spawn(Delivery {
                dht,
                wake: self.wake.clone(),
                nudged: self.nudged.clone(),
                misses: 0,
            });
        });
        self.nudged.store(true, Ordering::Relaxed);
        self.wake.notify_one();
    }
}

struct Delivery {
    dht: Arc<dyn Dht>,
    wake: Arc<Notify>,
    /// Set by each publish: the next try starts the waits over.
    nudged: Arc<AtomicBool>,
    /// Tries in a row, since the last publish, that left copies pending.
    misses: u32,
}

/// The wait after a try that left `pending` copies, the `misses`-th such try in a row:
/// [`RETRY`], doubled each time, at most [`crate::worker::MAX_WAIT`]; [`IDLE`] when none is.
pub fn wait_after(pending: u32, misses: u32) -> Duration {
    match pending {
        0 => IDLE,
        _ => crate::worker::backoff(misses.max(1), RETRY),
    }
}

#[async_trait::async_trait]
impl Work for Delivery {
    fn name(&self) -> &'static str {
        "shares"
    }

    async fn step(&mut self) -> Result<Step, String> {
        if self.nudged.swap(false, Ordering::Relaxed) {
            self.misses = 0;
        }
        let report = self
            .dht
            .deliver_shares()
            .await
            .map_err(|e| format!("handing invited content to its invitees: {e}"))?;
        self.misses = match report.pending {
            0 => 0,
            _ => self.misses.saturating_add(1),
        };
        Ok(Step::Idle(wait_after(report.pending, self.misses)))
    }

    fn wake(&self) -> Option<Arc<Notify>> {
        Some(self.wake.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_copies_are_tried_again_soon_then_less_often() {
        let waits: Vec<u64> = (1..=8).map(|n| wait_after(2, n).as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(wait_after(0, 0), IDLE, "nothing pending: idle until a publish");
    }

    #[tokio::test]
    async fn a_publish_starts_the_waits_over() {
        let dht = Arc::new(crate::dht::fake::FakeDht::new(crate::dht::fake::FakeAgent::new(
            1,
        )));
        dht.set_shares_pending(1);
        let shares = Shares::default();
        let mut delivery = Delivery {
            dht: dht.clone(),
            wake: shares.wake.clone(),
            nudged: shares.nudged.clone(),
            misses: 0,
        };
        let mut waits = Vec::new();
        for nudge in [false, false, false, true, false] {
            if nudge {
                shares.nudged.store(true, Ordering::Relaxed);
            }
            waits.push(match delivery.step().await.unwrap() {
                Step::Idle(wait) => wait.as_secs(),
                other => panic!("{other:?}"),
            });
        }
        assert_eq!(waits, [5, 10, 20, 5, 10]);
        dht.set_shares_pending(0);
        assert_eq!(delivery.step().await.unwrap(), Step::Idle(IDLE));
    }
}
