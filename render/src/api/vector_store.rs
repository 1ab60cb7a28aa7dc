//! `VectorStore` (`hevlayer.com/v1alpha1`, namespaced): the gateway's upstream connection
//! (upstream spec section 2).
//!
//! A store names its engine, endpoint and credential Secret, and the inbound-auth policy the
//! gateway applies to its clients. Render emits it with defaults applied and creates no
//! children. The schema's CEL rules catch what one object can show (blank URL, `keys` mode
//! without keys, `search` with `deriveFromStore`); rules that span objects (one default store per
//! namespace, unimplemented kinds) live in `validate`.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::conditions::Condition;
use super::nulls::or_default;

/// Desired state of a VectorStore.
// Several `printcolumn(...)` entries repeat `type_ = ...`, which clippy mistakes for
// duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "hevlayer.com",
    version = "v1alpha1",
    kind = "VectorStore",
    plural = "vectorstores",
    singular = "vectorstore",
    namespaced,
    status = "VectorStoreStatus",
    derive = "PartialEq",
    doc = "A vector store the hev layer gateway connects to: engine, endpoint, credential and the inbound-auth policy for the gateway's clients.",
    printcolumn(name = "Default", type_ = "boolean", json_path = ".spec.default"),
    printcolumn(name = "Kind", type_ = "string", json_path = ".spec.kind"),
    printcolumn(name = "Region", type_ = "string", json_path = ".spec.endpoint.region"),
    printcolumn(name = "Reachable", type_ = "boolean", json_path = ".status.reachable")
)]
#[x_kube(validation = Rule::new(SEARCH_RULE).message(SEARCH_MESSAGE))]
#[serde(rename_all = "camelCase")]
pub struct VectorStoreSpec {
    /// Store engine: `turbopuffer`, `search` or `search-embedded`. `pinecone` is reserved and
    /// rejected until implemented.
    pub kind: StoreKind,
    /// Use this store for Index objects that set no `backend.storeRef`. At most one store per
    /// namespace may be the default.
    #[serde(default, deserialize_with = "or_default")]
    pub default: bool,
    /// Upstream API endpoint.
    pub endpoint: Endpoint,
    /// Upstream credential, read from a Secret in the VectorStore's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<Credential>,
    /// How the gateway authenticates its own clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_auth: Option<InboundAuth>,
    /// Turbopuffer-specific settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turbopuffer: Option<TurbopufferSettings>,
    /// hev search settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<SearchSettings>,
}

/// CEL rule on the VectorStore spec: a `search` store needs `keys` or `open` inbound auth.
/// `inboundAuth` absent means `deriveFromStore`, so it fails too.
pub(crate) const SEARCH_RULE: &str = "self.kind != 'search' || (has(self.inboundAuth) && self.inboundAuth.mode != 'deriveFromStore')";
/// Message of [`SEARCH_RULE`].
pub(crate) const SEARCH_MESSAGE: &str = "a VectorStore of kind search cannot use inboundAuth.mode deriveFromStore (the default); set inboundAuth.mode to keys or open";

/// Store engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum StoreKind {
    /// Turbopuffer.
    #[serde(rename = "turbopuffer")]
    Turbopuffer,
    /// Pinecone: reserved by the schema, rejected until implemented.
    #[serde(rename = "pinecone")]
    Pinecone,
    /// hev search.
    #[serde(rename = "search")]
    Search,
    /// hev search embedded in the gateway.
    #[serde(rename = "search-embedded")]
    SearchEmbedded,
}

impl StoreKind {
    /// The upstream spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::Turbopuffer => "turbopuffer",
            StoreKind::Pinecone => "pinecone",
            StoreKind::Search => "search",
            StoreKind::SearchEmbedded => "search-embedded",
        }
    }

    /// Whether the product implements this engine (`pinecone` is only reserved).
    pub fn is_implemented(self) -> bool {
        !matches!(self, StoreKind::Pinecone)
    }
}

/// Upstream API endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
pub struct Endpoint {
    /// Base URL of the upstream API; must not be blank.
    #[x_kube(validation = Rule::new(URL_RULE).message(URL_MESSAGE))]
    pub url: String,
    /// Region label shown to operators, such as `aws-us-east-1`.
    pub region: String,
}

/// CEL rule on `endpoint.url`: not blank after trimming.
pub(crate) const URL_RULE: &str = "self.trim() != ''";
/// Message of [`URL_RULE`].
pub(crate) const URL_MESSAGE: &str = "endpoint.url must not be blank";

/// A credential held in a Secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    /// The Secret key that holds the credential, in the VectorStore's namespace.
    pub secret_ref: SecretKeyRef,
}

/// A key in a Secret in the VectorStore's namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SecretKeyRef {
    /// Secret name.
    pub name: String,
    /// Key within the Secret.
    pub key: String,
}

/// How the gateway authenticates its clients.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[x_kube(validation = Rule::new(KEYS_RULE).message(KEYS_MESSAGE))]
pub struct InboundAuth {
    /// `deriveFromStore` (clients present the default store's upstream credential), `keys`
    /// (clients present one of `keys`, with scopes) or `open` (no auth).
    #[serde(default, deserialize_with = "or_default")]
    pub mode: InboundAuthMode,
    /// Independent bearer keys for `keys` mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<InboundKey>>,
}

/// CEL rule on `inboundAuth`: `keys` mode lists at least one key.
pub(crate) const KEYS_RULE: &str = "self.mode != 'keys' || (has(self.keys) && size(self.keys) > 0)";
/// Message of [`KEYS_RULE`].
pub(crate) const KEYS_MESSAGE: &str =
    "inboundAuth.mode keys requires at least one entry in inboundAuth.keys";

/// Inbound-auth mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum InboundAuthMode {
    /// Accept the default store's upstream credential as the bearer.
    #[default]
    DeriveFromStore,
    /// Accept the listed keys and enforce their scopes.
    Keys,
    /// No inbound auth.
    Open,
}

/// One inbound bearer key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InboundKey {
    /// Key name.
    pub name: String,
    /// What the key may do: `read`, `write`, `admin` (read and write) or `mint`.
    pub scopes: Vec<KeyScope>,
    /// The Secret key that holds the bearer token.
    pub secret_ref: SecretKeyRef,
}

/// Scope of an inbound key.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum KeyScope {
    /// Reads: GET/HEAD and read-shaped POSTs (query, batch fetch, scans, metrics proxy).
    Read,
    /// Namespace writes.
    Write,
    /// Read and write.
    Admin,
    /// Minting API keys.
    Mint,
}

/// Turbopuffer-specific settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TurbopufferSettings {
    /// Turbopuffer organization id, used for dashboard links and support only.
    pub org_id: String,
}

/// hev search settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchSettings {
    /// Admin bearer for the hev search control plane; data requests still use `credential`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_credential: Option<Credential>,
}

/// Observed state of a VectorStore, written by the syncer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VectorStoreStatus {
    /// Whether the last probe of `endpoint.url` succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reachable: Option<bool>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions, such as `Ready`.
    #[serde(default, deserialize_with = "or_default")]
    pub conditions: Vec<Condition>,
}
