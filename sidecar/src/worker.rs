//! One shape for background work. The sweep, ladder jobs, the registration of renditions,
//! publishing the node's endpoint, committing as custodian and custodian rounds each do one
//! unit of work at a time and say what is left ([`Work`]). [`Workers`] runs them: it waits longer after each
//! failure in a row (the wait survives a restart, in `workers.json`), and keeps each one's
//! status for `GET /api/node` and `elohim-media status`.

use crate::clock::now_secs;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The wait after the first failure; it doubles after each one, up to [`MAX_WAIT`].
pub(crate) const FIRST_WAIT: Duration = Duration::from_secs(2);
/// The longest wait after failures.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(300);
/// Where the waits of failing workers are kept, in the data directory.
pub(crate) const FILE: &str = "workers.json";

/// What a unit of work left to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// More is ready: the next unit runs at once.
    Busy,
    /// Nothing to do for this long.
    Idle(Duration),
    /// Finished: the worker stops.
    Done,
}

/// Background work, one unit at a time.
#[async_trait]
pub trait Work: Send + 'static {
    /// Its name in statuses.
    fn name(&self) -> &'static str;

    /// Does one unit of work. A failure is tried again after [`Work::retry_after`].
    async fn step(&mut self) -> Result<Step, String>;

    /// The wait after `failures` failures in a row (by default [`backoff`]).
    fn retry_after(&self, failures: u32) -> Duration {
        backoff(failures, FIRST_WAIT)
    }

    /// The wait before the first unit, when the worker starts (by default none).
    fn first_wait(&self) -> Duration {
        Duration::ZERO
    }

    /// What ends an idle wait early, when more work arrives (by default nothing: the
    /// worker looks again when the wait is over).
    fn wake(&self) -> Option<Arc<tokio::sync::Notify>> {
        None
    }
}

/// The wait after `failures` failures (or fruitless tries) in a row: `first`, doubled after
/// each further one, at most [`MAX_WAIT`]; none before the first.
pub(crate) fn backoff(failures: u32, first: Duration) -> Duration {
    match failures {
        0 => Duration::ZERO,
        n => first.saturating_mul(1 << (n - 1).min(20)).min(MAX_WAIT),
    }
}

/// What a worker is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activity {
    /// Doing a unit of work.
    Busy,
    /// Waiting for more to do.
    Idle,
    /// Waiting to try again after a failure.
    Failing,
    /// Finished.
    Done,
}

/// A worker's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerStatus {
    /// Its name.
    pub name: String,
    /// What it is doing.
    pub activity: Activity,
    /// Units of work done since the node started.
    pub steps: u64,
    /// Failures in a row (kept across restarts).
    pub failures: u32,
    /// What the last failure said, until a unit succeeds.
    pub last_error: Option<String>,
    /// When it runs next, while it waits (seconds since the Unix epoch).
    pub next_at: Option<u64>,
}

/// A failing worker's wait, as kept on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Waiting {
    failures: u32,
    retry_at: u64,
    #[serde(default)]
    error: Option<String>,
}

/// The background workers of a sidecar.
pub struct Workers {
    file: PathBuf,
    statuses: Mutex<BTreeMap<&'static str, WorkerStatus>>,
    waiting: Mutex<BTreeMap<String, Waiting>>,
}

impl Workers {
    /// The workers of the sidecar whose data directory is `data_dir`, with the waits that
    /// failing workers left there (an unreadable file is ignored: they start afresh).
    pub fn open(data_dir: &Path) -> Self {
        let file = data_dir.join(FILE);
        let waiting = std::fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Workers {
            file,
            statuses: Default::default(),
            waiting: Mutex::new(waiting),
        }
    }

    /// Every worker's status, by name.
    pub fn statuses(&self) -> Vec<WorkerStatus> {
        lock(&self.statuses).values().cloned().collect()
    }

