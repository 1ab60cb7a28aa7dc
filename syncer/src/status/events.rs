//! Kubernetes Events on the CRs, so `kubectl describe` shows what happened to a workload.
//!
//! A status write that changes `Ready`'s status (a CR with no `Ready` yet counts as
//! `Unknown`, as its readers take it) or makes `Stalled` true is followed by one Event on the
//! CR: `Stalled` wins when both happen in one write. The Event carries the condition's reason
//! and message (cut to the API's 1 kB); it is a Warning for `Stalled` and for `Ready=False`,
//! Normal otherwise. Events are decided from the write actually sent (its
//! [`Summary`] before, its status after), so a status superseded before it was sent causes
//! none.
//!
//! kube-runtime's [`Recorder`] publishes them as `events.k8s.io/v1` Events, and aggregates as
//! the API conventions ask: the same Event again on the same CR within 6 minutes patches the
//! first one's `series` (a count and the last time seen) instead of creating another object.
//! [`Recorders`] spreads the CRs over 64 recorders: a recorder sweeps its whole cache on every
//! Event, so one shared by 10,000 CRs made each Event cost a pass over 10,000 cached Events.
//! On top of that, [`Budget`] gives each CR 25 Events, refilled at one every 5 minutes
//! (client-go's spam filter), so a CR that flaps sends a bounded number of requests, not one
//! per flap.

use std::collections::HashMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use layer_render::api::Condition;
use layer_render::key::ObjectKey;
use serde_json::Value;
use tokio::time::Instant;

use crate::readiness::conditions::{READY, STALLED, find, is_true};

/// `reportingController` of every Event.
pub const REPORTING_CONTROLLER: &str = "layer-syncer";
/// The API's limit on an Event's note.
pub const NOTE_LIMIT: usize = 1024;

/// `Ready` and `Stalled` of one status, as far as Events care.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// `Ready`'s status (`True`, `False`, `Unknown`); `None` without a `Ready` condition.
    pub ready: Option<String>,
    /// Whether `Stalled` is `True`.
    pub stalled: bool,
}

fn condition<'a>(status: &'a Value, type_: &str) -> Option<&'a Value> {
    status
        .get("conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(type_))
}

fn field<'a>(c: &'a Value, name: &str) -> &'a str {
    c.get(name).and_then(Value::as_str).unwrap_or_default()
}

impl Summary {
    /// The summary of a status (`{observedGeneration, conditions, ...}`).
    pub fn of(status: &Value) -> Summary {
        Summary {
            ready: condition(status, "Ready").map(|c| field(c, "status").to_string()),
            stalled: condition(status, "Stalled").is_some_and(|c| field(c, "status") == "True"),
        }
    }

    /// The summary of a typed status's conditions.
    pub fn of_conditions(conditions: &[Condition]) -> Summary {
        Summary {
            ready: find(conditions, READY).map(|c| c.status.clone()),
            stalled: is_true(conditions, STALLED),
        }
    }
}

/// An Event to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Warning or Normal.
    pub warning: bool,
    /// The condition it is about: `Ready` or `Stalled` (the Event's `action`).
    pub action: &'static str,
    /// The condition's reason.
    pub reason: String,
    /// The condition's message, at most [`NOTE_LIMIT`] bytes.
    pub note: String,
}

impl Notice {
    /// `Normal` or `Warning`, as the Event's type and the metric label say it.
    pub fn type_label(&self) -> &'static str {
        if self.warning { "Warning" } else { "Normal" }
    }
}

/// The Event a write from `before` to `status` calls for, if any.
pub fn notice(before: &Summary, status: &Value) -> Option<Notice> {
    let after = Summary::of(status);
    let (action, warning) = if after.stalled && !before.stalled {
        ("Stalled", true)
    } else if after.ready.is_some()
        && after.ready.as_deref() != Some(before.ready.as_deref().unwrap_or("Unknown"))
    {
        ("Ready", after.ready.as_deref() == Some("False"))
    } else {
        return None;
    };
    let c = condition(status, action)?;
    Some(Notice {
        warning,
        action,
        reason: field(c, "reason").to_string(),
        note: cut(field(c, "message"), NOTE_LIMIT),
    })
}

/// `s` cut to at most `limit` bytes, on a character boundary.
fn cut(s: &str, limit: usize) -> String {
    let mut end = s.len().min(limit);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// How many Events a CR may send, and how fast that allowance comes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BudgetOptions {
    /// Events a CR may send in a row.
    pub burst: u32,
    /// Time for one more to become available.
    pub refill: Duration,
}

impl Default for BudgetOptions {
    /// client-go's spam filter: 25 in a row, then one every 5 minutes.
    fn default() -> Self {
        BudgetOptions {
            burst: 25,
            refill: Duration::from_secs(300),
        }
    }
}

/// Per-CR Event allowances: a token bucket per CR, kept as the time it is full again, and
/// forgotten once it is.
#[derive(Debug)]
pub struct Budget {
    opts: BudgetOptions,
    full_at: HashMap<ObjectKey, Instant>,
    /// Entries when the map was last swept, so sweeps stay amortised.
    swept: usize,
}

