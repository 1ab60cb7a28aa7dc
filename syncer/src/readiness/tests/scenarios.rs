//! One real evaluation per reason (plus the escalated and never-evaluated shapes): the set of
//! statuses the readiness functions can produce, as whole CR JSON. The Argo CD health check and
//! `docs/status.md` are checked against this list, and a test holds it complete.

use std::collections::BTreeSet;

use layer_render::api::pools::builtin_pools;
use layer_render::api::{ComputePool, VectorStore};
use serde::Serialize;
use serde_json::{Value, json};

use crate::readiness::endpoint::ProbeState;
use crate::readiness::fixtures::*;
use crate::readiness::infra_rules::InfraEnv;
use crate::readiness::vector_store::SecretState;
use crate::readiness::workload::{Children, WorkloadEnv};
use crate::readiness::{
    Assessment, Clock, HevStatus, Reason, finish, function, index, infra_rules, pipeline,
    vector_store,
};

/// One CR with a status the syncer can write.
pub struct Scenario {
    /// What it shows.
    pub name: String,
    /// The Ready reason, `None` for a CR the syncer has not evaluated.
    pub reason: Option<Reason>,
    /// The whole CR as the API server would return it.
    pub object: Value,
}

fn with_status<K: Serialize, S: HevStatus>(cr: &K, a: Assessment<S>, overdue: bool) -> Value {
    let first = finish(a.clone(), Some(1), &[], None, clock());
    let status = if overdue {
        finish(
            a,
            Some(1),
            first.0.conditions(),
            Some(&first.1),
            later(3600),
        )
        .0
    } else {
        first.0
    };
    let mut v = serde_json::to_value(cr).unwrap();
    v["metadata"]["generation"] = json!(1);
    v["status"] = serde_json::to_value(status).unwrap();
    v
}

fn push(out: &mut Vec<Scenario>, cr: Value) {
    let reason_str = cr["status"]["conditions"][0]["reason"]
        .as_str()
        .unwrap()
        .to_string();
    let reason = Reason::ALL
        .iter()
        .copied()
        .find(|r| r.as_str() == reason_str);
    let stalled = cr["status"]["conditions"][2]["status"] == "True";
    out.push(Scenario {
        name: format!(
            "{} {reason_str}{}",
            cr["kind"].as_str().unwrap(),
            if stalled { " (stalled)" } else { "" }
        ),
        reason,
        object: cr,
    });
}

/// Every status shape.
pub fn all() -> Vec<Scenario> {
    let mut out = Vec::new();
    workloads(&mut out);
    stores(&mut out);
    infra(&mut out);
    // Never evaluated: no status at all.
    let mut fresh = serde_json::to_value(rendered(PIPELINE).pipeline("embed")).unwrap();
    fresh.as_object_mut().unwrap().remove("status");
    out.push(Scenario {
        name: "Pipeline without status".into(),
        reason: None,
        object: fresh,
    });
    // Evaluated for generation 1, but the spec is at generation 2 now.
    let mut behind = out[0].object.clone();
    behind["metadata"]["generation"] = json!(2);
    out.push(Scenario {
        name: "Pipeline Available for an old generation".into(),
        reason: None,
        object: behind,
    });
    out
}

