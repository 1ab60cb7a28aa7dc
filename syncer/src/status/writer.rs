//! The writer: applies [`Update`]s to the status subresource, up to `--max-concurrent-writes`
//! at a time and never two at once for one CR. The newest update per CR wins: one that a newer
//! update replaced before it was sent is never sent. Only the Lease holder writes.
//!
//! Retryable answers (409, 429, 5xx, transport errors and `--api-timeout`) are retried per CR
//! with exponential backoff, always with the newest status. A 429's `Retry-After` (the header,
//! else the Status's `retryAfterSeconds`) delays that CR's retry at least that long and holds
//! every new write until it has passed. `--write-qps` caps the rate of writes (status applies
//! and Events) when set.
//!
//! A write that timed out may still have been applied: when the watch then shows the live
//! status equal to the newest one, the controller sends [`Command::Cancel`] and the retry is
//! dropped. A 404 means the CR was deleted; it is reported as [`Feedback::Gone`] and not
//! retried.
//!
//! After a write that changed `Ready` or made the CR `Stalled`, the CR's Event
//! ([`super::events`]) is published in the same slot, so a CR's Events follow its writes in
//! order and count against the same concurrency.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use kube::api::{ApiResource, DynamicObject, Patch, PatchParams};
use kube::client::Body;
use kube::core::{Request, Status};
use kube::runtime::events::Recorder;
use kube::{Api, Client};
use layer_render::api::{Function, HevKind, Index, InfraRules, Pipeline, VectorStore};
use layer_render::key::ObjectKey;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::sync::watch;
use tokio::task::{Id, JoinSet};
use tokio::time::Instant;

use super::events::{Budget, BudgetOptions, Notice, Recorders, notice};
use super::rate_limit::RateLimit;
use super::{Command, FIELD_MANAGER, Feedback, Update};
use crate::client::is_timeout;
use crate::metrics::Metrics;
use crate::readiness::conditions::human_duration;

/// How many times an Event is tried before it is given up (Events are best effort).
pub const EVENT_ATTEMPTS: u32 = 3;

/// Backoff bounds for failed writes.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    /// First delay.
    pub initial: Duration,
    /// Largest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(60),
        }
    }
}

impl Backoff {
    /// The delay after the `failures`-th failure in a row (1 for the first).
    pub fn after(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(20);
        self.initial
            .saturating_mul(1 << doublings)
            .min(self.max.max(self.initial))
    }
}

/// How the writer writes.
#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// Writes in flight at once (`--max-concurrent-writes`).
    pub max_in_flight: usize,
    /// Retry backoff.
    pub backoff: Backoff,
    /// The client-side cap (`--write-qps`, `--write-burst`), if any.
    pub rate: Option<Arc<RateLimit>>,
    /// Each CR's Event allowance.
    pub budget: BudgetOptions,
}

/// The writer's channels, client and metrics.
pub struct WriterIo {
    /// The API client.
    pub client: Client,
    /// From the controller.
    pub updates: UnboundedReceiver<Command>,
    /// To the controller.
    pub feedback: UnboundedSender<Feedback>,
    /// Whether this replica holds the Lease.
    pub leader: watch::Receiver<bool>,
    /// Where Events go.
    pub events: Recorders,
    /// How many updates wait to be sent, for the controller to pace full evaluations by.
    pub waiting: watch::Sender<usize>,
    /// Metrics.
    pub metrics: Metrics,
}

