//! Condition reasons, the kstatus triple (`Ready`, `Reconciling`, `Stalled`) and the pure merge
//! that keeps `lastTransitionTime`.
//!
//! Every reason the syncer writes is a [`Reason`] variant; its [`Class`] decides the triple:
//! `Ready=True` with both others `False`; `Ready=Unknown` or `False` with exactly one of
//! `Reconciling` and `Stalled` `True`. kstatus (Flux) reads a `True` `Reconciling` as InProgress
//! and a `True` `Stalled` as Failed, so they are never both `True`. Like stackable's condition
//! builder the time comes in as an argument, never from a hidden clock.

use std::fmt;
use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use layer_render::api::Condition;
use layer_render::api::conditions::status;

/// The condition types the syncer owns, in the order it writes them.
pub const READY: &str = "Ready";
/// `True` while children are converging (kstatus InProgress).
pub const RECONCILING: &str = "Reconciling";
/// `True` when a person must act (kstatus Failed).
pub const STALLED: &str = "Stalled";

/// What a reason means for the condition triple.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// `Ready=True`.
    Ready,
    /// `Ready=Unknown`, `Reconciling=True`: an input is not known yet.
    Pending,
    /// `Ready=False`, `Reconciling=True`; `Stalled` after `--stall-after` without progress when
    /// the reason [escalates](Reason::escalates).
    Progressing,
    /// `Ready=False`, `Stalled=True` at once.
    Stalled,
}

macro_rules! reasons {
    ($($(#[doc = $doc:literal])* $name:ident => $class:ident, $escalates:literal;)*) => {
        /// Every condition reason the syncer writes, CamelCase and stable: tools match on them.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Reason {
            $($(#[doc = $doc])* $name,)*
        }

        impl Reason {
            /// Every reason, in declaration order.
            pub const ALL: &'static [Reason] = &[$(Reason::$name,)*];

            /// The CamelCase spelling written in `reason`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$name => stringify!($name),)*
                }
            }

            /// What the reason means for the triple.
            pub fn class(self) -> Class {
                match self {
                    $(Reason::$name => Class::$class,)*
                }
            }

            /// Whether a `Progressing` reason becomes `Stalled` after `--stall-after` without
            /// progress. `RollingOut` does not: the Deployment's own progress deadline turns a stuck
            /// rollout into `RolloutFailed`.
            pub fn escalates(self) -> bool {
                match self {
                    $(Reason::$name => $escalates,)*
                }
            }
        }
    };
}

reasons! {
    /// Pipeline/Function: every child is present and current and the worker has rolled out.
    Available => Ready, false;
    /// Pipeline/Function: `spec.paused` is true; the worker is scaled to zero on purpose.
    Paused => Ready, false;
    /// Pipeline/Function: `scaling.mode` is `disabled`; the worker has no replicas on purpose.
    Disabled => Ready, false;
    /// VectorStore: valid and its endpoint answered the probe.
    Reachable => Ready, false;
    /// VectorStore: valid; the probe is off (`--no-probe`), so `reachable` is not reported.
    ProbeDisabled => Ready, false;
    /// Index: its store resolves to a Ready VectorStore and its backend namespace is its own.
    StoreReady => Ready, false;
    /// InfraRules: pools counted; NodePools and document cache (when watched) are ready.
    PoolsReady => Ready, false;
    /// VectorStore: the first probe of the endpoint has not finished yet.
    ProbePending => Pending, false;
    /// An expected child object (or the document-cache StatefulSet) does not exist.
    ChildMissing => Progressing, true;
    /// A child's render hash differs from its parent's `children` map, or the live spec no
    /// longer hashes to the CR's `spec-hash`.
    RenderStale => Progressing, true;
    /// The worker Deployment is rolling out its current template.
    RollingOut => Progressing, false;
    /// The worker Deployment has rolled out but no replica is available.
    WorkerUnavailable => Progressing, true;
    /// KEDA does not report the ScaledObject Ready.
    ScalerNotReady => Progressing, true;
    /// VectorStore: the endpoint did not answer the probe.
    Unreachable => Progressing, true;
    /// VectorStore: the credential Secret does not exist.
    CredentialMissing => Progressing, true;
    /// Index: `storeRef` names a VectorStore that does not exist in the namespace.
    StoreNotFound => Progressing, true;
    /// Index: no `storeRef`, and the namespace has no default VectorStore.
    NoDefaultStore => Progressing, true;
    /// Index: the VectorStore it resolves to is not Ready.
    StoreNotReady => Progressing, true;
    /// InfraRules: no Karpenter NodePool provides the nodes a pool selects.
    NodePoolMissing => Progressing, true;
    /// InfraRules: the NodePools that serve a pool are not Ready.
    NodePoolNotReady => Progressing, true;
    /// InfraRules: the document-cache StatefulSet has fewer ready replicas than desired.
    DocumentCacheNotReady => Progressing, true;
    /// Pipeline/Function: the pool does not exist in InfraRules/default (or the built-in pools).
    UnknownPool => Stalled, false;
    /// Pipeline/Function: `replicas.max` is above the pool's or the install's ceiling.
    CeilingExceeded => Stalled, false;
    /// Pipeline/Function: the Deployment exceeded its progress deadline.
    RolloutFailed => Stalled, false;
    /// Function: `indexSelector` is not a valid label selector.
    InvalidIndexSelector => Stalled, false;
    /// VectorStore: `spec.kind` is reserved but not implemented (`pinecone`).
    KindNotImplemented => Stalled, false;
    /// VectorStore/Index: more than one VectorStore in the namespace is `default: true`.
    MultipleDefaultStores => Stalled, false;
    /// Index: another Index in the namespace serves the same backend namespace.
    BackendNamespaceConflict => Stalled, false;
    /// VectorStore: `endpoint.url` cannot be probed (no host, or an unknown scheme).
    InvalidEndpoint => Stalled, false;
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of one assessment: the worst finding, with a message that says what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Why.
    pub reason: Reason,
    /// What is wrong (or right) and what to do about it.
    pub message: String,
}

impl Verdict {
    /// A verdict.
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Verdict {
            reason,
            message: message.into(),
        }
    }
}

