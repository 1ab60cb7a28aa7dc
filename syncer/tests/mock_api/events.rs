//! Kubernetes Events (issue 16): one on the CR when `Ready` changes and one when it becomes
//! `Stalled`, with the condition's reason and message, Warning for `Stalled` and `Ready=False`;
//! published through kube-runtime's recorder as `events.k8s.io/v1` Events, which the fake
//! validates as the API server does. A CR that flaps is aggregated into one Event per reason
//! (a series) and, past its allowance, sends no more.

use std::time::Duration;

use serde_json::{Value, json};

use crate::fake::*;
use crate::harness::*;

const UID: &str = "6f1f0e4c-58a3-4c36-9d59-0a4b3b1a9c11";

fn condition<'a>(status: &'a Value, type_: &str) -> &'a Value {
    status["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == type_)
        .unwrap()
}

/// `(type, action, reason, note)` of an Event body.
fn summary(e: &Value) -> (String, String, String, String) {
    let s = |f: &str| e[f].as_str().unwrap_or_default().to_string();
    (s("type"), s("action"), s("reason"), s("note"))
}

#[tokio::test]
async fn a_ready_change_and_a_stall_each_put_one_event_on_the_cr() {
    let mut objects = pipeline_named("embed");
    objects[0].1["metadata"]["uid"] = json!(UID);
    let (client, fake) = Fake::start(objects, &[NODE_POOLS]);
    let mut cfg = config();
    cfg.index.stall_after = Duration::from_secs(1);
    let run = start_with(client, true, cfg);

    // The first status: Ready (from no Ready at all, taken as Unknown).
    let first = fake.next_patch().await;
    fake.wait_until("the first event", |f| f.event_writes().len() == 1)
        .await;
    let created = &fake.event_writes()[0];
    assert_eq!(created.method, "POST");
    assert_eq!(
        created.path,
        "/apis/events.k8s.io/v1/namespaces/shop/events"
    );
    assert_eq!(created.answered, 201);
    let e = &created.body;
    let ready = condition(&first.body, "Ready");
    assert_eq!(
        summary(e),
        (
            "Normal".into(),
            "Ready".into(),
            "Available".into(),
            ready["message"].as_str().unwrap().into()
        )
    );
    assert_eq!(
        e["regarding"],
        json!({"apiVersion": "hevlayer.com/v1alpha1", "kind": "Pipeline", "namespace": "shop", "name": "embed", "uid": UID})
    );
    assert_eq!(e["reportingController"], "layer-syncer");
    assert_eq!(e["reportingInstance"], "layer-syncer-test");
    assert_eq!(e["metadata"]["namespace"], "shop");
    assert!(
        e["metadata"]["name"]
            .as_str()
            .unwrap()
            .starts_with("embed.")
    );
    assert!(e["eventTime"].is_string());

    // The worker goes down: Ready=False, a Warning.
    fake.apply(DEPLOYMENTS, unavailable(deployment_of(&fake, "embed")));
    let down = fake.next_patch().await;
    assert_eq!(ready_reason(&down.body), worker_unavailable());
    fake.wait_until("the second event", |f| f.event_writes().len() == 2)
        .await;
    assert_eq!(
        summary(&fake.event_writes()[1].body),
        (
            "Warning".into(),
            "Ready".into(),
            "WorkerUnavailable".into(),
            condition(&down.body, "Ready")["message"]
                .as_str()
                .unwrap()
                .into()
        )
    );

    // No progress for --stall-after: Stalled, a Warning with the Stalled message.
    let stalled = fake.next_patch().await;
    assert_eq!(condition(&stalled.body, "Stalled")["status"], "True");
    fake.wait_until("the third event", |f| f.event_writes().len() == 3)
        .await;
    let note = condition(&stalled.body, "Stalled")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(note.ends_with("No progress for 1s."), "{note}");
    assert_eq!(
        summary(&fake.event_writes()[2].body),
        (
            "Warning".into(),
            "Stalled".into(),
            "WorkerUnavailable".into(),
            note
        )
    );

    // Nothing else: three Events, each created once.
    settle(&fake, &run).await;
    let writes = fake.event_writes();
    assert_eq!(writes.len(), 3);
    assert!(
        writes
            .iter()
            .all(|w| w.method == "POST" && w.answered == 201)
    );
    assert_eq!(fake.objects(EVENTS).len(), 3);
    assert_eq!(
        run.metric("layer_syncer_events_total{type=\"Normal\",result=\"ok\"}"),
        1.0
    );
    assert_eq!(
        run.metric("layer_syncer_events_total{type=\"Warning\",result=\"ok\"}"),
        2.0
    );
    run.shutdown().await;
    fake.assert_only_status_was_mutated();
}

