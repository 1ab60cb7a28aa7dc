//! Pipeline and Function readiness: every workload reason, in ok/fail pairs.

use layer_render::api::family::ANNOTATION_RENDER_HASH;
use layer_render::api::pools::builtin_pools;
use layer_render::api::{ComputePool, FunctionStatus, Index, PipelineStatus};
use layer_render::expand::linkage::spec_hash;

use super::{message, t, triple};
use crate::readiness::fixtures::*;
use crate::readiness::workload::{Children, WorkloadEnv};
use crate::readiness::{Clock, Progress, finish, function, pipeline};

fn env(pools: &[ComputePool]) -> WorkloadEnv<'_> {
    WorkloadEnv {
        pools,
        max_replicas_ceiling: 100,
        keda_installed: true,
    }
}

struct Embed {
    r: Rendered,
}

impl Embed {
    fn new(input: &str) -> Self {
        Embed { r: rendered(input) }
    }
}

fn eval_pipeline(
    cr: &layer_render::api::Pipeline,
    children: &Children<'_>,
    env: &WorkloadEnv<'_>,
    clock: Clock,
    progress: Option<&Progress>,
) -> (PipelineStatus, Progress) {
    let live = cr.status.clone().unwrap_or_default();
    finish(
        pipeline::assess(cr, children, env),
        cr.metadata.generation,
        &live.conditions,
        progress,
        clock,
    )
}

fn pipeline_triple(
    cr: &layer_render::api::Pipeline,
    children: &Children<'_>,
    env: &WorkloadEnv<'_>,
) -> (String, String, String, String) {
    triple(&eval_pipeline(cr, children, env, clock(), None).0.conditions)
}

#[test]
fn the_live_spec_read_back_through_the_typed_cr_hashes_like_the_render() {
    let r = rendered(PIPELINE);
    let emitted = r.objects.iter().find(|o| o["kind"] == "Pipeline").unwrap();
    let live = serde_json::to_value(r.pipeline("embed")).unwrap();
    assert_eq!(spec_hash(&live), spec_hash(emitted));
    assert_eq!(
        emitted["metadata"]["annotations"]["layer.hev.dev/spec-hash"],
        spec_hash(emitted).as_str()
    );
}

#[test]
fn a_rolled_out_autoscaled_pipeline_with_a_ready_scaler_is_available() {
    let e = Embed::new(PIPELINE);
    let (cr, d, so, ta) = (
        e.r.pipeline("embed"),
        e.r.deployment("embed-worker", 1),
        e.r.scaled_object("embed-worker", "True"),
        e.r.trigger_authentication("embed-worker"),
    );
    let children = Children {
        deployment: Some(&d),
        scaled_object: Some(&so),
        trigger_authentication: Some(&ta),
        service: None,
    };
    let pools = builtin_pools();
    let (status, _) = eval_pipeline(&cr, &children, &env(&pools), clock(), None);
    assert_eq!(
        triple(&status.conditions),
        t("True", "False", "False", "Available")
    );
    assert_eq!(status.observed_generation, Some(1));
    let managed: Vec<String> = status
        .managed_objects
        .iter()
        .map(|m| format!("{} {} {}", m.api_version, m.kind, m.name))
        .collect();
    assert_eq!(
        managed,
        [
            "apps/v1 Deployment embed-worker",
            "keda.sh/v1alpha1 TriggerAuthentication embed-worker",
            "keda.sh/v1alpha1 ScaledObject embed-worker"
        ]
    );
    // Same objects, KEDA not ready: not Ready.
    let so_bad = e.r.scaled_object("embed-worker", "False");
    let children = Children {
        scaled_object: Some(&so_bad),
        ..children
    };
    let (status, _) = eval_pipeline(&cr, &children, &env(&pools), clock(), None);
    assert_eq!(
        triple(&status.conditions),
        t("False", "True", "False", "ScalerNotReady")
    );
    assert!(message(&status.conditions).contains("ScaledObjectCheckFailed"));
}

