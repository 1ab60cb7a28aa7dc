//! Cron windows as KEDA runs them. A model of KEDA's cron scaler checks, minute by minute from
//! 2027-12-01 to 2030-01-01 (a leap day, two new years), that the rendered cron triggers are
//! together active exactly on `[s, s + window)` for every firing `s` of the schedule.
//!
//! The model is KEDA's rule (`pkg/scalers/cron_scaler.go`): at time `t` a trigger is active
//! when the next firing of `end` after `t` comes no later than the next firing of `start` after
//! `t`, and a ScaledObject is active while any trigger is. Firings come from croner, walked in
//! order; at sampled minutes the model also asks croner for the next firing directly.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use croner::Cron;
use croner::parser::CronParser;
use layer_render::keda::cron;
use layer_render::load::{Limits, load_bytes};
use layer_render::render::{RenderOptions, render_json};
use proptest::prelude::*;
use serde_json::Value;

/// Minutes since the epoch.
type Minute = i64;

fn minute_of(t: DateTime<Utc>) -> Minute {
    t.timestamp().div_euclid(60)
}

fn time_of(m: Minute) -> DateTime<Utc> {
    Utc.timestamp_opt(m * 60, 0).unwrap()
}

fn from() -> Minute {
    minute_of(Utc.with_ymd_and_hms(2027, 12, 1, 0, 0, 0).unwrap())
}

fn to() -> Minute {
    minute_of(Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap())
}

fn croner(expr: &str) -> Cron {
    CronParser::new()
        .parse(expr)
        .unwrap_or_else(|e| panic!("croner cannot read {expr:?}: {e}"))
}

/// Every firing from an hour before `from` until the first one after `until`.
fn firings(expr: &str, from: Minute, until: Minute) -> Vec<Minute> {
    let mut out = Vec::new();
    for t in croner(expr).iter_after(time_of(from - 61)) {
        let m = minute_of(t);
        out.push(m);
        if m > until {
            break;
        }
    }
    out
}

/// A trigger's firings, with a cursor at the first firing after the current minute.
struct Walk {
    expr: String,
    firings: Vec<Minute>,
    next: usize,
}

impl Walk {
    fn new(expr: &str) -> Walk {
        Walk {
            expr: expr.to_string(),
            firings: firings(expr, from(), to()),
            next: 0,
        }
    }

    /// The first firing after minute `m`; `m` only grows between calls.
    fn after(&mut self, m: Minute) -> Option<Minute> {
        while self.firings.get(self.next).is_some_and(|f| *f <= m) {
            self.next += 1;
        }
        self.firings.get(self.next).copied()
    }
}

/// KEDA's verdict for every minute from `from()` to `to()`: the OR of the triggers.
fn keda_active(triggers: &[(String, String)]) -> Vec<bool> {
    let (from, to) = (from(), to());
    let mut active = vec![false; (to - from) as usize];
    for (start, end) in triggers {
        let (mut starts, mut ends) = (Walk::new(start), Walk::new(end));
        for m in from..to {
            let next_start = starts.after(m);
            let next_end = ends.after(m);
            if (m - from) % 10_007 == 0 {
                // The walk agrees with asking croner for the next firing.
                for (walk, next) in [(&starts, next_start), (&ends, next_end)] {
                    let asked = croner(&walk.expr)
                        .find_next_occurrence(&time_of(m), false)
                        .ok()
                        .map(minute_of);
                    assert_eq!(asked, next, "{} after {}", walk.expr, time_of(m));
                }
            }
            let on = match (next_end, next_start) {
                (Some(e), Some(s)) => e <= s,
                (Some(_), None) => true,
                (None, _) => false,
            };
            active[(m - from) as usize] |= on;
        }
    }
    active
}

/// The minutes the schedule means: `[s, s + window)` for every firing `s`.
fn intended(expr: &str, window: u32) -> Vec<bool> {
    let (from, to) = (from(), to());
    let mut wanted = vec![false; (to - from) as usize];
    for s in firings(expr, from, to) {
        for m in s..s + i64::from(window) {
            if (from..to).contains(&m) {
                wanted[(m - from) as usize] = true;
            }
        }
    }
    wanted
}

/// Checks the triggers against the schedule, minute by minute; the first difference.
fn check(expr: &str, window: u32, triggers: &[(String, String)]) -> Result<(), String> {
    let wanted = intended(expr, window);
    let active = keda_active(triggers);
    match (0..wanted.len()).find(|i| wanted[*i] != active[*i]) {
        None => Ok(()),
        Some(i) => Err(format!(
            "{expr:?} window {window}: at {} KEDA is {} but the schedule wants it {}; triggers {triggers:?}",
            time_of(from() + i as i64),
            if active[i] { "active" } else { "idle" },
            if wanted[i] { "active" } else { "idle" },
        )),
    }
}

