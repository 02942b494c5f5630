#!/usr/bin/env bash
# The benchmark suite: installs the references when missing (nginx, curl, apt-cacher-ng, iproute2;
# started only by the benchmark, on loopback or in its own network namespaces),
# builds Release and the shipped executable, runs every scenario and writes the results into docs/benchmarks.md.
# Usage: tools/bench/run.sh [RUNS [SCENARIOS]]   (default 3 runs of all; SCENARIOS = lan,failover,fleet,apt-fleet,footprint,
# p2p-fleet,fleet-builds prints a subset and leaves docs/benchmarks.md alone, except apt-fleet, footprint, p2p-fleet and
# fleet-builds, which rewrite their own sections there). footprint publishes the single-file ReadyToRun build that
# shipped before issue 15 into a temporary directory and compares it with the shipped Native AOT build; fleet-builds
# runs the 20-PC fleet with both builds against apt-cacher-ng (PEERPATCH_BENCH_R2R_DIR: an already published
# ReadyToRun build to use instead). p2p-fleet is issue 16's fleet with 100 Mbit/s PC links: peer-to-peer, server-only,
# apt-cacher-ng and direct (PEERPATCH_BENCH_PCS=10,20,50 for fleet sizes, default 20; PEERPATCH_BENCH_CONTENDERS for
# a subset). PEERPATCH_BENCH_BUILD=aot|r2r picks the node build of fleet and p2p-fleet (default aot). lookup-builds
# compares lookups of the two builds head to head (its own section; PEERPATCH_BENCH_R2R_DIR as for fleet-builds).
# lookup-load (only when named) holds one node under 16 clients x 32 lookups in flight and prints its pid, for perf.
# The failover, fleet and apt-fleet scenarios need root (network namespaces, tc). apt-fleet also needs apt-get,
# dpkg-dev and gpg, and fetches its real Debian packages once into /var/cache/peerpatch-tests (apt-get download).
set -euo pipefail
cd "$(dirname "$0")/../.."
missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
[ -x /usr/sbin/apt-cacher-ng ] || missing+=(apt-cacher-ng) # the fleet's reference cache (started only by the bench, in a namespace)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v dpkg-scanpackages >/dev/null 2>&1 || missing+=(dpkg-dev) # the apt fleet's archive index
command -v gpg >/dev/null 2>&1 || missing+=(gpg) # the apt fleet's throwaway archive key
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
tools/package/publish.sh linux-x64 >/dev/null # the nodes run what ships: Native AOT
dotnet tools/bench/bin/Release/net10.0/peerpatch-bench.dll "$PWD" "${1:-3}" ${2:+"$2"}