impl Budget {
    /// Full allowances for every CR.
    pub fn new(opts: BudgetOptions) -> Self {
        Budget {
            opts,
            full_at: HashMap::new(),
            swept: 0,
        }
    }

    /// Whether `key` may send an Event at `now` (and if so, spends one).
    pub fn allow(&mut self, key: &ObjectKey, now: Instant) -> bool {
        if self.full_at.len() >= 2 * self.swept.max(64) {
            self.full_at.retain(|_, t| *t > now);
            self.swept = self.full_at.len();
        }
        let slack = self
            .opts
            .refill
            .saturating_mul(self.opts.burst.saturating_sub(1));
        let from = self.full_at.get(key).map_or(now, |t| (*t).max(now));
        if from - now > slack || self.opts.burst == 0 {
            return false;
        }
        self.full_at.insert(key.clone(), from + self.opts.refill);
        true
    }

    /// How many CRs have spent part of their allowance.
    pub fn tracked(&self) -> usize {
        self.full_at.len()
    }
}

/// How many recorders share the CRs.
pub const RECORDER_SHARDS: usize = 64;

/// kube-runtime [`Recorder`]s, each holding the series of the Events of the CRs that hash to
/// it (its cache key includes the CR, so sharing one changes nothing but the cost of the sweep
/// it makes on every Event).
pub struct Recorders {
    shards: Vec<Recorder>,
}

impl Recorders {
    /// Events reported as `layer-syncer` by `instance` (the pod name).
    pub fn new(client: Client, instance: String) -> Self {
        let reporter = Reporter {
            controller: REPORTING_CONTROLLER.into(),
            instance: Some(instance),
        };
        Recorders {
            shards: (0..RECORDER_SHARDS)
                .map(|_| Recorder::new(client.clone(), reporter.clone()))
                .collect(),
        }
    }

    /// The recorder of `key`'s Events.
    pub fn for_cr(&self, key: &ObjectKey) -> Recorder {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        let shard = usize::try_from(h.finish() % RECORDER_SHARDS as u64).unwrap_or_default();
        self.shards[shard].clone()
    }
}

/// Publishes `notice` on the CR `key` (uid `uid`) through its recorder.
pub async fn publish(
    recorder: &Recorder,
    key: &ObjectKey,
    uid: Option<&str>,
    notice: &Notice,
) -> Result<(), kube::Error> {
    let event = Event {
        type_: if notice.warning {
            EventType::Warning
        } else {
            EventType::Normal
        },
        reason: notice.reason.clone(),
        note: Some(notice.note.clone()),
        action: notice.action.into(),
        secondary: None,
    };
    recorder.publish(&event, &reference(key, uid)).await
}