/// When the current not-ready state began: the clock behind `--stall-after`.
///
/// Progress is any change of reason or message (a child arrived, a counter moved), so each
/// change restarts the clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    /// The reason of the state being timed.
    pub reason: Reason,
    /// Its message.
    pub message: String,
    /// When that exact state was first seen.
    pub since: Timestamp,
}

impl Progress {
    /// The clock after seeing `verdict` at `now`: unchanged when the state is the same, restarted
    /// otherwise. Without an in-memory clock (a restart), a state that the live status already
    /// shows as `Stalled` stays stalled; any other starts timing now.
    pub fn advance(
        prev: Option<&Progress>,
        live: &[Condition],
        verdict: &Verdict,
        now: Timestamp,
        stall_after: Duration,
    ) -> Progress {
        if let Some(p) = prev {
            if p.reason == verdict.reason && p.message == verdict.message {
                return p.clone();
            }
        } else if is_true(live, STALLED)
            && find(live, READY).is_some_and(|c| {
                c.reason.as_deref() == Some(verdict.reason.as_str())
                    && c.message.as_deref() == Some(verdict.message.as_str())
            })
        {
            return Progress {
                reason: verdict.reason,
                message: verdict.message.clone(),
                since: sub(now, stall_after),
            };
        }
        Progress {
            reason: verdict.reason,
            message: verdict.message.clone(),
            since: now,
        }
    }

    /// Whether the state has lasted `stall_after` or longer.
    pub fn is_overdue(&self, now: Timestamp, stall_after: Duration) -> bool {
        now >= add(self.since, stall_after)
    }
}

fn to_signed(d: Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}

fn sub(t: Timestamp, d: Duration) -> Timestamp {
    t.checked_sub(to_signed(d)).unwrap_or(Timestamp::MIN)
}

fn add(t: Timestamp, d: Duration) -> Timestamp {
    t.checked_add(to_signed(d)).unwrap_or(Timestamp::MAX)
}

