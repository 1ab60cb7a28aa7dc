//! Leader election with a Lease (`kube-lease-manager`): with `--leader-elect`, only the Lease
//! holder writes status. Every replica keeps its caches warm, so a new holder writes at once.
//!
//! The holder renews `--lease-renew-before` (5 s) before its `--lease-duration` (15 s) Lease
//! expires. A replica takes a Lease that is free, or that expired without being renewed, by a
//! server-side apply of `holderIdentity` under its own field manager: when two try at once,
//! the second apply conflicts (409) on the field the first now owns, so one wins. A holder
//! that stops releases the Lease after its last write; one that dies leaves it to expire.

use std::time::Duration;

use kube::Client;
use kube_lease_manager::{LeaseManagerBuilder, LeaseManagerError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The API's limit on a field manager's name.
const FIELD_MANAGER_LIMIT: usize = 128;

/// Where and as whom to compete for the Lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Election {
    /// The release namespace.
    pub namespace: String,
    /// `--lease-name`.
    pub lease_name: String,
    /// This replica (its pod name).
    pub identity: String,
    /// `--lease-duration` (whole seconds).
    pub duration: Duration,
    /// `--lease-renew-before` (whole seconds, shorter than `duration`).
    pub renew_before: Duration,
}

impl Election {
    /// The field manager of this replica's Lease writes. It must differ between replicas: a
    /// shared one would let a second replica's apply overwrite the holder without a conflict.
    pub fn field_manager(&self) -> String {
        let mut m = format!("layer-syncer-lease/{}", self.identity);
        let mut end = m.len().min(FIELD_MANAGER_LIMIT);
        while !m.is_char_boundary(end) {
            end -= 1;
        }
        m.truncate(end);
        m
    }
}

/// A leadership flag that is always true (no `--leader-elect`). Keep the sender alive.
pub fn always() -> (watch::Sender<bool>, watch::Receiver<bool>) {
    watch::channel(true)
}

/// Starts competing for the Lease. The flag turns true while this replica holds it; dropping
/// every receiver releases it.
pub async fn elect(
    client: Client,
    election: &Election,
) -> Result<
    (
        watch::Receiver<bool>,
        JoinHandle<Result<kube_lease_manager::LeaseManager, LeaseManagerError>>,
    ),
    LeaseManagerError,
> {
    // Validated whole seconds, renew-before shorter than duration (`cli::Cli::validate`);
    // clamped again here because the library panics otherwise.
    let duration = election.duration.as_secs().max(2);
    let grace = election.renew_before.as_secs().clamp(1, duration - 1);
    let manager = LeaseManagerBuilder::new(client, &election.lease_name)
        .with_namespace(&election.namespace)
        .with_identity(&election.identity)
        .with_duration(duration)
        .with_grace(grace)
        .with_field_manager(election.field_manager())
        .build()
        .await?;
    Ok(manager.watch().await)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn election(identity: &str) -> Election {
        Election {
            namespace: "layer".into(),
            lease_name: "layer-syncer".into(),
            identity: identity.into(),
            duration: Duration::from_secs(15),
            renew_before: Duration::from_secs(5),
        }
    }

    #[test]
    fn each_replica_writes_the_lease_under_its_own_field_manager() {
        assert_eq!(
            election("layer-syncer-7d9f-abcde").field_manager(),
            "layer-syncer-lease/layer-syncer-7d9f-abcde"
        );
        assert_ne!(election("a").field_manager(), election("b").field_manager());
        assert_eq!(election(&"x".repeat(300)).field_manager().len(), 128);
    }
}