#[test]
fn a_scaled_object_without_conditions_is_not_ready_yet() {
    let e = Embed::new(PIPELINE);
    let (cr, d, ta) = (
        e.r.pipeline("embed"),
        e.r.deployment("embed-worker", 1),
        e.r.trigger_authentication("embed-worker"),
    );
    let mut so = e.r.scaled_object("embed-worker", "True");
    so.data.as_object_mut().unwrap().remove("status");
    let pools = builtin_pools();
    let children = Children {
        deployment: Some(&d),
        scaled_object: Some(&so),
        trigger_authentication: Some(&ta),
        service: None,
    };
    assert_eq!(
        pipeline_triple(&cr, &children, &env(&pools)),
        t("False", "True", "False", "ScalerNotReady")
    );
}

#[test]
fn a_keda_scale_up_in_progress_stays_ready_but_no_available_replica_is_not() {
    let e = Embed::new(PIPELINE);
    let (cr, so, ta) = (
        e.r.pipeline("embed"),
        e.r.scaled_object("embed-worker", "True"),
        e.r.trigger_authentication("embed-worker"),
    );
    let pools = builtin_pools();
    // KEDA raised replicas to 4; the new pods run the current template, one is available.
    let mut scaling_up = e.r.deployment("embed-worker", 1);
    rolled_out(&mut scaling_up, 4, 1);
    let children = Children {
        deployment: Some(&scaling_up),
        scaled_object: Some(&so),
        trigger_authentication: Some(&ta),
        service: None,
    };
    assert_eq!(
        pipeline_triple(&cr, &children, &env(&pools)),
        t("True", "False", "False", "Available")
    );
    let mut none_available = scaling_up.clone();
    rolled_out(&mut none_available, 4, 0);
    let children = Children {
        deployment: Some(&none_available),
        ..children
    };
    assert_eq!(
        pipeline_triple(&cr, &children, &env(&pools)),
        t("False", "True", "False", "WorkerUnavailable")
    );
}

#[test]
fn a_template_still_rolling_out_is_reconciling() {
    let e = Embed::new(PIPELINE);
    let (cr, so, ta) = (
        e.r.pipeline("embed"),
        e.r.scaled_object("embed-worker", "True"),
        e.r.trigger_authentication("embed-worker"),
    );
    let pools = builtin_pools();
    let mut d = e.r.deployment("embed-worker", 1);
    d.metadata.generation = Some(2);
    let children = Children {
        deployment: Some(&d),
        scaled_object: Some(&so),
        trigger_authentication: Some(&ta),
        service: None,
    };
    let (status, _) = eval_pipeline(&cr, &children, &env(&pools), clock(), None);
    assert_eq!(
        triple(&status.conditions),
        t("False", "True", "False", "RollingOut")
    );
    assert!(message(&status.conditions).contains("generation 2"));
    // Observed, but only 1 of 3 replicas on the new template: still rolling out, and it never
    // escalates on its own (the Deployment's progress deadline does that).
    let mut partial = e.r.deployment("embed-worker", 1);
    rolled_out(&mut partial, 3, 1);
    partial.status.as_mut().unwrap().updated_replicas = Some(1);
    let children = Children {
        deployment: Some(&partial),
        ..children
    };
    let (_, p) = eval_pipeline(&cr, &children, &env(&pools), clock(), None);
    let (status, _) = eval_pipeline(&cr, &children, &env(&pools), later(3600), Some(&p));
    assert_eq!(
        triple(&status.conditions),
        t("False", "True", "False", "RollingOut")
    );
}

#[test]
fn a_progress_deadline_exceeded_is_stalled_at_once() {
    let e = Embed::new(PIPELINE);
    let (cr, so, ta) = (
        e.r.pipeline("embed"),
        e.r.scaled_object("embed-worker", "True"),
        e.r.trigger_authentication("embed-worker"),
    );
    let pools = builtin_pools();
    let mut d = e.r.deployment("embed-worker", 0);
    d.status = Some(yaml(
        "{observedGeneration: 1, replicas: 1, updatedReplicas: 1, conditions: [{type: Progressing, status: 'False', reason: ProgressDeadlineExceeded}]}",
    ));
    let children = Children {
        deployment: Some(&d),
        scaled_object: Some(&so),
        trigger_authentication: Some(&ta),
        service: None,
    };
    assert_eq!(
        pipeline_triple(&cr, &children, &env(&pools)),
        t("False", "False", "True", "RolloutFailed")
    );
}