/// How a failed write is handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Try again after a backoff.
    Retry(&'static str),
    /// The CR is gone.
    Gone,
    /// Retrying cannot help (400, 403, 422...).
    Permanent(&'static str),
}

/// Classifies a write error; the label doubles as the metric class.
pub fn classify(err: &kube::Error) -> Failure {
    match err {
        kube::Error::Api(status) => match status.code {
            404 => Failure::Gone,
            409 => Failure::Retry("conflict"),
            429 => Failure::Retry("throttled"),
            401 => Failure::Retry("unauthorized"),
            500..=599 => Failure::Retry("server"),
            403 => Failure::Permanent("forbidden"),
            _ => Failure::Permanent("invalid"),
        },
        _ if is_timeout(err) => Failure::Retry("timeout"),
        _ => Failure::Retry("transport"),
    }
}

/// The answer that failed a write, as the retry metric labels it: the HTTP code, `timeout` or
/// `transport`.
pub fn answer_label(err: &kube::Error) -> String {
    match err {
        kube::Error::Api(status) => status.code.to_string(),
        _ if is_timeout(err) => "timeout".into(),
        _ => "transport".into(),
    }
}

/// A failed write, with the wait the server asked for.
#[derive(Debug)]
pub struct WriteError {
    /// What failed.
    pub error: kube::Error,
    /// `Retry-After`, or the Status's `retryAfterSeconds`.
    pub retry_after: Option<Duration>,
}

impl From<kube::Error> for WriteError {
    fn from(error: kube::Error) -> Self {
        WriteError {
            error,
            retry_after: None,
        }
    }
}

fn api_resource(kind: HevKind) -> ApiResource {
    match kind {
        HevKind::VectorStore => ApiResource::erase::<VectorStore>(&()),
        HevKind::Index => ApiResource::erase::<Index>(&()),
        HevKind::InfraRules => ApiResource::erase::<InfraRules>(&()),
        HevKind::Pipeline => ApiResource::erase::<Pipeline>(&()),
        HevKind::Function => ApiResource::erase::<Function>(&()),
    }
}

/// `Retry-After` in seconds (the API server never sends an HTTP date).
fn retry_after_header(headers: &http::HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs))
}

/// Applies one update. Sent through [`Client::send`] rather than [`Api::patch_status`] so that
/// a 429's `Retry-After` header is not lost.
pub async fn apply(client: &Client, update: &Update) -> Result<(), WriteError> {
    let Some(kind) = HevKind::from_type_meta(&update.key.api_version(), &update.key.kind) else {
        return Ok(());
    };
    let ar = api_resource(kind);
    let api: Api<DynamicObject> = match &update.key.namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    };
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let request = Request::new(api.resource_url())
        .patch_subresource(
            "status",
            &update.key.name,
            &params,
            &Patch::Apply(&update.body),
        )
        .map_err(kube::Error::BuildRequest)?;
    let response = client.send(request.map(Body::from)).await?;
    let code = response.status();
    let header_wait = retry_after_header(response.headers());
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| kube::Error::Service(Box::new(e)))?
        .to_bytes();
    if code.is_success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&bytes);
    let status = serde_json::from_str::<Status>(&text).unwrap_or_else(|_| {
        Status::failure(text.trim(), "Failed to parse error data").with_code(code.as_u16())
    });
    let status_wait = status
        .details
        .as_ref()
        .map(|d| d.retry_after_seconds)
        .filter(|s| *s > 0)
        .map(|s| Duration::from_secs(u64::from(s)));
    Err(WriteError {
        error: kube::Error::Api(status.boxed()),
        retry_after: header_wait.or(status_wait),
    })
}

/// One update waiting to be sent.
#[derive(Debug)]
struct Entry {
    update: Update,
    /// Failed attempts so far (of this update or the ones it replaced).
    failures: u32,
    /// Not before this (a retry's backoff).
    due: Option<Instant>,
}

/// Updates waiting to be sent, the newest per CR, and the CRs with a write in flight.
///
/// A waiting CR is in `ready` (to be sent in turn), in `timers` (waiting for its backoff) or
/// busy (parked until its write in flight is done). `ready` and `timers` may hold stale keys;
/// [`Queue::pop`] skips them.
#[derive(Default)]
struct Queue {
    ready: VecDeque<ObjectKey>,
    entries: HashMap<ObjectKey, Entry>,
    busy: HashSet<ObjectKey>,
    timers: BTreeSet<(Instant, u64, ObjectKey)>,
    seq: u64,
}

impl Queue {
    /// Queues `update`; `true` when it replaced an unsent one.
    fn push(&mut self, update: Update) -> bool {
        match self.entries.get_mut(&update.key) {
            Some(old) => {
                // The older one was never sent: the server still holds what it started from.
                let before = std::mem::take(&mut old.update.before);
                old.update = Update { before, ..update };
                true
            }
            None => {
                let key = update.key.clone();
                self.entries.insert(
                    key.clone(),
                    Entry {
                        update,
                        failures: 0,
                        due: None,
                    },
                );
                if !self.busy.contains(&key) {
                    self.ready.push_back(key);
                }
                false
            }
        }
    }

