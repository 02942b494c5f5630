#!/usr/bin/env bash
# Regenerates Node/peerpatch.order: the order in which the Native AOT compiler lays out the node's functions
# (IlcOrderFile, read by Node/Properties/PublishProfiles/linux-x64.pubxml).
#
# Why: the kernel maps an executable's code 64 KiB at a time (fault-around), so a function that runs costs the RSS of
# the 64 KiB around it. In the compiler's own order the ~7,000 functions an idle node runs are spread over all 10 MiB
# of code, and nearly all of it is resident; laid out first, in the order they first run, they fit in about 2 MiB
# (docs/benchmarks.md, footprint). A function missing from the file (new code) still works: it is laid out after the
# listed ones. Rerun this after large changes; the footprint benchmark reports how much of the file still matches.
#
# What it does: publishes an unstripped build, runs it with first-call.so (an int3 at each function's entry records
# its first call) through start-up, 10 s idle, a 64 MiB push, its fetch, /metrics and the dashboard, and writes the
# functions in the order they first ran; then an update pass (3 patches from a JSON feed that python3's http.server
# serves, applied with /bin/true). Needs gcc, python3, curl; runs only on 127.0.0.1. About 3 minutes.
set -euo pipefail
cd "$(dirname "$0")/../../.."
repo=$PWD
for tool in gcc python3 curl nm readelf; do
  command -v "$tool" >/dev/null || { echo "profile.sh needs $tool (apt-get install gcc binutils python3 curl)" >&2; exit 1; }
done
work=$(mktemp -d /tmp/peerpatch-order.XXXXXX)
node_pid=""
feed_pid=""
cleanup() { [ -n "$node_pid" ] && kill "$node_pid" 2>/dev/null; [ -n "$feed_pid" ] && kill "$feed_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# Its own native build directories: compiled and linked afresh with symbols, and the shipped build's (stripped, and
# the object file FunctionOrderTests reads) left as they are.
dotnet publish Node -c Release -p:PublishProfile=linux-x64 -p:StripSymbols=false -p:PublishDir="$work/publish/" \
  -p:NativeIntermediateOutputPath="$work/obj-native/" -p:NativeOutputPath="$work/bin-native/" -nologo -clp:ErrorsOnly
exe="$work/publish/peerpatch"
gcc -O2 -shared -fPIC -o "$work/first-call.so" tools/package/order/first-call.c -ldl
python3 tools/package/order/functions.py functions "$exe" "$work/addrs" "$work/names"

data="$work/data"; mkdir -p "$data" "$work/feed"
feed_port=$(( 20000 + RANDOM % 20000 ))
entries=""
for i in 1 2 3; do
  head -c $(( i * 1024 * 1024 )) /dev/urandom > "$work/feed/kb-profile-$i.bin"
  entries+="${entries:+,}{\"name\":\"kb-profile-$i\",\"url\":\"http://127.0.0.1:$feed_port/kb-profile-$i.bin\",\"sha256\":\"$(sha256sum "$work/feed/kb-profile-$i.bin" | cut -d' ' -f1)\",\"size\":$(( i * 1024 * 1024 )),\"apply\":{\"command\":\"/bin/true\",\"args\":[]}}"
done
echo "{\"os\":\"profile-1-amd64\",\"patches\":[$entries]}" > "$work/feed/feed.json"
python3 -m http.server "$feed_port" --bind 127.0.0.1 --directory "$work/feed" > "$work/feed.log" 2>&1 &
feed_pid=$!
echo '{"Discovery":false,"ClusterKeyFile":"none","RedirectPort":0,"AptProxyAdvert":false}' > "$work/config.json"
port=$(( 20000 + RANDOM % 20000 )); http=$(( 40000 + RANDOM % 20000 ))
FIRST_CALL_EXE="$exe" FIRST_CALL_ADDRS="$work/addrs" FIRST_CALL_OUT="$work/first-calls" LD_PRELOAD="$work/first-call.so" \
  "$exe" run --data "$data" --port "$port" --http-port "$http" --bind 127.0.0.1 --role server --update-interval 0 \
  --os-version profile-1-amd64 --config "$work/config.json" --source "manifest:http://127.0.0.1:$feed_port/feed.json" > "$work/node.log" 2>&1 &
node_pid=$!
base="http://127.0.0.1:$http"
for _ in $(seq 1 600); do curl -sf -o /dev/null --max-time 1 "$base/v1/status" && break; sleep 0.05; done
curl -sf -o /dev/null "$base/v1/status" || { cat "$work/node.log" >&2; echo "the node did not answer" >&2; exit 1; }
sleep 10
head -c $(( 64 * 1024 * 1024 )) /dev/urandom > "$work/blob"
sha=$(sha256sum "$work/blob" | cut -d' ' -f1)
curl -sf -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$work/blob" "$base/v1/blobs/$sha?os=profile-1-amd64&name=KB-profile"
curl -sf -o "$work/fetched" "$base/v1/blobs/$sha"
cmp -s "$work/blob" "$work/fetched" || { echo "the fetched blob differs from the pushed one" >&2; exit 1; }
for path in metrics v1/status "v1/blobs/$sha/pieces" ""; do curl -sf -o /dev/null "$base/$path"; done
curl -sSf -N -X POST "$base/v1/update" > "$work/pass.log"
grep -q "kb-profile-3" "$work/pass.log" || { cat "$work/pass.log" "$work/node.log" >&2; echo "the update pass did not reach the feed's patches" >&2; exit 1; }
kill -TERM "$node_pid"; wait "$node_pid" || true; node_pid=""

python3 tools/package/order/functions.py order "$work/first-calls" "$work/names" Node/peerpatch.order
echo "wrote Node/peerpatch.order ($(wc -l < Node/peerpatch.order) names)"
