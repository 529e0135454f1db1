#!/usr/bin/env bash
# Installs what sundesk needs to build, test and run, and nothing when all is there.
# Debian packages through apt (apt-get update only when something is missing);
# buf (proto lint) from the npm registry into tools/buf/node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  librdkafka-dev libhiredis-dev prometheus-cpp-dev libpq-dev libspdlog-dev libssl-dev
  libjemalloc-dev grpc-proto openssl libcurl4-openssl-dev libgtest-dev libgmock-dev libbenchmark-dev tzdata
  postgresql redis-server kcat prometheus python3-aiosmtpd
  clang-format clang-tidy nodejs npm curl
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$p")
done
# nodejs/npm may come from outside Debian on some machines; a working npm is enough.
if command -v npm >/dev/null && command -v node >/dev/null; then
  kept=()
  for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || kept+=("$p"); done
  missing=("${kept[@]}")
fi

if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  sudo=""
  [[ $(id -u) == 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # The Debian packages start their own servers where an init system runs; the
  # stack and the tests start their own throwaway ones instead.
fi

if [[ ! -x tools/buf/node_modules/.bin/buf ]]; then
  echo "deps: installing buf from npm"
  # `npm ci` refuses this lock file (npm omits other platforms' optional binaries from it).
  (cd tools/buf && npm install --no-audit --no-fund --loglevel=error)
fi