fn encode(expr: &str, window: u32) -> Result<Vec<(String, String)>, String> {
    let triggers = cron::parse(expr)?.triggers(window)?;
    Ok(triggers.into_iter().map(|t| (t.start, t.end)).collect())
}

/// An independent check of a refusal: some day on which a window ends after midnight shares
/// its day of the month (in some year) and its weekday within the month (in some year) with
/// days on which no window ends, over the 28 years after which the calendar repeats. A UTC
/// cron selects days only by day of the month or by weekday within a month, so no set of
/// triggers can end those windows exactly.
fn refusal_is_sound(expr: &str, window: u32) -> bool {
    let start = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let end = Utc.with_ymd_and_hms(2053, 1, 1, 0, 0, 0).unwrap();
    let ends: BTreeSet<NaiveDate> = croner(expr)
        .iter_after(start)
        .take_while(|t| *t < end)
        .map(|t| t + Duration::minutes(i64::from(window)))
        .filter(|t| t.date_naive() != (*t - Duration::minutes(i64::from(window))).date_naive())
        .map(|t| t.date_naive())
        .collect();
    let days: Vec<NaiveDate> = start
        .date_naive()
        .iter_days()
        .take_while(|d| *d < end.date_naive())
        .collect();
    let same_day = |a: &NaiveDate, b: &NaiveDate| a.month() == b.month() && a.day() == b.day();
    let same_weekday =
        |a: &NaiveDate, b: &NaiveDate| a.month() == b.month() && a.weekday() == b.weekday();
    ends.iter().any(|t| {
        let broken = |same: &dyn Fn(&NaiveDate, &NaiveDate) -> bool| {
            days.iter().any(|d| same(d, t) && !ends.contains(d))
        };
        broken(&same_day) && broken(&same_weekday)
    })
}

/// A trigger's (start, end).
type Pair = (&'static str, &'static str);

/// Every schedule named in the issue and the docs, with the triggers it renders.
const RENDERED: &[(&str, i32, &[Pair])] = &[
    ("0 * * * *", 120, &[("0 * * * *", "5 * * * *")]),
    ("50 * * * *", 1800, &[("50 * * * *", "21 * * * *")]),
    ("30 12 * * *", 3300, &[("30 12 * * *", "25 13 * * *")]),
    ("50 23 * * *", 1800, &[("50 23 * * *", "21 0 * * *")]),
    ("50 23 * * 1", 1800, &[("50 23 * * 1", "21 0 * * 2")]),
    (
        "50 23 * * MON-FRI",
        1800,
        &[("50 23 * * 1-5", "21 0 * * 2-6")],
    ),
    (
        "50 23 * * 5-7",
        1800,
        &[("50 23 * * 0,5,6", "21 0 * * 0,1,6")],
    ),
    (
        "45 2,14 * * 1-5",
        1800,
        &[("45 2,14 * * 1-5", "16 3,15 * * 1-5")],
    ),
    (
        "45 20-23 * * *",
        1200,
        &[("45 20-23 * * *", "6 0,21-23 * * *")],
    ),
    (
        "0 */6 * * *",
        120,
        &[("0 0,6,12,18 * * *", "5 0,6,12,18 * * *")],
    ),
    (
        "50 */6 * * *",
        1800,
        &[("50 0,6,12,18 * * *", "21 1,7,13,19 * * *")],
    ),
    ("50 23 1 * *", 1800, &[("50 23 1 * *", "21 0 2 * *")]),
    (
        "50 23 15 jan,jul *",
        1800,
        &[("50 23 15 1,7 *", "21 0 16 1,7 *")],
    ),
    (
        "50 22,23 * * 1",
        1800,
        &[
            ("50 22 * * 1", "21 23 * * 1"),
            ("50 23 * * 1", "21 0 * * 2"),
        ],
    ),
    ("50 23 15 * 1", 1800, &[("50 23 15 * 1", "21 0 16 * 2")]),
    (
        "50 23 28-31 * *",
        1800,
        &[("50 23 28-31 * *", "21 0 1,29-31 * *")],
    ),
    (
        "50 23 31 * *",
        1800,
        &[("50 23 31 * *", "21 0 1 1,2,4,6,8,9,11 *")],
    ),
    ("50 23 31 12 *", 1800, &[("50 23 31 12 *", "21 0 1 1 *")]),
    (
        "50 23 30 * *",
        1800,
        &[
            ("50 23 30 * *", "21 0 31 * *"),
            ("50 23 30 * *", "21 0 1 5,7,10,12 *"),
        ],
    ),
    (
        "50 23 * 1-3 *",
        1800,
        &[
            ("50 23 * 1-3 *", "21 0 1 2-4 *"),
            ("50 23 * 1-3 *", "21 0 2-31 1-3 *"),
        ],
    ),
    (
        "50 23 28,29 2 *",
        1800,
        &[
            ("50 23 28,29 2 *", "21 0 1 3 *"),
            ("50 23 28,29 2 *", "21 0 29 2 *"),
        ],
    ),
    (
        "50 23 28,29 * 1",
        1800,
        &[
            ("50 23 28,29 * 1", "21 0 29,30 * 2"),
            ("50 23 28,29 * 1", "21 0 1 3 *"),
        ],
    ),
    ("0 12 29 2 *", 1800, &[("0 12 29 2 *", "31 12 29 2 *")]),
    (
        "55 * * 1 *",
        120,
        &[
            ("55 0-22 * 1 *", "0 1-23 * 1 *"),
            ("55 23 * 1 *", "0 0 1 2 *"),
            ("55 23 * 1 *", "0 0 2-31 1 *"),
        ],
    ),
];