#[test]
fn a_missing_child_reconciles_first_and_stalls_after_stall_after_without_progress() {
    let e = Embed::new(PIPELINE);
    let (cr, d, ta) = (
        e.r.pipeline("embed"),
        e.r.deployment("embed-worker", 1),
        e.r.trigger_authentication("embed-worker"),
    );
    let pools = builtin_pools();
    let children = Children {
        deployment: Some(&d),
        trigger_authentication: Some(&ta),
        scaled_object: None,
        service: None,
    };
    let (first, p) = eval_pipeline(&cr, &children, &env(&pools), clock(), None);
    assert_eq!(
        triple(&first.conditions),
        t("False", "True", "False", "ChildMissing")
    );
    assert!(
        message(&first.conditions)
            .contains("ScaledObject/embed-worker not found in namespace shop")
    );
    let (before, p) = eval_pipeline(&cr, &children, &env(&pools), later(599), Some(&p));
    assert_eq!(
        triple(&before.conditions),
        t("False", "True", "False", "ChildMissing")
    );
    let (after, _) = eval_pipeline(&cr, &children, &env(&pools), later(600), Some(&p));
    assert_eq!(
        triple(&after.conditions),
        t("False", "False", "True", "ChildMissing")
    );
    // With the ScaledObject applied, it is Ready again.
    let so = e.r.scaled_object("embed-worker", "True");
    let complete = Children {
        scaled_object: Some(&so),
        ..children
    };
    let (status, _) = eval_pipeline(&cr, &complete, &env(&pools), later(700), Some(&p));
    assert_eq!(
        triple(&status.conditions),
        t("True", "False", "False", "Available")
    );
}

#[test]
fn without_keda_the_missing_scaler_says_so() {
    let e = Embed::new(PIPELINE);
    let (cr, d) = (e.r.pipeline("embed"), e.r.deployment("embed-worker", 1));
    let pools = builtin_pools();
    let no_keda = WorkloadEnv {
        keda_installed: false,
        ..env(&pools)
    };
    let children = Children {
        deployment: Some(&d),
        ..Children::default()
    };
    let (status, _) = eval_pipeline(&cr, &children, &no_keda, clock(), None);
    assert_eq!(triple(&status.conditions).3, "ChildMissing");
    assert!(message(&status.conditions).contains("KEDA is not installed"));
}

#[test]
fn a_child_from_another_render_is_stale() {
    let e = Embed::new(PIPELINE);
    let (cr, so, ta) = (
        e.r.pipeline("embed"),
        e.r.scaled_object("embed-worker", "True"),
        e.r.trigger_authentication("embed-worker"),
    );
    let pools = builtin_pools();
    let mut d = e.r.deployment("embed-worker", 1);
    d.metadata
        .annotations
        .as_mut()
        .unwrap()
        .insert(ANNOTATION_RENDER_HASH.into(), "sha256:0000".into());
    let children = Children {
        deployment: Some(&d),
        scaled_object: Some(&so),
        trigger_authentication: Some(&ta),
        service: None,
    };
    let (status, p) = eval_pipeline(&cr, &children, &env(&pools), clock(), None);
    assert_eq!(
        triple(&status.conditions),
        t("False", "True", "False", "RenderStale")
    );
    assert!(
        message(&status.conditions)
            .contains("Deployment/embed-worker comes from a different render")
    );
    let (stalled, _) = eval_pipeline(&cr, &children, &env(&pools), later(601), Some(&p));
    assert_eq!(
        triple(&stalled.conditions),
        t("False", "False", "True", "RenderStale")
    );
}

#[test]
fn a_spec_edited_outside_render_is_stale() {
    let e = Embed::new(PIPELINE);
    let (d, so, ta) = (
        e.r.deployment("embed-worker", 1),
        e.r.scaled_object("embed-worker", "True"),
        e.r.trigger_authentication("embed-worker"),
    );
    let pools = builtin_pools();
    let mut cr = e.r.pipeline("embed");
    cr.spec.worker.image = "ghcr.io/hev/embed:hotfix".into();
    let children = Children {
        deployment: Some(&d),
        scaled_object: Some(&so),
        trigger_authentication: Some(&ta),
        service: None,
    };
    let (status, _) = eval_pipeline(&cr, &children, &env(&pools), clock(), None);
    assert_eq!(
        triple(&status.conditions),
        t("False", "True", "False", "RenderStale")
    );
    assert!(message(&status.conditions).contains("changed outside layer-render"));
}