fn workloads(out: &mut Vec<Scenario>) {
    let r = rendered(PIPELINE);
    let cr = r.pipeline("embed");
    let pools = builtin_pools();
    let env = WorkloadEnv {
        pools: &pools,
        max_replicas_ceiling: 100,
        keda_installed: true,
    };
    let (d, so, ta) = (
        r.deployment("embed-worker", 1),
        r.scaled_object("embed-worker", "True"),
        r.trigger_authentication("embed-worker"),
    );
    let full = Children {
        deployment: Some(&d),
        scaled_object: Some(&so),
        trigger_authentication: Some(&ta),
        service: None,
    };
    push(
        out,
        with_status(&cr, pipeline::assess(&cr, &full, &env), false),
    );
    let no_so = Children {
        scaled_object: None,
        ..full
    };
    push(
        out,
        with_status(&cr, pipeline::assess(&cr, &no_so, &env), false),
    );
    push(
        out,
        with_status(&cr, pipeline::assess(&cr, &no_so, &env), true),
    );
    let mut edited = cr.clone();
    edited.spec.worker.image = "x".into();
    push(
        out,
        with_status(&edited, pipeline::assess(&edited, &full, &env), false),
    );
    push(
        out,
        with_status(&edited, pipeline::assess(&edited, &full, &env), true),
    );
    let mut rolling = d.clone();
    rolling.metadata.generation = Some(2);
    push(
        out,
        with_status(
            &cr,
            pipeline::assess(
                &cr,
                &Children {
                    deployment: Some(&rolling),
                    ..full
                },
                &env,
            ),
            false,
        ),
    );
    let mut down = d.clone();
    rolled_out(&mut down, 1, 0);
    push(
        out,
        with_status(
            &cr,
            pipeline::assess(
                &cr,
                &Children {
                    deployment: Some(&down),
                    ..full
                },
                &env,
            ),
            false,
        ),
    );
    push(
        out,
        with_status(
            &cr,
            pipeline::assess(
                &cr,
                &Children {
                    deployment: Some(&down),
                    ..full
                },
                &env,
            ),
            true,
        ),
    );
    let so_bad = r.scaled_object("embed-worker", "False");
    push(
        out,
        with_status(
            &cr,
            pipeline::assess(
                &cr,
                &Children {
                    scaled_object: Some(&so_bad),
                    ..full
                },
                &env,
            ),
            false,
        ),
    );
    let mut failed = d.clone();
    failed.status = Some(yaml(
        "{observedGeneration: 1, conditions: [{type: Progressing, status: 'False', reason: ProgressDeadlineExceeded}]}",
    ));
    push(
        out,
        with_status(
            &cr,
            pipeline::assess(
                &cr,
                &Children {
                    deployment: Some(&failed),
                    ..full
                },
                &env,
            ),
            false,
        ),
    );
    let gpu_only: Vec<ComputePool> = builtin_pools()
        .into_iter()
        .filter(|p| p.name == "gpu")
        .collect();
    push(
        out,
        with_status(
            &cr,
            pipeline::assess(
                &cr,
                &full,
                &WorkloadEnv {
                    pools: &gpu_only,
                    ..env
                },
            ),
            false,
        ),
    );
    push(
        out,
        with_status(
            &cr,
            pipeline::assess(
                &cr,
                &full,
                &WorkloadEnv {
                    max_replicas_ceiling: 2,
                    ..env
                },
            ),
            false,
        ),
    );
    let paused = rendered(&PIPELINE.replace("  target:", "  paused: true\n  target:"));
    let (pcr, pd, pso, pta) = (
        paused.pipeline("embed"),
        paused.deployment("embed-worker", 0),
        paused.scaled_object("embed-worker", "True"),
        paused.trigger_authentication("embed-worker"),
    );
    push(
        out,
        with_status(
            &pcr,
            pipeline::assess(
                &pcr,
                &Children {
                    deployment: Some(&pd),
                    scaled_object: Some(&pso),
                    trigger_authentication: Some(&pta),
                    service: None,
                },
                &env,
            ),
            false,
        ),
    );
    let disabled = rendered(&PIPELINE.replace("{replicas:", "{mode: disabled, replicas:"));
    let (dcr, dd) = (
        disabled.pipeline("embed"),
        disabled.deployment("embed-worker", 0),
    );
    push(
        out,
        with_status(
            &dcr,
            pipeline::assess(
                &dcr,
                &Children {
                    deployment: Some(&dd),
                    ..Children::default()
                },
                &env,
            ),
            false,
        ),
    );
    let fcr = rendered(FUNCTION).function_with_selector(
        "classify",
        "{matchExpressions: [{key: app, operator: Near}]}",
    );
    push(
        out,
        with_status(
            &fcr,
            function::assess(&fcr, &Children::default(), &[], &env),
            false,
        ),
    );
}