/// Schedules with no exact encoding, and what render says.
const REFUSED: &[(&str, i32, &str)] = &[
    (
        "50 23 28 * *",
        1800,
        "cron \"50 23 28 * *\" with a 31-minute window has no exact KEDA encoding: the window \
         from 23:50 on Friday 2025-02-28 ends at 00:21 on Saturday 2025-03-01, and a UTC cron \
         that fires then also fires on Wednesday 2028-03-01 (the same day of March) or on \
         Saturday 2025-03-08 (the same weekday in March), when no window ends; schedules that \
         work: \"50 23 28,29 * *\", \"28 23 28 * *\" (the window ends within the hour) or \
         \"50 22 28 * *\"",
    ),
    (
        "50 23 29 2 *",
        1800,
        "cron \"50 23 29 2 *\" with a 31-minute window has no exact KEDA encoding: the window \
         from 23:50 on Tuesday 2028-02-29 ends at 00:21 on Wednesday 2028-03-01, and a UTC cron \
         that fires then also fires on Saturday 2025-03-01 (the same day of March) or on \
         Wednesday 2025-03-05 (the same weekday in March), when no window ends; schedules that \
         work: \"50 23 28,29 2 *\", \"28 23 29 2 *\" (the window ends within the hour) or \
         \"50 22 29 2 *\"",
    ),
    (
        "50 23 * 1 1",
        1800,
        "cron \"50 23 * 1 1\" with a 31-minute window has no exact KEDA encoding: the window \
         from 23:50 on Monday 2025-01-06 ends at 00:21 on Tuesday 2025-01-07, and a UTC cron \
         that fires then also fires on Wednesday 2026-01-07 (the same day of January) or on \
         Tuesday 2030-01-01 (the same weekday in January), when no window ends; schedules that \
         work: \"50 23 * * 1\", \"28 23 * 1 1\" (the window ends within the hour) or \
         \"50 22 * 1 1\"",
    ),
    (
        "50 23 15 1 1",
        1800,
        "cron \"50 23 15 1 1\" with a 31-minute window has no exact KEDA encoding: the window \
         from 23:50 on Monday 2025-01-06 ends at 00:21 on Tuesday 2025-01-07, and a UTC cron \
         that fires then also fires on Wednesday 2026-01-07 (the same day of January) or on \
         Tuesday 2030-01-01 (the same weekday in January), when no window ends; schedules that \
         work: \"50 23 15 * 1\", \"28 23 15 1 1\" (the window ends within the hour) or \
         \"50 22 15 1 1\"",
    ),
    (
        "50 23 L * *",
        1800,
        "the day-of-month field \"L\" of cron \"50 23 L * *\" uses L (the last day of the \
         month), which KEDA's cron scaler cannot read; write the days of the month as numbers, \
         ranges, lists or steps, such as \"1\" or \"1-5\"",
    ),
];

fn pipeline(expr: &str, lease: i32) -> String {
    format!(
        "apiVersion: hevlayer.com/v1alpha1
kind: Pipeline
metadata: {{name: sched, namespace: shop}}
spec:
  target: {{namespace: products}}
  schedule: {{cron: {expr:?}, leaseSeconds: {lease}}}
  worker: {{image: ghcr.io/hev/embed:1}}
  scaling: {{replicas: {{max: 2}}}}
"
    )
}

