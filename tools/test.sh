#!/usr/bin/env bash
# The whole test suite, as the README and CI run it.
# Installs the Debian packages the tests need when they are missing, builds in Release, publishes the linux-x64
# executables (Native AOT) that the real-process tests run, runs every test, and
# prints as its last line "tests: N passed, N failed[, N skipped]" read from the test results (TRX).
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

# The executables that ship (Native AOT, linux-x64), published once: the real-process tests run them, and the package
# test packs them (PEERPATCH_NO_PUBLISH=1) instead of publishing again.
if ! tools/package/publish.sh linux-x64; then
  echo "tests: 0 passed, 1 failed (publish failed)"
  exit 1
fi

dotnet test Node.Tests/PeerPatch.Node.Tests.csproj -c Release --no-build -nologo \
  --logger "trx;LogFileName=results.trx" --logger "console;verbosity=detailed" --results-directory "$results"
status=$?

trx="$results/results.trx"
if [ ! -f "$trx" ]; then
  echo "tests: 0 passed, 1 failed (no test results were written)"
  exit 1
fi

counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
count() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
passed=$(count passed); failed=$(count failed); total=$(count total); executed=$(count executed)
skipped=$(( ${total:-0} - ${executed:-0} ))
line="tests: ${passed:-0} passed, ${failed:-0} failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
echo "$line"
exit $status
