//! The API server misbehaving: restarts (connections reset and refused, then back with the
//! same or with changed state), watch streams cut in the middle of an event, `410 Gone` on
//! watches and on list continuations, status patch conflicts, answers slower than
//! `--api-timeout`, and a CR deleted while its status is written.
//!
//! After each fault the syncer must converge to the right status with an exact number of
//! status patches per CR (counted where the server received them), mutate nothing but
//! `/status`, and keep running.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;

use crate::fake::*;
use crate::harness::*;

const OTHER_STATUS: &str = "/apis/hevlayer.com/v1alpha1/namespaces/shop/pipelines/other/status";
const FRESH_STATUS: &str = "/apis/hevlayer.com/v1alpha1/namespaces/shop/pipelines/fresh/status";
const DOOMED_STATUS: &str = "/apis/hevlayer.com/v1alpha1/namespaces/shop/pipelines/doomed/status";

/// Every collection the syncer watches in these tests (the Karpenter CRD is missing).
const WATCHED: [&str; 10] = [
    PIPELINES,
    FUNCTIONS,
    VECTOR_STORES,
    INDEXES,
    INFRA_RULES,
    DEPLOYMENTS,
    SERVICES,
    SCALED_OBJECTS,
    TRIGGER_AUTHS,
    STATEFUL_SETS,
];

async fn first_sync(fake: &Fake, run: &Running, patches: usize) {
    fake.wait_until("the first writes", |f| f.patch_total() >= patches)
        .await;
    assert!(run.ready.load(Ordering::SeqCst));
    settle(fake, run).await;
}

