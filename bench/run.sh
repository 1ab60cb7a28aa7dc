#!/usr/bin/env bash
# Render against `helm template` on an equal-output peer chart, at N = 100, 1,000 and 10,000;
# then `layer-render diff` and `check` at N = 1,000 and 10,000.
#
#   bench/run.sh                               # about 7 minutes on 2 cores
#   BENCH_PARTS=diff BENCH_NS="1000 10000" bench/run.sh   # the diff and check figures only
#
# For each N (N Pipelines + N Functions, N/2 Indexes, 2 VectorStores, 1 InfraRules; see
# render/examples/gen/corpus.rs) it generates the input and the peer's values once, into a
# temporary directory, then:
#
#  1. proves that the peer's output equals render's worker objects (Deployments, Services,
#     ScaledObjects, TriggerAuthentications): `layer-render diff`, ignoring only the
#     render-hash annotation, must report no difference, or the run stops;
#  2. measures wall time and peak RSS (`/usr/bin/time -f %M`) of
#       render stream   `layer-render IN > /dev/null`
#       render --out    `layer-render --out DIR IN` (into a fresh directory each time)
#       helm template   `helm template peer bench/helm-peer -f values.yaml > /dev/null`
#       kustomize       `kubectl kustomize DIR > /dev/null` on render's --out tree (a reference)
#     in interleaved repetitions: each repetition runs every tool once, starting with a
#     different one each time, so a load spike on the shared machine hits all tools alike.
#
# It prints a table of medians, helm/render, and t(10,000)/t(1,000) per tool.
#
# The diff part (for each N of BENCH_NS that is 1,000 or more) renders the corpus twice, the
# second time with a profile that moves the gateway (`gateway.baseUrl`): every worker
# Deployment and every workload CR changes, 4N of 7.8N objects. It then times, with wall time
# and peak RSS, each of: `diff` of the two streams and of the two `--out` trees in every
# format, the CI recipes' `diff --format markdown --full-diff` of the trees, `diff --render`
# of the inputs against the inputs with every Pipeline's image bumped, and `check` of a fresh
# tree and of a stale one (the first tree against the second profile). Each runs
# BENCH_DIFF_REPS times (default 3), interleaved; it prints the median of each.
#
# Environment: BENCH_PARTS (default "render diff"), BENCH_NS (default "100 1000 10000"),
# BENCH_DIFF_REPS (default 3), BENCH_REPS (repetitions per N, default
# "100:5 1000:5 10000:5"; at 10,000 one repetition takes about 15 s here, 11 s of it helm),
# KUSTOMIZE_REPS (default "100:5 1000:1"; kustomize is
# quadratic in the number of resources, 75-95 s at N = 1,000 here, so at 10,000 it would take
# hours and is skipped),
# LAYER_TOOLS_DIR (default <repo>/.tools, from scripts/tools.sh), CARGO_TARGET_DIR.
# Wall time is taken with `date +%s%N` around `/usr/bin/time`, so it includes starting that
# wrapper (about a millisecond) for every tool alike.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools=${LAYER_TOOLS_DIR:-$root/.tools}
helm=$tools/bin/helm
kubectl=$tools/bin/kubectl
target=${CARGO_TARGET_DIR:-$root/target}
ns_list=${BENCH_NS:-100 1000 10000}
parts=${BENCH_PARTS:-render diff}
diff_reps=${BENCH_DIFF_REPS:-3}
reps_per_n=${BENCH_REPS:-100:5 1000:5 10000:5}
kustomize_reps=${KUSTOMIZE_REPS:-100:5 1000:1}
ignore='/metadata/annotations/layer.hev.dev~1render-hash'

needed=(/usr/bin/time)
[[ " $parts " == *" render "* ]] && needed+=("$helm" "$kubectl")
for tool in "${needed[@]}"; do
  [[ -x $tool ]] || { echo "missing $tool (run scripts/tools.sh)" >&2; exit 2; }
done

(cd "$root" && cargo build --quiet --release -p layer-render --example gen --bin layer-render)
render=$target/release/layer-render
gen=$target/release/examples/gen

