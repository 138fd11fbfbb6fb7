//! Handing invited content to its invitees. Invited content stays off the DHT: the
//! conductor copies each version to each invitee by a remote call (`deliver_shares`).
//! One worker asks it to, when this node publishes invited content, and again while an
//! invitee's node has not answered.

use crate::dht::Dht;
use crate::worker::{Step, Work, Workers};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::Notify;

/// How long the worker waits before trying copies an invitee did not take.
pub const RETRY: Duration = Duration::from_secs(30);
/// How long it waits when everything is handed over (a publish wakes it sooner).
pub const IDLE: Duration = Duration::from_secs(600);

/// The worker's handle: started on the first nudge, woken by each.
#[derive(Default)]
pub struct Shares {
    started: OnceLock<()>,
    wake: Arc<Notify>,
}

impl Shares {
    /// Makes the worker hand over what is pending now (starting it the first time).
    pub fn nudge(&self, workers: &Arc<Workers>, dht: Option<Arc<dyn Dht>>) {
        let Some(dht) = dht else { return };
        self.started.get_or_init(|| {
            workers.spawn(Delivery {
                dht,
                wake: self.wake.clone(),
            });
        });
        self.wake.notify_one();
    }
}

struct Delivery {
    dht: Arc<dyn Dht>,
    wake: Arc<Notify>,
}

#[async_trait::async_trait]
impl Work for Delivery {
    fn name(&self) -> &'static str {
        "shares"
    }

    async fn step(&mut self) -> Result<Step, String> {
        let report = self
            .dht
            .deliver_shares()
            .await
            .map_err(|e| format!("handing invited content to its invitees: {e}"))?;
        Ok(Step::Idle(if report.pending > 0 { RETRY } else { IDLE }))
    }

    fn wake(&self) -> Option<Arc<Notify>> {
        Some(self.wake.clone())
    }
}
