#!/usr/bin/env bash
# Writes THIRD_PARTY_NOTICES: the copyright and licence of each library the
# wheel's extension and the npm prebuild link statically, as Debian ships
# them (/usr/share/doc/<package>/copyright of the -dev packages
# packaging/install-deps.sh installs), then the notices of the data in the
# ua tables (libengine/src/ua/THIRD_PARTY_NOTICES.md). Run it after a change
# to either; tests/python/test_notices.py checks the file is current.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-THIRD_PARTY_NOTICES}

# package|name|licence|in which builds
libs=(
  "libuv1-dev|libuv|MIT (and the ISC, BSD and CC-BY notices below)|the wheel (the npm addon uses Node's own libuv)"
  "libssl-dev|OpenSSL libcrypto|Apache-2.0|the wheel (the npm addon uses Node's own OpenSSL)"
  "libhiredis-dev|hiredis|BSD-3-Clause|the wheel and the npm prebuild"
  "libmaxminddb-dev|libmaxminddb|Apache-2.0|the wheel and the npm prebuild"
  "libsqlite3-dev|SQLite|public domain|the wheel and the npm prebuild"
  "zlib1g-dev|zlib|Zlib|the wheel and the npm prebuild"
  "libdeflate-dev|libdeflate|MIT|the wheel and the npm prebuild"
  "libre2-dev|RE2|BSD-3-Clause|the wheel and the npm prebuild"
  "libfarmhash-dev|FarmHash|MIT|the wheel and the npm prebuild"
  "pybind11-dev|pybind11|BSD-3-Clause|the wheel (headers compiled into the extension; make dist uses the pybind11 installed for each Python from PyPI, under this same licence)"
)

{
  cat <<'HEAD'
Third-party notices for hotpath

hotpath itself is under the MIT licence (LICENSE). Its Python extension
(hotpath._hotpath in a wheel) and its prebuilt Node addon
(prebuilds/*/hotpath.node in the npm package) contain the libraries below,
linked statically; a build from source links the system's copies instead.
Each section gives the library, its version, its licence and where it is
linked, then its copyright file as Debian distributes it, which holds the
licence text. The last sections cover the GCC runtime (libstdc++, libgcc)
and the data compiled into the user-agent tables.

HEAD
  for entry in "${libs[@]}"; do
    IFS='|' read -r pkg name licence where <<<"$entry"
    version=$(dpkg-query -W -f='${Version}' "$pkg")
    printf '%s\n' "================================================================================"
    printf '%s %s (%s)\nLinked into: %s\nDebian package: %s, %s\n\n' "$name" "${version#*:}" "$licence" "$where" "$pkg" "/usr/share/doc/$pkg/copyright"
    cat "/usr/share/doc/$pkg/copyright"
    echo
  done
  printf '%s\n' "================================================================================"
  gcc_version=$(dpkg-query -W -f='${Version}' libstdc++-12-dev)
  printf 'libstdc++ and libgcc %s (GPL-3.0 with the GCC Runtime Library Exception 3.1)\n' "$gcc_version"
  printf 'Linked into: the wheel and the npm prebuild (-static-libstdc++ -static-libgcc)\n\n'
  cat <<'GCC'
The GCC runtime libraries are under the GNU General Public License version 3
with the GCC Runtime Library Exception, which allows programs compiled with
GCC to combine them with code under any licence. The exception, as Debian's
gcc-12-base copyright file gives it:

GCC
  sed -n '/^GCC RUNTIME LIBRARY EXCEPTION$/,/requirements of the license of GCC\.$/p' /usr/share/doc/gcc-12-base/copyright
  echo
  printf '%s\n' "================================================================================"
  cat libengine/src/ua/THIRD_PARTY_NOTICES.md
  echo
  printf '%s\n' "================================================================================"
  printf 'The Apache License 2.0, which the OpenSSL and libmaxminddb sections refer to\n'
  printf 'as /usr/share/common-licenses/Apache-2.0:\n\n'
  cat /usr/share/common-licenses/Apache-2.0
} >"$out"
echo "gen-notices: wrote $out ($(wc -c <"$out") bytes)"
