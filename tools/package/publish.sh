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
  for project in Node tools/Diag; do
    dotnet publish "$project" -c Release -p:PublishProfile="$rid" -nologo -clp:ErrorsOnly
  done
  rm -f "artifacts/publish/$rid/"*.pdb "artifacts/publish/$rid/"*.dbg
  if [ "$rid" = linux-x64 ] && readelf -S "artifacts/publish/$rid/peerpatch" 2>/dev/null | grep -q '\.symtab'; then
    echo "artifacts/publish/$rid/peerpatch still has its symbol table (a build with StripSymbols=false was reused)" >&2
    exit 1
  fi
  ls -l "artifacts/publish/$rid/"
  echo "published $rid in $((SECONDS - start)) s"
done
