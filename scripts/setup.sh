#!/usr/bin/env bash
# Installs every Debian package concnas needs (as root, after apt-get update), then
# configures and builds the project with the "default" preset. Safe to run again: it
# installs only what is missing and rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config git
  libtorch-dev libgloo-dev libdnnl-dev libmetis-dev libboost-graph-dev libyaml-cpp-dev
  libspdlog-dev libfmt-dev libcli11-dev libgtest-dev libgmock-dev
  nlohmann-json3-dev libbenchmark-dev zlib1g-dev dataset-fashion-mnist graphviz python3-torch
  python3-networkx time iproute2 universal-ctags libopenmpi-dev openmpi-bin
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null; then SUDO=sudo; else
      echo "setup: error: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
    fi
  else SUDO=""; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

cmake --preset default >/dev/null
cmake --build --preset default
echo "setup: built build/bin/concnas"