/// The three states the triple can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// `Ready=True`.
    Ready,
    /// `Ready=Unknown`, `Reconciling=True`.
    Unknown,
    /// `Ready=False`, `Reconciling=True`.
    Reconciling,
    /// `Ready=False`, `Stalled=True`.
    Stalled,
}

/// The phase of a verdict, given whether its escalation clock ran out.
pub fn phase(reason: Reason, overdue: bool) -> Phase {
    match reason.class() {
        Class::Ready => Phase::Ready,
        Class::Pending => Phase::Unknown,
        Class::Progressing if overdue && reason.escalates() => Phase::Stalled,
        Class::Progressing => Phase::Reconciling,
        Class::Stalled => Phase::Stalled,
    }
}

/// The condition triple for `verdict`, merged over the live conditions: a condition keeps its
/// `lastTransitionTime` unless its `status` changes, when it takes `now`.
pub fn make_conditions(
    verdict: &Verdict,
    phase: Phase,
    stall_after: Duration,
    live: &[Condition],
    now: Timestamp,
) -> Vec<Condition> {
    let ready = match phase {
        Phase::Ready => status::TRUE,
        Phase::Unknown => status::UNKNOWN,
        Phase::Reconciling | Phase::Stalled => status::FALSE,
    };
    let reconciling = bool_status(matches!(phase, Phase::Unknown | Phase::Reconciling));
    let stalled = bool_status(phase == Phase::Stalled);
    let stalled_message = if phase == Phase::Stalled && verdict.reason.class() == Class::Progressing
    {
        format!(
            "{} No progress for {}.",
            verdict.message,
            human_duration(stall_after)
        )
    } else {
        verdict.message.clone()
    };
    let next = [
        (READY, ready, verdict.message.clone()),
        (RECONCILING, reconciling, verdict.message.clone()),
        (STALLED, stalled, stalled_message),
    ];
    next.into_iter()
        .map(|(type_, status, message)| Condition {
            type_: type_.to_string(),
            status: status.to_string(),
            reason: Some(verdict.reason.as_str().to_string()),
            message: Some(message),
            last_transition_time: Some(transition_time(live, type_, status, now)),
        })
        .collect()
}

fn bool_status(b: bool) -> &'static str {
    if b { status::TRUE } else { status::FALSE }
}

fn transition_time(live: &[Condition], type_: &str, status: &str, now: Timestamp) -> String {
    match find(live, type_) {
        Some(c) if c.status == status => c
            .last_transition_time
            .clone()
            .unwrap_or_else(|| format_time(now)),
        _ => format_time(now),
    }
}

/// The condition of a type, if present.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Whether the condition of a type is present with status `True`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    find(conditions, type_).is_some_and(|c| c.status == status::TRUE)
}

