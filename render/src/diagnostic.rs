//! Diagnostics: bad input is data, not an `Error`.
//!
//! Every problem that render finds in its input is a [`Diagnostic`] with a stable [`Code`],
//! a severity, a source span, the object it belongs to and a field path. Validators return
//! the whole list; the binary prints every one and decides the exit code at the end.
//! Codes are never renumbered or reused; `docs/diagnostics.md` has an entry for each, and a
//! test keeps the two in step.

use std::fmt;

use serde::Serialize;

use crate::field_path::FieldPath;
use crate::key::ObjectKey;

/// How bad a diagnostic is. `--strict` promotes warnings to errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Rendering goes on; the output is still written.
    Warning,
    /// Nothing is written; the exit code is 2.
    Error,
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $severity:ident; )*) => {
        /// The registry of diagnostic codes. One variant per kind of problem.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
        }

        impl Code {
            /// Every code, in registry order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The stable code string, such as `E101`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// The severity a diagnostic with this code has before `--strict`.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }
        }
    };
}

codes! {
    // === load: files and YAML ===
    /// A file or directory could not be read.
    Io = "E100", Error;
    /// The text is not valid YAML.
    YamlSyntax = "E101", Error;
    /// The input exceeds a resource limit (size, depth, aliases, nodes).
    ResourceLimit = "E102", Error;
    /// A document is not a mapping (a scalar or a list at the top).
    NotAnObject = "E103", Error;
    /// `apiVersion` or `kind` is missing or not a string.
    MissingTypeMeta = "E104", Error;
    /// A mapping holds the same key twice.
    DuplicateKey = "E105", Error;
    /// A mapping key is not a string.
    NonStringKey = "E106", Error;
    /// The file is not valid UTF-8.
    InvalidUtf8 = "E107", Error;
    /// A `kind: List` whose `items` is not a list of objects.
    InvalidList = "E108", Error;
    /// `metadata.name` or `metadata.namespace` is missing or not a valid Kubernetes name.
    InvalidName = "E109", Error;
    /// Two input objects have the same kind, namespace and name.
    DuplicateObject = "E110", Error;
    /// A namespace was given on a cluster-scoped kind.
    NamespaceOnClusterScoped = "E111", Error;
    /// The `apiVersion` is not the served version of a hev layer kind.
    UnsupportedVersion = "E112", Error;
    /// An `apiVersion` group or version, or a `kind`, that Kubernetes could not hold.
    InvalidIdentity = "E113", Error;
    /// A symlink that leads outside the input path it was found under.
    LinkOutsideRoot = "E114", Error;
    /// A symlink loop: a chain of links with no end, or a directory link back to its own tree.
    LinkLoop = "E115", Error;

    // === schema: the generated CRD schema ===
    /// A value has the wrong type.
    WrongType = "E200", Error;
    /// A required field is missing.
    RequiredField = "E201", Error;
    /// A value is not one of the allowed values.
    UnsupportedValue = "E202", Error;
    /// A number is outside the range of its field.
    OutOfRange = "E203", Error;
    /// A field that the CRD does not know; the API server would prune it.
    UnknownField = "W200", Warning;

    // === validate: across objects ===
    /// More than one VectorStore with `default: true` in one namespace.
    MultipleDefaultStores = "E300", Error;
    /// A VectorStore kind that is reserved but not implemented (`pinecone`).
    StoreKindNotImplemented = "E301", Error;
    /// A VectorStore `endpoint.url` that is blank.
    BlankEndpoint = "E302", Error;
    /// An Index `storeRef` that names no VectorStore in its namespace.
    UnknownStore = "E303", Error;
    /// An Index without `storeRef` in a namespace with no single default VectorStore.
    NoDefaultStore = "E304", Error;
    /// Two Index CRs resolve to the same backend namespace.
    DuplicateBackendNamespace = "E305", Error;
    /// An InfraRules object not named `default`.
    InfraRulesName = "E306", Error;
    /// Two compute pools with the same name.
    DuplicatePool = "E307", Error;
    /// A workload names a pool that does not exist.
    UnknownPool = "E308", Error;
    /// `replicas.min` is greater than `replicas.max`.
    ReplicaRange = "E309", Error;
    /// `replicas.max` is above the pool's `maxReplicasPerWorkload`.
    PoolCeiling = "E310", Error;
    /// `replicas.max` is above the profile's `maxReplicasCeiling`.
    ProfileCeiling = "E311", Error;
    /// A cron expression that render cannot schedule.
    InvalidCron = "E312", Error;
    /// VectorStore inbound auth `keys` mode without keys.
    NoInboundKeys = "E313", Error;
    /// A `search` VectorStore with `deriveFromStore` inbound auth.
    SearchDerivesFromStore = "E314", Error;
    /// An empty string in `snapshot.facetFields`.
    EmptyFacetField = "E315", Error;
    /// A workload name too long for its child objects' names and labels.
    NameTooLong = "E316", Error;
    /// A value that must be a valid label value (such as `pipelineId`) is not.
    InvalidLabelValue = "E317", Error;
    /// A compute pool whose `maxReplicasPerWorkload` is below 1.
    InvalidPool = "E318", Error;
    /// No VectorStore in the input for an Index's namespace, so its store cannot be checked.
    StoreNotInInput = "W300", Warning;

    // === expand: building child objects ===
    /// `worker.podSpec` does not merge into a valid pod spec.
    InvalidPodSpec = "E400", Error;
    /// A `push` worker port outside 1..65535.
    InvalidPort = "E401", Error;
    /// `sourceRef.warehouseRef` names a Warehouse that is not in the input.
    WarehouseNotInInput = "W400", Warning;
    /// `worker.podSpec` leaves the Pod Security Standard `restricted`.
    PodSecurityRelaxed = "W401", Warning;

    // === profile and usage ===
    /// The profile file is not valid.
    InvalidProfile = "E500", Error;

    // === schedule: Karpenter NodePools and where workers can run ===
    /// A worker Deployment fits no NodePool that render knows.
    Unschedulable = "E600", Error;
    /// Pools that select one NodePool disagree on its labels, requirements or kind.
    NodePoolConflict = "E601", Error;
    /// A NodePool or EC2NodeClass that render emits is also in the input.
    NodePoolInInput = "E602", Error;
    /// A pool's `nodeSelector` needs a label that no NodePool can put on its nodes.
    UnprovisionableSelector = "E603", Error;
    /// A NodePool in the input or in a `--nodepools` file cannot be read.
    InvalidNodePool = "E604", Error;
    /// A worker fits no known NodePool, reported as a warning: render knows only the chart's
    /// default NodePools, or `--allow-unschedulable` was given.
    UnschedulableWarning = "W600", Warning;
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A position in a source file: 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Span {
    /// The file as the user named it (`-` for stdin), never made absolute.
    pub file: String,
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
}

impl Span {
    /// A span at `line:column` of `file`.
    pub fn new(file: impl Into<String>, line: u64, column: u64) -> Self {
        Span {
            file: file.into(),
            line,
            column,
        }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One problem found in the input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The stable code.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// Where in the input, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
    /// The object (boxed: diagnostics travel in `Err`s); it shows as `Kind/namespace/name` (`Kind/name` when cluster-scoped).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "object_ref")]
    pub object: Option<Box<ObjectKey>>,
    /// The field path inside the object, such as `spec.scaling.replicas.max`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<FieldPath>,
    /// What is wrong, and what to do about it.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic with the code's own severity and no location yet.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: code.severity(),
            span: None,
            object: None,
            field: None,
            message: message.into(),
        }
    }

    /// Sets the source span.
    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    /// Sets the source span when one is known.
    pub fn at_opt(mut self, span: Option<Span>) -> Self {
        self.span = span;
        self
    }

    /// Sets the object.
    pub fn object(mut self, object: ObjectKey) -> Self {
        self.object = Some(Box::new(object));
        self
    }

    /// Sets the field path; the object itself is no field.
    pub fn field(mut self, field: FieldPath) -> Self {
        self.field = (!field.is_root()).then_some(field);
        self
    }

    /// True for errors (after any `--strict` promotion).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// `file:line:column: error[CODE]: Kind/namespace/name: field.path: message`; the parts
    /// that do not apply are left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(span) = &self.span {
            write!(f, "{span}: ")?;
        }
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{severity}[{}]: ", self.code)?;
        if let Some(object) = &self.object {
            write!(f, "{object}: ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Sorts diagnostics into a stable order: by file, line, column, then code and text.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by_cached_key(|d| {
        let field = d.field.as_ref().map(ToString::to_string);
        (
            d.span.clone(),
            d.code,
            d.object.as_deref().map(ObjectKey::display_ref),
            field,
            d.message.clone(),
        )
    });
}

