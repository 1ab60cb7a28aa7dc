//! Properties of the condition triple over arbitrary verdict sequences: Reconciling and Stalled
//! are never both true, Ready=True has neither, anything else has exactly one, and an unchanged
//! verdict keeps every `lastTransitionTime`.

use std::time::Duration;

use proptest::prelude::*;

use super::triple;
use crate::readiness::conditions::{Progress, Reason, Verdict, make_conditions, phase};
use crate::readiness::fixtures::clock;

fn verdicts() -> impl Strategy<Value = Vec<(usize, u8, u64)>> {
    // (reason index, message variant, seconds since the previous evaluation)
    prop::collection::vec((0..Reason::ALL.len(), 0u8..3, 0u64..900), 1..40)
}

proptest! {
    #[test]
    fn reconciling_and_stalled_are_never_both_true(steps in verdicts(), stall_secs in 1u64..1200) {
        let stall_after = Duration::from_secs(stall_secs);
        let mut now = clock().now;
        let mut live = Vec::new();
        let mut progress: Option<Progress> = None;
        for (i, variant, dt) in steps {
            now += Duration::from_secs(dt);
            let v = Verdict::new(Reason::ALL[i], format!("message {variant}"));
            let p = Progress::advance(progress.as_ref(), &live, &v, now, stall_after);
            let ph = phase(v.reason, p.is_overdue(now, stall_after));
            let next = make_conditions(&v, ph, stall_after, &live, now);
            let (ready, reconciling, stalled, reason) = triple(&next);
            prop_assert_eq!(reason, v.reason.as_str());
            prop_assert!(!(reconciling == "True" && stalled == "True"));
            if ready == "True" {
                prop_assert_eq!((reconciling.as_str(), stalled.as_str()), ("False", "False"));
            } else {
                prop_assert!((reconciling == "True") ^ (stalled == "True"));
            }
            live = next;
            progress = Some(p);
        }
    }

    #[test]
    fn an_unchanged_status_keeps_its_transition_times(i in 0..Reason::ALL.len(), gaps in prop::collection::vec(0u64..300, 1..10)) {
        let stall_after = Duration::from_secs(600);
        let v = Verdict::new(Reason::ALL[i], "same");
        let mut now = clock().now;
        let p = Progress::advance(None, &[], &v, now, stall_after);
        let first = make_conditions(&v, phase(v.reason, false), stall_after, &[], now);
        let mut live = first.clone();
        for gap in gaps {
            now += Duration::from_secs(gap);
            // Before the stall deadline the phase cannot change, so nothing may move.
            if p.is_overdue(now, stall_after) {
                break;
            }
            let next = make_conditions(&v, phase(v.reason, false), stall_after, &live, now);
            prop_assert_eq!(&next, &first);
            live = next;
        }
    }
}