#[tokio::test]
async fn a_flapping_cr_is_aggregated_into_one_event_per_reason_then_held_to_its_allowance() {
    let (client, fake) = Fake::start(pipeline_named("embed"), &[NODE_POOLS]);
    let run = start(client, true);
    fake.next_patch().await;
    // The worker flaps 30 times; each state is written before the next.
    const FLAPS: usize = 30;
    for i in 1..=FLAPS {
        let d = deployment_of(&fake, "embed");
        let flipped = if i % 2 == 1 {
            unavailable(d)
        } else {
            available_deployment(d)
        };
        fake.apply(DEPLOYMENTS, flipped);
        let p = fake.next_patch().await;
        let expected = if i % 2 == 1 {
            worker_unavailable()
        } else {
            available()
        };
        assert_eq!(ready_reason(&p.body), expected, "flap {i}");
    }
    settle(&fake, &run).await;
    assert_eq!(fake.patch_total(), 1 + FLAPS);
    // 31 Ready changes. The first 25 (the CR's allowance) are sent: two Events created, the
    // other 23 counted into their series; the last 6 are suppressed.
    let writes = fake.event_writes();
    let posts = writes.iter().filter(|w| w.method == "POST").count();
    let patches = writes.iter().filter(|w| w.method == "PATCH").count();
    assert_eq!((posts, patches), (2, 23));
    assert!(
        writes
            .iter()
            .all(|w| w.answered == 200 || w.answered == 201)
    );
    let mut stored: Vec<(String, String, i64)> = fake
        .objects(EVENTS)
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["reason"].as_str().unwrap().to_string(),
                e["series"]["count"].as_i64().unwrap(),
            )
        })
        .collect();
    stored.sort();
    assert_eq!(
        stored,
        [
            ("Normal".into(), "Available".into(), 13),
            ("Warning".into(), "WorkerUnavailable".into(), 12),
        ]
    );
    for type_ in ["Normal", "Warning"] {
        assert_eq!(
            run.metric(&format!(
                "layer_syncer_events_total{{type=\"{type_}\",result=\"suppressed\"}}"
            )),
            3.0
        );
    }
    run.shutdown().await;
    fake.assert_only_status_was_mutated();
}

#[tokio::test]
async fn the_fake_validates_creates_and_patches_events_as_the_api_server_does() {
    use k8s_openapi::api::events::v1::Event;
    use kube::Api;
    use kube::api::{Patch, PatchParams, PostParams};

    let (client, fake) = Fake::start(Vec::new(), &[]);
    let events: Api<Event> = Api::namespaced(client.clone(), "shop");
    let event = |name: &str| -> Event {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "shop"},
            "eventTime": "2026-01-01T00:00:00.000000Z",
            "reportingController": "layer-syncer", "reportingInstance": "pod-1",
            "action": "Ready", "reason": "Available", "note": "ok", "type": "Normal",
            "regarding": {"apiVersion": "hevlayer.com/v1alpha1", "kind": "Pipeline", "namespace": "shop", "name": "embed"}
        }))
        .unwrap()
    };
    let code = |r: Result<Event, kube::Error>| match r {
        Ok(_) => (200, String::new()),
        Err(kube::Error::Api(s)) => (s.code, s.message),
        Err(e) => panic!("{e}"),
    };
    events
        .create(&PostParams::default(), &event("e1"))
        .await
        .unwrap();
    assert_eq!(
        code(events.create(&PostParams::default(), &event("e1")).await),
        (409, "events.events.k8s.io \"e1\" already exists".into())
    );
    let mut bad = event("e2");
    bad.action = None;
    bad.type_ = Some("Info".into());
    bad.note = Some("x".repeat(1025));
    assert_eq!(
        code(events.create(&PostParams::default(), &bad).await),
        (422, "Event.events.k8s.io \"e2\" is invalid: action: Required value, note: Too long: may not be more than 1024 bytes, type: Unsupported value: \"Info\": supported values: \"Normal\", \"Warning\"".into())
    );
    // An Event about an object in another namespace belongs there.
    let elsewhere: Api<Event> = Api::namespaced(client.clone(), "other");
    let mut moved = event("e3");
    moved.metadata.namespace = Some("other".into());
    assert_eq!(
        code(elsewhere.create(&PostParams::default(), &moved).await).0,
        422
    );
    // A series is a merge patch; a missing Event is a 404.
    let series = Patch::Merge(
        json!({"series": {"count": 2, "lastObservedTime": "2026-01-01T00:01:00.000000Z"}}),
    );
    let patched = events
        .patch("e1", &PatchParams::default(), &series)
        .await
        .unwrap();
    assert_eq!(patched.series.unwrap().count, 2);
    assert_eq!(
        code(events.patch("nope", &PatchParams::default(), &series).await).0,
        404
    );
    let bad_series = Patch::Merge(
        json!({"series": {"count": 1, "lastObservedTime": "2026-01-01T00:01:00.000000Z"}}),
    );
    assert_eq!(
        code(
            events
                .patch("e1", &PatchParams::default(), &bad_series)
                .await
        )
        .0,
        422
    );
    assert_eq!(fake.objects(EVENTS).len(), 1);
}
