#!/usr/bin/env bash
# Builds artifacts/peerpatch_<version>_amd64.deb with dpkg-deb: the linux-x64 executables (Native AOT), the systemd
# unit, the default configuration, maintainer scripts. Usage: tools/package/build-deb.sh [version]  (default:
# Directory.Build.props). PEERPATCH_NO_PUBLISH=1 packs the executables already in artifacts/publish/linux-x64 (as the
# tests do: tools/test.sh published them once) instead of publishing them again. The benchmark packs other builds:
# PEERPATCH_PUBLISH_DIR (default artifacts/publish/linux-x64) and PEERPATCH_DEB_DIR (default artifacts).
# Layout: the executables and SQLite (libe_sqlite3.so, which peerpatch loads from its own directory) in the private
# directory /usr/lib/peerpatch, /usr/bin/peerpatch and /usr/bin/peerpatch-diag symlinks to them.
set -euo pipefail
cd "$(dirname "$0")/../.."
version="${1:-$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)}"
pub=${PEERPATCH_PUBLISH_DIR:-artifacts/publish/linux-x64}
[ "${PEERPATCH_NO_PUBLISH:-}" = 1 ] || tools/package/publish.sh linux-x64 >/dev/null # fresh binaries, unless told otherwise
for file in peerpatch peerpatch-diag; do
  [ -f "$pub/$file" ] || { echo "build-deb: $pub/$file is missing (tools/package/publish.sh linux-x64)" >&2; exit 1; }
done

root=$(mktemp -d)
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT
src=tools/package/debian
install -D -m 0755 "$pub/peerpatch" "$root/usr/lib/peerpatch/peerpatch"
install -D -m 0755 "$pub/peerpatch-diag" "$root/usr/lib/peerpatch/peerpatch-diag"
# SQLite: beside the Native AOT executable (a single-file build, the benchmark's reference, carries it inside).
if [ -f "$pub/libe_sqlite3.so" ]; then
  install -D -m 0644 "$pub/libe_sqlite3.so" "$root/usr/lib/peerpatch/libe_sqlite3.so"
  strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/lib/peerpatch/libe_sqlite3.so" # as shipped by NuGet it keeps its symbols
fi
mkdir -p "$root/usr/bin"
ln -s ../lib/peerpatch/peerpatch "$root/usr/bin/peerpatch"
ln -s ../lib/peerpatch/peerpatch-diag "$root/usr/bin/peerpatch-diag"
install -D -m 0644 "$src/peerpatch.service" "$root/lib/systemd/system/peerpatch.service"
install -D -m 0644 "$src/peerpatch.json" "$root/etc/peerpatch/peerpatch.json"
install -D -m 0644 "$src/copyright" "$root/usr/share/doc/peerpatch/copyright"
install -D -m 0644 "$src/lintian-overrides" "$root/usr/share/lintian/overrides/peerpatch"
mkdir -p "$root/usr/share/man/man1"
for page in changelog:usr/share/doc/peerpatch/changelog peerpatch.1:usr/share/man/man1/peerpatch.1 peerpatch-diag.1:usr/share/man/man1/peerpatch-diag.1; do
  gzip -9n -c "$src/${page%%:*}" > "$root/${page#*:}.gz"
  chmod 0644 "$root/${page#*:}.gz"
done
mkdir -p "$root/DEBIAN"
for script in postinst prerm postrm; do install -m 0755 "$src/$script" "$root/DEBIAN/$script"; done
install -m 0644 "$src/conffiles" "$root/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@SIZE@/$size/" "$src/control" > "$root/DEBIAN/control"

outdir=${PEERPATCH_DEB_DIR:-artifacts}
out="$outdir/peerpatch_${version}_amd64.deb"
mkdir -p "$outdir"
dpkg-deb --root-owner-group -Zgzip --build "$root" "$out" >/dev/null
echo "$out"
