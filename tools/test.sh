#!/usr/bin/env bash
# The whole test suite, as the README and CI run it.
# Installs the Debian packages the tests need when they are missing, builds in Release, publishes the linux-x64
# executables (Native AOT) while the tests that do not need them run, then runs the tests that run them, and prints as
# its last line "tests: N passed, N failed[, N skipped]" read from the test results (TRX) of both runs.
set -uo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use (checked by the command each provides).
# chromium: the dashboard test renders GET / in Debian's headless Chromium.
# apt-get, dpkg-deb, dpkg-scanpackages: the apt tests (real apt against a local repository); lintian, systemd-analyze:
# the package test's checks of the .deb and its unit.
# gpg, gpgv, xz: the real-archive apt test signs its Release files with a throwaway key (apt verifies them) and
# publishes Packages.xz.
# objdump: the function-order test reads the published object file's symbol table.
declare -A needs=([sha256sum]=coreutils [ps]=procps [ip]=iproute2 [avahi-daemon]=avahi-daemon [chromium]=chromium
  [apt-get]=apt [dpkg-deb]=dpkg [dpkg-scanpackages]=dpkg-dev [lintian]=lintian [systemd-analyze]=systemd [gzip]=gzip
  [gpg]=gpg [gpgv]=gpgv [xz]=xz-utils [objdump]=binutils)
missing=()
for cmd in "${!needs[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${needs[$cmd]}")
done
# The independent mDNS implementation the discovery tests interoperate with (Debian's python, not a venv's).
/usr/bin/python3 -c "import zeroconf" >/dev/null 2>&1 || missing+=(python3-zeroconf)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing test dependencies: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  # Install without starting services: avahi-daemon must only ever run inside the tests' own network namespaces,
  # never as a host-wide daemon multicasting on the real LAN (policy-rc.d is honoured on systemd hosts too).
  guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null && $sudo chmod +x /usr/sbin/policy-rc.d && guard=1
  fi
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  [ -n "$guard" ] && $sudo rm -f /usr/sbin/policy-rc.d
fi

results="artifacts/test-results"
rm -rf "$results"
if ! dotnet build PeerPatch.sln -c Release -nologo -clp:ErrorsOnly; then
  echo "tests: 0 passed, 1 failed (build failed)"
  exit 1
fi

# The executables that ship (Native AOT, linux-x64) are published once, in the background (niced, so the tests that
# run meanwhile keep their timing), while the tests that do not need them run: each takes about a minute of the
# other's two. The tests that run them (classes marked [RunsPublished], trait Needs=Published) follow once the publish
# has finished; PEERPATCH_TESTS_BEFORE_PUBLISH makes an unmarked test that reaches for them fail at once. The package
# test packs these executables (PEERPATCH_NO_PUBLISH=1) instead of publishing again.
mkdir -p artifacts
publish_log="artifacts/publish-linux-x64.log"
nice -n 10 tools/package/publish.sh linux-x64 >"$publish_log" 2>&1 &
publish_pid=$!
# Stop the publish (and the dotnet processes under it) when this script ends before it does.
trap 'pkill -TERM -P "$publish_pid" 2>/dev/null; kill "$publish_pid" 2>/dev/null' EXIT

run_tests() { # NAME FILTER: one dotnet test run, its results in $results/NAME.trx
  dotnet test Node.Tests/PeerPatch.Node.Tests.csproj -c Release --no-build -nologo --filter "$2" \
    --logger "trx;LogFileName=$1.trx" --logger "console;verbosity=detailed" --results-directory "$results"
}

PEERPATCH_TESTS_BEFORE_PUBLISH=1 run_tests unpublished "Needs!=Published"
status=$?

publish_failed=""
if wait "$publish_pid"; then
  cat "$publish_log"
  run_tests published "Needs=Published" || status=1
else
  cat "$publish_log"
  status=1
  publish_failed=1
fi
trap - EXIT

# The counts of both runs, read from their TRX files.
passed=0; failed=0; skipped=0; note=""
for name in unpublished published; do
  trx="$results/$name.trx"
  if [ ! -f "$trx" ]; then
    if [ "$name" = unpublished ] || [ -z "$publish_failed" ]; then
      failed=$((failed + 1)); note="$note (no test results were written for the $name tests)"
    fi
    continue
  fi
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  count() { n=$(echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"); echo "${n:-0}"; }
  passed=$((passed + $(count passed)))
  failed=$((failed + $(count failed)))
  skipped=$((skipped + $(count total) - $(count executed)))
done
if [ -n "$publish_failed" ]; then
  failed=$((failed + 1)); note="$note (publish failed: the tests that run the published executables did not run)"
fi
line="tests: $passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
echo "$line$note"
exit $status
