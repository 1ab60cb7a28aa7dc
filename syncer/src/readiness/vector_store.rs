//! VectorStore status: validation (kind implemented, one default per namespace, probe-able
//! endpoint, credential Secret present when the syncer may read it) and `reachable` from the
//! probe.

use layer_render::api::{VectorStore, VectorStoreStatus};

use super::endpoint::{ProbeState, parse_target};
use super::{Assessment, Reason, Verdict, stale_spec};

/// Whether the credential Secret exists, as far as the syncer can tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretState {
    /// The Secret exists.
    Present,
    /// The API server answered 404.
    Missing,
    /// Not checked: no `credential`, RBAC forbids reading Secrets, or no answer yet.
    Unknown,
}

/// The status of a VectorStore. `neighbours` are the stores of its namespace, itself included.
pub fn assess(
    cr: &VectorStore,
    neighbours: &[&VectorStore],
    probe: &ProbeState,
    credential: &SecretState,
) -> Assessment<VectorStoreStatus> {
    let name = cr.metadata.name.as_deref().unwrap_or_default();
    let namespace = cr.metadata.namespace.as_deref().unwrap_or_default();
    let reachable = match probe {
        ProbeState::Reachable => Some(true),
        ProbeState::Unreachable(_) => Some(false),
        ProbeState::Pending | ProbeState::Disabled => None,
    };
    let verdict = verdict(cr, name, namespace, neighbours, probe, credential);
    Assessment {
        verdict,
        status: VectorStoreStatus {
            reachable,
            ..VectorStoreStatus::default()
        },
    }
}

fn verdict(
    cr: &VectorStore,
    name: &str,
    namespace: &str,
    neighbours: &[&VectorStore],
    probe: &ProbeState,
    credential: &SecretState,
) -> Verdict {
    let spec = &cr.spec;
    if !spec.kind.is_implemented() {
        return Verdict::new(
            Reason::KindNotImplemented,
            format!(
                "VectorStore/{name}: spec.kind={} is reserved but not implemented. Use turbopuffer, search or search-embedded.",
                spec.kind.as_str()
            ),
        );
    }
    if spec.default {
        let mut defaults: Vec<&str> = neighbours
            .iter()
            .filter(|s| s.spec.default)
            .filter_map(|s| s.metadata.name.as_deref())
            .collect();
        defaults.sort_unstable();
        defaults.dedup();
        if defaults.len() > 1 {
            return Verdict::new(
                Reason::MultipleDefaultStores,
                format!(
                    "multiple default VectorStores found in namespace {namespace}: {}. Keep default: true on exactly one.",
                    defaults.join(",")
                ),
            );
        }
    }
    if let Err(problem) = parse_target(&spec.endpoint.url) {
        return Verdict::new(
            Reason::InvalidEndpoint,
            format!(
                "VectorStore/{name}: spec.endpoint.url {:?} cannot be probed: {problem}. Use an absolute http:// or https:// URL.",
                spec.endpoint.url
            ),
        );
    }
    if let Some(v) = stale_spec(cr, &cr.metadata, "VectorStore") {
        return v;
    }
    if *credential == SecretState::Missing {
        let secret = spec
            .credential
            .as_ref()
            .map(|c| c.secret_ref.name.as_str())
            .unwrap_or_default();
        return Verdict::new(
            Reason::CredentialMissing,
            format!(
                "VectorStore/{name}: credential Secret {namespace}/{secret} does not exist. Create it (for example with External Secrets) with the key spec.credential.secretRef.key names."
            ),
        );
    }
    match probe {
        ProbeState::Disabled => Verdict::new(
            Reason::ProbeDisabled,
            format!(
                "VectorStore/{name} is valid; the reachability probe is off (--no-probe), so status.reachable is not reported."
            ),
        ),
        ProbeState::Pending => Verdict::new(
            Reason::ProbePending,
            format!(
                "VectorStore/{name}: waiting for the first probe of {}.",
                spec.endpoint.url
            ),
        ),
        ProbeState::Unreachable(why) => Verdict::new(
            Reason::Unreachable,
            format!(
                "VectorStore/{name}: {} did not answer the probe ({why}). Check the URL, DNS and egress network policy from the layer namespace.",
                spec.endpoint.url
            ),
        ),
        ProbeState::Reachable => Verdict::new(
            Reason::Reachable,
            format!("VectorStore/{name}: {} is reachable.", spec.endpoint.url),
        ),
    }
}
