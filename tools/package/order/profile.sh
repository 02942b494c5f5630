#!/usr/bin/env bash
# Regenerates Node/peerpatch.order: the order in which the Native AOT compiler lays out the node's functions
# (IlcOrderFile, read by Node/Properties/PublishProfiles/linux-x64.pubxml).
#
# Why: the kernel maps an executable's code 64 KiB at a time (fault-around), so a function that runs costs the RSS of
# the 64 KiB around it. In the compiler's own order the functions an idle node runs are spread over all 10 MiB of
# code, and nearly all of it is resident; laid out first, in the order they first run, they take about 3 MiB
# (docs/benchmarks.md, footprint). A function missing from the file (new code) still works: it is laid out after the
# listed ones. Rerun this after large changes: FunctionOrderTests fails when less than 90 % of the file's names are
# still compiled.
#
# What it does: publishes an unstripped build, and runs it twice with first-call.so (an int3 at each function's entry
# records its first call). First as an installed node runs (no source configured: this PC's apt; no pass is run):
# start-up, 10 s idle, a 64 MiB push, its fetch, /metrics, the piece list and the dashboard. Then with a JSON feed
# that python3's http.server serves: start-up and an update pass of 3 patches (applied with /bin/true). The file lists
# the functions in the order they first ran, the first run's before the second's. Needs gcc, python3, curl, binutils;
# traffic only on 127.0.0.1. About 3 minutes.
set -euo pipefail
cd "$(dirname "$0")/../../.."
for tool in gcc python3 curl nm readelf sha256sum; do
  command -v "$tool" >/dev/null || { echo "profile.sh needs $tool (apt-get install gcc binutils python3 curl)" >&2; exit 1; }
done
work=$(mktemp -d /tmp/peerpatch-order.XXXXXX)
node_pid=""
feed_pid=""
cleanup() {
  if [ -n "$node_pid" ]; then kill "$node_pid" 2>/dev/null || true; wait "$node_pid" 2>/dev/null || true; fi
  if [ -n "$feed_pid" ]; then kill "$feed_pid" 2>/dev/null || true; wait "$feed_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Its own native build directories: compiled and linked afresh with symbols, and the shipped build's (stripped, and
# the object file FunctionOrderTests reads) left as they are.
dotnet publish Node -c Release -p:PublishProfile=linux-x64 -p:StripSymbols=false -p:PublishDir="$work/publish/" \
  -p:NativeIntermediateOutputPath="$work/obj-native/" -p:NativeOutputPath="$work/bin-native/" -nologo -clp:ErrorsOnly
exe="$work/publish/peerpatch"
gcc -O2 -shared -fPIC -o "$work/first-call.so" tools/package/order/first-call.c -ldl
python3 tools/package/order/functions.py functions "$exe" "$work/addrs" "$work/names"
echo '{"Discovery":false,"ClusterKeyFile":"none","RedirectPort":0,"AptProxyAdvert":false}' > "$work/config.json"

# start_node NAME [ARGS...]: starts the profiled node (its first calls into $work/NAME.calls) and waits for its answer.
start_node() {
  local name=$1; shift
  mkdir -p "$work/$name"
  http=$(free_port)
  FIRST_CALL_EXE="$exe" FIRST_CALL_ADDRS="$work/addrs" FIRST_CALL_OUT="$work/$name.calls" LD_PRELOAD="$work/first-call.so" \
    "$exe" run --data "$work/$name" --port "$(free_port)" --http-port "$http" --bind 127.0.0.1 --role server \
    --update-interval 0 --os-version profile-1-amd64 --config "$work/config.json" "$@" > "$work/$name.log" 2>&1 &
  node_pid=$!
  base="http://127.0.0.1:$http"
  for _ in $(seq 1 600); do
    kill -0 "$node_pid" 2>/dev/null || { cat "$work/$name.log" >&2; echo "the profiled node exited" >&2; exit 1; }
    curl -sf -o /dev/null --max-time 1 "$base/v1/status" && return 0
    sleep 0.05
  done
  cat "$work/$name.log" >&2; echo "the profiled node did not answer within 30 s" >&2; exit 1
}
stop_node() { kill -TERM "$node_pid"; wait "$node_pid" || true; node_pid=""; }

# 1. As installed: start-up, idle, serving.
start_node installed
sleep 10
head -c $(( 64 * 1024 * 1024 )) /dev/urandom > "$work/blob"
sha=$(sha256sum "$work/blob" | cut -d' ' -f1)
curl -sSf -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$work/blob" "$base/v1/blobs/$sha?os=profile-1-amd64&name=KB-profile"
curl -sSf -o "$work/fetched" "$base/v1/blobs/$sha"
cmp -s "$work/blob" "$work/fetched" || { echo "the fetched blob differs from the pushed one" >&2; exit 1; }
for path in metrics v1/status "v1/blobs/$sha/pieces" ""; do curl -sSf -o /dev/null "$base/$path"; done
stop_node

# 2. An update pass from a feed on loopback.
mkdir -p "$work/feed"
feed_port=$(free_port)
entries=""
for i in 1 2 3; do
  head -c $(( i * 1024 * 1024 )) /dev/urandom > "$work/feed/kb-profile-$i.bin"
  entries+="${entries:+,}{\"name\":\"kb-profile-$i\",\"url\":\"http://127.0.0.1:$feed_port/kb-profile-$i.bin\",\"sha256\":\"$(sha256sum "$work/feed/kb-profile-$i.bin" | cut -d' ' -f1)\",\"size\":$(( i * 1024 * 1024 )),\"apply\":{\"command\":\"/bin/true\",\"args\":[]}}"
done
echo "{\"os\":\"profile-1-amd64\",\"patches\":[$entries]}" > "$work/feed/feed.json"
python3 -m http.server "$feed_port" --bind 127.0.0.1 --directory "$work/feed" > "$work/feed.log" 2>&1 &
feed_pid=$!
start_node pass --source "manifest:http://127.0.0.1:$feed_port/feed.json"
curl -sSf -N -X POST "$base/v1/update" > "$work/pass.out"
grep -q "kb-profile-3" "$work/pass.out" || { cat "$work/pass.out" "$work/pass.log" >&2; echo "the update pass did not reach the feed's patches" >&2; exit 1; }
curl -sSf -o /dev/null "$base/metrics"
stop_node

cat "$work/installed.calls" "$work/pass.calls" > "$work/first-calls"
python3 tools/package/order/functions.py order "$work/first-calls" "$work/names" "$work/peerpatch.order"
ran=$(wc -l < "$work/peerpatch.order")
[ "$ran" -ge 5000 ] || { echo "only $ran functions ran: Node/peerpatch.order left as it was" >&2; exit 1; }
mv "$work/peerpatch.order" Node/peerpatch.order
echo "wrote Node/peerpatch.order ($ran names)"
