//! The render profile: the install context that upstream reads from its environment.
//!
//! A small YAML file (`--profile`) with an embedded default equal to a standard install.
//! Every field is optional; a missing one keeps the default. `layer-render profile` prints
//! `default.yaml` beside this file, comments included, and a test keeps it equal to
//! [`Profile::default`].

use serde::{Deserialize, Serialize};

use crate::diagnostic::{Code, Diagnostic, Span};
use crate::field_path::FieldPath;

pub use crate::karpenter::settings::{
    AmiSsmParameter, Karpenter, NodeSettings, ResolvedNodeSettings,
};

/// The default profile, with comments, as `layer-render profile` prints it.
pub const DEFAULT_PROFILE_YAML: &str = include_str!("default.yaml");

/// The install context.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Profile {
    /// The Helm release of the gateway.
    pub release: Release,
    /// How workers reach the gateway.
    pub gateway: Gateway,
    /// Where KEDA reads queue depth.
    pub metrics: Metrics,
    /// Upper bound on any workload's `replicas.max`.
    pub max_replicas_ceiling: i32,
    /// Component versions.
    pub versions: Versions,
    /// GitOps engine settings.
    pub gitops: GitOps,
    /// Karpenter node pool emission.
    pub karpenter: Karpenter,
}

/// The gateway's Helm release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Release {
    /// Release name.
    pub name: String,
    /// Release namespace.
    pub namespace: String,
}

/// Gateway connection for workers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Gateway {
    /// `HEVLAYER_BASE_URL`.
    pub base_url: String,
    /// The Secret with the gateway API key.
    pub api_secret: SecretKeyRef,
}

/// A key in a Secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Secret name.
    pub name: String,
    /// Key in the Secret.
    pub key: String,
}

/// The metrics endpoint KEDA queries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Metrics {
    /// Prometheus-compatible server address.
    pub server_address: String,
}

/// Component versions, as `major.minor`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Versions {
    /// Kubernetes.
    pub kubernetes: String,
    /// KEDA.
    pub keda: String,
    /// Karpenter.
    pub karpenter: String,
}

/// The GitOps engine that applies the output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// Plain output.
    #[default]
    None,
    /// Argo CD: sync-wave annotations.
    Argo,
    /// Flux: ordered Kustomizations.
    Flux,
}

/// GitOps settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct GitOps {
    /// The engine.
    pub engine: Engine,
    /// Flux settings.
    pub flux: Flux,
}

/// Flux settings for `--gitops flux`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Flux {
    /// The Flux source that holds the rendered tree.
    pub source_ref: FluxSourceRef,
    /// Path of the rendered tree in that source.
    pub path: String,
}

/// A Flux source reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct FluxSourceRef {
    /// Source kind, such as `GitRepository`.
    pub kind: String,
    /// Source name.
    pub name: String,
    /// Source namespace.
    pub namespace: String,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            release: Release::default(),
            gateway: Gateway::default(),
            metrics: Metrics::default(),
            max_replicas_ceiling: 100,
            versions: Versions::default(),
            gitops: GitOps::default(),
            karpenter: Karpenter::default(),
        }
    }
}

impl Default for Release {
    fn default() -> Self {
        Release {
            name: "layer".into(),
            namespace: "layer".into(),
        }
    }
}

impl Default for Gateway {
    fn default() -> Self {
        Gateway {
            base_url: "http://layer-gateway.layer.svc.cluster.local:8080".into(),
            api_secret: SecretKeyRef::default(),
        }
    }
}

impl Default for SecretKeyRef {
    fn default() -> Self {
        SecretKeyRef {
            name: "layer".into(),
            key: "turbopuffer-api-key".into(),
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            server_address: "http://layer-gateway.layer.svc.cluster.local:8080/v2/metrics".into(),
        }
    }
}

impl Default for Versions {
    fn default() -> Self {
        Versions {
            kubernetes: "1.35".into(),
            keda: "2.20".into(),
            karpenter: "1.14".into(),
        }
    }
}

impl Default for GitOps {
    fn default() -> Self {
        GitOps {
            engine: Engine::None,
            flux: Flux::default(),
        }
    }
}

