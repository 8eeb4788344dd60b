#!/usr/bin/env bash
# The whole test suite: set up the host, type-check, then every tier.
#   unit   pure tests (codecs, state machines, config, builder pieces)
#   rig    real kernel networking in network namespaces: carpd, nftables,
#          conntrackd, ucarp, keepalived (root)
#   image  builds the example pair's images and boots them in QEMU
#   lab    carpenter lab: boots the pair with a client and an upstream host, runs scenarios
# Pass tier names to run only some: bash test/run.sh unit rig
set -euo pipefail
cd "$(dirname "$0")/.."
bash build/setup-host.sh
NODE="$(build/node.sh)"
tiers=("$@")
[ "${#tiers[@]}" -gt 0 ] || tiers=(unit rig image lab)

status=0
for tier in "${tiers[@]}"; do
  echo "== tests: $tier =="
  start=$(date +%s)
  case "$tier" in
    unit) "$NODE" --test dist/test/unit/ || status=1 ;;
    rig|image|lab) "$NODE" --test --test-concurrency=1 "dist/test/$tier/" || status=1 ;;
    *) echo "unknown tier $tier" >&2; exit 2 ;;
  esac
  echo "== $tier: $(( $(date +%s) - start ))s =="
done
exit $status
