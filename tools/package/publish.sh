#!/usr/bin/env bash
# Builds the self-contained single-file executables (peerpatch, peerpatch-diag) for linux-x64 and win-x64 into
# artifacts/publish/<rid>/, with the publish profiles in Node/ and tools/Diag/. Usage: tools/package/publish.sh [rid...]
set -euo pipefail
cd "$(dirname "$0")/../.."
rids=("$@")
[ "${#rids[@]}" -gt 0 ] || rids=(linux-x64 win-x64)
for rid in "${rids[@]}"; do
  for project in Node tools/Diag; do
    dotnet publish "$project" -c Release -p:PublishProfile="$rid" -nologo -clp:ErrorsOnly
  done
  rm -f "artifacts/publish/$rid/"*.pdb
  ls -l "artifacts/publish/$rid/"
done
