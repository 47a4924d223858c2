#!/usr/bin/env bash
# Builds build/re2-pic/libre2.a: RE2 as position-independent code, for the
# wheel and the prebuilt Node addon, which link their libraries statically
# into a shared object. Debian's own libre2.a is built as PIE (its
# thread-local `re2::hooks::context` uses local-exec TLS relocations, which
# a shared object cannot hold), so this takes the Debian source of the
# installed libre2-dev (same version as its headers), regenerates the
# Unicode tables its source package leaves out from Debian's unicode-data,
# and compiles it with -fPIC. Does nothing when the archive for that version
# is there. Needs packaging/install-deps.sh (libre2-dev, unicode-data).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/re2-pic}
version=$(dpkg-query -W -f='${source:Version}' libre2-dev)
if [ -f "$out/libre2.a" ] && [ "$(cat "$out/version" 2>/dev/null)" = "$version" ]; then exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/parts" "$work/lists/partial" "$out"
. /etc/os-release
cat >"$work/parts/source.sources" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $VERSION_CODENAME
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
apt=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$work/parts" -o Dir::State::Lists="$work/lists"
     -o APT::Sandbox::User=root)
apt-get "${apt[@]}" -qq update
(cd "$work" && apt-get "${apt[@]}" -qq source --download-only "re2=$version")
tar -xf "$work"/re2_*.orig.tar.* -C "$work"
src=$(ls -d "$work"/re2-*/)
# The tables Debian regenerates at build time (REBUILD_TABLES), from its
# unicode-data instead of unicode.org.
sed -i -e 's|^_UNICODE_DIR = .*|_UNICODE_DIR = "/usr/share/unicode"|' \
  -e 's|^from six.moves import urllib$|import urllib.request|' "$src/re2/unicode.py"
perl "$src/re2/make_perl_groups.pl" >"$src/re2/perl_groups.cc"
python3 "$src/re2/make_unicode_groups.py" >"$src/re2/unicode_groups.cc"
python3 "$src/re2/make_unicode_casefold.py" >"$src/re2/unicode_casefold.cc"
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
  -DBUILD_SHARED_LIBS=OFF -DRE2_BUILD_TESTING=OFF >/dev/null
cmake --build "$work/build" --target re2 --parallel "${JOBS:-2}" >/dev/null
cp "$work/build/libre2.a" "$out/libre2.a"
echo "$version" >"$out/version"
echo "build-re2-pic: $out/libre2.a (RE2 $version, PIC)"
