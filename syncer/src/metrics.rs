//! Prometheus metrics: evaluations, status writes, skipped writes, errors and evaluation
//! duration, encoded for `/metrics` by `prometheus-client`.
//!
//! Labels stay low-cardinality: a kind, a resource or an outcome, never an object name (like
//! controller-rs's `Error::metric_label`).

use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, &'static str)>;

/// The syncer's metrics; clones share the same series.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    reconciles: Family<Labels, Counter>,
    writes: Family<Labels, Counter>,
    skipped: Family<Labels, Counter>,
    errors: Family<Labels, Counter>,
    duration: Histogram,
    tracked: Gauge,
    resyncs: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh registry with every series registered under `layer_syncer_`.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("layer_syncer");
        let reconciles = Family::<Labels, Counter>::default();
        let writes = Family::<Labels, Counter>::default();
        let skipped = Family::<Labels, Counter>::default();
        let errors = Family::<Labels, Counter>::default();
        let duration = Histogram::new(exponential_buckets(0.000_05, 4.0, 10));
        let tracked = Gauge::default();
        let resyncs = Counter::default();
        registry.register(
            "reconciles",
            "Status evaluations, by kind",
            reconciles.clone(),
        );
        registry.register(
            "status_writes",
            "Status server-side applies, by kind and result (ok, error)",
            writes.clone(),
        );
        registry.register(
            "status_writes_skipped",
            "Evaluations whose status was unchanged, so nothing was written, by kind",
            skipped.clone(),
        );
        registry.register(
            "errors",
            "API errors, by source (a watched resource, or status_write) and class",
            errors.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Time to evaluate one CR's status",
            duration.clone(),
        );
        registry.register(
            "tracked_objects",
            "CRs the status index keeps state for (stall clocks, writes in flight)",
            tracked.clone(),
        );
        registry.register(
            "resyncs",
            "Evaluations of every CR (the periodic resync, a relist, a leadership change)",
            resyncs.clone(),
        );
        Metrics {
            registry: Arc::new(registry),
            reconciles,
            writes,
            skipped,
            errors,
            duration,
            tracked,
            resyncs,
        }
    }

    /// One evaluation of a CR of `kind` that took `seconds`.
    pub fn reconciled(&self, kind: &'static str, seconds: f64) {
        self.reconciles.get_or_create(&vec![("kind", kind)]).inc();
        self.duration.observe(seconds);
    }

    /// One status write.
    pub fn written(&self, kind: &'static str, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.writes
            .get_or_create(&vec![("kind", kind), ("result", result)])
            .inc();
    }

    /// One evaluation that needed no write.
    pub fn skipped(&self, kind: &'static str) {
        self.skipped.get_or_create(&vec![("kind", kind)]).inc();
    }

    /// One failed watch of `resource`.
    pub fn watch_error(&self, resource: &'static str) {
        self.errors
            .get_or_create(&vec![("source", resource), ("class", "watch")])
            .inc();
    }

    /// One failed status write, with a class such as `conflict` or `server`.
    pub fn write_error(&self, class: &'static str) {
        self.errors
            .get_or_create(&vec![("source", "status_write"), ("class", class)])
            .inc();
    }

    /// The number of CRs the status index keeps state for.
    pub fn tracked(&self, n: usize) {
        self.tracked.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// One evaluation of every CR.
    pub fn resynced(&self) {
        self.resyncs.inc();
    }

    /// The OpenMetrics text of every series.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn counters_show_up_with_their_labels() {
        let m = Metrics::new();
        m.reconciled("Pipeline", 0.001);
        m.written("Pipeline", true);
        m.skipped("Index");
        m.write_error("conflict");
        m.tracked(3);
        m.resynced();
        let text = m.encode();
        assert!(
            text.contains("layer_syncer_reconciles_total{kind=\"Pipeline\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("layer_syncer_status_writes_total{kind=\"Pipeline\",result=\"ok\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("layer_syncer_status_writes_skipped_total{kind=\"Index\"} 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "layer_syncer_errors_total{source=\"status_write\",class=\"conflict\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("layer_syncer_reconcile_duration_seconds_count 1"),
            "{text}"
        );
        assert!(text.contains("layer_syncer_tracked_objects 3"), "{text}");
        assert!(text.contains("layer_syncer_resyncs_total 1"), "{text}");
    }
}