    /// Drops whatever is waiting for `key`.
    fn cancel(&mut self, key: &ObjectKey) -> Option<Entry> {
        self.entries.remove(key)
    }

    /// The next update that may be sent at `now`.
    fn pop(&mut self, now: Instant) -> Option<Entry> {
        while let Some(key) = self.ready.pop_front() {
            if self.busy.contains(&key) {
                continue;
            }
            match self.entries.get(&key) {
                Some(e) if e.due.is_some_and(|d| d > now) => continue,
                Some(_) => return self.entries.remove(&key),
                None => continue,
            }
        }
        None
    }

    /// Puts back an entry just popped (it could not be sent yet).
    fn unpop(&mut self, entry: Entry) {
        let key = entry.update.key.clone();
        self.entries.insert(key.clone(), entry);
        self.ready.push_front(key);
    }

    /// A write of `failed` failed and is to be retried at `due`, unless a newer update
    /// arrived meanwhile: then that one is, from the same starting point.
    fn retry(&mut self, failed: Entry, due: Instant) {
        let key = failed.update.key.clone();
        let failures = failed.failures + 1;
        match self.entries.get_mut(&key) {
            Some(newer) => {
                newer.update.before = failed.update.before;
                newer.failures = failures;
                newer.due = Some(due);
            }
            None => {
                self.entries.insert(
                    key.clone(),
                    Entry {
                        failures,
                        due: Some(due),
                        ..failed
                    },
                );
            }
        }
        self.seq += 1;
        self.timers.insert((due, self.seq, key));
    }

    /// A write of `failed` was given up: a newer update starts from where it started.
    fn given_up(&mut self, failed: Entry) {
        if let Some(newer) = self.entries.get_mut(&failed.update.key) {
            newer.update.before = failed.update.before;
        }
    }

    /// The write in flight for `key` is done: a newer update may go.
    fn release(&mut self, key: &ObjectKey) {
        self.busy.remove(key);
        if self
            .entries
            .get(key)
            .is_some_and(|e| e.due.is_none_or(|d| d <= Instant::now()))
        {
            self.ready.push_front(key.clone());
        }
    }

    /// Moves the retries due at `now` to the front; the time of the next one.
    fn wake_due(&mut self, now: Instant) -> Option<Instant> {
        while let Some(first) = self.timers.first() {
            if first.0 > now {
                return Some(first.0);
            }
            if let Some((_, _, key)) = self.timers.pop_first() {
                self.ready.push_front(key);
            }
        }
        None
    }

    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What a task in flight finished.
enum Done {
    /// A status write, with its answer.
    Write(Box<Entry>, Result<(), WriteError>),
    /// The Event after a write.
    Event,
}

/// The state of the writer loop.
struct Writer {
    client: Client,
    feedback: UnboundedSender<Feedback>,
    events: Recorders,
    metrics: Metrics,
    opts: WriterOptions,
    queue: Queue,
    budget: Budget,
    tasks: JoinSet<Done>,
    /// The CR each task works for.
    task_keys: HashMap<Id, ObjectKey>,
    /// No new write before this (a 429's `Retry-After`).
    hold_until: Option<Instant>,
    /// CRs whose write in flight the watch has shown applied ([`Command::Cancel`] while
    /// busy): if that write then fails (a timeout), it is not retried.
    settled: HashSet<ObjectKey>,
}

/// Runs until `updates` closes and everything queued is written or given up (or until the
/// Lease is lost, when queued updates are dropped).
pub async fn run_writer(io: WriterIo, opts: WriterOptions) {
    let WriterIo {
        client,
        mut updates,
        feedback,
        leader,
        events,
        waiting,
        metrics,
    } = io;
    let mut w = Writer {
        client,
        feedback,
        events,
        metrics,
        budget: Budget::new(opts.budget),
        opts,
        queue: Queue::default(),
        tasks: JoinSet::new(),
        task_keys: HashMap::new(),
        hold_until: None,
        settled: HashSet::new(),
    };
    let mut open = true;
    loop {
        while let Ok(c) = updates.try_recv() {
            w.take(c);
        }
        let wake = w.dispatch(*leader.borrow());
        let depth = w.queue.entries.len();
        w.metrics.queue_depth(depth);
        waiting.send_if_modified(|n| std::mem::replace(n, depth) != depth);
        if !open && w.queue.is_empty() && w.tasks.is_empty() {
            return;
        }
        let now = Instant::now();
        let wake_at = wake.unwrap_or(now + Duration::from_secs(3600));
        tokio::select! {
            c = updates.recv(), if open => match c {
                Some(c) => w.take(c),
                None => open = false,
            },
            Some(done) = w.tasks.join_next_with_id(), if !w.tasks.is_empty() => w.finish(done),
            () = tokio::time::sleep_until(wake_at), if wake.is_some() => {}
        }
    }
}

impl Writer {
    fn take(&mut self, command: Command) {
        match command {
            Command::Apply(update) => {
                if self.queue.push(update) {
                    self.metrics.superseded();
                }
            }
            Command::Cancel(key) => {
                if self.queue.busy.contains(&key) {
                    self.settled.insert(key.clone());
                }
                // A write that failed (a timeout, most likely) yet shows in the live status was
                // applied after all: its Event is due.
                if let Some(entry) = self.queue.cancel(&key)
                    && entry.failures > 0
                    && !self.queue.busy.contains(&key)
                {
                    self.queue.busy.insert(key.clone());
                    self.metrics.in_flight(true);
                    self.after_write(&entry.update);
                }
            }
        }
    }

