//! Leader election against a live Lease (issue 16): replicas run the syncer's own
//! `sync_elected` (kube-lease-manager) against the fake's `coordination.k8s.io/v1` Leases.
//! Only the holder writes; when it stops, another takes over within the Lease duration and
//! goes on; a holder cut off from the API server is replaced once its Lease has expired. Every
//! write is checked against the Lease as the server held it when the write arrived.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::Value;

use crate::fake::*;
use crate::harness::*;

/// Short, so that a takeover takes seconds; renewed every second.
const DURATION: Duration = Duration::from_secs(3);
const RENEW_BEFORE: Duration = Duration::from_secs(2);
/// kube-lease-manager waits up to a second after clearing an expired Lease before taking it.
const JITTER: Duration = Duration::from_secs(1);

const LEASE: &str = "/apis/coordination.k8s.io/v1/namespaces/layer/leases/layer-syncer";

fn identity(client: &str) -> String {
    format!("syncer-{client}")
}

/// The Lease writes of `client` that set `holderIdentity` to `holder` (`Null` for a release).
fn lease_writes(fake: &Fake, client: &str, holder: &Value) -> Vec<Recorded> {
    fake.requests()
        .into_iter()
        .filter(|r| {
            r.client == client
                && r.method == "PATCH"
                && r.path == LEASE
                && r.answered == 200
                && r.body["spec"].get("holderIdentity") == Some(holder)
        })
        .collect()
}

/// The renewals of `client` (patches of `renewTime` alone).
fn renewals(fake: &Fake, client: &str) -> usize {
    fake.requests()
        .iter()
        .filter(|r| {
            r.client == client
                && r.method == "PATCH"
                && r.path == LEASE
                && r.answered == 200
                && r.body["spec"].get("renewTime").is_some()
                && r.body["spec"].get("holderIdentity").is_none()
        })
        .count()
}