#[tokio::test]
async fn an_api_server_restart_with_the_same_state_resumes_every_watch_and_writes_nothing() {
    let (client, fake) = Fake::start(live_pipeline(PIPELINE), &[NODE_POOLS]);
    let run = start(client, true);
    first_sync(&fake, &run, 1).await;
    fake.down();
    // Every watch was reset and tries to come back; the server refuses.
    fake.wait_until("refused watches", |f| {
        f.refused().iter().filter(|(m, _)| m == "GET").count() >= WATCHED.len()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    fake.up();
    fake.wait_until("every watch back", |f| {
        WATCHED.iter().all(|c| f.open_watches_of(c) == 1)
    })
    .await;
    settle(&fake, &run).await;
    // Resumed from the last resourceVersion: no relist, no write.
    for c in WATCHED {
        assert_eq!(fake.lists_of(c), 1, "{c} was listed again");
    }
    assert_eq!(fake.patch_answers(EMBED_STATUS), [200]);
    assert_eq!(stored_reason(&fake, "embed"), available());
    run.shutdown().await;
    fake.assert_only_status_was_mutated();
}

/// Three Pipelines synced; then, while the server is down, embed's worker loses its replica,
/// doomed and its children are pruned and fresh is applied, and the restarted server's watch
/// cache starts after all that (watches from before get 410). The collections come back in
/// the order of `groups` (each group relists and settles before the next), then the rest.
async fn restart_with_changed_state(groups: &[&[&str]]) -> (Fake, Running) {
    let mut objects = live_pipeline(PIPELINE);
    objects.extend(pipeline_named("other"));
    objects.extend(pipeline_named("doomed"));
    let (client, fake) = Fake::start(objects, &[NODE_POOLS]);
    let run = start(client, true);
    first_sync(&fake, &run, 3).await;
    assert_eq!(run.metric("layer_syncer_tracked_objects"), 3.0);
    fake.down();
    fake.apply(DEPLOYMENTS, unavailable(deployment_of(&fake, "embed")));
    fake.delete(PIPELINES, Some("shop"), "doomed");
    for c in [DEPLOYMENTS, SCALED_OBJECTS, TRIGGER_AUTHS] {
        fake.delete(c, Some("shop"), "doomed-worker");
    }
    for (c, o) in pipeline_named("fresh") {
        fake.apply(c, o);
    }
    fake.compact();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut back: Vec<&str> = Vec::new();
    for group in groups {
        back.extend(group.iter());
        let later: Vec<&str> = WATCHED
            .iter()
            .copied()
            .filter(|c| !back.contains(c))
            .collect();
        fake.up_except(&later);
        fake.wait_until("a group's relists", |f| {
            group.iter().all(|c| f.lists_of(c) == 2)
        })
        .await;
        settle(&fake, &run).await;
    }
    fake.up();
    fake.wait_until("every relist", |f| {
        WATCHED.iter().all(|c| f.lists_of(c) == 2)
    })
    .await;
    settle(&fake, &run).await;
    assert_eq!(fake.patch_answers(EMBED_STATUS), [200, 200]);
    assert_eq!(fake.patch_answers(OTHER_STATUS), [200]);
    assert_eq!(stored_reason(&fake, "embed"), worker_unavailable());
    assert_eq!(stored_reason(&fake, "other"), available());
    assert_eq!(stored_reason(&fake, "fresh"), available());
    // The deletion the relist hid is forgotten.
    assert_eq!(run.metric("layer_syncer_tracked_objects"), 3.0);
    (fake, run)
}

/// The `Ready` reason and message of each write to `path`.
fn written(fake: &Fake, path: &str) -> Vec<(String, String)> {
    fake.requests()
        .iter()
        .filter(|r| r.method == "PATCH" && r.path == path)
        .map(|r| {
            let c = &r.body["status"]["conditions"][0];
            (
                c["reason"].as_str().unwrap().to_string(),
                c["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_api_server_restart_with_changed_state_relists_and_writes_once_per_change() {
    // The Pipelines come back first, then each kind of child: fresh is written once for each
    // state the syncer sees (three children missing, two, one, none), embed once, other never.
    let (fake, run) = restart_with_changed_state(&[
        &[PIPELINES],
        &[DEPLOYMENTS],
        &[SCALED_OBJECTS],
        &[TRIGGER_AUTHS],
    ])
    .await;
    assert_eq!(fake.patch_answers(DOOMED_STATUS), [200]);
    let fresh = written(&fake, FRESH_STATUS);
    let reasons: Vec<&str> = fresh.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        reasons,
        ["ChildMissing", "ChildMissing", "ChildMissing", "Available"]
    );
    assert!(fresh[0].1.starts_with("Pipeline/fresh: Deployment/fresh-worker, TriggerAuthentication/fresh-worker, ScaledObject/fresh-worker not found"), "{}", fresh[0].1);
    assert!(fresh[1].1.starts_with("Pipeline/fresh: TriggerAuthentication/fresh-worker, ScaledObject/fresh-worker not found"), "{}", fresh[1].1);
    assert!(
        fresh[2]
            .1
            .starts_with("Pipeline/fresh: TriggerAuthentication/fresh-worker not found"),
        "{}",
        fresh[2].1
    );
    assert_eq!(fake.patch_answers(FRESH_STATUS), [200, 200, 200, 200]);
    run.shutdown().await;
    fake.assert_only_status_was_mutated();
}

#[tokio::test]
async fn after_a_restart_a_cr_deleted_meanwhile_gets_at_most_one_write_answered_404() {
    // The children's watches resync first, so doomed's children are gone while the stale
    // Pipelines cache still holds doomed: one write of ChildMissing, answered 404, never
    // repeated. fresh is seen with all its children at once: one write.
    let (fake, run) =
        restart_with_changed_state(&[&[DEPLOYMENTS, SCALED_OBJECTS, TRIGGER_AUTHS]]).await;
    assert_eq!(fake.patch_answers(DOOMED_STATUS), [200, 404]);
    assert_eq!(written(&fake, DOOMED_STATUS)[1].0, "ChildMissing");
    assert_eq!(fake.patch_answers(FRESH_STATUS), [200]);
    assert_eq!(
        run.metric("layer_syncer_errors_total{source=\"status_write\",class=\"gone\"}"),
        1.0
    );
    run.shutdown().await;
    fake.assert_only_status_was_mutated();
}

#[tokio::test]
async fn a_write_refused_while_the_server_is_down_is_applied_once_when_it_is_back() {
    let (client, fake) = Fake::start(live_pipeline(PIPELINE), &[NODE_POOLS]);
    fake.fault_next_patch_of(EMBED_STATUS, PatchFault::GoDown);
    let run = start(client, true);
    fake.wait_until("the refused write", |f| {
        f.refused()
            .iter()
            .any(|(m, p)| m == "PATCH" && p == EMBED_STATUS)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused_writes = fake
        .refused()
        .iter()
        .filter(|(m, p)| m == "PATCH" && p == EMBED_STATUS)
        .count();
    assert!(
        refused_writes >= 2,
        "the writer kept retrying: {refused_writes}"
    );
    fake.up();
    let p = fake.next_patch().await;
    assert_eq!(p.path, EMBED_STATUS);
    assert_eq!(ready_reason(&p.body), available());
    settle(&fake, &run).await;
    assert_eq!(fake.patch_answers(EMBED_STATUS), [200]);
    assert!(
        run.metric("layer_syncer_errors_total{source=\"status_write\",class=\"transport\"}") >= 2.0
    );
    run.shutdown().await;
    fake.assert_only_status_was_mutated();
}

#[tokio::test]
async fn a_watch_cut_in_the_middle_of_an_event_resumes_and_the_event_is_not_lost() {
    let (client, fake) = Fake::start(live_pipeline(PIPELINE), &[NODE_POOLS]);
    let run = start(client, true);
    first_sync(&fake, &run, 1).await;
    // The worker loses its replica; the connection breaks 40 bytes into that event.
    fake.hold(DEPLOYMENTS);
    fake.apply(DEPLOYMENTS, unavailable(deployment_of(&fake, "embed")));
    fake.send_partial_newest_event(DEPLOYMENTS, 40);
    fake.cut(DEPLOYMENTS);
    fake.release(DEPLOYMENTS);
    let p = fake.next_patch().await;
    assert_eq!(p.path, EMBED_STATUS);
    assert_eq!(ready_reason(&p.body), worker_unavailable());
    settle(&fake, &run).await;
    // The watch resumed from its last resourceVersion (no relist) and got the event again.
    assert_eq!(fake.lists_of(DEPLOYMENTS), 1);
    assert_eq!(fake.watches_of(DEPLOYMENTS), 2);
    assert_eq!(fake.patch_answers(EMBED_STATUS), [200, 200]);
    run.shutdown().await;
    fake.assert_only_status_was_mutated();
}

#[tokio::test]
async fn a_watch_reset_in_the_middle_of_an_event_resumes_and_the_event_is_not_lost() {
    let (client, fake) = Fake::start(live_pipeline(PIPELINE), &[NODE_POOLS]);
    let run = start(client, true);
    first_sync(&fake, &run, 1).await;
    fake.hold(DEPLOYMENTS);
    fake.apply(DEPLOYMENTS, unavailable(deployment_of(&fake, "embed")));
    fake.send_partial_newest_event(DEPLOYMENTS, 40);
    fake.down();
    fake.up();
    fake.release(DEPLOYMENTS);
    let p = fake.next_patch().await;
    assert_eq!(ready_reason(&p.body), worker_unavailable());
    settle(&fake, &run).await;
    assert_eq!(fake.lists_of(DEPLOYMENTS), 1);
    assert_eq!(fake.patch_answers(EMBED_STATUS), [200, 200]);
    run.shutdown().await;
    fake.assert_only_status_was_mutated();
}

#[tokio::test]
async fn a_relist_after_410_gone_that_hides_a_deletion_forgets_the_cr() {
    let mut objects = live_pipeline(PIPELINE);
    objects.extend(pipeline_named("doomed"));
    let (client, fake) = Fake::start(objects, &[NODE_POOLS]);
    let run = start(client, true);
    first_sync(&fake, &run, 2).await;
    assert_eq!(run.metric("layer_syncer_tracked_objects"), 2.0);
    // The Pipelines watch drops; meanwhile doomed is deleted and the history compacted, so
    // the watch's resourceVersion is too old: 410 inside the stream, then a relist.
    fake.hold(PIPELINES);
    fake.delete(PIPELINES, Some("shop"), "doomed");
    fake.compact();
    fake.cut(PIPELINES);
    fake.release(PIPELINES);
    fake.wait_until("the relist", |f| f.lists_of(PIPELINES) == 2)
        .await;
    fake.wait_until("the index to forget doomed", |_| {
        run.metric("layer_syncer_tracked_objects") == 1.0
    })
    .await;
    settle(&fake, &run).await;
    assert_eq!(fake.patch_answers(EMBED_STATUS), [200]);
    assert_eq!(fake.patch_answers(DOOMED_STATUS), [200]);
    assert_eq!(
        run.metric("layer_syncer_errors_total{source=\"pipelines\",class=\"watch\"}"),
        1.0
    );
    run.shutdown().await;
    fake.assert_only_status_was_mutated();
}

#[tokio::test]
async fn an_expired_continue_token_restarts_the_list_and_the_syncer_converges() {
    let mut objects = live_pipeline(PIPELINE);
    // 600 rendered Services of Pipelines that do not exist: two pages of 500.
    let service = json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"namespace": "shop", "labels": {
            "app.kubernetes.io/managed-by": "layer-render",
            "layer.hev.dev/owner-kind": "Pipeline"}},
        "spec": {"ports": [{"port": 9000}]}});
    for i in 0..600 {
        let mut s = service.clone();
        s["metadata"]["name"] = json!(format!("gone-{i:03}-worker"));
        s["metadata"]["labels"]["layer.hev.dev/owner-name"] = json!(format!("gone-{i:03}"));
        objects.push((SERVICES, s));
    }
    let (client, fake) = Fake::start(objects, &[NODE_POOLS]);
    fake.fault_next_list_of(SERVICES, ListFault::ExpireContinue);
    let run = start(client, true);
    first_sync(&fake, &run, 1).await;
    let pages: Vec<(String, u16)> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path == SERVICES && !r.query.contains("watch"))
        .map(|r| {
            let q = query_params(&r.query);
            (q.get("continue").cloned().unwrap_or_default(), r.answered)
        })
        .collect();
    assert_eq!(pages.len(), 4, "{pages:?}");
    assert_eq!(pages[0].0, "");
    assert_eq!(pages[1].1, 410, "the expired token");
    assert_eq!(pages[2], (String::new(), 200), "a new list from the start");
    assert_eq!(pages[3].1, 200);
    assert!(
        fake.requests()
            .iter()
            .filter(|r| r.path == SERVICES && !r.query.contains("watch"))
            .all(|r| query_params(&r.query)["limit"] == "500")
    );
    assert_eq!(fake.patch_answers(EMBED_STATUS), [200]);
    run.shutdown().await;
    fake.assert_only_status_was_mutated();
}

#[tokio::test]
async fn a_conflict_is_retried_with_the_newest_status_and_written_once() {
    let (client, fake) = Fake::start(live_pipeline(PIPELINE), &[NODE_POOLS]);
    fake.fault_next_patch_of(EMBED_STATUS, PatchFault::Status(409));
    let mut cfg = config();
    cfg.backoff.initial = Duration::from_millis(400);
    let run = start_with(client, true, cfg);
    let conflict = fake.next_patch().await;
    assert_eq!(conflict.answered, 409);
    assert_eq!(ready_reason(&conflict.body), available());
    // While the writer backs off, the worker loses its replica: the retry carries that.
    fake.apply(DEPLOYMENTS, unavailable(deployment_of(&fake, "embed")));
    let retry = fake.next_patch().await;
    assert_eq!(retry.answered, 200);
    assert_eq!(ready_reason(&retry.body), worker_unavailable());
    settle(&fake, &run).await;
    assert_eq!(fake.patch_answers(EMBED_STATUS), [409, 200]);
    assert_eq!(stored_reason(&fake, "embed"), worker_unavailable());
    assert_eq!(
        run.metric("layer_syncer_errors_total{source=\"status_write\",class=\"conflict\"}"),
        1.0
    );
    run.shutdown().await;
    fake.assert_only_status_was_mutated();
}

#[tokio::test]
async fn a_slow_write_that_was_applied_is_not_sent_again_after_the_timeout() {
    // Regression: a write that timed out was always retried, even after the watch had shown
    // it applied; the retry was a second, useless apply.
    let (client, fake) = Fake::start_with_timeout(
        live_pipeline(PIPELINE),
        &[NODE_POOLS],
        Duration::from_millis(300),
    );
    fake.fault_next_patch_of(EMBED_STATUS, PatchFault::Slow(Duration::from_millis(1500)));
    // A backoff longer than the trip of the write's echo through the watch, even on a busy
    // machine.
    let mut cfg = config();
    cfg.backoff.initial = Duration::from_millis(500);
    let run = start_with(client, true, cfg);
    let p = fake.next_patch().await;
    assert_eq!(ready_reason(&p.body), available());
    fake.wait_until("the timeout", |_| {
        run.metric("layer_syncer_errors_total{source=\"status_write\",class=\"timeout\"}") == 1.0
    })
    .await;
    // Past the slow answer, and several resyncs later: still one write.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    settle(&fake, &run).await;
    assert_eq!(fake.patch_answers(EMBED_STATUS), [200]);
    assert_eq!(stored_reason(&fake, "embed"), available());
    run.shutdown().await;
    fake.assert_only_status_was_mutated();
}

#[tokio::test]
async fn a_write_stuck_beyond_the_timeout_is_retried_and_applied_once() {
    let (client, fake) = Fake::start_with_timeout(
        live_pipeline(PIPELINE),
        &[NODE_POOLS],
        Duration::from_millis(300),
    );
    fake.fault_next_patch_of(EMBED_STATUS, PatchFault::Stuck(Duration::from_secs(5)));
    let run = start(client, true);
    let stuck = fake.next_patch().await;
    let retry = fake.next_patch().await;
    assert_eq!(retry.path, EMBED_STATUS);
    let waited = retry.at - stuck.at;
    assert!(
        waited >= Duration::from_millis(300),
        "retried after {waited:?}"
    );
    assert_eq!(ready_reason(&retry.body), available());
    settle(&fake, &run).await;
    // The first one is still unanswered (its 504 comes after the client gave up).
    assert_eq!(fake.patch_answers(EMBED_STATUS), [504, 200]);
    assert_eq!(stored_reason(&fake, "embed"), available());
    assert_eq!(
        run.metric("layer_syncer_errors_total{source=\"status_write\",class=\"timeout\"}"),
        1.0
    );
    run.shutdown().await;
    fake.assert_only_status_was_mutated();
}

#[tokio::test]
async fn a_list_that_never_answers_is_retried_after_the_api_timeout() {
    // Regression: without a request timeout, one list the server never answered stopped its
    // watcher for good, and the syncer never became ready.
    let (client, fake) = Fake::start_with_timeout(
        live_pipeline(PIPELINE),
        &[NODE_POOLS],
        Duration::from_millis(300),
    );
    fake.fault_next_list_of(PIPELINES, ListFault::SlowHead(Duration::from_secs(3600)));
    fake.fault_next_list_of(
        DEPLOYMENTS,
        ListFault::StalledBody(Duration::from_secs(3600)),
    );
    let run = start(client, true);
    let p = fake.next_patch().await;
    assert_eq!(p.path, EMBED_STATUS);
    assert_eq!(ready_reason(&p.body), available());
    settle(&fake, &run).await;
    assert_eq!(fake.lists_of(PIPELINES), 2);
    assert_eq!(fake.lists_of(DEPLOYMENTS), 2);
    assert_eq!(
        run.metric("layer_syncer_errors_total{source=\"pipelines\",class=\"watch\"}"),
        1.0
    );
    assert_eq!(
        run.metric("layer_syncer_errors_total{source=\"deployments\",class=\"watch\"}"),
        1.0
    );
    assert_eq!(fake.patch_answers(EMBED_STATUS), [200]);
    run.shutdown().await;
    fake.assert_only_status_was_mutated();
}

#[tokio::test]
async fn a_cr_deleted_while_its_status_is_written_gets_one_404_and_is_forgotten() {
    // Regression: a 404 made the index forget the write, so every resync and every child
    // event before the watch delivered the deletion sent it again (a 404 storm).
    let mut objects = live_pipeline(PIPELINE);
    objects.extend(pipeline_named("other"));
    let (client, fake) = Fake::start(objects, &[NODE_POOLS]);
    fake.fault_next_patch_of(EMBED_STATUS, PatchFault::DeleteFirst);
    // The Pipelines watch lags: the deletion reaches the syncer only when released.
    fake.hold(PIPELINES);
    let run = start(client, true);
    fake.wait_until("the 404", |f| f.patch_answers(EMBED_STATUS) == [404])
        .await;
    // GitOps prunes the children too; their deletions arrive first.
    for c in [DEPLOYMENTS, SCALED_OBJECTS, TRIGGER_AUTHS] {
        fake.delete(c, Some("shop"), "embed-worker");
    }
    let resyncs = run.metric("layer_syncer_resyncs_total");
    fake.wait_until("five resyncs", |_| {
        run.metric("layer_syncer_resyncs_total") >= resyncs + 5.0
    })
    .await;
    assert_eq!(fake.patch_answers(EMBED_STATUS), [404]);
    assert_eq!(
        run.metric("layer_syncer_errors_total{source=\"status_write\",class=\"gone\"}"),
        1.0
    );
    assert_eq!(run.metric("layer_syncer_tracked_objects"), 2.0);
    fake.release(PIPELINES);
    fake.wait_until("the index to forget embed", |_| {
        run.metric("layer_syncer_tracked_objects") == 1.0
    })
    .await;
    settle(&fake, &run).await;
    assert_eq!(fake.patch_answers(EMBED_STATUS), [404]);
    assert_eq!(fake.patch_answers(OTHER_STATUS), [200]);
    assert_eq!(stored_reason(&fake, "other"), available());
    run.shutdown().await;
    fake.assert_only_status_was_mutated();
}
