//! Prometheus metrics: evaluations, status writes, skipped writes, errors and evaluation
//! duration; the write path (queue depth, writes in flight, write latency, retries by answer
//! code, superseded updates); Events. Encoded for `/metrics` by `prometheus-client`.
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
type CodeLabels = Vec<(&'static str, String)>;

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
    queue_depth: Gauge,
    in_flight: Gauge,
    write_duration: Histogram,
    retries: Family<CodeLabels, Counter>,
    superseded: Counter,
    events: Family<Labels, Counter>,
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
        let queue_depth = Gauge::default();
        let in_flight = Gauge::default();
        // 1 ms to about 16 s.
        let write_duration = Histogram::new(exponential_buckets(0.001, 2.0, 15));
        let retries = Family::<CodeLabels, Counter>::default();
        let superseded = Counter::default();
        let events = Family::<Labels, Counter>::default();
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
        registry.register(
            "write_queue_depth",
            "CRs with a status update waiting to be written (the newest one per CR)",
            queue_depth.clone(),
        );
        registry.register(
            "writes_in_flight",
            "Status writes (each with the Event that may follow it) in flight",
            in_flight.clone(),
        );
        registry.register(
            "status_write_duration_seconds",
            "Time from sending a status apply to its answer, whatever the answer",
            write_duration.clone(),
        );
        registry.register(
            "status_write_retries",
            "Status writes retried, by the answer that failed them (an HTTP code, timeout or transport)",
            retries.clone(),
        );
        registry.register(
            "status_writes_superseded",
            "Status updates replaced by a newer one for the same CR before they were sent",
            superseded.clone(),
        );
        registry.register(
            "events",
            "Kubernetes Events, by type and result (ok, error, suppressed by the per-CR budget)",
            events.clone(),
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
            queue_depth,
            in_flight,
            write_duration,
            retries,
            superseded,
            events,
        }
    }

    /// The number of CRs with a status update waiting.
    pub fn queue_depth(&self, n: usize) {
        self.queue_depth.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// A write slot was taken (`true`) or given back (`false`).
    pub fn in_flight(&self, taken: bool) {
        if taken {
            self.in_flight.inc();
        } else {
            self.in_flight.dec();
        }
    }

    /// One status apply answered after `seconds`.
    pub fn write_duration(&self, seconds: f64) {
        self.write_duration.observe(seconds);
    }

    /// One status write to be retried after the answer `code`.
    pub fn retry(&self, code: String) {
        self.retries.get_or_create(&vec![("code", code)]).inc();
    }

    /// One queued update replaced by a newer one for the same CR.
    pub fn superseded(&self) {
        self.superseded.inc();
    }

    /// One Event of `type_` (Normal, Warning) with `result` (ok, error, suppressed).
    pub fn event(&self, type_: &'static str, result: &'static str) {
        self.events
            .get_or_create(&vec![("type", type_), ("result", result)])
            .inc();
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
        m.queue_depth(7);
        m.in_flight(true);
        m.in_flight(true);
        m.in_flight(false);
        m.write_duration(0.012);
        m.retry("429".into());
        m.superseded();
        m.event("Warning", "ok");
        let text = m.encode();
        for series in [
            "layer_syncer_write_queue_depth 7",
            "layer_syncer_writes_in_flight 1",
            "layer_syncer_status_write_duration_seconds_count 1",
            "layer_syncer_status_write_duration_seconds_bucket{le=\"0.016\"} 1",
            "layer_syncer_status_write_duration_seconds_bucket{le=\"0.008\"} 0",
            "layer_syncer_status_write_retries_total{code=\"429\"} 1",
            "layer_syncer_status_writes_superseded_total 1",
            "layer_syncer_events_total{type=\"Warning\",result=\"ok\"} 1",
        ] {
            assert!(text.lines().any(|l| l == series), "{series}\n{text}");
        }
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