    /// Runs `work` in the background until it is done.
    pub fn spawn(self: &Arc<Self>, work: impl Work) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.clone().run(work))
    }

    /// Runs `work` until it is done.
    pub async fn run(self: Arc<Self>, mut work: impl Work) {
        let name = work.name();
        let wake = work.wake();
        let left = lock(&self.waiting).get(name).cloned();
        let mut failures = left.as_ref().map_or(0, |w| w.failures);
        self.set(name, |s| {
            s.failures = failures;
            s.last_error = left.as_ref().and_then(|w| w.error.clone());
        });
        let now = now_secs();
        match left.filter(|w| w.retry_at > now) {
            // A restart keeps the wait a failing worker was in (no longer than its policy
            // makes it, should the clock have moved back).
            Some(left) => {
                let wait =
                    Duration::from_secs(left.retry_at.saturating_sub(now)).min(work.retry_after(failures));
                self.wait(name, Activity::Failing, wait).await;
            }
            None => {
                let first = work.first_wait();
                if !first.is_zero() {
                    self.wait(name, Activity::Idle, first).await;
                }
            }
        }
        loop {
            self.set(name, |s| {
                s.activity = Activity::Busy;
                s.next_at = None;
            });
            match work.step().await {
                Ok(step) => {
                    if failures > 0 {
                        failures = 0;
                        self.keep_waiting(name, None);
                    }
                    self.set(name, |s| {
                        s.steps += 1;
                        s.failures = 0;
                        s.last_error = None;
                    });
                    match step {
                        Step::Busy => tokio::task::yield_now().await,
                        Step::Idle(wait) => {
                            let idle = self.wait(name, Activity::Idle, wait);
                            match &wake {
                                Some(more) => {
                                    tokio::select! {
                                        () = idle => {}
                                        () = more.notified() => {}
                                    }
                                }
                                None => idle.await,
                            }
                        }
                        Step::Done => {
                            self.set(name, |s| s.activity = Activity::Done);
                            return;
                        }
                    }
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    let wait = work.retry_after(failures);
                    tracing::warn!(worker = name, error = %e, retry_in = ?wait, failures, "background work failed");
                    self.keep_waiting(
                        name,
                        Some(Waiting {
                            failures,
                            retry_at: now_secs() + wait.as_secs(),
                            error: Some(e.clone()),
                        }),
                    );
                    self.set(name, |s| {
                        s.failures = failures;
                        s.last_error = Some(e);
                    });
                    self.wait(name, Activity::Failing, wait).await;
                }
            }
        }
    }

    async fn wait(&self, name: &'static str, activity: Activity, wait: Duration) {
        self.set(name, |s| {
            s.activity = activity;
            s.next_at = Some(now_secs() + wait.as_secs());
        });
        tokio::time::sleep(wait).await;
    }

    fn set(&self, name: &'static str, change: impl FnOnce(&mut WorkerStatus)) {
        let mut statuses = lock(&self.statuses);
        let status = statuses.entry(name).or_insert_with(|| WorkerStatus {
            name: name.into(),
            activity: Activity::Busy,
            steps: 0,
            failures: 0,
            last_error: None,
            next_at: None,
        });
        change(status);
    }

    /// Records (or with `None`, forgets) `name`'s wait, on disk too.
    fn keep_waiting(&self, name: &str, waiting: Option<Waiting>) {
        let mut all = lock(&self.waiting);
        match waiting {
            Some(w) => all.insert(name.to_string(), w),
            None => all.remove(name),
        };
        let written = serde_json::to_vec(&*all)
            .map_err(std::io::Error::other)
            .and_then(|bytes| media_store::atomic::write_atomic(&self.file, &bytes));
        if let Err(e) = written {
            tracing::warn!(error = %e, file = %self.file.display(), "the workers' waits were not kept");
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Fails `failing` times, then succeeds `then` times (idle a moment between), then is done.
    struct Flaky {
        failing: u32,
        then: u32,
        wait: Duration,
    }

    #[async_trait]
    impl Work for Flaky {
        fn name(&self) -> &'static str {
            "flaky"
        }

        async fn step(&mut self) -> Result<Step, String> {
            if self.failing > 0 {
                self.failing -= 1;
                return Err("the network does not answer".into());
            }
            match self.then {
                0 => Ok(Step::Done),
                _ => {
                    self.then -= 1;
                    Ok(Step::Idle(Duration::from_millis(1)))
                }
            }
        }

        fn retry_after(&self, _failures: u32) -> Duration {
            self.wait
        }
    }

    async fn status_until(workers: &Workers, done: impl Fn(&WorkerStatus) -> bool) -> WorkerStatus {
        for _ in 0..500 {
            if let Some(s) = workers
                .statuses()
                .into_iter()
                .find(|s| s.name == "flaky" && done(s))
            {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no such status: {:?}", workers.statuses());
    }

    #[tokio::test]
    async fn a_failing_worker_says_why_and_keeps_its_wait_across_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let workers = Arc::new(Workers::open(dir.path()));
        let running = workers.spawn(Flaky {
            failing: 2,
            then: 0,
            wait: Duration::from_secs(3600),
        });
        let failing = status_until(&workers, |s| s.activity == Activity::Failing).await;
        assert_eq!(failing.failures, 1);
        assert_eq!(failing.last_error.as_deref(), Some("the network does not answer"));
        assert!(failing.next_at.unwrap() >= now_secs() + 3590, "{failing:?}");
        running.abort();
        // The node stops and starts again: the worker still waits, and counts on.
        let again = Arc::new(Workers::open(dir.path()));
        let running = again.spawn(Flaky {
            failing: 2,
            then: 0,
            wait: Duration::from_secs(3600),
        });
        let waiting = status_until(&again, |s| s.activity == Activity::Failing).await;
        assert_eq!(
            (waiting.failures, waiting.steps),
            (1, 0),
            "it did not run before its wait ended"
        );
        assert_eq!(waiting.last_error.as_deref(), Some("the network does not answer"));
        assert!(waiting.next_at.unwrap() >= now_secs() + 3590, "{waiting:?}");
        running.abort();
    }

    #[tokio::test]
    async fn a_worker_that_recovers_forgets_its_failures() {
        let dir = tempfile::tempdir().unwrap();
        let workers = Arc::new(Workers::open(dir.path()));
        workers.spawn(Flaky {
            failing: 2,
            then: 3,
            wait: Duration::from_millis(5),
        });
        let done = status_until(&workers, |s| s.activity == Activity::Done).await;
        assert_eq!((done.steps, done.failures, done.last_error), (4, 0, None));
        let kept: BTreeMap<String, Waiting> =
            serde_json::from_slice(&std::fs::read(dir.path().join(FILE)).unwrap()).unwrap();
        assert!(kept.is_empty(), "no wait is left on disk: {kept:?}");
    }

    proptest! {
        /// The wait never shrinks as failures mount, starts at `first` and never passes the cap.
        #[test]
        fn the_wait_grows_to_its_cap(failures in 1u32..200, first_ms in 1u64..10_000) {
            let first = Duration::from_millis(first_ms);
            let wait = backoff(failures, first);
            prop_assert!(wait <= MAX_WAIT.max(first));
            prop_assert!(backoff(failures + 1, first) >= wait);
            prop_assert_eq!(backoff(1, first), first.min(MAX_WAIT));
            prop_assert_eq!(backoff(0, first), Duration::ZERO);
        }
    }

    /// Takes items from a queue; idle for an hour when it is empty, unless woken.
    struct Queue {
        items: Arc<Mutex<Vec<u32>>>,
        taken: Arc<Mutex<Vec<u32>>>,
        more: Arc<tokio::sync::Notify>,
    }

    #[async_trait]
    impl Work for Queue {
        fn name(&self) -> &'static str {
            "flaky"
        }

        async fn step(&mut self) -> Result<Step, String> {
            let next = lock(&self.items).pop();
            match next {
                Some(item) => {
                    lock(&self.taken).push(item);
                    Ok(Step::Busy)
                }
                None => Ok(Step::Idle(Duration::from_secs(3600))),
            }
        }

        fn wake(&self) -> Option<Arc<tokio::sync::Notify>> {
            Some(self.more.clone())
        }
    }

    #[tokio::test]
    async fn an_idle_worker_takes_new_work_at_once_when_woken() {
        let dir = tempfile::tempdir().unwrap();
        let workers = Arc::new(Workers::open(dir.path()));
        let queue = Queue {
            items: Default::default(),
            taken: Default::default(),
            more: Default::default(),
        };
        let (items, taken, more) = (queue.items.clone(), queue.taken.clone(), queue.more.clone());
        let running = workers.spawn(queue);
        let idle = status_until(&workers, |s| s.activity == Activity::Idle).await;
        assert!(idle.next_at.unwrap() >= now_secs() + 3590, "{idle:?}");
        lock(&items).push(7);
        more.notify_one();
        status_until(&workers, |s| s.activity == Activity::Idle && s.steps >= 3).await;
        assert_eq!(*lock(&taken), [7], "taken well before the hour was up");
        running.abort();
    }
}
