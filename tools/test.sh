#!/usr/bin/env bash
# The whole test suite, as the README and CI run it.
# Installs the Debian packages the tests need when they are missing, builds in Release, publishes the linux-x64
# executables (Native AOT) that the real-process tests run, runs every test, and
# prints as its last line "tests: N passed, N failed[, N skipped]" read from the test results (TRX); a phase that
# failed with no failed test in its TRX (a crashed test host) counts as one failure and is named after the counts.
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
mkdir -p "$results"

# One compiler server for every project of the build and the publish (the C# compiler JIT-compiled once, not once
# per project: the build took 58 to 70 s instead of 80 s on 2 cores; some CI images turn it off through the
# environment). Stopped at the end.
export UseSharedCompilation=true
trap 'dotnet build-server shutdown --vbcscompiler >/dev/null 2>&1' EXIT

phase=$SECONDS
if ! dotnet build PeerPatch.sln -c Release -nologo -clp:ErrorsOnly; then
  echo "tests: 0 passed, 1 failed (build failed)"
  exit 1
fi
echo "build: $((SECONDS - phase)) s"

# The executables that ship (Native AOT, linux-x64), published once: the real-process tests run them, and the package
# test packs them (PEERPATCH_NO_PUBLISH=1) instead of publishing again. The publish (mostly the AOT compiler) runs
# while the unit tests run: they need no published executable, and they mostly wait (stall bounds, timers), so the
# two share the cores instead of running one after the other. The integration tests (Node.Tests/Integration: real
# node processes, network namespaces, the package) run after both.
phase=$SECONDS
tools/package/publish.sh linux-x64 >"$results/publish.log" 2>&1 &
publisher=$!

# Every wait has a bound, the suite's too. A test that hangs (no test has started or ended for 4 minutes; the longest
# test takes about 40 s) is named and its test host killed, so the run ends with a failure that says which test
# instead of running into CI's own limit: --blame-hang, with no dump (nothing here would read it). A run that still
# does not end (a test host or a child process outliving the tests) is stopped after 20 minutes, and then has no
# results file, which the count below reports.
run_tests() { # name filter [environment...]
  local name=$1 filter=$2
  shift 2
  env "$@" timeout -k 30 1200 dotnet test Node.Tests/PeerPatch.Node.Tests.csproj -c Release --no-build -nologo \
    --filter "$filter" --blame-hang-timeout 4m --blame-hang-dump-type none \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=detailed" --results-directory "$results" \
    | tee "$results/$name.log"
}

# The tests a hang or a crash stopped (vstest names them after "The test(s) running when the crash occurred:").
stopped_tests() { # name
  sed -n '/running when the crash occurred/,/^$/p' "$results/$1.log" | sed -n 's/^ *\(PeerPatch\.[^ ]*\).*/\1/p' | sort -u | paste -sd ' '
}

# PEERPATCH_TESTS_UNPUBLISHED: a unit test that starts a published executable fails at once, saying it belongs in
# Node.Tests/Integration (Support/NodeProcess.cs), instead of racing the publish.
run_tests unit "FullyQualifiedName!~PeerPatch.Node.Tests.Integration." PEERPATCH_TESTS_UNPUBLISHED=1
unit_status=$?
echo "unit tests: $((SECONDS - phase)) s"

wait "$publisher"
published=$?
cat "$results/publish.log"
if [ "$published" -ne 0 ]; then
  echo "tests: 0 passed, 1 failed (publish failed)"
  exit 1
fi
echo "publish (beside the unit tests): $((SECONDS - phase)) s"

phase=$SECONDS
run_tests integration "FullyQualifiedName~PeerPatch.Node.Tests.Integration."
integration_status=$?
echo "integration tests: $((SECONDS - phase)) s"

# The last line, read from both result files (TRX).
# A phase whose `dotnet test` failed while its file counts no failure (the test host crashed or the run was aborted:
# the file then holds only the results written before, often none) counts as one failure more, so the line never
# says "0 failed" of a run that failed.
count() { local n; n=$(echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"); echo "${n:-0}"; }
passed=0; failed=0; skipped=0; aborted=()
for name in unit integration; do
  trx="$results/$name.trx"
  if [ ! -f "$trx" ]; then
    echo "tests: 0 passed, 1 failed (no test results were written for the $name tests)"
    exit 1
  fi
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  passed=$((passed + $(count passed)))
  phase_failed=$(($(count failed) + $(count error) + $(count timeout) + $(count aborted)))
  status_var="${name}_status"
  if [ "${!status_var}" -ne 0 ] && [ "$phase_failed" -eq 0 ]; then
    phase_failed=1
    stopped=$(stopped_tests "$name")
    aborted+=("$name${stopped:+ (running: $stopped)}")
  fi
  failed=$((failed + phase_failed))
  skipped=$((skipped + $(count total) - $(count executed)))
done
# The failed tests by name (CI shows only the end of this output), one line each, before the count.
for name in unit integration; do
  grep -o '<UnitTestResult [^>]*outcome="\(Failed\|Error\|Timeout\|Aborted\)"[^>]*>' "$results/$name.trx" |
    sed -n 's/.* testName="\([^"]*\)".*/failed ('"$name"'): \1/p' | sed 's/&quot;/"/g; s/&lt;/</g; s/&gt;/>/g; s/&amp;/\&/g'
done
line="tests: $passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
[ "${#aborted[@]}" -gt 0 ] && line="$line; a run ended with no failed test recorded (a hung or crashed test host): ${aborted[*]}"
echo "$line"
[ "$unit_status" -eq 0 ] && [ "$integration_status" -eq 0 ]
