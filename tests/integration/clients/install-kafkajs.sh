#!/usr/bin/env bash
# Installs kafkajs 2.2.4 (pinned by package.json and package-lock.json) into
# tests/integration/clients/node_modules if it is not there yet. node_modules
# is not committed (.gitignore). Needs node and npm (scripts/deps.sh) and the
# npm registry the first time.
# usage: install-kafkajs.sh        exit 0 when kafkajs 2.2.4 is importable
set -euo pipefail
cd "$(dirname "$0")"
want=2.2.4
have() { node -e "process.exit(require('kafkajs/package.json').version === '$want' ? 0 : 1)" 2>/dev/null; }
if have; then exit 0; fi
command -v node >/dev/null || { echo "install-kafkajs: node is not installed (scripts/deps.sh)" >&2; exit 1; }
command -v npm >/dev/null || { echo "install-kafkajs: npm is not installed (scripts/deps.sh)" >&2; exit 1; }
echo "install-kafkajs: npm ci (kafkajs $want) in $(pwd)" >&2
if ! timeout 300 npm ci --no-audit --no-fund --loglevel=error >&2; then
  echo "install-kafkajs: npm ci failed" >&2; exit 1
fi
have || { echo "install-kafkajs: kafkajs $want is still not importable after npm ci" >&2; exit 1; }
