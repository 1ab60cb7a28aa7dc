//! Pipelines and Functions seen as one thing: a workload with a worker, scaling and children.
//!
//! Validation, expansion and the syncer all need the same answers: what the children are
//! called, which labels tie them to their parent, which children a CR should have. They come
//! from here and nowhere else.

use std::collections::BTreeMap;

use crate::api::{Dispatch, Function, Pipeline, Scaling, ScalingMode, Schedule, Trigger, Worker};

/// Label: who rendered the object.
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Value of [`LABEL_MANAGED_BY`].
pub const MANAGED_BY: &str = "layer-render";
/// Label: the product the object belongs to.
pub const LABEL_PART_OF: &str = "app.kubernetes.io/part-of";
/// Value of [`LABEL_PART_OF`].
pub const PART_OF: &str = "hev-layer";
/// Label: the component (upstream's worker label).
pub const LABEL_COMPONENT: &str = "layer.hev.dev/component";
/// Label: the kind of the CR that owns a child.
pub const LABEL_OWNER_KIND: &str = "layer.hev.dev/owner-kind";
/// Label: the name of the CR that owns a child.
pub const LABEL_OWNER_NAME: &str = "layer.hev.dev/owner-name";
/// Label: the pipeline id a Pipeline worker serves (upstream).
pub const LABEL_PIPELINE_ID: &str = "layer.hev.dev/pipeline-id";
/// Annotation: hash of a child's rendered content.
pub const ANNOTATION_RENDER_HASH: &str = "layer.hev.dev/render-hash";
/// Annotation: hash of a CR's spec after defaults.
pub const ANNOTATION_SPEC_HASH: &str = "layer.hev.dev/spec-hash";
/// Annotation: a CR's children, `Kind/name` to render hash, as compact JSON.
pub const ANNOTATION_CHILDREN: &str = "layer.hev.dev/children";

/// Longest workload name whose `<name>-worker` children still fit in 63 characters.
pub const MAX_WORKLOAD_NAME: usize = 63 - CHILD_SUFFIX.len();

/// Which of the two workload kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WorkloadKind {
    /// A Pipeline.
    Pipeline,
    /// A Function.
    Function,
}

impl WorkloadKind {
    /// The CR kind.
    pub fn kind_str(self) -> &'static str {
        match self {
            WorkloadKind::Pipeline => "Pipeline",
            WorkloadKind::Function => "Function",
        }
    }

    /// The worker container's name: `worker` for Pipelines, `udf` for Functions.
    pub fn container_name(self) -> &'static str {
        match self {
            WorkloadKind::Pipeline => "worker",
            WorkloadKind::Function => "udf",
        }
    }

    /// The upstream label that carries the CR's name.
    pub fn name_label(self) -> &'static str {
        match self {
            WorkloadKind::Pipeline => "hevlayer.com/pipeline",
            WorkloadKind::Function => "hevlayer.com/function",
        }
    }
}

/// A reference to one expected child object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChildRef {
    /// `apiVersion`.
    pub api_version: &'static str,
    /// `kind`.
    pub kind: &'static str,
    /// `metadata.name`.
    pub name: String,
}

impl ChildRef {
    /// `Kind/name`, the key of the parent's children annotation.
    pub fn map_key(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
}

/// A Pipeline or a Function, by reference.
#[derive(Clone, Copy, Debug)]
pub struct Workload<'a> {
    /// Which kind.
    pub kind: WorkloadKind,
    /// The CR's name.
    pub name: &'a str,
    /// The CR's namespace.
    pub namespace: &'a str,
    /// `spec.worker`.
    pub worker: &'a Worker,
    /// `spec.scaling`.
    pub scaling: &'a Scaling,
    /// `spec.schedule` (always present on Functions, after defaults).
    pub schedule: Option<&'a Schedule>,
    /// `spec.paused`.
    pub paused: bool,
    /// The Pipeline, when it is one.
    pub pipeline: Option<&'a Pipeline>,
    /// The Function, when it is one.
    pub function: Option<&'a Function>,
}

impl<'a> Workload<'a> {
    /// The workload view of a Pipeline.
    pub fn of_pipeline(p: &'a Pipeline) -> Self {
        Workload {
            kind: WorkloadKind::Pipeline,
            name: p.metadata.name.as_deref().unwrap_or_default(),
            namespace: p.metadata.namespace.as_deref().unwrap_or_default(),
            worker: &p.spec.worker,
            scaling: &p.spec.scaling,
            schedule: p.spec.schedule.as_ref(),
            paused: p.spec.paused,
            pipeline: Some(p),
            function: None,
        }
    }

    /// The workload view of a Function.
    pub fn of_function(f: &'a Function) -> Self {
        Workload {
            kind: WorkloadKind::Function,
            name: f.metadata.name.as_deref().unwrap_or_default(),
            namespace: f.metadata.namespace.as_deref().unwrap_or_default(),
            worker: &f.spec.worker,
            scaling: &f.spec.scaling,
            schedule: Some(&f.spec.schedule),
            paused: f.spec.paused,
            pipeline: None,
            function: Some(f),
        }
    }

    /// The name every child shares: `<name>-worker`.
    pub fn child_name(&self) -> String {
        child_name(self.name)
    }