#[test]
fn an_unknown_pool_is_stalled_at_once() {
    let e = Embed::new(PIPELINE);
    let (cr, d, so, ta) = (
        e.r.pipeline("embed"),
        e.r.deployment("embed-worker", 1),
        e.r.scaled_object("embed-worker", "True"),
        e.r.trigger_authentication("embed-worker"),
    );
    let children = Children {
        deployment: Some(&d),
        scaled_object: Some(&so),
        trigger_authentication: Some(&ta),
        service: None,
    };
    // InfraRules/default in the cluster no longer has `cpu`.
    let gpu_only: Vec<ComputePool> = builtin_pools()
        .into_iter()
        .filter(|p| p.name == "gpu")
        .collect();
    let (status, _) = eval_pipeline(&cr, &children, &env(&gpu_only), clock(), None);
    assert_eq!(
        triple(&status.conditions),
        t("False", "False", "True", "UnknownPool")
    );
    assert!(message(&status.conditions).contains("spec.worker.computeClass selects pool \"cpu\""));
    assert!(message(&status.conditions).contains("known pools: gpu"));
}

#[test]
fn replicas_above_the_pool_or_install_ceiling_are_stalled_at_once() {
    let e = Embed::new(PIPELINE);
    let (cr, d, so, ta) = (
        e.r.pipeline("embed"),
        e.r.deployment("embed-worker", 1),
        e.r.scaled_object("embed-worker", "True"),
        e.r.trigger_authentication("embed-worker"),
    );
    let children = Children {
        deployment: Some(&d),
        scaled_object: Some(&so),
        trigger_authentication: Some(&ta),
        service: None,
    };
    let mut small = builtin_pools();
    small[0].max_replicas_per_workload = 3;
    let (status, _) = eval_pipeline(&cr, &children, &env(&small), clock(), None);
    assert_eq!(
        triple(&status.conditions),
        t("False", "False", "True", "CeilingExceeded")
    );
    assert!(message(&status.conditions).contains("maxReplicasPerWorkload (3)"));
    let pools = builtin_pools();
    let low_ceiling = WorkloadEnv {
        max_replicas_ceiling: 3,
        ..env(&pools)
    };
    let (status, _) = eval_pipeline(&cr, &children, &low_ceiling, clock(), None);
    assert_eq!(
        triple(&status.conditions),
        t("False", "False", "True", "CeilingExceeded")
    );
    assert!(message(&status.conditions).contains("--max-replicas-ceiling"));
    // At the ceiling exactly is fine.
    let at = WorkloadEnv {
        max_replicas_ceiling: 4,
        ..env(&pools)
    };
    let (status, _) = eval_pipeline(&cr, &children, &at, clock(), None);
    assert_eq!(triple(&status.conditions).3, "Available");
}

#[test]
fn a_paused_pipeline_is_ready_with_reason_paused() {
    let e = Embed::new(&PIPELINE.replace("  target:", "  paused: true\n  target:"));
    let (cr, so, ta) = (
        e.r.pipeline("embed"),
        e.r.scaled_object("embed-worker", "True"),
        e.r.trigger_authentication("embed-worker"),
    );
    let mut d = e.r.deployment("embed-worker", 0);
    rolled_out(&mut d, 0, 0);
    let pools = builtin_pools();
    let children = Children {
        deployment: Some(&d),
        scaled_object: Some(&so),
        trigger_authentication: Some(&ta),
        service: None,
    };
    let (status, _) = eval_pipeline(&cr, &children, &env(&pools), clock(), None);
    assert_eq!(
        triple(&status.conditions),
        t("True", "False", "False", "Paused")
    );
    assert!(
        message(&status.conditions)
            .starts_with("Pipeline spec.paused=true; deployment embed-worker scaled to zero")
    );
    // Paused does not hide a missing child.
    let missing = Children {
        scaled_object: None,
        ..children
    };
    assert_eq!(
        pipeline_triple(&cr, &missing, &env(&pools)).3,
        "ChildMissing"
    );
}

