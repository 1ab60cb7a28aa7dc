//! VectorStore and Index readiness: every reason, in ok/fail pairs.

use layer_render::api::{Index, IndexStatus, Scan, VectorStore, VectorStoreStatus};

use super::{message, t, triple};
use crate::readiness::endpoint::ProbeState;
use crate::readiness::fixtures::*;
use crate::readiness::vector_store::SecretState;
use crate::readiness::{finish, index, vector_store};

fn store_status(
    cr: &VectorStore,
    neighbours: &[&VectorStore],
    probe: ProbeState,
    secret: SecretState,
) -> VectorStoreStatus {
    finish(
        vector_store::assess(cr, neighbours, &probe, &secret),
        cr.metadata.generation,
        &[],
        None,
        clock(),
    )
    .0
}

#[test]
fn a_reachable_store_is_ready_and_an_unreachable_one_reconciles_then_stalls() {
    let s = rendered(STORE).vector_store("turbopuffer-default");
    let ok = store_status(&s, &[&s], ProbeState::Reachable, SecretState::Present);
    assert_eq!(
        triple(&ok.conditions),
        t("True", "False", "False", "Reachable")
    );
    assert_eq!(ok.reachable, Some(true));
    let down = ProbeState::Unreachable(
        "connect to aws-us-east-1.turbopuffer.com:443: connection refused".into(),
    );
    let (bad, p) = finish(
        vector_store::assess(&s, &[&s], &down, &SecretState::Present),
        Some(1),
        &[],
        None,
        clock(),
    );
    assert_eq!(
        triple(&bad.conditions),
        t("False", "True", "False", "Unreachable")
    );
    assert_eq!(bad.reachable, Some(false));
    assert!(message(&bad.conditions).contains("connection refused"));
    let (stalled, _) = finish(
        vector_store::assess(&s, &[&s], &down, &SecretState::Present),
        Some(1),
        &bad.conditions,
        Some(&p),
        later(600),
    );
    assert_eq!(
        triple(&stalled.conditions),
        t("False", "False", "True", "Unreachable")
    );
}

#[test]
fn before_the_first_probe_ready_is_unknown_and_without_probes_reachable_is_absent() {
    let s = rendered(STORE).vector_store("turbopuffer-default");
    let pending = store_status(&s, &[&s], ProbeState::Pending, SecretState::Unknown);
    assert_eq!(
        triple(&pending.conditions),
        t("Unknown", "True", "False", "ProbePending")
    );
    assert_eq!(pending.reachable, None);
    let off = store_status(&s, &[&s], ProbeState::Disabled, SecretState::Unknown);
    assert_eq!(
        triple(&off.conditions),
        t("True", "False", "False", "ProbeDisabled")
    );
    assert_eq!(off.reachable, None);
    assert_eq!(serde_json::to_value(&off).unwrap().get("reachable"), None);
}

#[test]
fn a_missing_credential_secret_reconciles_and_an_unknown_one_does_not_block() {
    let s = rendered(STORE).vector_store("turbopuffer-default");
    let missing = store_status(&s, &[&s], ProbeState::Reachable, SecretState::Missing);
    assert_eq!(
        triple(&missing.conditions),
        t("False", "True", "False", "CredentialMissing")
    );
    assert!(message(&missing.conditions).contains("Secret layer/layer does not exist"));
    let unknown = store_status(&s, &[&s], ProbeState::Reachable, SecretState::Unknown);
    assert_eq!(triple(&unknown.conditions).3, "Reachable");
}

#[test]
fn an_unimplemented_kind_is_stalled() {
    let pinecone: VectorStore = yaml(&STORE.replace("kind: turbopuffer", "kind: pinecone"));
    let status = store_status(
        &pinecone,
        &[&pinecone],
        ProbeState::Reachable,
        SecretState::Present,
    );
    assert_eq!(
        triple(&status.conditions),
        t("False", "False", "True", "KindNotImplemented")
    );
}

#[test]
fn two_default_stores_are_both_stalled_and_one_is_fine() {
    let a = rendered(STORE).vector_store("turbopuffer-default");
    let mut b = a.clone();
    b.metadata.name = Some("search".into());
    let status = store_status(&a, &[&a, &b], ProbeState::Reachable, SecretState::Present);
    assert_eq!(
        triple(&status.conditions),
        t("False", "False", "True", "MultipleDefaultStores")
    );
    assert!(message(&status.conditions).contains("search,turbopuffer-default"));
    b.spec.default = false;
    let status = store_status(&a, &[&a, &b], ProbeState::Reachable, SecretState::Present);
    assert_eq!(triple(&status.conditions).3, "Reachable");
}