fn stores(out: &mut Vec<Scenario>) {
    let s = rendered(STORE).vector_store("turbopuffer-default");
    let store =
        |cr: &VectorStore, others: &[&VectorStore], probe: ProbeState, secret: SecretState| {
            let mut all = vec![cr];
            all.extend_from_slice(others);
            vector_store::assess(cr, &all, &probe, &secret)
        };
    push(
        out,
        with_status(
            &s,
            store(&s, &[], ProbeState::Reachable, SecretState::Present),
            false,
        ),
    );
    push(
        out,
        with_status(
            &s,
            store(&s, &[], ProbeState::Disabled, SecretState::Present),
            false,
        ),
    );
    push(
        out,
        with_status(
            &s,
            store(&s, &[], ProbeState::Pending, SecretState::Present),
            false,
        ),
    );
    push(
        out,
        with_status(
            &s,
            store(
                &s,
                &[],
                ProbeState::Unreachable("timeout".into()),
                SecretState::Present,
            ),
            false,
        ),
    );
    push(
        out,
        with_status(
            &s,
            store(
                &s,
                &[],
                ProbeState::Unreachable("timeout".into()),
                SecretState::Present,
            ),
            true,
        ),
    );
    push(
        out,
        with_status(
            &s,
            store(&s, &[], ProbeState::Reachable, SecretState::Missing),
            false,
        ),
    );
    let pinecone: VectorStore = yaml(&STORE.replace("kind: turbopuffer", "kind: pinecone"));
    push(
        out,
        with_status(
            &pinecone,
            store(&pinecone, &[], ProbeState::Reachable, SecretState::Present),
            false,
        ),
    );
    let mut twin = s.clone();
    twin.metadata.name = Some("twin".into());
    push(
        out,
        with_status(
            &s,
            store(&s, &[&twin], ProbeState::Reachable, SecretState::Present),
            false,
        ),
    );
    let no_scheme: VectorStore = yaml(&STORE.replace("https://", ""));
    push(
        out,
        with_status(
            &no_scheme,
            store(&no_scheme, &[], ProbeState::Pending, SecretState::Present),
            false,
        ),
    );

    let mut ready = s.clone();
    ready.status = Some(
        finish(
            store(&s, &[], ProbeState::Reachable, SecretState::Present),
            Some(1),
            &[],
            None,
            clock(),
        )
        .0,
    );
    let i = rendered(INDEX).index("products");
    push(
        out,
        with_status(&i, index::assess(&i, &[&i], &[&ready]), false),
    );
    push(out, with_status(&i, index::assess(&i, &[&i], &[&s]), false));
    push(out, with_status(&i, index::assess(&i, &[&i], &[]), false));
    let mut twin_store = ready.clone();
    twin_store.metadata.name = Some("twin".into());
    push(
        out,
        with_status(&i, index::assess(&i, &[&i], &[&ready, &twin_store]), false),
    );
    let named = rendered(&INDEX.replace(
        "{namespace: amazon-products}",
        "{namespace: amazon-products, storeRef: nope}",
    ))
    .index("products");
    push(
        out,
        with_status(&named, index::assess(&named, &[&named], &[&ready]), false),
    );
    let mut twin_index = i.clone();
    twin_index.metadata.name = Some("twin".into());
    push(
        out,
        with_status(&i, index::assess(&i, &[&i, &twin_index], &[&ready]), false),
    );
}

fn infra(out: &mut Vec<Scenario>) {
    let r = rendered(INFRA_RULES).infra_rules();
    let (ok, zero) = (document_cache(1, 1), document_cache(0, 1));
    let (cpu, gpu, gpu_down) = (
        node_pool("worker-cpu", "True"),
        node_pool("worker-gpu", "True"),
        node_pool("worker-gpu", "False"),
    );
    let (both, cpu_only, one_down) = ([&cpu, &gpu], [&cpu], [&cpu, &gpu_down]);
    let cases: [(
        Option<&k8s_openapi::api::apps::v1::StatefulSet>,
        Option<&[&kube::api::DynamicObject]>,
    ); 5] = [
        (Some(&ok), Some(&both)),
        (Some(&ok), Some(&cpu_only)),
        (Some(&ok), Some(&one_down)),
        (Some(&zero), None),
        (None, None),
    ];
    for (dc, np) in cases {
        let env = InfraEnv {
            document_cache: dc,
            document_cache_ref: "layer/layer-document-cache",
            node_pools: np,
        };
        push(out, with_status(&r, infra_rules::assess(&r, &env), false));
    }
}

#[test]
fn every_reason_has_a_scenario() {
    let seen: BTreeSet<Reason> = all().iter().filter_map(|s| s.reason).collect();
    let missing: Vec<&str> = Reason::ALL
        .iter()
        .filter(|r| !seen.contains(r))
        .map(|r| r.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "reasons without a scenario: {missing:?}"
    );
}

#[test]
fn every_reason_is_documented_in_status_md() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/status.md")).unwrap();
    let missing: Vec<&str> = Reason::ALL
        .iter()
        .map(|r| r.as_str())
        .filter(|r| !doc.contains(&format!("`{r}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/status.md does not document {missing:?}"
    );
}

#[test]
fn clock_is_fixed() {
    let c: Clock = clock();
    assert_eq!(c.now.to_string(), "2025-06-01T12:00:00Z");
}