    /// Starts writes while slots, the hold and the rate allow; when to look again.
    fn dispatch(&mut self, is_leader: bool) -> Option<Instant> {
        let now = Instant::now();
        let mut wake = self.queue.wake_due(now);
        while self.tasks.len() < self.opts.max_in_flight {
            if let Some(hold) = self.hold_until.filter(|h| *h > now) {
                wake = Some(wake.map_or(hold, |w| w.min(hold)));
                break;
            }
            let Some(entry) = self.queue.pop(now) else {
                break;
            };
            if !is_leader {
                let _ = self.feedback.send(Feedback::Dropped(entry.update.key));
                continue;
            }
            if let Some(rate) = &self.opts.rate
                && let Err(wait) = rate.try_take(now)
            {
                self.queue.unpop(entry);
                let at = now + wait;
                wake = Some(wake.map_or(at, |w| w.min(at)));
                break;
            }
            let key = entry.update.key.clone();
            tracing::debug!(object = %key, "writing status");
            self.queue.busy.insert(key.clone());
            self.metrics.in_flight(true);
            let client = self.client.clone();
            let metrics = self.metrics.clone();
            let handle = self.tasks.spawn(async move {
                let started = Instant::now();
                let result = apply(&client, &entry.update).await;
                metrics.write_duration(started.elapsed().as_secs_f64());
                Done::Write(Box::new(entry), result)
            });
            self.task_keys.insert(handle.id(), key);
        }
        wake
    }

    fn finish(&mut self, done: Result<(Id, Done), tokio::task::JoinError>) {
        let (id, done) = match done {
            Ok(done) => done,
            Err(err) => {
                // A task that panicked or was cancelled: its CR must not stay busy forever.
                tracing::error!(error = %err, "a status write task failed");
                if let Some(key) = self.task_keys.remove(&err.id()) {
                    self.release(&key);
                }
                return;
            }
        };
        let Some(key) = self.task_keys.remove(&id) else {
            return;
        };
        match done {
            Done::Event => self.release(&key),
            Done::Write(entry, Ok(())) => {
                self.metrics.written(kind_label(&key), true);
                tracing::info!(object = %key, "status written");
                let _ = self.feedback.send(Feedback::Written(key));
                self.after_write(&entry.update);
            }
            Done::Write(entry, Err(err)) => self.failed(*entry, err),
        }
    }

