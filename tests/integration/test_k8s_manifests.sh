#!/usr/bin/env bash
# deploy/k8s (issue 12): every manifest passes the Kubernetes schema check
# (deploy/k8s/check: npm kubernetes-models) and sealbid's own checks, the
# job manifest in the ConfigMap is a valid sealbid manifest, and broken
# copies are refused (so the check can fail).
set -euo pipefail

SB_BIN=${SB_BIN:?set SB_BIN to the build bin directory}
SB_SRC=${SB_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
SB=$SB_BIN/sealbid
K8S=$SB_SRC/deploy/k8s
passed=0 failed=0
ok() { echo "ok: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1" >&2; failed=$((failed + 1)); }
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT

command -v node >/dev/null || { echo "FAIL: node is not installed (Debian: nodejs)" >&2; exit 1; }
if [ ! -d "$K8S/check/node_modules/kubernetes-models" ]; then
  npm ci --prefix "$K8S/check" --no-audit --no-fund >"$TMP/npm.log" 2>&1 ||
    { echo "FAIL: npm ci --prefix deploy/k8s/check: $(tail -3 "$TMP/npm.log")" >&2; exit 1; }
fi
check() { node "$K8S/check/check.mjs" "$@"; }

if check "$K8S"/*.yaml >"$TMP/out" 2>&1; then ok "$(cat "$TMP/out")"
else bad "deploy/k8s: $(cat "$TMP/out")"; fi

node -e 'const y=require(process.argv[1]); const d=y.parseAllDocuments(require("fs").readFileSync(process.argv[2],"utf8"));
  process.stdout.write(d[0].toJS().data["job.json"])' "$K8S/check/node_modules/yaml" "$K8S/config.yaml" >"$TMP/job.json"
if "$SB" manifest hash "$TMP/job.json" >"$TMP/hash" 2>"$TMP/err"; then ok "the ConfigMap's job.json is a valid manifest ($(cut -c1-16 "$TMP/hash")...)"
else bad "job.json: $(cat "$TMP/err")"; fi

# broken WHAT PATTERN SED_EXPR FILE: the edited copy must fail, saying PATTERN.
broken() {
  mkdir -p "$TMP/k"; rm -f "$TMP"/k/*; cp "$K8S"/*.yaml "$TMP/k/"
  sed -i "$3" "$TMP/k/$4"
  if check "$TMP"/k/*.yaml >"$TMP/out" 2>&1; then bad "$1: accepted"
  elif ! grep -q -- "$2" "$TMP/out"; then bad "$1: said $(cat "$TMP/out")"
  else ok "$1 refused: $(head -c 140 "$TMP/out")"; fi
}
broken "completions not an integer" "must be integer" 's/completions: 4/completions: four/' job-shards.yaml
broken "a container without a name" "required property" 's/- name: shard/- image: x/; s/^          image: .*sealbid-parent.*$//' job-shards.yaml
broken "restartPolicy outside the enum" "restartPolicy" 's/restartPolicy: Never/restartPolicy: Sometimes/' job-shards.yaml
broken "no Indexed completion mode" "completionMode must be Indexed" 's/completionMode: Indexed/completionMode: NonIndexed/' job-shards.yaml
broken "no enclave device" "aws.ec2.nitro/nitro_enclaves" 's#aws.ec2.nitro/nitro_enclaves: "1"#aws.ec2.nitro/nitro_enclaves: "0"#' job-shards.yaml
broken "completions other than the manifest's shards" "must be the manifest's shards" 's/completions: 4/completions: 3/; s/parallelism: 4/parallelism: 3/' job-shards.yaml
broken "merge for another shard count" "env SHARDS" 's/value: "4"/value: "2"/' job-merge.yaml
broken "a duplicated YAML key" "YAML" 's/^  backoffLimit: 2$/  backoffLimit: 2\n  backoffLimit: 3/' job-merge.yaml

echo "test_k8s_manifests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