fn function(expr: &str, lease: i32) -> String {
    format!(
        "apiVersion: hevlayer.com/v1alpha1
kind: Function
metadata: {{name: classify, namespace: shop}}
spec:
  targetNamespaces: [notes]
  inputs: [id, text]
  version: v1
  triggers: [discovery, schedule]
  schedule: {{cron: {expr:?}, leaseSeconds: {lease}}}
  worker: {{image: ghcr.io/hev/classify:1}}
  scaling: {{replicas: {{max: 2}}}}
"
    )
}

/// The ScaledObject's triggers, or the error messages.
fn render_triggers(doc: &str) -> Result<Vec<Value>, Vec<String>> {
    let loaded = load_bytes("input.yaml", doc.as_bytes(), &Limits::default());
    let rendered = render_json(
        loaded.documents,
        loaded.diagnostics,
        &RenderOptions::default(),
    );
    if rendered.has_errors() {
        return Err(rendered
            .diagnostics
            .iter()
            .map(|d| {
                let field = d.field.as_ref().map(ToString::to_string);
                assert_eq!(field.as_deref(), Some("spec.schedule.cron"), "{d:?}");
                format!("{}: {}", d.code.as_str(), d.message)
            })
            .collect());
    }
    let so = rendered
        .objects
        .iter()
        .find(|o| o.value["kind"] == "ScaledObject")
        .unwrap();
    Ok(so.value["spec"]["triggers"].as_array().unwrap().clone())
}

/// The cron triggers as (start, end), checking their names and the rest of their metadata.
fn cron_pairs(triggers: &[Value]) -> Vec<(String, String)> {
    triggers
        .iter()
        .filter(|t| t["type"] == "cron")
        .enumerate()
        .map(|(i, t)| {
            let name = if i == 0 {
                "schedule".to_string()
            } else {
                format!("schedule-{}", i + 1)
            };
            assert_eq!(t["name"], name.as_str());
            let meta = &t["metadata"];
            assert_eq!(meta["timezone"], "Etc/UTC");
            assert_eq!(meta["desiredReplicas"], "1");
            let text = |k: &str| meta[k].as_str().unwrap().to_string();
            (text("start"), text("end"))
        })
        .collect()
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(s, e)| (s.to_string(), e.to_string()))
        .collect()
}

#[test]
fn every_named_schedule_renders_triggers_active_exactly_on_its_windows() {
    for (expr, lease, want) in RENDERED {
        let window = cron::window_minutes(*lease);
        let triggers = render_triggers(&pipeline(expr, *lease)).unwrap();
        assert!(triggers.iter().all(|t| t["type"] == "cron"), "{expr}");
        let pairs = cron_pairs(&triggers);
        assert_eq!(pairs, owned(want), "{expr}");
        check(expr, window, &pairs).unwrap();
    }
}

#[test]
fn a_function_schedule_gets_the_same_triggers_next_to_its_queue_trigger() {
    for (expr, lease) in [
        ("50 23 * * 1", 1800),
        ("50 22,23 * * 1", 1800),
        ("50 23 30 * *", 1800),
    ] {
        let window = cron::window_minutes(lease);
        let triggers = render_triggers(&function(expr, lease)).unwrap();
        assert_eq!(triggers[0]["name"], "queue-depth", "{expr}");
        let pairs = cron_pairs(&triggers);
        assert_eq!(pairs.len() + 1, triggers.len(), "{expr}");
        assert_eq!(pairs, encode(expr, window).unwrap(), "{expr}");
        check(expr, window, &pairs).unwrap();
    }
    // No cron: hourly, with the default 120-second lease.
    let doc = function("0 * * * *", 120).replace("cron: \"0 * * * *\", ", "");
    let pairs = cron_pairs(&render_triggers(&doc).unwrap());
    assert_eq!(pairs, owned(&[("0 * * * *", "5 * * * *")]));
    check("0 * * * *", 5, &pairs).unwrap();
}

#[test]
fn a_schedule_with_no_exact_encoding_is_refused_with_the_reason_and_nearby_schedules() {
    for (expr, lease, message) in REFUSED {
        for doc in [pipeline(expr, *lease), function(expr, *lease)] {
            assert_eq!(
                render_triggers(&doc).unwrap_err(),
                vec![format!("E312: {message}")],
                "{expr}"
            );
        }
        if !expr.contains('L') {
            assert!(
                refusal_is_sound(expr, cron::window_minutes(*lease)),
                "{expr}"
            );
        }
    }
}