    /// Publishes the Event a written update calls for, in the CR's slot; else frees the slot.
    fn after_write(&mut self, update: &Update) {
        let key = &update.key;
        let Some(n) = notice(&update.before, &update.body["status"]) else {
            self.release(key);
            return;
        };
        if !self.budget.allow(key, Instant::now()) {
            tracing::debug!(object = %key, reason = %n.reason, "event suppressed: the CR spent its allowance");
            self.metrics.event(n.type_label(), "suppressed");
            self.release(key);
            return;
        }
        let recorder = self.events.for_cr(key);
        let handle = self.tasks.spawn(publish(
            recorder,
            key.clone(),
            update.uid.clone(),
            n,
            self.opts.clone(),
            self.metrics.clone(),
        ));
        self.task_keys.insert(handle.id(), key.clone());
    }

    fn failed(&mut self, entry: Entry, err: WriteError) {
        let key = entry.update.key.clone();
        self.metrics.written(kind_label(&key), false);
        match classify(&err.error) {
            Failure::Retry(class) if self.settled.contains(&key) => {
                // The watch showed this status applied while its answer was awaited: it timed
                // out after all but the server took it. A newer update goes as usual.
                self.metrics.write_error(class);
                tracing::info!(object = %key, error = %err.error, "status write failed, but the watch shows it applied; not retrying");
                if self.queue.entries.contains_key(&key) {
                    self.release(&key);
                } else {
                    self.after_write(&entry.update);
                }
                return;
            }
            Failure::Retry(class) => {
                self.metrics.write_error(class);
                self.metrics.retry(answer_label(&err.error));
                let now = Instant::now();
                let mut delay = self.opts.backoff.after(entry.failures + 1);
                if let Some(wait) = err.retry_after {
                    delay = delay.max(wait);
                    if class == "throttled" {
                        let until = now + wait;
                        self.hold_until = Some(self.hold_until.map_or(until, |h| h.max(until)));
                    }
                }
                tracing::warn!(object = %key, error = %err.error, retry_in = %human_duration(delay), "status write failed; retrying");
                self.queue.retry(entry, now + delay);
            }
            Failure::Gone => {
                self.metrics.write_error("gone");
                tracing::info!(object = %key, "CR deleted before its status was written; not retrying");
                let _ = self.feedback.send(Feedback::Gone(key.clone()));
                self.queue.given_up(entry);
            }
            Failure::Permanent(class) => {
                self.metrics.write_error(class);
                tracing::error!(object = %key, error = %err.error, "status write rejected; not retrying until the CR or its children change");
                let _ = self.feedback.send(Feedback::Dropped(key.clone()));
                self.queue.given_up(entry);
            }
        }
        self.release(&key);
    }

    fn release(&mut self, key: &ObjectKey) {
        self.settled.remove(key);
        self.queue.release(key);
        self.metrics.in_flight(false);
    }
}

/// Publishes one Event, retrying a retryable failure a few times (Events are best effort).
async fn publish(
    recorder: Recorder,
    key: ObjectKey,
    uid: Option<String>,
    notice: Notice,
    opts: WriterOptions,
    metrics: Metrics,
) -> Done {
    for attempt in 1..=EVENT_ATTEMPTS {
        if let Some(rate) = &opts.rate {
            rate.take().await;
        }
        match super::events::publish(&recorder, &key, uid.as_deref(), &notice).await {
            Ok(()) => {
                tracing::debug!(object = %key, reason = %notice.reason, "event published");
                metrics.event(notice.type_label(), "ok");
                return Done::Event;
            }
            Err(err) => {
                let retry = matches!(classify(&err), Failure::Retry(_)) && attempt < EVENT_ATTEMPTS;
                if !retry {
                    tracing::warn!(object = %key, reason = %notice.reason, error = %err, "event not published");
                    metrics.event(notice.type_label(), "error");
                    return Done::Event;
                }
                tokio::time::sleep(opts.backoff.after(attempt)).await;
            }
        }
    }
    Done::Event
}

fn kind_label(key: &ObjectKey) -> &'static str {
    HevKind::from_type_meta(&key.api_version(), &key.kind)
        .map(HevKind::kind_str)
        .unwrap_or("unknown")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::status::events::Summary;

