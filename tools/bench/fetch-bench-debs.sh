#!/usr/bin/env bash
# Fetches the real Debian packages of a list (default: apt-fleet-debs.txt next to this script; NAME or NAME=VERSION a
# line) with `apt-get download` into a cache directory (default /var/cache/peerpatch-tests/bench-debs), once: a
# later call with the same list returns at once. Prints the directory. Runs `apt-get update` once when a package
# is not found. The host's apt configuration is only read.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
list="${2:-$here/apt-fleet-debs.txt}"
cache="${1:-/var/cache/peerpatch-tests/bench-debs}"
names=$(grep -v '^\s*#' "$list" | grep -v '^\s*$' | tr '\n' ' ')
if [ -f "$cache/.list" ] && [ "$(cat "$cache/.list")" = "$names" ]; then
  echo "$cache"
  exit 0
fi
rm -rf "$cache.tmp" && mkdir -p "$cache.tmp" && chmod 0777 "$cache.tmp" # apt's _apt user downloads into it
# shellcheck disable=SC2086
if ! (cd "$cache.tmp" && apt-get download -qq $names >/dev/null 2>&1); then
  apt-get update -qq >/dev/null 2>&1 || true
  (cd "$cache.tmp" && apt-get download -qq $names >&2)
fi
rm -rf "$cache" && mv "$cache.tmp" "$cache"
echo "$names" > "$cache/.list"
echo "$cache"