#[test]
fn an_endpoint_without_scheme_is_stalled() {
    let s: VectorStore = yaml(&STORE.replace(
        "https://aws-us-east-1.turbopuffer.com",
        "aws-us-east-1.turbopuffer.com",
    ));
    let status = store_status(&s, &[&s], ProbeState::Pending, SecretState::Unknown);
    assert_eq!(
        triple(&status.conditions),
        t("False", "False", "True", "InvalidEndpoint")
    );
}

#[test]
fn a_store_edited_outside_render_is_stale() {
    let mut s = rendered(STORE).vector_store("turbopuffer-default");
    s.spec.endpoint.region = "eu-central-1".into();
    let status = store_status(&s, &[&s], ProbeState::Reachable, SecretState::Present);
    assert_eq!(
        triple(&status.conditions),
        t("False", "True", "False", "RenderStale")
    );
}

fn ready_store() -> VectorStore {
    let mut s = rendered(STORE).vector_store("turbopuffer-default");
    s.status = Some(store_status(
        &s,
        &[&s],
        ProbeState::Reachable,
        SecretState::Present,
    ));
    s
}

fn index_status(cr: &Index, peers: &[&Index], stores: &[&VectorStore]) -> IndexStatus {
    finish(
        index::assess(cr, peers, stores),
        cr.metadata.generation,
        &[],
        None,
        clock(),
    )
    .0
}

#[test]
fn an_index_on_a_ready_store_is_ready_and_on_an_unready_one_is_not() {
    let i = rendered(INDEX).index("products");
    let store = ready_store();
    let status = index_status(&i, &[&i], &[&store]);
    assert_eq!(
        triple(&status.conditions),
        t("True", "False", "False", "StoreReady")
    );
    assert!(message(&status.conditions).contains("backend namespace amazon-products"));
    let mut down = store.clone();
    down.status = Some(store_status(
        &down,
        &[&down],
        ProbeState::Unreachable("timeout".into()),
        SecretState::Present,
    ));
    let status = index_status(&i, &[&i], &[&down]);
    assert_eq!(
        triple(&status.conditions),
        t("False", "True", "False", "StoreNotReady")
    );
    let mut unevaluated = store;
    unevaluated.status = None;
    let status = index_status(&i, &[&i], &[&unevaluated]);
    assert!(message(&status.conditions).contains("no Ready condition yet"));
}

#[test]
fn an_index_whose_store_does_not_resolve_says_why() {
    let named = rendered(&INDEX.replace(
        "{namespace: amazon-products}",
        "{namespace: amazon-products, storeRef: tpuf}",
    ))
    .index("products");
    let store = ready_store();
    let status = index_status(&named, &[&named], &[&store]);
    assert_eq!(
        triple(&status.conditions),
        t("False", "True", "False", "StoreNotFound")
    );
    assert!(
        message(&status.conditions).contains("VectorStore \"tpuf\" not found in namespace layer")
    );
    let i = rendered(INDEX).index("products");
    let mut not_default = store.clone();
    not_default.spec.default = false;
    let mut second = not_default.clone();
    second.metadata.name = Some("other".into());
    let status = index_status(&i, &[&i], &[&not_default, &second]);
    assert_eq!(
        triple(&status.conditions),
        t("False", "True", "False", "NoDefaultStore")
    );
    let mut two_defaults = store.clone();
    two_defaults.metadata.name = Some("other".into());
    let status = index_status(&i, &[&i], &[&store, &two_defaults]);
    assert_eq!(
        triple(&status.conditions),
        t("False", "False", "True", "MultipleDefaultStores")
    );
    let status = index_status(&i, &[&i], &[]);
    assert_eq!(triple(&status.conditions).3, "NoDefaultStore");
}

#[test]
fn two_indexes_on_one_backend_namespace_conflict() {
    let i = rendered(INDEX).index("products");
    let mut twin = i.clone();
    twin.metadata.name = Some("products-copy".into());
    let store = ready_store();
    let status = index_status(&i, &[&i, &twin], &[&store]);
    assert_eq!(
        triple(&status.conditions),
        t("False", "False", "True", "BackendNamespaceConflict")
    );
    assert!(message(&status.conditions).contains("products, products-copy"));
    twin.spec.backend.namespace = Some("other".into());
    let status = index_status(&i, &[&i, &twin], &[&store]);
    assert_eq!(triple(&status.conditions).3, "StoreReady");
}

#[test]
fn an_index_edited_outside_render_is_stale() {
    let mut i = rendered(INDEX).index("products");
    i.spec.scan = Some(Scan { threads: 64 });
    let store = ready_store();
    let status = index_status(&i, &[&i], &[&store]);
    assert_eq!(
        triple(&status.conditions),
        t("False", "True", "False", "RenderStale")
    );
}
