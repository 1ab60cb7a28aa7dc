//! The writer: applies [`Update`]s one at a time, newest per CR wins, with exponential backoff
//! on retryable answers (409, 429, 5xx, transport errors and `--api-timeout`). Only the lease
//! holder writes.
//!
//! A write that timed out may still have been applied: when the watch then shows the live
//! status equal to the newest one, the controller sends [`Command::Cancel`] and the retry is
//! dropped. A 404 means the CR was deleted; it is reported as [`Feedback::Gone`] and not
//! retried.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use kube::api::{ApiResource, DynamicObject, Patch, PatchParams};
use kube::{Api, Client};
use layer_render::api::{Function, HevKind, Index, InfraRules, Pipeline, VectorStore};
use layer_render::key::ObjectKey;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::sync::watch;

use super::{Command, FIELD_MANAGER, Feedback, Update};
use crate::client::is_timeout;
use crate::metrics::Metrics;
use crate::readiness::conditions::human_duration;

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

fn api_resource(kind: HevKind) -> ApiResource {
    match kind {
        HevKind::VectorStore => ApiResource::erase::<VectorStore>(&()),
        HevKind::Index => ApiResource::erase::<Index>(&()),
        HevKind::InfraRules => ApiResource::erase::<InfraRules>(&()),
        HevKind::Pipeline => ApiResource::erase::<Pipeline>(&()),
        HevKind::Function => ApiResource::erase::<Function>(&()),
    }
}

/// Applies one update.
pub async fn apply(client: &Client, update: &Update) -> Result<(), kube::Error> {
    let Some(kind) = HevKind::from_type_meta(&update.key.api_version(), &update.key.kind) else {
        return Ok(());
    };
    let ar = api_resource(kind);
    let api: Api<DynamicObject> = match &update.key.namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    };
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch_status(&update.key.name, &params, &Patch::Apply(&update.body))
        .await
        .map(|_| ())
}

#[derive(Default)]
struct Queue {
    order: VecDeque<ObjectKey>,
    latest: HashMap<ObjectKey, Update>,
}

impl Queue {
    fn push(&mut self, update: Update) {
        if self
            .latest
            .insert(update.key.clone(), update.clone())
            .is_none()
        {
            self.order.push_back(update.key);
        }
    }

    /// Puts a failed update back at the front unless a newer one arrived meanwhile.
    fn retry(&mut self, update: Update) {
        if !self.latest.contains_key(&update.key) {
            self.order.push_front(update.key.clone());
            self.latest.insert(update.key.clone(), update);
        }
    }

    /// Drops whatever is queued for `key`.
    fn cancel(&mut self, key: &ObjectKey) {
        self.latest.remove(key);
    }

    fn take(&mut self, command: Command) {
        match command {
            Command::Apply(update) => self.push(update),
            Command::Cancel(key) => self.cancel(&key),
        }
    }

    fn pop(&mut self) -> Option<Update> {
        while let Some(key) = self.order.pop_front() {
            if let Some(u) = self.latest.remove(&key) {
                return Some(u);
            }
        }
        None
    }
}

/// Runs until `updates` closes and the queue is drained (or the lease is lost).
pub async fn run_writer(
    client: Client,
    mut updates: UnboundedReceiver<Command>,
    feedback: UnboundedSender<Feedback>,
    leader: watch::Receiver<bool>,
    backoff: Backoff,
    metrics: Metrics,
) {
    let mut queue = Queue::default();
    let mut delay = backoff.initial;
    let mut open = true;
    loop {
        while let Ok(c) = updates.try_recv() {
            queue.take(c);
        }
        let Some(update) = queue.pop() else {
            if !open {
                return;
            }
            match updates.recv().await {
                Some(c) => queue.take(c),
                None => open = false,
            }
            continue;
        };
        let kind = kind_label(&update.key);
        if !*leader.borrow() {
            let _ = feedback.send(Feedback::Dropped(update.key));
            continue;
        }
        tracing::debug!(object = %update.key, "writing status");
        match apply(&client, &update).await {
            Ok(()) => {
                delay = backoff.initial;
                metrics.written(kind, true);
                tracing::info!(object = %update.key, "status written");
                let _ = feedback.send(Feedback::Written(update.key));
            }
            Err(err) => {
                metrics.written(kind, false);
                match classify(&err) {
                    Failure::Retry(class) => {
                        metrics.write_error(class);
                        tracing::warn!(object = %update.key, error = %err, retry_in = %human_duration(delay), "status write failed; retrying");
                        queue.retry(update);
                        let sleep = tokio::time::sleep(delay);
                        tokio::pin!(sleep);
                        // Keep taking newer updates while waiting, so the retry sends the newest.
                        loop {
                            tokio::select! {
                                () = &mut sleep => break,
                                c = updates.recv(), if open => match c {
                                    Some(c) => queue.take(c),
                                    None => open = false,
                                },
                            }
                        }
                        delay = (delay * 2).min(backoff.max);
                    }
                    Failure::Gone => {
                        metrics.write_error("gone");
                        tracing::info!(object = %update.key, "CR deleted before its status was written; not retrying");
                        let _ = feedback.send(Feedback::Gone(update.key));
                    }
                    Failure::Permanent(class) => {
                        metrics.write_error(class);
                        tracing::error!(object = %update.key, error = %err, "status write rejected; not retrying until the CR or its children change");
                        let _ = feedback.send(Feedback::Dropped(update.key));
                    }
                }
            }
        }
    }
}

fn kind_label(key: &ObjectKey) -> &'static str {
    HevKind::from_type_meta(&key.api_version(), &key.kind)
        .map(HevKind::kind_str)
        .unwrap_or("unknown")
}
