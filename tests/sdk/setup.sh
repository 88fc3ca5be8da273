#!/bin/sh
# ctest fixture of the SDK tests: Node 20 or later, then the locked packages with `npm ci`
# (from the npm cache when it has them). Nothing else is downloaded; no install scripts run.
set -eu
cd "$(dirname "$0")"
command -v node >/dev/null || { echo "tests/sdk needs Node.js 20 or later: node not found" >&2; exit 1; }
command -v npm >/dev/null || { echo "tests/sdk needs npm: not found" >&2; exit 1; }
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || { echo "tests/sdk needs Node.js 20 or later, found $(node --version)" >&2; exit 1; }
NPM_CONFIG_UPDATE_NOTIFIER=false npm ci --prefer-offline --ignore-scripts --no-audit --no-fund