/// The `regarding` reference of an Event on `key`.
pub fn reference(key: &ObjectKey, uid: Option<&str>) -> ObjectReference {
    ObjectReference {
        api_version: Some(key.api_version()),
        kind: Some(key.kind.clone()),
        name: Some(key.name.clone()),
        namespace: key.namespace.clone(),
        uid: uid.map(str::to_string),
        ..ObjectReference::default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use serde_json::json;

    use super::*;

    fn status(ready: &str, stalled: &str, reason: &str) -> Value {
        let c = |t: &str, s: &str| json!({"type": t, "status": s, "reason": reason, "message": format!("{reason}: details")});
        let reconciling = if ready != "True" && stalled != "True" {
            "True"
        } else {
            "False"
        };
        json!({"observedGeneration": 1, "conditions": [
            c("Ready", ready), c("Reconciling", reconciling), c("Stalled", stalled)]})
    }

    fn summary(ready: Option<&str>, stalled: bool) -> Summary {
        Summary {
            ready: ready.map(str::to_string),
            stalled,
        }
    }

    #[test]
    fn a_summary_reads_ready_and_stalled() {
        assert_eq!(
            Summary::of(&status("False", "True", "UnknownPool")),
            summary(Some("False"), true)
        );
        assert_eq!(
            Summary::of(&status("True", "False", "Available")),
            summary(Some("True"), false)
        );
        assert_eq!(Summary::of(&json!({})), summary(None, false));
        assert_eq!(Summary::of(&Value::Null), summary(None, false));
    }

    #[test]
    fn a_typed_status_has_the_summary_of_its_json() {
        for s in [
            status("False", "True", "UnknownPool"),
            status("True", "False", "Available"),
            status("Unknown", "False", "ProbePending"),
            json!({"conditions": []}),
        ] {
            let conditions: Vec<Condition> =
                serde_json::from_value(s["conditions"].clone()).unwrap();
            assert_eq!(Summary::of_conditions(&conditions), Summary::of(&s), "{s}");
        }
    }

    #[test]
    fn ready_changes_are_normal_unless_ready_is_false() {
        let ready = status("True", "False", "Available");
        let down = status("False", "False", "WorkerUnavailable");
        assert_eq!(
            notice(&summary(Some("False"), false), &ready),
            Some(Notice {
                warning: false,
                action: "Ready",
                reason: "Available".into(),
                note: "Available: details".into()
            })
        );
        assert_eq!(
            notice(&summary(Some("True"), false), &down),
            Some(Notice {
                warning: true,
                action: "Ready",
                reason: "WorkerUnavailable".into(),
                note: "WorkerUnavailable: details".into()
            })
        );
        // No Ready yet counts as Unknown: a first Ready=True is a change, a first Unknown not.
        assert_eq!(
            notice(&summary(None, false), &ready).unwrap().reason,
            "Available"
        );
        assert_eq!(
            notice(
                &summary(None, false),
                &status("Unknown", "False", "ProbePending")
            ),
            None
        );
        assert_eq!(
            notice(&summary(Some("Unknown"), false), &ready)
                .unwrap()
                .action,
            "Ready"
        );
    }

    #[test]
    fn the_same_ready_with_another_reason_is_no_event() {
        let rolling = status("False", "False", "RollingOut");
        assert_eq!(notice(&summary(Some("False"), false), &rolling), None);
        assert_eq!(
            notice(
                &summary(Some("True"), false),
                &status("True", "False", "Paused")
            ),
            None
        );
    }

    #[test]
    fn becoming_stalled_is_a_warning_and_wins_over_the_ready_change() {
        let stalled = status("False", "True", "UnknownPool");
        let expected = Some(Notice {
            warning: true,
            action: "Stalled",
            reason: "UnknownPool".into(),
            note: "UnknownPool: details".into(),
        });
        assert_eq!(notice(&summary(Some("True"), false), &stalled), expected);
        assert_eq!(notice(&summary(None, false), &stalled), expected);
        // Escalated by the clock: Ready stays False, Stalled becomes True.
        assert_eq!(notice(&summary(Some("False"), false), &stalled), expected);
        // Still stalled, another reason: nothing new.
        assert_eq!(
            notice(
                &summary(Some("False"), true),
                &status("False", "True", "CeilingExceeded")
            ),
            None
        );
        // Recovering from a stall is a Ready change.
        let back = notice(
            &summary(Some("False"), true),
            &status("True", "False", "Available"),
        )
        .unwrap();
        assert_eq!((back.warning, back.action), (false, "Ready"));
    }

    #[test]
    fn a_long_message_is_cut_to_the_note_limit_on_a_character_boundary() {
        let mut s = status("False", "False", "ChildMissing");
        let long = format!("{}é", "x".repeat(NOTE_LIMIT - 1));
        s["conditions"][0]["message"] = json!(long);
        let n = notice(&summary(Some("True"), false), &s).unwrap();
        assert_eq!(n.note, "x".repeat(NOTE_LIMIT - 1));
        assert_eq!(cut("abc", 10), "abc");
    }

    fn key(name: &str) -> ObjectKey {
        ObjectKey::new("hevlayer.com/v1alpha1", "Pipeline", Some("shop"), name)
    }

    #[test]
    fn a_budget_allows_a_burst_per_cr_then_one_per_refill() {
        let mut b = Budget::new(BudgetOptions {
            burst: 3,
            refill: Duration::from_secs(10),
        });
        let t = Instant::now();
        let allowed = (0..5).filter(|_| b.allow(&key("a"), t)).count();
        assert_eq!(allowed, 3);
        // Another CR has its own allowance.
        assert!(b.allow(&key("b"), t));
        assert!(!b.allow(&key("a"), t + Duration::from_secs(9)));
        assert!(b.allow(&key("a"), t + Duration::from_secs(10)));
        assert!(!b.allow(&key("a"), t + Duration::from_secs(10)));
        // After a quiet spell the whole burst is back, and no more.
        let later = t + Duration::from_secs(3600);
        assert_eq!((0..5).filter(|_| b.allow(&key("a"), later)).count(), 3);
    }

    #[test]
    fn a_budget_forgets_crs_whose_allowance_is_full_again() {
        let mut b = Budget::new(BudgetOptions::default());
        let t = Instant::now();
        for i in 0..100 {
            assert!(b.allow(&key(&format!("cr-{i}")), t));
        }
        assert_eq!(b.tracked(), 100);
        // Five minutes later each has its 25 again: the sweep when the map reaches 128 drops
        // them all and keeps the 28 new ones.
        let later = t + Duration::from_secs(300);
        for i in 0..29 {
            assert!(b.allow(&key(&format!("new-{i}")), later));
        }
        assert_eq!(b.tracked(), 29);
    }

    #[test]
    fn an_event_regards_the_cr_with_its_uid() {
        let r = reference(&key("embed"), Some("0b5f"));
        assert_eq!(r.api_version.as_deref(), Some("hevlayer.com/v1alpha1"));
        assert_eq!(r.kind.as_deref(), Some("Pipeline"));
        assert_eq!(r.namespace.as_deref(), Some("shop"));
        assert_eq!(r.name.as_deref(), Some("embed"));
        assert_eq!(r.uid.as_deref(), Some("0b5f"));
    }
}