    fn update(name: &str, reason: &str) -> Update {
        Update {
            key: ObjectKey::new("hevlayer.com/v1alpha1", "Pipeline", Some("shop"), name),
            uid: None,
            body: json!({"status": {"reason": reason}}),
            before: Summary::default(),
        }
    }

    fn summary(ready: &str) -> Summary {
        Summary {
            ready: Some(ready.into()),
            stalled: false,
        }
    }

    #[test]
    fn backoff_doubles_up_to_its_bound() {
        let b = Backoff {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(3),
        };
        let delays: Vec<_> = (1..=5).map(|n| b.after(n).as_millis()).collect();
        assert_eq!(delays, [500, 1000, 2000, 3000, 3000]);
        assert_eq!(b.after(u32::MAX), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn the_newest_update_per_cr_wins_and_keeps_where_the_first_started() {
        let mut q = Queue::default();
        let mut first = update("a", "one");
        first.before = summary("True");
        assert!(!q.push(first));
        assert!(!q.push(update("b", "x")));
        let mut second = update("a", "two");
        second.before = summary("False");
        assert!(q.push(second));
        let now = Instant::now();
        let a = q.pop(now).unwrap();
        assert_eq!(a.update.body["status"]["reason"], "two");
        assert_eq!(a.update.before, summary("True"));
        assert_eq!(q.pop(now).unwrap().update.key.name, "b");
        assert!(q.pop(now).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn an_update_for_a_cr_in_flight_waits_for_that_write() {
        let mut q = Queue::default();
        q.push(update("a", "one"));
        let now = Instant::now();
        let sent = q.pop(now).unwrap();
        q.busy.insert(sent.update.key.clone());
        q.push(update("a", "two"));
        q.push(update("a", "three"));
        assert!(q.pop(now).is_none(), "a second write for a CR in flight");
        q.release(&sent.update.key);
        assert_eq!(q.pop(now).unwrap().update.body["status"]["reason"], "three");
        assert!(q.pop(now).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_write_is_retried_after_its_delay_or_replaced_by_a_newer_one() {
        let mut q = Queue::default();
        q.push(update("a", "one"));
        let now = Instant::now();
        let mut sent = q.pop(now).unwrap();
        sent.update.before = summary("True");
        q.busy.insert(sent.update.key.clone());
        let due = now + Duration::from_millis(100);
        q.retry(sent, due);
        q.release(&update("a", "").key);
        assert!(q.pop(now).is_none(), "retried before its backoff");
        assert_eq!(q.wake_due(now), Some(due));
        // A newer update arrives while the retry waits: it is sent instead, no earlier.
        let mut newer = update("a", "two");
        newer.before = summary("False");
        assert!(q.push(newer));
        assert!(q.pop(now).is_none());
        assert_eq!(q.wake_due(due), None);
        let retried = q.pop(due).unwrap();
        assert_eq!(retried.update.body["status"]["reason"], "two");
        assert_eq!(retried.failures, 1);
        assert_eq!(retried.update.before, summary("True"));
        // A cancelled retry is not sent.
        q.push(update("b", "x"));
        let b = q.pop(due).unwrap();
        q.retry(b, due);
        assert!(q.cancel(&update("b", "").key).is_some());
        q.wake_due(due);
        assert!(q.pop(due).is_none());
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        let mut h = http::HeaderMap::new();
        assert_eq!(retry_after_header(&h), None);
        h.insert(http::header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after_header(&h), Some(Duration::from_secs(3)));
        h.insert(
            http::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after_header(&h), None);
    }

    #[test]
    fn answers_are_labelled_by_code() {
        let api = |code| kube::Error::Api(Status::failure("x", "y").with_code(code).boxed());
        assert_eq!(answer_label(&api(429)), "429");
        assert_eq!(classify(&api(429)), Failure::Retry("throttled"));
        assert_eq!(classify(&api(404)), Failure::Gone);
        assert_eq!(classify(&api(422)), Failure::Permanent("invalid"));
        let timeout =
            kube::Error::Service(Box::new(crate::client::TimedOut(Duration::from_secs(1))));
        assert_eq!(answer_label(&timeout), "timeout");
        assert_eq!(
            answer_label(&kube::Error::Service("refused".into())),
            "transport"
        );
    }
}