#[test]
fn a_disabled_pipeline_is_ready_with_reason_disabled() {
    let e = Embed::new(&PIPELINE.replace("{replicas:", "{mode: disabled, replicas:"));
    let cr = e.r.pipeline("embed");
    let mut d = e.r.deployment("embed-worker", 0);
    rolled_out(&mut d, 0, 0);
    let pools = builtin_pools();
    let children = Children {
        deployment: Some(&d),
        ..Children::default()
    };
    assert_eq!(
        pipeline_triple(&cr, &children, &env(&pools)),
        t("True", "False", "False", "Disabled")
    );
}

fn eval_function(
    cr: &layer_render::api::Function,
    children: &Children<'_>,
    indexes: &[&Index],
    pools: &[ComputePool],
) -> FunctionStatus {
    let live = cr.status.clone().unwrap_or_default();
    finish(
        function::assess(cr, children, indexes, &env(pools)),
        cr.metadata.generation,
        &live.conditions,
        None,
        clock(),
    )
    .0
}

#[test]
fn a_push_function_lists_its_service_and_resolves_active_namespaces() {
    let r = rendered(&format!("{FUNCTION}\n---\n{INDEX}"));
    let cr = r.function("classify");
    let (d, svc) = (
        r.deployment("classify-worker", 2),
        r.service("classify-worker"),
    );
    let selected = r.index("products");
    let mut other = r.index("products");
    other.metadata.name = Some("logs".into());
    other.metadata.labels = Some([("app".to_string(), "logs".to_string())].into());
    other.spec.backend.namespace = Some("app-logs".into());
    let pools = builtin_pools();
    let children = Children {
        deployment: Some(&d),
        service: Some(&svc),
        ..Children::default()
    };
    let status = eval_function(&cr, &children, &[&selected, &other], &pools);
    assert_eq!(
        triple(&status.conditions),
        t("True", "False", "False", "Available")
    );
    assert_eq!(status.active_namespaces, ["amazon-products", "events"]);
    let kinds: Vec<String> = status
        .managed_objects
        .iter()
        .map(|m| m.kind.clone())
        .collect();
    assert_eq!(kinds, ["Service", "Deployment"]);
    // Without the Service it is missing.
    let no_service = Children {
        service: None,
        ..children
    };
    let status = eval_function(&cr, &no_service, &[&selected], &pools);
    assert_eq!(triple(&status.conditions).3, "ChildMissing");
    assert!(message(&status.conditions).contains("Service/classify-worker"));
}

#[test]
fn an_invalid_index_selector_is_stalled_and_target_namespaces_still_count() {
    let r = rendered(FUNCTION);
    let cr = r.function_with_selector(
        "classify",
        "{matchExpressions: [{key: app, operator: Near, values: [shop]}]}",
    );
    let (d, svc) = (
        r.deployment("classify-worker", 2),
        r.service("classify-worker"),
    );
    let pools = builtin_pools();
    let children = Children {
        deployment: Some(&d),
        service: Some(&svc),
        ..Children::default()
    };
    let status = eval_function(&cr, &children, &[], &pools);
    assert_eq!(
        triple(&status.conditions),
        t("False", "False", "True", "InvalidIndexSelector")
    );
    assert_eq!(status.active_namespaces, ["events"]);
    // A selector that is not even a LabelSelector still leaves the Function readable.
    let cr = r.function_with_selector("classify", "{matchLabels: [shop]}");
    let status = eval_function(&cr, &children, &[], &pools);
    assert_eq!(triple(&status.conditions).3, "InvalidIndexSelector");
    assert!(
        message(&status.conditions).contains("(invalid type: sequence, expected a map)"),
        "{}",
        message(&status.conditions)
    );
    // matchExpressions with a real operator is fine.
    let good = FUNCTION.replace(
        "{matchLabels: {app: shop}}",
        "{matchExpressions: [{key: app, operator: In, values: [shop]}]}",
    );
    let r = rendered(&good);
    let (d, svc) = (
        r.deployment("classify-worker", 2),
        r.service("classify-worker"),
    );
    let children = Children {
        deployment: Some(&d),
        service: Some(&svc),
        ..Children::default()
    };
    let status = eval_function(&r.function("classify"), &children, &[], &pools);
    assert_eq!(triple(&status.conditions).3, "Available");
}
