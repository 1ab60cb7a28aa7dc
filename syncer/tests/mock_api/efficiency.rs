//! Exact write counts over a thousand workloads and their rendered children (issue 8, item 5),
//! against a server that takes 10 ms per write (issue 16): the initial sync writes one status
//! per CR, concurrently, and one Event per CR whose first `Ready` is not `Unknown`; a resync
//! with nothing changed writes none; one Deployment becoming available writes once, to its
//! parent, with one Event. No timings here: the bench (`syncer/examples/efficiency.rs`)
//! measures them at 1,000 and 10,000.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::fake::*;
use crate::harness::*;
use crate::world::{ready_of, world};

/// Waits for `n` more full evaluations.
async fn resyncs(fake: &Fake, run: &Running, n: f64) {
    let from = run.metric("layer_syncer_resyncs_total");
    fake.wait_until_for("resyncs", Duration::from_secs(60), |_| {
        run.metric("layer_syncer_resyncs_total") >= from + n
    })
    .await;
}

#[tokio::test]
async fn a_thousand_workloads_get_one_write_each_a_quiet_resync_none_and_a_child_change_one() {
    let w = world(1000);
    let crs = w.expected.len();
    assert_eq!(crs, 1000 + 50 + 2 + 1);
    let (client, fake) = Fake::start(w.objects.clone(), &[NODE_POOLS]);
    fake.set_write_latency(Duration::from_millis(10));
    let mut cfg = config();
    cfg.resync = Duration::from_millis(300);
    let run = start_with(client, true, cfg);

    // Initial sync: one write per CR, each with the status its cluster state calls for.
    fake.wait_until_for("one write per CR", Duration::from_secs(60), |f| {
        f.patch_total() >= crs
    })
    .await;
    resyncs(&fake, &run, 2.0).await;
    let counts = fake.patch_counts();
    assert_eq!(counts.len(), crs, "every CR written");
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "written more than once: {twice:?}");
    let mut wrong = BTreeMap::new();
    for r in fake.requests().iter().filter(|r| r.method == "PATCH") {
        assert_eq!(r.answered, 200);
        let expected = &w.expected[&r.path];
        if &ready_of(&r.body) != expected {
            wrong.insert(r.path.clone(), (ready_of(&r.body), expected.clone()));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    // Writes ran side by side, never two at once for one CR.
    let patches: Vec<Recorded> = fake
        .requests()
        .into_iter()
        .filter(|r| r.is_status_patch())
        .collect();
    let most = patches
        .iter()
        .map(|p| {
            patches
                .iter()
                .filter(|q| q.at <= p.at && p.at < q.done)
                .count()
        })
        .max()
        .unwrap();
    assert!(most > 1, "writes were sequential");
    assert!(most <= 64, "{most} writes in flight");
    // One Event per CR whose first Ready is True or False (here every CR: no probes, so no
    // VectorStore waits Unknown), each a new Event.
    let announced = w.expected.values().filter(|(s, _)| s != "Unknown").count();
    // Events go out beside the status writes; on a loaded machine the last few can still be
    // on their way after the resyncs. Wait for them, then count exactly.
    fake.wait_until_for("one Event per announced CR", Duration::from_secs(60), |f| {
        f.event_writes().len() >= announced
    })
    .await;
    let events = fake.event_writes();
    assert_eq!(events.len(), announced);
    assert!(
        events
            .iter()
            .all(|e| e.method == "POST" && e.answered == 201)
    );

    // Resyncs with nothing changed: no write.
    let before = fake.patch_total();
    resyncs(&fake, &run, 2.0).await;
    assert_eq!(fake.patch_total(), before);

    // The laggard's Deployment gets its replica: one write, to its parent.
    fake.drain_patches().await;
    fake.apply(DEPLOYMENTS, w.laggard_available.clone());
    let p = fake.next_patch().await;
    assert_eq!(p.path, w.laggard_parent);
    assert_eq!(ready_of(&p.body), ("True".into(), "Available".into()));
    resyncs(&fake, &run, 2.0).await;
    assert_eq!(fake.patch_total(), before + 1);
    let events = fake.event_writes();
    assert_eq!(events.len(), announced + 1);
    let last = events.last().unwrap();
    assert_eq!(
        (last.body["type"].as_str(), last.body["reason"].as_str()),
        (Some("Normal"), Some("Available"))
    );
    assert_eq!(fake.patch_answers(&w.laggard_parent), [200, 200]);
    assert_eq!(run.metric("layer_syncer_tracked_objects"), crs as f64);
    run.shutdown().await;
    fake.assert_only_status_was_mutated();
}
