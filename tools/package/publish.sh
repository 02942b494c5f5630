#!/usr/bin/env bash
# Builds the executables peerpatch and peerpatch-diag into artifacts/publish/<rid>/ with the publish profiles in Node/
# and tools/Diag/. Usage: tools/package/publish.sh [rid...]   (default: linux-x64 win-x64)
#   linux-x64: Native AOT, one native executable each (libe_sqlite3.so, SQLite, lies beside peerpatch); what the .deb
#              ships and what the tests' real processes run.
#   win-x64:   self-contained single-file ReadyToRun (Native AOT cannot be cross-compiled from Linux to Windows).
set -euo pipefail
cd "$(dirname "$0")/../.."
rids=("$@")
[ "${#rids[@]}" -gt 0 ] || rids=(linux-x64 win-x64)
for rid in "${rids[@]}"; do
  start=$SECONDS
  # The two executables are compiled at once: peerpatch-diag's publish (about 35 s alone) runs beside peerpatch's
  # instead of after it. Each restore runs first, one at a time, and Protocol, which both reference, is built once
  # beforehand: the Diag publish only reads it, so the two never write the same project's files.
  dotnet build Protocol -c Release -nologo -clp:ErrorsOnly
  for project in Node tools/Diag; do
    dotnet restore "$project" -p:PublishProfile="$rid" -nologo
  done
  dotnet publish Node -c Release -p:PublishProfile="$rid" --no-restore -nologo -clp:ErrorsOnly &
  node=$!
  diag_status=0
  dotnet publish tools/Diag -c Release -p:PublishProfile="$rid" --no-restore -p:BuildProjectReferences=false -nologo -clp:ErrorsOnly || diag_status=$?
  node_status=0
  wait "$node" || node_status=$?
  [ "$node_status" -eq 0 ] && [ "$diag_status" -eq 0 ] || { echo "publish of $rid failed (Node: $node_status, Diag: $diag_status)" >&2; exit 1; }
  rm -f "artifacts/publish/$rid/"*.pdb "artifacts/publish/$rid/"*.dbg
  if [ "$rid" = linux-x64 ] && readelf -S "artifacts/publish/$rid/peerpatch" 2>/dev/null | grep -q '\.symtab'; then
    echo "artifacts/publish/$rid/peerpatch still has its symbol table (a build with StripSymbols=false was reused)" >&2
    exit 1
  fi
  ls -l "artifacts/publish/$rid/"
  echo "published $rid in $((SECONDS - start)) s"
done