work=$(mktemp -d "${TMPDIR:-/tmp}/layer-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

started=$(date +%s)
echo "layer-render bench: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)," \
  "$("$render" --version)"
if [[ " $parts " == *" render "* ]]; then
  echo "helm $("$helm" version --template '{{.Version}}')," \
    "kubectl $("$kubectl" version --client | sed -n 's/^Client Version: //p')"
fi

# Splits YAML streams (files given, or stdin) into files of at most 1,000 documents under
# DIR: the loader caps one file at 5,000,000 YAML nodes, which 10,000 workloads exceed.
split_stream() {
  local dir=$1; shift
  mkdir -p "$dir"
  awk -v dir="$dir" '
    function next_doc() {
      if (docs % 1000 == 0) { if (file) close(file); file = sprintf("%s/part-%05d.yaml", dir, docs / 1000) }
      docs++
    }
    FILENAME != "-" && FNR == 1 { next_doc(); print "---" > file }
    /^---$/ { next_doc() }
    file { print > file }
  ' "$@"
}

# The median of the numbers on stdin.
median() {
  sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# 10000 -> 10,000.
commas() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }

# measure NAME N CMD...: one timed run; appends "N NAME microseconds KiB" to the results.
measure() {
  local name=$1 n=$2; shift 2
  local t0 t1
  t0=$(date +%s%N)
  if ! /usr/bin/time -o "$work/rss" -f '%M' "$@" >/dev/null 2>"$work/stderr"; then
    echo "$name failed at N=$n: $*" >&2
    tail -5 "$work/stderr" >&2
    exit 1
  fi
  t1=$(date +%s%N)
  echo "$n $name $(((t1 - t0) / 1000)) $(tail -1 "$work/rss")" >>"$work/results"
}

: >"$work/results"
if [[ " $parts " == *" render "* ]]; then
for n in $ns_list; do
  dir=$work/$n
  "$gen" "$n" "$dir/in" --values "$dir/values.yaml"

  # 1. Equality: render's worker objects against the peer's.
  "$render" --out "$dir/out" "$dir/in" 2>/dev/null
  (cd "$dir/out" && find . \( -name '*_Deployment_*' -o -name 'v1_Service_*' \
    -o -name '*_ScaledObject_*' -o -name '*_TriggerAuthentication_*' \) -print0 \
    | sort -z | xargs -0 awk 'FNR == 1 { print "---" } { print }') | split_stream "$dir/render-workers" -
  "$helm" template peer "$root/bench/helm-peer" -f "$dir/values.yaml" | split_stream "$dir/peer" -
  if ! "$render" diff --color never --ignore "$ignore" "$dir/render-workers" "$dir/peer" >"$dir/diff.txt"; then
    echo "N=$n: the helm peer's output differs from render's worker objects:" >&2
    head -40 "$dir/diff.txt" >&2
    exit 1
  fi
  echo "N=$n: peer equals render: $(head -1 "$dir/diff.txt")" \
    "($(cat "$dir"/render-workers/*.yaml | grep -c '^kind:') worker objects," \
    "$(find "$dir/out" -name '*.yaml' ! -name kustomization.yaml | wc -l) objects in render's output)"
  rm -rf "$dir/render-workers" "$dir/peer"

  echo "  ($(($(date +%s) - started)) s) timing..." >&2

  # 2. Timings, interleaved.
  reps=5 k_reps=0
  for entry in $reps_per_n; do [[ ${entry%%:*} == "$n" ]] && reps=${entry#*:}; done
  for entry in $kustomize_reps; do [[ ${entry%%:*} == "$n" ]] && k_reps=${entry#*:}; done
  tool_names=(render-stream render-out helm kustomize)
  for ((rep = 0; rep < reps; rep++)); do
    for ((i = 0; i < 4; i++)); do
      case ${tool_names[(rep + i) % 4]} in
        render-stream) measure render-stream "$n" "$render" "$dir/in" ;;
        render-out)
          rm -rf "$dir/out-bench"
          measure render-out "$n" "$render" --out "$dir/out-bench" "$dir/in"
          ;;
        helm) measure helm "$n" "$helm" template peer "$root/bench/helm-peer" -f "$dir/values.yaml" ;;
        kustomize)
          if ((rep < k_reps)); then measure kustomize "$n" "$kubectl" kustomize "$dir/out"; fi
          ;;
      esac
    done
  done
  rm -rf "$dir"
  echo "  ($(($(date +%s) - started)) s) done" >&2
done

# The report: medians per N and tool.
cell() { # N TOOL -> "seconds MiB reps", empty when not measured
  awk -v n="$1" -v t="$2" '$1 == n && $2 == t { print $3, $4 }' "$work/results" >"$work/cell"
  [[ -s $work/cell ]] || return 0
  echo "$(cut -d' ' -f1 "$work/cell" | median) $(cut -d' ' -f2 "$work/cell" | median) $(wc -l <"$work/cell")"
}
fmt() { # "us kib reps" -> "0.123 s, 45 MiB (5)"
  [[ -n $1 ]] || { echo "not run"; return; }
  awk -v us="${1%% *}" -v rest="${1#* }" 'BEGIN { split(rest, r, " "); printf "%.3f s, %d MiB (%d)", us / 1e6, r[1] / 1024, r[2] }'
}
echo
echo "Medians of wall time and peak RSS (repetitions in parentheses); N Pipelines + N Functions."
echo
echo "| N | render (stream) | render --out | helm template (peer) | kubectl kustomize (render's --out) | helm ÷ render (stream) | helm ÷ render --out |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for n in $ns_list; do
  rs=$(cell "$n" render-stream); ro=$(cell "$n" render-out); h=$(cell "$n" helm); k=$(cell "$n" kustomize)
  k_text=$(fmt "$k")
  [[ -n $k ]] || k_text="skipped"
  ratio_s=$(awk -v a="${h%% *}" -v b="${rs%% *}" 'BEGIN { printf "%.1f×", a / b }')
  ratio_o=$(awk -v a="${h%% *}" -v b="${ro%% *}" 'BEGIN { printf "%.1f×", a / b }')
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$(commas "$n")" "$(fmt "$rs")" "$(fmt "$ro")" \
    "$(fmt "$h")" "$k_text" "$ratio_s" "$ratio_o"
