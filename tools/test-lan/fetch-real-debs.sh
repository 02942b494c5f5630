#!/usr/bin/env bash
# Fetches the real Debian packages named in real-debs.txt into a cache directory (default
# /var/cache/peerpatch-tests/real-debs), once: a later call with the same list returns at once. Prints the directory.
# Needs apt-get and a Debian/Ubuntu apt configuration; runs `apt-get update` once when a package is not found.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
list="$here/real-debs.txt"
cache="${1:-/var/cache/peerpatch-tests/real-debs}"
names=$(grep -v '^\s*#' "$list" | grep -v '^\s*$' | tr '\n' ' ')
stamp="$cache/.list"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$names" ] && ls "$cache"/*.deb >/dev/null 2>&1; then
  echo "$cache"
  exit 0
fi
mkdir -p "$cache.tmp"
rm -f "$cache.tmp"/*.deb
chmod 0777 "$cache.tmp" # apt's _apt user downloads into it (sandboxed) when it can
# shellcheck disable=SC2086
if ! (cd "$cache.tmp" && apt-get download -qq $names >/dev/null 2>&1); then
  apt-get update -qq >/dev/null 2>&1 || true
  (cd "$cache.tmp" && apt-get download -qq $names >&2)
fi
rm -rf "$cache"
mv "$cache.tmp" "$cache"
echo "$names" > "$stamp"
echo "$cache"