/// An object as its reference text, the way diagnostics show it.
fn object_ref<S: serde::Serializer>(key: &Option<Box<ObjectKey>>, s: S) -> Result<S::Ok, S::Error> {
    match key {
        Some(key) => s.collect_str(key),
        None => s.serialize_none(),
    }
}

/// Promotes every warning to an error (`--strict`).
pub fn promote_warnings(diagnostics: &mut [Diagnostic]) {
    for d in diagnostics {
        d.severity = Severity::Error;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_every_part_in_contract_order() {
        let d = Diagnostic::new(Code::RequiredField, "required field is missing")
            .at(Span::new("pipes/a.yaml", 12, 5))
            .object(ObjectKey::new(
                "hevlayer.com/v1alpha1",
                "Pipeline",
                Some("shop"),
                "embed",
            ))
            .field(FieldPath::keys(&["spec", "scaling", "replicas", "max"]));
        assert_eq!(
            d.to_string(),
            "pipes/a.yaml:12:5: error[E201]: Pipeline/shop/embed: spec.scaling.replicas.max: \
             required field is missing"
        );
    }

    #[test]
    fn display_leaves_out_missing_parts() {
        let d = Diagnostic::new(Code::UnknownField, "unknown field");
        assert_eq!(d.to_string(), "warning[W200]: unknown field");
    }

    #[test]
    fn codes_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            assert!(seen.insert(code.as_str()), "duplicate code {code}");
        }
    }

    #[test]
    fn code_letter_matches_severity() {
        for code in Code::ALL {
            let letter = match code.severity() {
                Severity::Error => 'E',
                Severity::Warning => 'W',
            };
            assert!(code.as_str().starts_with(letter), "{code}");
        }
    }
}
