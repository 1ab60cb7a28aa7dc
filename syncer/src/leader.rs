//! Leader election with a Lease (`kube-lease-manager`): with `--leader-elect`, only the Lease
//! holder writes status. Every replica keeps its caches warm, so a new holder writes at once.
//!
//! The holder renews 5 seconds before its 15-second Lease expires; a replica that cannot renew
//! loses the flag when the manager notices, so two writers can overlap only within those
//! bounds (the library's documented clock-skew allowance).

use kube::Client;
use kube_lease_manager::{LeaseManagerBuilder, LeaseManagerError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Seconds a Lease stays valid after its last renewal.
pub const LEASE_DURATION_SECONDS: u64 = 15;
/// Seconds before expiry at which the holder renews.
pub const LEASE_GRACE_SECONDS: u64 = 5;

/// A leadership flag that is always true (no `--leader-elect`). Keep the sender alive.
pub fn always() -> (watch::Sender<bool>, watch::Receiver<bool>) {
    watch::channel(true)
}

/// Starts competing for the Lease `name` in `namespace` as `identity`.
pub async fn elect(
    client: Client,
    namespace: &str,
    name: &str,
    identity: &str,
) -> Result<
    (
        watch::Receiver<bool>,
        JoinHandle<Result<kube_lease_manager::LeaseManager, LeaseManagerError>>,
    ),
    LeaseManagerError,
> {
    let manager = LeaseManagerBuilder::new(client, name)
        .with_namespace(namespace)
        .with_identity(identity)
        .with_duration(LEASE_DURATION_SECONDS)
        .with_grace(LEASE_GRACE_SECONDS)
        .with_field_manager("layer-syncer-lease")
        .build()
        .await?;
    Ok(manager.watch().await)
}
