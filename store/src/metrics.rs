//! The node's Prometheus counters: requests by route and status, bytes in and out, chunk
//! checks, cache tiers, live calls. The store counts its own; the HTTP layer and the SFU
//! theirs.

use prometheus::{Encoder, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};

/// The sidecar's counters, registered in their own registry.
pub struct Metrics {
    registry: Registry,
    /// Requests by route template and status code.
    pub requests: IntCounterVec,
    /// Body bytes received.
    pub bytes_in: IntCounter,
    /// Body bytes sent.
    pub bytes_out: IntCounter,
    /// Chunks read back and found to match their hash.
    pub chunks_verified: IntCounter,
    /// Chunks that did not match their hash (stored or offered).
    pub verification_failures: IntCounter,
    /// Blobs completed by uploads.
    pub uploads_completed: IntCounter,
    /// Cache lookups that found their entry, by tier and partition.
    pub cache_hits: IntCounterVec,
    /// Cache lookups that did not, by tier and partition.
    pub cache_misses: IntCounterVec,
    /// Entries dropped for room or age, by tier and partition.
    pub cache_evictions: IntCounterVec,
    /// Bytes held, by tier and partition.
    pub cache_bytes: IntGaugeVec,
    /// Byte budget, by tier and partition.
    pub cache_budget_bytes: IntGaugeVec,
    /// Live-call joins refused because the relay's streams or bandwidth were all taken.
    pub rtc_refused: IntCounter,
    /// Tracks the SFU forwards to viewers now.
    pub rtc_streams: IntGauge,
    /// The most it forwards at once.
    pub rtc_max_streams: IntGauge,
    /// Kbit/s the SFU sent to viewers over the last second.
    pub rtc_sent_kbps: IntGauge,
    /// The most Mbit/s it sends to viewers (0: uncapped).
    pub rtc_max_mbps: IntGauge,
}

impl Metrics {
    /// A fresh set of counters.
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("elohim_http_requests_total", "HTTP requests by route and status"),
            &["route", "status"],
        )
        .expect("metric definition is valid");
        let by_tier = |name: &str, help: &str| {
            register(
                &registry,
                IntCounterVec::new(Opts::new(name, help), &["tier", "partition"]),
            )
        };
        let gauge_by_tier = |name: &str, help: &str| {
            register(
                &registry,
                IntGaugeVec::new(Opts::new(name, help), &["tier", "partition"]),
            )
        };
        let counter = |name: &str, help: &str| register(&registry, IntCounter::new(name, help));
        let metrics = Metrics {
            bytes_in: counter("elohim_bytes_in_total", "Body bytes received"),
            bytes_out: counter("elohim_bytes_out_total", "Body bytes sent"),
            chunks_verified: counter(
                "elohim_chunks_verified_total",
                "Chunks read back whose SHA-256 matched",
            ),
            verification_failures: counter(
                "elohim_chunk_verification_failures_total",
                "Chunks whose SHA-256 did not match (stored or offered)",
            ),
            uploads_completed: counter("elohim_uploads_completed_total", "Blobs completed by uploads"),
            cache_hits: by_tier("elohim_cache_hits_total", "Cache lookups that hit"),
            cache_misses: by_tier("elohim_cache_misses_total", "Cache lookups that missed"),
            cache_evictions: by_tier(
                "elohim_cache_evictions_total",
                "Cache entries dropped for room or age",
            ),
            cache_bytes: gauge_by_tier("elohim_cache_bytes", "Bytes held in cache"),
            cache_budget_bytes: gauge_by_tier("elohim_cache_budget_bytes", "Cache byte budget"),
            rtc_refused: counter(
                "elohim_rtc_refused_total",
                "Live-call joins refused with 503 because the relay's streams or bandwidth were all taken",
            ),
            rtc_streams: register(
                &registry,
                IntGauge::new("elohim_rtc_streams", "Tracks the SFU forwards to viewers now"),
            ),
            rtc_max_streams: register(
                &registry,
                IntGauge::new("elohim_rtc_max_streams", "Tracks the SFU forwards at most"),
            ),
            rtc_sent_kbps: register(
                &registry,
                IntGauge::new(
                    "elohim_rtc_sent_kbps",
                    "Kbit/s the SFU sent to viewers over the last second",
                ),
            ),
            rtc_max_mbps: register(
                &registry,
                IntGauge::new(
                    "elohim_rtc_max_mbps",
                    "Mbit/s the SFU sends to viewers at most (0: uncapped)",
                ),
            ),
            requests,
            registry,
        };
        metrics
            .registry
            .register(Box::new(metrics.requests.clone()))
            .expect("metric names are unique");
        metrics
    }

    /// Counts one finished request.
    pub fn observe(&self, route: &str, status: u16) {
        self.requests
            .with_label_values(&[route, &status.to_string()])
            .inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Registers a freshly defined metric and hands it back.
fn register<M>(registry: &Registry, metric: prometheus::Result<M>) -> M
where
    M: prometheus::core::Collector + Clone + 'static,
{
    let metric = metric.expect("metric definition is valid");
    registry
        .register(Box::new(metric.clone()))
        .expect("metric names are unique");
    metric
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
