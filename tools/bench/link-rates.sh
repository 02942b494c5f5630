#!/usr/bin/env bash
# Link rates of a running fleet bench, for finding where a run's time goes: once a second, the byte counters of every
# interface in the bench's hub namespace (the bridge's end of each PC's veth: rx = what that PC sent, tx = what it
# received), until that namespace is gone. Read only: it sends nothing.
# Usage (root, beside a p2p-fleet or fleet run): tools/bench/link-rates.sh OUT.samples; then
#   python3 tools/bench/link-phases.py OUT.samples    (LAN and internet MB/s per 10 samples)
set -euo pipefail
out=${1:?usage: link-rates.sh OUT.samples}
: > "$out"
hub=""
for _ in $(seq 1 120); do # the bench makes its namespaces after its build and start-up
  hub=$(ip netns list | awk '{print $1}' | grep -- '-hub$' | head -1 || true)
  [ -n "$hub" ] && break
  sleep 1
done
[ -n "$hub" ] || { echo "no bench hub namespace appeared within 120 s" >&2; exit 1; }
while ip netns list | awk '{print $1}' | grep -qx -- "$hub"; do
  now=$(date +%s.%N)
  ip netns exec "$hub" sh -c 'for d in /sys/class/net/*; do echo "${d##*/} $(cat "$d/statistics/rx_bytes") $(cat "$d/statistics/tx_bytes")"; done' 2>/dev/null \
    | awk -v t="$now" '{print t, $0}' >> "$out" || true
  sleep 1
done