/// RFC 3339 in whole seconds, as `metav1.Time` serializes.
pub fn format_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `10m`, `90s`, `1h30m`, `1s500ms`: the way the flags are written (`cli::parse_duration`).
/// humantime's form without its spaces, in hours from a day up (humantime would write days,
/// months and years, which the flags do not take). Below a millisecond is left out.
pub fn human_duration(d: Duration) -> String {
    let d = Duration::new(d.as_secs(), d.subsec_millis() * 1_000_000);
    let hours = d.as_secs() / 3600;
    let rest = d - Duration::from_secs(hours * 3600);
    let mut out = if hours > 0 {
        format!("{hours}h")
    } else {
        String::new()
    };
    if !rest.is_zero() || out.is_empty() {
        out.extend(humantime::format_duration(rest).to_string().split(' '));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    const MIN10: Duration = Duration::from_secs(600);

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn reasons_are_camel_case_and_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for r in Reason::ALL {
            let s = r.as_str();
            assert!(s.starts_with(|c: char| c.is_ascii_uppercase()), "{s}");
            assert!(s.chars().all(|c| c.is_ascii_alphanumeric()), "{s}");
            assert!(seen.insert(s), "{s} twice");
        }
    }

    #[test]
    fn only_progressing_reasons_escalate() {
        for r in Reason::ALL {
            if r.escalates() {
                assert_eq!(r.class(), Class::Progressing, "{r}");
            }
        }
    }

    #[test]
    fn an_unchanged_status_keeps_its_transition_time() {
        let v = Verdict::new(Reason::ChildMissing, "Deployment/a-worker is missing.");
        let first = make_conditions(
            &v,
            Phase::Reconciling,
            MIN10,
            &[],
            t("2025-01-01T00:00:00Z"),
        );
        let second = make_conditions(
            &v,
            Phase::Reconciling,
            MIN10,
            &first,
            t("2025-01-01T00:05:00Z"),
        );
        assert_eq!(first, second);
    }

    #[test]
    fn a_status_change_moves_only_that_conditions_time() {
        let v = Verdict::new(Reason::ChildMissing, "missing");
        let first = make_conditions(
            &v,
            Phase::Reconciling,
            MIN10,
            &[],
            t("2025-01-01T00:00:00Z"),
        );
        let second = make_conditions(&v, Phase::Stalled, MIN10, &first, t("2025-01-01T00:10:00Z"));
        let time = |cs: &[Condition], ty: &str| find(cs, ty).unwrap().last_transition_time.clone();
        assert_eq!(time(&second, READY), time(&first, READY));
        assert_eq!(time(&second, RECONCILING).unwrap(), "2025-01-01T00:10:00Z");
        assert_eq!(time(&second, STALLED).unwrap(), "2025-01-01T00:10:00Z");
        assert_eq!(
            find(&second, STALLED).unwrap().message.as_deref(),
            Some("missing No progress for 10m.")
        );
    }

    #[test]
    fn the_stall_clock_restarts_on_progress_and_runs_out_without_it() {
        let now = t("2025-01-01T00:00:00Z");
        let v1 = Verdict::new(Reason::ChildMissing, "two missing");
        let p = Progress::advance(None, &[], &v1, now, MIN10);
        assert!(!p.is_overdue(t("2025-01-01T00:09:59Z"), MIN10));
        assert!(p.is_overdue(t("2025-01-01T00:10:00Z"), MIN10));
        let v2 = Verdict::new(Reason::ChildMissing, "one missing");
        let later = t("2025-01-01T00:09:00Z");
        let p2 = Progress::advance(Some(&p), &[], &v2, later, MIN10);
        assert_eq!(p2.since, later);
        let same = Progress::advance(Some(&p2), &[], &v2, t("2025-01-01T00:12:00Z"), MIN10);
        assert_eq!(same.since, later);
    }

    #[test]
    fn a_restart_keeps_a_stalled_state_stalled() {
        let now = t("2025-01-01T01:00:00Z");
        let v = Verdict::new(Reason::ChildMissing, "missing");
        let live = make_conditions(&v, Phase::Stalled, MIN10, &[], t("2025-01-01T00:00:00Z"));
        let p = Progress::advance(None, &live, &v, now, MIN10);
        assert!(p.is_overdue(now, MIN10));
        let other = Verdict::new(Reason::ChildMissing, "something else");
        assert!(!Progress::advance(None, &live, &other, now, MIN10).is_overdue(now, MIN10));
    }

    #[test]
    fn durations_print_like_flags() {
        assert_eq!(human_duration(MIN10), "10m");
        assert_eq!(human_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(human_duration(Duration::from_secs(0)), "0s");
        assert_eq!(human_duration(Duration::from_millis(200)), "200ms");
        assert_eq!(human_duration(Duration::from_millis(61_500)), "1m1s500ms");
        assert_eq!(human_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(human_duration(Duration::from_secs(3600)), "1h");
        assert_eq!(human_duration(Duration::from_secs(48 * 3600)), "48h");
        assert_eq!(
            human_duration(Duration::from_secs(400 * 86400 + 61)),
            "9600h1m1s"
        );
        assert_eq!(human_duration(Duration::from_micros(3_600_000_900)), "1h");
        assert_eq!(human_duration(Duration::from_micros(1_500)), "1ms");
        assert_eq!(human_duration(Duration::from_micros(500)), "0s");
    }
}