#[tokio::test]
async fn only_the_lease_holder_writes_and_another_replica_takes_over_when_it_stops() {
    let mut objects = pipeline_named("embed");
    objects.extend(pipeline_named("other"));
    let (_, fake) = Fake::start(objects, &[NODE_POOLS]);
    fake.set_write_latency(Duration::from_millis(20));

    // a takes the free Lease and writes both CRs; b stands by through a's renewals.
    let a = start_replica(fake.client("a"), "syncer-a", DURATION, RENEW_BEFORE);
    fake.wait_until("a holds the Lease", |f| {
        f.lease_holder().as_deref() == Some("syncer-a")
    })
    .await;
    fake.wait_until("a's first writes", |f| f.patch_total() == 2)
        .await;
    let b = start_replica(fake.client("b"), "syncer-b", DURATION, RENEW_BEFORE);
    fake.wait_until("b's caches", |_| b.ready.load(Ordering::SeqCst))
        .await;
    let renewed = renewals(&fake, "a");
    fake.wait_until("two renewals by a", |f| renewals(f, "a") >= renewed + 2)
        .await;
    fake.apply(DEPLOYMENTS, unavailable(deployment_of(&fake, "embed")));
    fake.wait_until("a writes the change", |f| {
        stored_reason(f, "embed") == worker_unavailable()
    })
    .await;

    // a stops: it releases the Lease after its last write; b takes it and writes the change
    // made meanwhile.
    a.shutdown().await;
    fake.apply(
        DEPLOYMENTS,
        available_deployment(deployment_of(&fake, "embed")),
    );
    fake.wait_until("b writes the change", |f| {
        stored_reason(f, "embed") == available()
    })
    .await;
    let released = lease_writes(&fake, "a", &Value::Null);
    assert_eq!(released.len(), 1, "a released the Lease once");
    let taken = lease_writes(&fake, "b", &Value::from("syncer-b"));
    assert_eq!(taken.len(), 1);
    let waited = taken[0].at - released[0].at;
    assert!(
        waited <= DURATION + JITTER,
        "b took the Lease {waited:?} after a released it"
    );

    // c joins; b is cut off from the API server (it cannot renew, nor write). c takes the
    // Lease once b's has expired, and writes the next change.
    let c = start_replica(fake.client("c"), "syncer-c", DURATION, RENEW_BEFORE);
    fake.wait_until("c's caches", |_| c.ready.load(Ordering::SeqCst))
        .await;
    fake.cut_off("b");
    fake.apply(DEPLOYMENTS, unavailable(deployment_of(&fake, "other")));
    fake.wait_until("c writes the change", |f| {
        stored_reason(f, "other") == worker_unavailable()
    })
    .await;
    let last_renewal = fake
        .requests()
        .into_iter()
        .filter(|r| r.client == "b" && r.method == "PATCH" && r.path == LEASE)
        .map(|r| r.at)
        .max()
        .unwrap();
    let taken = lease_writes(&fake, "c", &Value::from("syncer-c"));
    assert_eq!(taken.len(), 1);
    // b's Lease expired at most DURATION after its last renewal; c then clears it, waits up to
    // JITTER, and takes it.
    let waited = taken[0].at - last_renewal;
    assert!(
        waited <= DURATION + 2 * JITTER,
        "c took the Lease {waited:?} after b's last renewal"
    );
    c.shutdown().await;
    b.abort();

    // Every status and Event write came from the replica that held the unexpired Lease when it
    // arrived, and the writers never overlapped: each one's writes, answers included, ended
    // before the next one's began.
    let writes: Vec<Recorded> = fake
        .requests()
        .into_iter()
        .filter(|r| r.is_status_patch() || (r.method != "GET" && r.path.contains("/events")))
        .collect();
    for w in &writes {
        assert_eq!(
            w.holder,
            Some(identity(&w.client)),
            "{} {} by {} while the Lease was {:?}",
            w.method,
            w.path,
            w.client,
            w.holder
        );
    }
    let mut spans: BTreeMap<String, (std::time::Instant, std::time::Instant)> = BTreeMap::new();
    for w in &writes {
        let span = spans.entry(w.client.clone()).or_insert((w.at, w.done));
        span.0 = span.0.min(w.at);
        span.1 = span.1.max(w.done);
    }
    assert_eq!(spans.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
    assert!(spans["a"].1 <= spans["b"].0, "a and b wrote at once");
    assert!(spans["b"].1 <= spans["c"].0, "b and c wrote at once");
    // Exactly the writes the changes call for: a wrote both CRs and the first change, b the
    // second, c the third.
    let by_client = |c: &str| {
        writes
            .iter()
            .filter(|w| w.client == c && w.is_status_patch())
            .map(|w| (w.path.clone(), ready_reason(&w.body).1))
            .collect::<Vec<_>>()
    };
    let mut a_writes = by_client("a");
    a_writes.sort();
    assert_eq!(
        a_writes,
        [
            (status_path("embed"), "Available".to_string()),
            (status_path("embed"), "WorkerUnavailable".to_string()),
            (status_path("other"), "Available".to_string()),
        ]
    );
    assert_eq!(by_client("b"), [(status_path("embed"), "Available".into())]);
    assert_eq!(
        by_client("c"),
        [(status_path("other"), "WorkerUnavailable".into())]
    );
    fake.assert_only_status_was_mutated();
}

#[tokio::test]
async fn two_replicas_starting_together_elect_one_writer() {
    let (_, fake) = Fake::start(pipeline_named("embed"), &[NODE_POOLS]);
    let a = start_replica(fake.client("a"), "syncer-a", DURATION, RENEW_BEFORE);
    let b = start_replica(fake.client("b"), "syncer-b", DURATION, RENEW_BEFORE);
    fake.wait_until("a holder", |f| f.lease_holder().is_some())
        .await;
    let holder = fake.lease_holder().unwrap();
    fake.wait_until("the write", |f| f.patch_total() == 1).await;
    let renewer = holder.trim_start_matches("syncer-").to_string();
    let renewed = renewals(&fake, &renewer);
    fake.wait_until("two renewals", |f| renewals(f, &renewer) >= renewed + 2)
        .await;
    assert_eq!(fake.lease_holder(), Some(holder.clone()));
    // One of them took the Lease, once; the other never wrote.
    let taken: usize = ["a", "b"]
        .iter()
        .map(|c| lease_writes(&fake, c, &Value::from(identity(c))).len())
        .sum();
    assert_eq!(taken, 1);
    let writes: Vec<Recorded> = fake
        .requests()
        .into_iter()
        .filter(|r| r.is_status_patch() || (r.method != "GET" && r.path.contains("/events")))
        .collect();
    assert_eq!(writes.len(), 2, "one status and its Event");
    assert!(
        writes
            .iter()
            .all(|w| w.holder.as_deref() == Some(holder.as_str()) && identity(&w.client) == holder)
    );
    a.shutdown().await;
    b.shutdown().await;
    fake.assert_only_status_was_mutated();
}

#[tokio::test]
async fn the_fake_answers_lease_requests_as_the_api_server_does() {
    use k8s_openapi::api::coordination::v1::Lease;
    use kube::Api;
    use kube::api::{Patch, PatchParams, PostParams};

    let (client, fake) = Fake::start(Vec::new(), &[]);
    let leases: Api<Lease> = Api::namespaced(client, "layer");
    let code = |r: Result<Lease, kube::Error>| match r {
        Ok(_) => (200, String::new()),
        Err(kube::Error::Api(s)) => (s.code, s.reason),
        Err(e) => panic!("{e}"),
    };
    assert_eq!(code(leases.get("l").await), (404, "NotFound".into()));
    let new: Lease =
        serde_json::from_value(serde_json::json!({"metadata": {"name": "l"}})).unwrap();
    let created = leases.create(&PostParams::default(), &new).await.unwrap();
    assert_eq!(
        code(leases.create(&PostParams::default(), &new).await),
        (409, "AlreadyExists".into())
    );
    // Server-side apply: a second manager setting a field the first owns conflicts, unless
    // it forces; the same value is no conflict.
    let apply = |holder: &str| {
        Patch::Apply(
            serde_json::json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": 3}}),
        )
    };
    let as_manager = |m: &str| PatchParams::apply(m);
    assert_eq!(
        code(leases.patch("l", &as_manager("m1"), &apply("one")).await).0,
        200
    );
    assert_eq!(
        code(leases.patch("l", &as_manager("m2"), &apply("two")).await),
        (409, "Conflict".into())
    );
    assert_eq!(
        code(leases.patch("l", &as_manager("m2"), &apply("one")).await).0,
        200
    );
    assert_eq!(
        code(
            leases
                .patch("l", &as_manager("m2").force(), &apply("two"))
                .await
        )
        .0,
        200
    );
    // A strategic patch that nulls the holder frees the field for anyone's apply.
    let release = Patch::Strategic(serde_json::json!({"spec": {"holderIdentity": null}}));
    let update = PatchParams {
        field_manager: Some("m3".into()),
        ..PatchParams::default()
    };
    assert_eq!(code(leases.patch("l", &update, &release).await).0, 200);
    assert_eq!(
        code(leases.patch("l", &as_manager("m1"), &apply("one")).await).0,
        200
    );
    let stored = leases.get("l").await.unwrap();
    assert_eq!(stored.spec.unwrap().holder_identity.as_deref(), Some("one"));
    // A replace or a patch with a stale resourceVersion conflicts.
    assert_eq!(
        code(leases.replace("l", &PostParams::default(), &created).await),
        (409, "Conflict".into())
    );
    let stale = Patch::Merge(
        serde_json::json!({"metadata": {"resourceVersion": created.metadata.resource_version}, "spec": {"leaseDurationSeconds": 9}}),
    );
    assert_eq!(
        code(leases.patch("l", &update, &stale).await),
        (409, "Conflict".into())
    );
    let mut current = leases.get("l").await.unwrap();
    current.spec.as_mut().unwrap().lease_duration_seconds = Some(9);
    let replaced = leases
        .replace("l", &PostParams::default(), &current)
        .await
        .unwrap();
    assert_eq!(replaced.spec.unwrap().lease_duration_seconds, Some(9));
    assert_eq!(fake.objects(LEASES).len(), 1);
}
