#!/usr/bin/env bash
# The benchmark suite: installs the references when missing (nginx, curl; started only by the benchmark, on loopback),
# builds Release, runs every scenario and writes the results into docs/benchmarks.md.
# Usage: tools/bench/run.sh [RUNS]   (default 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then # install without starting a host-wide nginx
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null && $sudo chmod +x /usr/sbin/policy-rc.d && guard=1
  fi
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  [ -n "$guard" ] && $sudo rm -f /usr/sbin/policy-rc.d
fi
dotnet build PeerPatch.sln -c Release -nologo -clp:ErrorsOnly
dotnet tools/bench/bin/Release/net10.0/peerpatch-bench.dll "$PWD" "${1:-3}"