done
echo "Repetitions per N: $reps_per_n (BENCH_REPS)."
echo
echo "Wall time of the fastest and the slowest repetition:"
for n in $ns_list; do
  line="N=$(commas "$n"):"
  for tool in render-stream render-out helm kustomize; do
    awk -v n="$n" -v t="$tool" '$1 == n && $2 == t { print $3 }' "$work/results" | sort -n >"$work/range"
    [[ -s $work/range ]] || continue
    line+=" $tool $(awk 'NR == 1 { a = $1 } { b = $1 } END { printf "%.3f-%.3f s", a / 1e6, b / 1e6 }' "$work/range");"
  done
  echo "$line"
done
[[ $kustomize_reps == *10000:* ]] ||
  echo "kubectl kustomize is skipped where KUSTOMIZE_REPS ($kustomize_reps) gives no repetitions: its time grows quadratically."
if [[ " $ns_list " == *" 1000 "* && " $ns_list " == *" 10000 "* ]]; then
  echo
  printf 't(10,000) / t(1,000):'
  for tool in render-stream render-out helm kustomize; do
    a=$(cell 10000 "$tool"); b=$(cell 1000 "$tool")
    [[ -n $a && -n $b ]] || continue
    awk -v t="$tool" -v a="${a%% *}" -v b="${b%% *}" 'BEGIN { printf " %s %.1f;", t, a / b }'
  done
  echo
fi
fi

# === diff and check ===

# measure_exit NAME N CODE CMD...: one timed run that must exit with CODE; appends to the
# results of the diff part.
measure_exit() {
  local name=$1 n=$2 want=$3; shift 3
  local t0 t1 code=0
  t0=$(date +%s%N)
  /usr/bin/time -o "$work/rss" -f '%M' "$@" >/dev/null 2>"$work/stderr" || code=$?
  t1=$(date +%s%N)
  if [[ $code != "$want" ]]; then
    echo "$name exited $code, not $want, at N=$n: $*" >&2
    tail -5 "$work/stderr" >&2
    exit 1
  fi
  echo "$n $name $(((t1 - t0) / 1000)) $(tail -1 "$work/rss")" >>"$work/diff-results"
}

: >"$work/diff-results"
diff_ns=()
if [[ " $parts " == *" diff "* ]]; then
  for n in $ns_list; do ((n >= 1000)) && diff_ns+=("$n"); done
