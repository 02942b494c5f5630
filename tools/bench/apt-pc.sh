#!/usr/bin/env bash
# One PC of the apt fleet bench: real `apt-get update`, then real `apt-get download PACKAGE...`, with every piece of
# apt's state and configuration under DIR (DIR/apt.conf, written by the bench, points Dir::State, Dir::Cache, Dir::Etc,
# Dir::Log there; the host's /etc/apt is not read and nothing outside DIR is written). Then each downloaded file is
# checked against EXPECTED, a sha256sum -c file (apt has already checked it against the signed index; this proves
# the files are there, whole, and of the versions meant). Exit 0 only when all of that succeeded; an index apt could
# not fetch fails the update (--error-on=any).
# Usage: apt-pc.sh DIR EXPECTED PACKAGE...
set -euo pipefail
dir="$1" expected="$2"
shift 2
export APT_CONFIG="$dir/apt.conf"
apt-get -qq --error-on=any update
rm -rf "$dir/download" && mkdir -p "$dir/download" && cd "$dir/download"
apt-get -qq download "$@"
sha256sum -c --quiet "$expected"