    /// The pipeline id: `spec.pipelineId`, else the Pipeline's name.
    pub fn pipeline_id(&self) -> Option<&'a str> {
        self.pipeline
            .map(|p| p.spec.pipeline_id.as_deref().unwrap_or(self.name))
    }

    /// The cron schedule KEDA wakes the worker on and the window in minutes, when it has one.
    ///
    /// A Pipeline has one when `schedule.cron` is set. A Function has one when `triggers`
    /// holds `schedule`, hourly when no cron is given.
    pub fn wake_schedule(&self) -> Option<(&'a str, u32)> {
        let cron = self.schedule.and_then(|s| s.cron.as_deref());
        let expr = match self.kind {
            WorkloadKind::Pipeline => cron,
            WorkloadKind::Function => {
                let wants = self
                    .function
                    .is_some_and(|f| f.spec.triggers.contains(&Trigger::Schedule));
                wants.then(|| cron.unwrap_or("0 * * * *"))
            }
        }?;
        let lease = self.schedule.map_or(120, |s| s.lease_seconds);
        Some((expr, crate::keda::cron::window_minutes(lease)))
    }

    /// True when KEDA objects are rendered: autoscale mode, paused or not.
    pub fn is_autoscaled(&self) -> bool {
        self.scaling.mode == ScalingMode::Autoscale
    }

    /// True when the worker is called over HTTP and gets a Service.
    pub fn is_push(&self) -> bool {
        self.worker.dispatch == Dispatch::Push
    }

    /// The worker Deployment: the one child every workload has.
    pub fn deployment(&self) -> ChildRef {
        ChildRef {
            api_version: "apps/v1",
            kind: "Deployment",
            name: self.child_name(),
        }
    }

    /// The children this workload should have, in apply order.
    pub fn expected_children(&self) -> Vec<ChildRef> {
        let name = self.child_name();
        let mut children = Vec::new();
        if self.is_push() {
            children.push(ChildRef {
                api_version: "v1",
                kind: "Service",
                name: name.clone(),
            });
        }
        children.push(self.deployment());
        if self.is_autoscaled() {
            children.push(ChildRef {
                api_version: "keda.sh/v1alpha1",
                kind: "TriggerAuthentication",
                name: name.clone(),
            });
            children.push(ChildRef {
                api_version: "keda.sh/v1alpha1",
                kind: "ScaledObject",
                name,
            });
        }
        children
    }

    /// The labels that select this workload's pods: the owner's kind and name. Selectors are
    /// immutable, so these never change.
    pub fn selector_labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (
                LABEL_OWNER_KIND.to_string(),
                self.kind.kind_str().to_string(),
            ),
            (LABEL_OWNER_NAME.to_string(), self.name.to_string()),
        ])
    }

    /// Every label a child carries.
    pub fn labels(&self) -> BTreeMap<String, String> {
        let mut labels = self.selector_labels();
        labels.insert(LABEL_MANAGED_BY.into(), MANAGED_BY.into());
        labels.insert(LABEL_PART_OF.into(), PART_OF.into());
        labels.insert(LABEL_COMPONENT.into(), "worker".into());
        labels.insert(self.kind.name_label().into(), self.name.to_string());
        if let Some(id) = self.pipeline_id() {
            labels.insert(LABEL_PIPELINE_ID.into(), id.to_string());
        }
        labels
    }
}

/// The name of a workload's children.
pub fn child_name(workload_name: &str) -> String {
    format!("{workload_name}{CHILD_SUFFIX}")
}

/// The name of the workload whose children `child` would name, when it could be one.
pub fn workload_name_of_child(child: &str) -> Option<&str> {
    child.strip_suffix(CHILD_SUFFIX)
}

/// The suffix a workload's name takes to name its children.
const CHILD_SUFFIX: &str = "-worker";

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn pipeline(yaml: &str) -> Pipeline {
        serde_saphyr::from_str(yaml).unwrap()
    }

    const BASE: &str = "apiVersion: hevlayer.com/v1alpha1\nkind: Pipeline\nmetadata: {name: embed, namespace: shop}\nspec:\n  target: {namespace: products}\n  worker: {image: i}\n  scaling: {replicas: {max: 2}}\n";

    #[test]
    fn an_autoscaled_pull_worker_has_a_deployment_and_keda_objects() {
        let p = pipeline(BASE);
        let kinds: Vec<_> = Workload::of_pipeline(&p)
            .expected_children()
            .iter()
            .map(ChildRef::map_key)
            .collect();
        assert_eq!(
            kinds,
            [
                "Deployment/embed-worker",
                "TriggerAuthentication/embed-worker",
                "ScaledObject/embed-worker"
            ]
        );
    }

    #[test]
    fn a_fixed_push_worker_has_a_service_and_a_deployment() {
        let p = pipeline(
            &BASE
                .replace("worker: {image: i}", "worker: {image: i, dispatch: push}")
                .replace("{replicas:", "{mode: fixed, replicas:"),
        );
        let kinds: Vec<_> = Workload::of_pipeline(&p)
            .expected_children()
            .iter()
            .map(ChildRef::map_key)
            .collect();
        assert_eq!(kinds, ["Service/embed-worker", "Deployment/embed-worker"]);
    }

    #[test]
    fn pipeline_labels_carry_the_upstream_keys() {
        let p = pipeline(&BASE.replace("  target:", "  pipelineId: products\n  target:"));
        let labels = Workload::of_pipeline(&p).labels();
        assert_eq!(labels.get("hevlayer.com/pipeline").unwrap(), "embed");
        assert_eq!(labels.get(LABEL_PIPELINE_ID).unwrap(), "products");
        assert_eq!(labels.get(LABEL_OWNER_KIND).unwrap(), "Pipeline");
        assert_eq!(labels.len(), 7);
    }
}