fi
for n in "${diff_ns[@]}"; do
  dir=$work/diff-$n
  "$gen" "$n" "$dir/in"
  "$render" profile >"$dir/old-profile.yaml"
  sed 's|baseUrl: http://layer-gateway.layer.svc.cluster.local:8080|baseUrl: http://gateway.hev-gateway.svc.cluster.local:8080|' \
    "$dir/old-profile.yaml" >"$dir/new-profile.yaml"
  cmp -s "$dir/old-profile.yaml" "$dir/new-profile.yaml" && { echo "the profile has no gateway.baseUrl to move" >&2; exit 1; }
  (cd "$dir" && "$render" --profile old-profile.yaml --out old in && "$render" --profile new-profile.yaml --out new in)
  (cd "$dir" && "$render" --profile old-profile.yaml in >old.yaml && "$render" --profile new-profile.yaml in >new.yaml)
  # The inputs with every Pipeline's image bumped (half the families are equal), and with
  # every workload's image bumped (none is), for diff --render.
  mkdir -p "$dir/in2" "$dir/in3"
  for f in "$dir"/in/*.yaml; do
    sed 's|registry.example.com/pipeline:|registry.example.com/pipeline:2.|' "$f" >"$dir/in2/${f##*/}"
    sed 's#registry.example.com/\(pipeline\|function\):#registry.example.com/\1:2.#' "$f" >"$dir/in3/${f##*/}"
  done
  diff -rq "$dir/in2" "$dir/in3" >/dev/null && { echo "no Function image to bump" >&2; exit 1; }
  echo "N=$n diff: $("$render" diff "$dir/old" "$dir/new" | head -1) ($(du -sm "$dir/old.yaml" | cut -f1) MB a stream)"
  echo "  ($(($(date +%s) - started)) s) timing diff and check..." >&2
  scenarios=(stream-text stream-markdown stream-json tree-text tree-markdown tree-json tree-ci render render-all check-fresh check-stale render-stream)
  for ((rep = 0; rep < diff_reps; rep++)); do
    for ((i = 0; i < ${#scenarios[@]}; i++)); do
      scenario=${scenarios[(rep + i) % ${#scenarios[@]}]}
      case $scenario in
        stream-*) measure_exit "diff-$scenario" "$n" 1 "$render" diff --color never --format "${scenario#stream-}" "$dir/old.yaml" "$dir/new.yaml" ;;
        tree-ci)
          rm -f "$dir/full.txt"
          measure_exit diff-tree-ci "$n" 1 "$render" diff --format markdown --full-diff "$dir/full.txt" "$dir/old" "$dir/new"
          ;;
        tree-*) measure_exit "diff-$scenario" "$n" 1 "$render" diff --color never --format "${scenario#tree-}" "$dir/old" "$dir/new" ;;
        render) measure_exit diff-render "$n" 1 "$render" diff --render --color never "$dir/in" "$dir/in2" ;;
        render-all) measure_exit diff-render-all "$n" 1 "$render" diff --render --color never "$dir/in" "$dir/in3" ;;
        check-fresh) measure_exit check-fresh "$n" 0 "$render" check "$dir/new" ;;
        check-stale) measure_exit check-stale "$n" 1 "$render" check "$dir/old" "$dir/in" --profile "$dir/new-profile.yaml" ;;
        # A reference: how fast the machine renders in this run (0.73 s at 10,000 when quiet).
        render-stream) measure_exit render-stream "$n" 0 "$render" "$dir/in" ;;
      esac
    done
  done
  rm -rf "$dir"
  echo "  ($(($(date +%s) - started)) s) done" >&2
done

if ((${#diff_ns[@]} > 0)); then
  echo
  echo "diff and check: medians of wall time and peak RSS over $diff_reps repetitions. The change moves"
  echo "the gateway in the profile (every worker and workload CR changes; --render: the images)."
  echo
  header="| Command |"
  rule="| --- |"
  for n in "${diff_ns[@]}"; do header+=" N = $(commas "$n") |"; rule+=" --- |"; done
  echo "$header"
  echo "$rule"
  for row in \
    "diff-stream-text:diff OLD.yaml NEW.yaml (text)" \
    "diff-stream-markdown:diff OLD.yaml NEW.yaml --format markdown" \
    "diff-stream-json:diff OLD.yaml NEW.yaml --format json" \
    "diff-tree-text:diff OLD/ NEW/ (text)" \
    "diff-tree-markdown:diff OLD/ NEW/ --format markdown" \
    "diff-tree-json:diff OLD/ NEW/ --format json" \
    "diff-tree-ci:diff OLD/ NEW/ --format markdown --full-diff FILE (the CI recipes)" \
    "diff-render:diff --render IN/ IN2/ (every Pipeline's image)" \
    "diff-render-all:diff --render IN/ IN3/ (every workload's image)" \
    "check-fresh:check DIR (up to date)" \
    "check-stale:check DIR IN --profile P (stale)" \
    "render-stream:IN > /dev/null (render, for reference)"; do
    name=${row%%:*}
    line="| \`${row#*:}\` |"
    for n in "${diff_ns[@]}"; do
      awk -v n="$n" -v t="$name" '$1 == n && $2 == t { print $3, $4 }' "$work/diff-results" >"$work/cell"
      us=$(cut -d' ' -f1 "$work/cell" | median)
      kib=$(cut -d' ' -f2 "$work/cell" | median)
      line+=" $(awk -v us="$us" -v kib="$kib" 'BEGIN { printf "%.2f s, %d MiB", us / 1e6, kib / 1024 }') |"
    done
    echo "$line"
  done
  echo
  echo "Wall time of the fastest and the slowest repetition at the largest N:"
  last=${diff_ns[-1]}
  awk -v n="$last" '$1 == n { t[$2] = t[$2] " " $3 } END { for (k in t) print k, t[k] }' "$work/diff-results" | sort |
    while read -r name times; do
      printf '  %s: %s\n' "$name" "$(tr ' ' '\n' <<<"$times" | sed '/^$/d' | sort -n | awk 'NR == 1 { a = $1 } { b = $1 } END { printf "%.2f-%.2f s", a / 1e6, b / 1e6 }')"
    done
fi

echo
echo "Total bench time: $(($(date +%s) - started)) s; load average now $(cut -d' ' -f1-3 /proc/loadavg)."
