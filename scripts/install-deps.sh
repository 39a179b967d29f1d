#!/usr/bin/env bash
# Install the Debian 12 packages mali-sim needs to build, test and benchmark.
#
# usage: bash scripts/install-deps.sh [--ci] [--plots]
#   --ci     also install clang-tidy, clang-format, and clang with libFuzzer (what .ci/run uses)
#   --plots  also install python3 and matplotlib (for the plotting scripts)
#
# Idempotent: installs only the packages that are missing, and does nothing (not even
# `apt-get update`) when everything is already installed. Uses sudo only when not root.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build make pkg-config
  # libraries
  libboost-dev libfmt-dev libspdlog-dev libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev
  nlohmann-json3-dev
)

for arg in "$@"; do
  case "$arg" in
    --ci) packages+=(clang-tidy clang-format clang libclang-rt-14-dev) ;;
    --plots) packages+=(python3 python3-matplotlib) ;;
    -h | --help)
      sed -n '2,9p' "$0"
      exit 0
      ;;
    *)
      echo "install-deps: unknown option '$arg' (expected --ci and/or --plots)" >&2
      exit 2
      ;;
  esac
done

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [ "$status" != "install ok installed" ]; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} required packages are installed"
  exit 0
fi

install_cmd="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"

cannot_install() {
  # $1: why
  {
    echo "install-deps: $1"
    echo "install-deps: missing Debian packages: ${missing[*]}"
    echo "install-deps: install them as root with:"
    echo "    $install_cmd"
  } >&2
  exit 1
}

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  else
    cannot_install "not running as root and sudo is not available"
  fi
fi

if ! command -v apt-get >/dev/null 2>&1; then
  cannot_install "apt-get not found (this script supports Debian 12)"
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp "${TMPDIR:-/tmp}/mali-sim-install-deps.XXXXXX")
trap 'rm -f "$log"' EXIT

echo "install-deps: missing: ${missing[*]}"
# apt's own output goes to the log (shown in full on a failure); what it is doing is shown a line
# per step: each index and package fetched, unpacked and set up.
apt_step() {  # $1: what; the rest: the apt-get command
  local what=$1
  shift
  echo "install-deps: $what"
  set +e
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive "$@" 2>&1 | tee "$log" |
    { grep --line-buffered -E '^(Get:[0-9]+ |Unpacking |Setting up )' | sed -u 's/^/install-deps:   /'; true; }
  local rc=${PIPESTATUS[0]}
  set -e
  if [ "$rc" -ne 0 ]; then
    tail -n 20 "$log" >&2
    cannot_install "$what failed (output above)"
  fi
}
apt_step "apt-get update" apt-get update -q
apt_step "apt-get install ${missing[*]}" apt-get install -y -q --no-install-recommends "${missing[@]}"

echo "install-deps: installed ${#missing[@]} package(s)"
