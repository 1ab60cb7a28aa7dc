//! Pod Security: every worker pod meets the `restricted` standard unless `podSpec` says
//! otherwise, and render says when it does.
//!
//! The checks follow the Pod Security Standards' `restricted` profile
//! (<https://kubernetes.io/docs/concepts/security/pod-security-standards/>): no host
//! namespaces, ports or paths, no privileged or escalating containers, all capabilities
//! dropped (only `NET_BIND_SERVICE` may be added), non-root, and a RuntimeDefault or
//! Localhost seccomp profile.

use k8s_openapi::api::core::v1::{
    Capabilities, Container, PodSecurityContext, PodSpec, SeccompProfile, SecurityContext,
};

/// UID and GID the workers run as unless `podSpec` sets others: a high, non-root id.
pub const WORKER_UID: i64 = 65532;

/// The pod security context render sets.
pub fn pod_security_context() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(WORKER_UID),
        run_as_group: Some(WORKER_UID),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            localhost_profile: None,
        }),
        ..PodSecurityContext::default()
    }
}

/// The container security context render sets.
pub fn container_security_context() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            add: None,
        }),
        run_as_non_root: Some(true),
        privileged: Some(false),
        ..SecurityContext::default()
    }
}

/// Every way `pod` falls short of `restricted`, as field paths with a reason.
pub fn restricted_violations(pod: &PodSpec) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    let mut flag = |field: String, why: &'static str| out.push((field, why));
    if pod.host_network == Some(true) {
        flag("hostNetwork".into(), "host networking is not allowed");
    }
    if pod.host_pid == Some(true) {
        flag("hostPID".into(), "the host PID namespace is not allowed");
    }
    if pod.host_ipc == Some(true) {
        flag("hostIPC".into(), "the host IPC namespace is not allowed");
    }
    for (i, volume) in pod.volumes.iter().flatten().enumerate() {
        if volume.host_path.is_some() {
            flag(
                format!("volumes[{i}].hostPath"),
                "hostPath volumes are not allowed",
            );
        }
    }
    let pod_ctx = pod.security_context.as_ref();
    let pod_non_root = pod_ctx.and_then(|c| c.run_as_non_root) == Some(true);
    let pod_seccomp = pod_ctx
        .and_then(|c| c.seccomp_profile.as_ref())
        .map(|s| s.type_.as_str());
    if pod_ctx.and_then(|c| c.run_as_user) == Some(0) {
        flag(
            "securityContext.runAsUser".into(),
            "running as UID 0 is not allowed",
        );
    }
    let no_init = Vec::new();
    let groups = [
        ("containers", &pod.containers),
        (
            "initContainers",
            pod.init_containers.as_ref().unwrap_or(&no_init),
        ),
    ];
    for (group, containers) in groups {
        for (i, c) in containers.iter().enumerate() {
            let at = |field: &str| format!("{group}[{i}].{field}");
            container_violations(c, pod_non_root, pod_seccomp, &at, &mut flag);
        }
    }
    out
}

fn container_violations(
    c: &Container,
    pod_non_root: bool,
    pod_seccomp: Option<&str>,
    at: &dyn Fn(&str) -> String,
    flag: &mut dyn FnMut(String, &'static str),
) {
    let ctx = c.security_context.as_ref();
    if ctx.and_then(|s| s.privileged) == Some(true) {
        flag(
            at("securityContext.privileged"),
            "privileged containers are not allowed",
        );
    }
    if ctx.and_then(|s| s.allow_privilege_escalation) != Some(false) {
        flag(
            at("securityContext.allowPrivilegeEscalation"),
            "must be false",
        );
    }
    let caps = ctx.and_then(|s| s.capabilities.as_ref());
    let drops_all = caps
        .and_then(|k| k.drop.as_ref())
        .is_some_and(|d| d.iter().any(|x| x == "ALL"));
    if !drops_all {
        flag(
            at("securityContext.capabilities.drop"),
            "must drop ALL capabilities",
        );
    }
    let adds_more = caps
        .and_then(|k| k.add.as_ref())
        .is_some_and(|a| a.iter().any(|x| x != "NET_BIND_SERVICE"));
    if adds_more {
        flag(
            at("securityContext.capabilities.add"),
            "only NET_BIND_SERVICE may be added",
        );
    }
    let non_root = match ctx.and_then(|s| s.run_as_non_root) {
        Some(v) => v,
        None => pod_non_root,
    };
    if !non_root {
        flag(at("securityContext.runAsNonRoot"), "must be true");
    }
    if ctx.and_then(|s| s.run_as_user) == Some(0) {
        flag(
            at("securityContext.runAsUser"),
            "running as UID 0 is not allowed",
        );
    }
    let seccomp = ctx
        .and_then(|s| s.seccomp_profile.as_ref())
        .map(|s| s.type_.as_str())
        .or(pod_seccomp);
    if !matches!(seccomp, Some("RuntimeDefault" | "Localhost")) {
        flag(
            at("securityContext.seccompProfile.type"),
            "must be RuntimeDefault or Localhost",
        );
    }
    for (j, port) in c.ports.iter().flatten().enumerate() {
        if port.host_port.is_some_and(|p| p != 0) {
            flag(
                at(&format!("ports[{j}].hostPort")),
                "host ports are not allowed",
            );
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn pod(containers: Vec<Container>) -> PodSpec {
        PodSpec {
            containers,
            security_context: Some(pod_security_context()),
            ..PodSpec::default()
        }
    }

    fn worker() -> Container {
        Container {
            name: "worker".into(),
            security_context: Some(container_security_context()),
            ..Container::default()
        }
    }

    #[test]
    fn the_defaults_are_restricted() {
        assert_eq!(restricted_violations(&pod(vec![worker()])), vec![]);
    }

    #[test]
    fn a_privileged_sidecar_is_reported_field_by_field() {
        let sidecar = Container {
            name: "debug".into(),
            security_context: Some(SecurityContext {
                privileged: Some(true),
                ..SecurityContext::default()
            }),
            ..Container::default()
        };
        let fields: Vec<_> = restricted_violations(&pod(vec![worker(), sidecar]))
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(
            fields,
            [
                "containers[1].securityContext.privileged",
                "containers[1].securityContext.allowPrivilegeEscalation",
                "containers[1].securityContext.capabilities.drop",
            ]
        );
    }

    #[test]
    fn host_networking_and_root_are_reported() {
        let mut p = pod(vec![worker()]);
        p.host_network = Some(true);
        if let Some(ctx) = p.security_context.as_mut() {
            ctx.run_as_user = Some(0);
        }
        let fields: Vec<_> = restricted_violations(&p)
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(fields, ["hostNetwork", "securityContext.runAsUser"]);
    }
}