impl Default for Flux {
    fn default() -> Self {
        Flux {
            source_ref: FluxSourceRef::default(),
            path: "./rendered".into(),
        }
    }
}

impl Default for FluxSourceRef {
    fn default() -> Self {
        FluxSourceRef {
            kind: "GitRepository".into(),
            name: "flux-system".into(),
            namespace: "flux-system".into(),
        }
    }
}

impl Profile {
    /// Parses a profile file. Missing fields keep their defaults; unknown fields and wrong
    /// types are diagnostics with the file's position.
    pub fn parse(file: &str, text: &str) -> Result<Profile, Vec<Diagnostic>> {
        if text.trim().is_empty() {
            return Ok(Profile::default());
        }
        let options = serde_saphyr::options! { with_snippet: false, strict_booleans: true };
        let profile: Profile =
            serde_saphyr::from_str_with_options(text, options).map_err(|err| {
                let (line, column) = err
                    .location()
                    .map_or((1, 1), |l| (l.line().max(1), l.column().max(1)));
                let message = err.without_snippet().to_string();
                let message = message.lines().next().unwrap_or_default();
                let message = message.split(" at line ").next().unwrap_or(message);
                vec![
                    Diagnostic::new(Code::InvalidProfile, format!("invalid profile: {message}"))
                        .at(Span::new(file, line, column)),
                ]
            })?;
        let problems = profile.check(file);
        if problems.is_empty() {
            Ok(profile)
        } else {
            Err(problems)
        }
    }

    /// Checks that values are usable, beyond their types.
    fn check(&self, file: &str) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let mut bad = |field: &[&str], message: &str| {
            out.push(
                Diagnostic::new(Code::InvalidProfile, message.to_string())
                    .at(Span::new(file, 1, 1))
                    .field(FieldPath::keys(field)),
            );
        };
        if self.max_replicas_ceiling < 1 {
            bad(&["maxReplicasCeiling"], "must be at least 1");
        }
        for (field, value) in [
            (&["gateway", "baseUrl"][..], &self.gateway.base_url),
            (
                &["gateway", "apiSecret", "name"],
                &self.gateway.api_secret.name,
            ),
            (
                &["gateway", "apiSecret", "key"],
                &self.gateway.api_secret.key,
            ),
            (&["metrics", "serverAddress"], &self.metrics.server_address),
        ] {
            if value.trim().is_empty() {
                bad(field, "must not be empty");
            }
        }
        for (field, message) in self.karpenter.check(&self.versions.karpenter) {
            out.push(
                Diagnostic::new(Code::InvalidProfile, message)
                    .at(Span::new(file, 1, 1))
                    .field(FieldPath::setting(field)),
            );
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_printed_default_is_the_default() {
        assert_eq!(
            Profile::parse("default.yaml", DEFAULT_PROFILE_YAML).unwrap(),
            Profile::default()
        );
    }

    #[test]
    fn a_partial_profile_keeps_the_other_defaults() {
        let profile = Profile::parse(
            "p.yaml",
            "maxReplicasCeiling: 50\ngateway:\n  apiSecret:\n    key: k\n",
        )
        .unwrap();
        assert_eq!(profile.max_replicas_ceiling, 50);
        assert_eq!(profile.gateway.api_secret.key, "k");
        assert_eq!(profile.gateway.api_secret.name, "layer");
        assert_eq!(
            profile.gateway.base_url,
            Profile::default().gateway.base_url
        );
    }

    #[test]
    fn an_unknown_field_is_an_error_with_its_position() {
        let err = Profile::parse("p.yaml", "gateway:\n  baseURL: x\n").unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].code, Code::InvalidProfile);
        assert_eq!(err[0].span, Some(Span::new("p.yaml", 2, 3)));
        assert!(err[0].message.contains("baseURL"), "{}", err[0]);
    }

    #[test]
    fn a_zero_ceiling_is_refused() {
        let err = Profile::parse("p.yaml", "maxReplicasCeiling: 0\n").unwrap_err();
        assert_eq!(
            err[0].to_string(),
            "p.yaml:1:1: error[E500]: maxReplicasCeiling: must be at least 1"
        );
    }
}
