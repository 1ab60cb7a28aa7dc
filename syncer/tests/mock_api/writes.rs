//! The write path at fleet scale (issue 16): writes run side by side up to
//! `--max-concurrent-writes`, never two at once for one CR; an update replaced before it was
//! sent is never sent; a 429's `Retry-After` delays the retry and holds every new write;
//! `--write-qps` spaces writes out. Times here are lower bounds the syncer must respect, never
//! performance (that is the bench's).

use std::time::{Duration, Instant};

use crate::fake::*;
use crate::harness::*;

/// The most requests of `requests` in flight at one moment (arrived, not yet answered).
fn most_in_flight(requests: &[Recorded]) -> usize {
    requests
        .iter()
        .map(|p| {
            requests
                .iter()
                .filter(|q| q.at <= p.at && p.at < q.done)
                .count()
        })
        .max()
        .unwrap_or(0)
}

fn status_patches(fake: &Fake) -> Vec<Recorded> {
    fake.requests()
        .into_iter()
        .filter(|r| r.is_status_patch())
        .collect()
}

#[tokio::test]
async fn writes_run_up_to_the_limit_at_once_and_never_two_for_one_cr() {
    let names: Vec<String> = (0..24).map(|i| format!("p-{i:02}")).collect();
    let objects = names.iter().flat_map(|n| pipeline_named(n)).collect();
    let (client, fake) = Fake::start(objects, &[NODE_POOLS]);
    fake.set_write_latency(Duration::from_millis(100));
    let mut cfg = config();
    cfg.max_concurrent_writes = 8;
    let run = start_with(client, true, cfg);
    fake.wait_until("every CR written", |f| f.patch_total() >= 24)
        .await;
    settle(&fake, &run).await;
    let counts = fake.patch_counts();
    assert_eq!(counts.len(), 24);
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    // All 24 updates were queued at once: the first 8 went out together, and never more.
    assert_eq!(most_in_flight(&status_patches(&fake)), 8);
    // Each CR's Event follows its write in the same slot.
    assert_eq!(fake.event_writes().len(), 24);
    let mut writes = status_patches(&fake);
    writes.extend(fake.event_writes());
    assert_eq!(most_in_flight(&writes), 8);
    assert_eq!(run.metric("layer_syncer_writes_in_flight"), 0.0);
    assert_eq!(run.metric("layer_syncer_write_queue_depth"), 0.0);
    assert_eq!(
        run.metric("layer_syncer_status_write_duration_seconds_count"),
        24.0
    );
    run.shutdown().await;
    fake.assert_only_status_was_mutated();
}

#[tokio::test]
async fn a_status_superseded_while_its_cr_is_written_is_never_sent() {
    let (client, fake) = Fake::start(pipeline_named("embed"), &[NODE_POOLS]);
    let run = start(client, true);
    fake.wait_until("the first write", |f| f.patch_total() == 1)
        .await;
    settle(&fake, &run).await;
    // The next write takes a second: the CR changes twice while it is in flight.
    fake.set_write_latency(Duration::from_secs(1));
    fake.apply(DEPLOYMENTS, unavailable(deployment_of(&fake, "embed")));
    let slow = fake.next_patch().await;
    assert_eq!(ready_reason(&slow.body), worker_unavailable());
    fake.apply(
        DEPLOYMENTS,
        available_deployment(deployment_of(&fake, "embed")),
    );
    fake.wait_until("the Available update queued", |_| {
        run.metric("layer_syncer_write_queue_depth") == 1.0
    })
    .await;
    fake.delete(DEPLOYMENTS, Some("shop"), "embed-worker");
    fake.wait_until("the Available update superseded", |_| {
        run.metric("layer_syncer_status_writes_superseded_total") == 1.0
    })
    .await;
    assert!(
        Instant::now() < slow.done,
        "the test was too slow to change the CR during the write"
    );
    let newest = fake.next_patch().await;
    assert_eq!(
        ready_reason(&newest.body),
        ("False".into(), "ChildMissing".into())
    );
    assert!(newest.at >= slow.done, "two writes in flight for one CR");
    fake.set_write_latency(Duration::ZERO);
    settle(&fake, &run).await;
    let sent: Vec<_> = status_patches(&fake)
        .iter()
        .map(|p| ready_reason(&p.body).1)
        .collect();
    assert_eq!(sent, ["Available", "WorkerUnavailable", "ChildMissing"]);
    // Events follow what the server saw: Ready went True, then False (and stayed False).
    let events: Vec<_> = fake
        .event_writes()
        .iter()
        .map(|e| e.body["reason"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(events, ["Available", "WorkerUnavailable"]);
    run.shutdown().await;
    fake.assert_only_status_was_mutated();
}

#[tokio::test]
async fn a_429_retry_after_delays_the_retry_and_holds_every_new_write() {
    let mut objects = pipeline_named("embed");
    objects.extend(pipeline_named("other"));
    let (client, fake) = Fake::start(objects, &[NODE_POOLS]);
    fake.fault_next_patch_of(&status_path("embed"), PatchFault::Throttled(1));
    let run = start(client, true);
    fake.wait_until("the 429 taken in", |_| {
        run.metric("layer_syncer_status_write_retries_total{code=\"429\"}") == 1.0
    })
    .await;
    // A change arrives while the server asked to wait: it waits too.
    fake.apply(DEPLOYMENTS, unavailable(deployment_of(&fake, "other")));
    fake.wait_until("the retry and the held write", |f| {
        f.patch_answers(&status_path("embed")) == [429, 200]
            && f.patch_answers(&status_path("other")) == [200, 200]
    })
    .await;
    let patches = status_patches(&fake);
    let throttled = patches.iter().find(|p| p.answered == 429).unwrap();
    let retry = patches
        .iter()
        .rfind(|p| p.path == status_path("embed"))
        .unwrap();
    let held = patches
        .iter()
        .rfind(|p| p.path == status_path("other"))
        .unwrap();
    assert_eq!(ready_reason(&held.body), worker_unavailable());
    for (what, p) in [("the retry", retry), ("the held write", held)] {
        let waited = p.at - throttled.at;
        assert!(waited >= Duration::from_secs(1), "{what} after {waited:?}");
    }
    assert_eq!(
        run.metric("layer_syncer_errors_total{source=\"status_write\",class=\"throttled\"}"),
        1.0
    );
    settle(&fake, &run).await;
    run.shutdown().await;
    fake.assert_only_status_was_mutated();
}

#[tokio::test]
async fn a_write_rate_cap_spaces_writes_out() {
    let mut objects = pipeline_named("a");
    objects.extend(pipeline_named("b"));
    objects.extend(pipeline_named("c"));
    let (client, fake) = Fake::start(objects, &[NODE_POOLS]);
    let mut cfg = config();
    cfg.write_qps = 5.0;
    cfg.write_burst = 1;
    let run = start_with(client, true, cfg);
    // Three statuses and three Events, one token each: 200 ms apart after the first.
    fake.wait_until("every write", |f| {
        f.patch_total() == 3 && f.event_writes().len() == 3
    })
    .await;
    let mut writes = status_patches(&fake);
    writes.extend(fake.event_writes());
    writes.sort_by_key(|w| w.at);
    let span = writes[5].at - writes[0].at;
    assert!(span >= Duration::from_millis(950), "six writes in {span:?}");
    settle(&fake, &run).await;
    run.shutdown().await;
    fake.assert_only_status_was_mutated();
}
