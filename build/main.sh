#!/usr/bin/env bash
# The main job: set up the host, then build the example HA pair's images
# (build/sites/ha-pair.ini: fw1 primary, fw2 secondary) for the QEMU board.
# Extra arguments go to `carpenter build`, e.g. --board sg-4860 or --json.
set -euo pipefail
cd "$(dirname "$0")/.."
bash build/setup-host.sh
exec "$(build/node.sh)" src/cli/bin.mjs build "$@"