#[test]
fn a_refused_schedule_renders_when_nothing_runs_it() {
    // Fixed scaling renders no ScaledObject, so the window needs no encoding.
    let doc = pipeline("50 23 28 * *", 1800).replace(
        "scaling: {replicas: {max: 2}}",
        "scaling: {mode: fixed, replicas: {max: 2}}",
    );
    let loaded = load_bytes("input.yaml", doc.as_bytes(), &Limits::default());
    let rendered = render_json(
        loaded.documents,
        loaded.diagnostics,
        &RenderOptions::default(),
    );
    assert!(!rendered.has_errors(), "{:?}", rendered.diagnostics);
}

#[test]
fn the_suggested_schedules_of_a_refusal_render_exactly() {
    for (expr, lease, message) in REFUSED.iter().filter(|(e, _, _)| !e.contains('L')) {
        let window = cron::window_minutes(*lease);
        let suggested = message.split("schedules that work: ").nth(1).unwrap();
        let suggestions: Vec<&str> = suggested.split('"').skip(1).step_by(2).collect();
        assert_eq!(suggestions.len(), 3, "{expr}");
        for s in suggestions {
            check(s, window, &encode(s, window).unwrap()).unwrap();
        }
    }
}

/// A cron field from a few shapes, biased towards the ones that move days.
fn hour_field() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => Just("*".to_string()),
        3 => Just("23".to_string()),
        2 => (0..24u32).prop_map(|h| h.to_string()),
        2 => (0..23u32).prop_map(|h| format!("{h},23")),
        1 => (0..22u32, 1..3u32).prop_map(|(a, n)| format!("{a}-{}", a + n)),
        1 => (18..23u32).prop_map(|a| format!("{a}-23")),
        1 => (2..9u32).prop_map(|s| format!("*/{s}")),
        1 => (0..12u32, 2..6u32).prop_map(|(a, s)| format!("{a}-23/{s}")),
    ]
}

fn day_of_month_field() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just("*".to_string()),
        3 => (1..32u32).prop_map(|d| d.to_string()),
        2 => (25..32u32).prop_map(|d| d.to_string()),
        1 => (1..28u32, 1..5u32).prop_map(|(d, n)| format!("{d}-{}", d + n)),
        1 => (1..32u32, 1..32u32).prop_map(|(a, b)| format!("{a},{b}")),
        1 => (2..8u32).prop_map(|s| format!("*/{s}")),
        1 => Just("?".to_string()),
    ]
}

fn month_field() -> impl Strategy<Value = String> {
    prop_oneof![
        5 => Just("*".to_string()),
        2 => (1..13u32).prop_map(|m| m.to_string()),
        1 => (1..12u32, 1..4u32).prop_map(|(m, n)| format!("{m}-{}", (m + n).min(12))),
        1 => Just("FEB".to_string()),
        1 => Just("dec,jan".to_string()),
    ]
}

fn day_of_week_field() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just("*".to_string()),
        2 => (0..8u32).prop_map(|d| d.to_string()),
        1 => Just("MON-FRI".to_string()),
        1 => (0..6u32, 1..3u32).prop_map(|(d, n)| format!("{d}-{}", d + n)),
        1 => Just("sat,sun".to_string()),
        1 => Just("?".to_string()),
    ]
}

fn lease_seconds() -> impl Strategy<Value = i32> {
    prop_oneof![Just(120), Just(1800), Just(3300), Just(0), 0..4000i32,]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn generated_schedules_render_exact_windows_or_are_refused_for_a_reason(
        minute in prop_oneof![0..60u32, 40..60u32],
        hour in hour_field(),
        dom in day_of_month_field(),
        month in month_field(),
        dow in day_of_week_field(),
        lease in lease_seconds(),
    ) {
        let expr = format!("{minute} {hour} {dom} {month} {dow}");
        let window = cron::window_minutes(lease);
        let parsed = match cron::parse(&expr) {
            Ok(parsed) => parsed,
            Err(problem) => {
                // Only a schedule that never fires fails to parse here.
                prop_assert!(problem.contains("never fires"), "{}", problem);
                prop_assert!(croner(&expr).iter_after(time_of(from())).next().is_none());
                return Ok(());
            }
        };
        match parsed.triggers(window) {
            Ok(triggers) => {
                let pairs: Vec<_> = triggers.into_iter().map(|t| (t.start, t.end)).collect();
                if let Err(e) = check(&expr, window, &pairs) {
                    prop_assert!(false, "{}", e);
                }
            }
            Err(problem) => {
                prop_assert!(problem.contains("has no exact KEDA encoding"), "{}", problem);
                prop_assert!(refusal_is_sound(&expr, window), "{}", problem);
            }
        }
    }
}
