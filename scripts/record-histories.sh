#!/usr/bin/env bash
# Records the histories of finished promotions (and their layer workflows) into
# test/replay/histories/, for the replay test. Usage, against a server with those promotions:
#   TEMPORAL_ADDRESS=127.0.0.1:7233 scripts/record-histories.sh demo-1 fraud-scoring-3.0.0-8a58f2
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
temporal="${TEMPORAL_CLI:-$(command -v temporal || echo "${XDG_CACHE_HOME:-$HOME/.cache}/strata/temporal/1.5.1/temporal")}"
address="${TEMPORAL_ADDRESS:-127.0.0.1:7233}"
namespace="${TEMPORAL_NAMESPACE:-strata}"
out="$here/test/replay/histories"
mkdir -p "$out"
# A workflow, then its children, grandchildren … (layers, and a layer's seed runs).
record() {
  local id="$1"
  "$temporal" workflow show -w "$id" -n "$namespace" --address "$address" -o json > "$out/$id.json"
  for child in $("$temporal" workflow list -n "$namespace" --address "$address" -q "ParentWorkflowId = '$id'" -o json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const w of JSON.parse(s||"[]"))console.log(w.execution.workflowId)})'); do
    record "$child"
  done
}
for id in "$@"; do
  record "$id"
  echo "recorded $id"
done
