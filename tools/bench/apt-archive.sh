#!/usr/bin/env bash
# Lays real .deb files out as a Debian archive the way apt expects one, signed with a throwaway key.
#   apt-archive.sh pool ROOT GNUPGHOME DEB...
#     ROOT/pool/main/NAME/FILE (file names as in a Debian archive: no epoch, `+` and `~` kept) for every DEB, and
#     ROOT/all.Packages, the index stanzas of all of them (dpkg-scanpackages). Makes the key in GNUPGHOME on first
#     use and writes its public part to GNUPGHOME/archive.gpg (for sources.list's signed-by).
#   apt-archive.sh index ROOT GNUPGHOME PACKAGES
#     Publishes PACKAGES (some of those stanzas) as ROOT/dists/bookworm/main/binary-amd64/Packages{,.gz,.xz} with a
#     new ROOT/dists/bookworm/{Release,Release.gpg,InRelease} (a new Date, Acquire-By-Hash: yes) and by-hash copies:
#     what changes upstream when a package version is added. Pool files the index does not name stay in the pool, as in a real archive.
# Touches nothing outside ROOT and GNUPGHOME.
set -euo pipefail
command="$1" root="$2" gnupg="$3"
shift 3
export GNUPGHOME="$gnupg"
case "$command" in
pool)
  mkdir -p "$gnupg" && chmod 700 "$gnupg"
  if [ ! -s "$gnupg/archive.gpg" ]; then
    gpg --batch -q --passphrase '' --quick-gen-key 'PeerPatch bench archive <bench@peerpatch.invalid>' ed25519 sign never
    gpg --batch -q --export > "$gnupg/archive.gpg"
    gpgconf --kill all 2>/dev/null || true
  fi
  rm -rf "$root/pool"
  for deb in "$@"; do
    fields=$(dpkg-deb -f "$deb" Package Version Architecture)
    name=$(sed -n 's/^Package: //p' <<< "$fields") version=$(sed -n 's/^Version: //p' <<< "$fields") arch=$(sed -n 's/^Architecture: //p' <<< "$fields")
    mkdir -p "$root/pool/main/$name"
    target="$root/pool/main/$name/${name}_${version#*:}_${arch}.deb"
    ln "$deb" "$target" 2>/dev/null || cp "$deb" "$target"
  done
  (cd "$root" && dpkg-scanpackages -m pool /dev/null 2>/dev/null) > "$root/all.Packages"
  ;;
index)
  dists="$root/dists/bookworm"
  rm -rf "$dists.new" && mkdir -p "$dists.new/main/binary-amd64"
  bin="$dists.new/main/binary-amd64"
  cp "$1" "$bin/Packages"
  gzip -9nk "$bin/Packages" && xz -k "$bin/Packages"
  # by-hash copies, as Debian's and Ubuntu's archives have (apt asks for these when the Release says Acquire-By-Hash);
  # the previous index's copies stay, as in a real archive, for a PC still holding the previous Release.
  mkdir -p "$bin/by-hash/SHA256"
  [ -d "$dists/main/binary-amd64/by-hash/SHA256" ] && cp -a "$dists/main/binary-amd64/by-hash/SHA256/." "$bin/by-hash/SHA256/"
  for f in Packages Packages.gz Packages.xz; do
    cp "$bin/$f" "$bin/by-hash/SHA256/$(sha256sum < "$bin/$f" | cut -d' ' -f1)"
  done
  {
    echo "Origin: PeerPatch bench"
    echo "Label: PeerPatch bench"
    echo "Suite: bookworm"
    echo "Codename: bookworm"
    echo "Date: $(LC_ALL=C date -u -R)"
    echo "Architectures: amd64"
    echo "Components: main"
    echo "Acquire-By-Hash: yes"
    echo "SHA256:"
    for f in Packages Packages.gz Packages.xz; do
      printf ' %s %s main/binary-amd64/%s\n' "$(sha256sum < "$bin/$f" | cut -d' ' -f1)" "$(stat -c %s "$bin/$f")" "$f"
    done
  } > "$dists.new/Release"
  gpg --batch -q --yes --clearsign -o "$dists.new/InRelease" "$dists.new/Release"
  gpg --batch -q --yes -abs -o "$dists.new/Release.gpg" "$dists.new/Release"
  rm -rf "$dists" && mv "$dists.new" "$dists"
  gpgconf --kill all 2>/dev/null || true # the agent gpg started for GNUPGHOME: never left running
  ;;
*)
  echo "usage: apt-archive.sh pool|index ROOT GNUPGHOME ..." >&2
  exit 2
  ;;
esac
