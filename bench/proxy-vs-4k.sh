#!/usr/bin/env bash
# Runs ../shared/bench/proxy-vs.sh with BODY=4k. That mode of the shared script cannot start its
# upstream: nginx rejects a 4,096-character `return` argument ("too long parameter"). This makes a
# temporary copy whose upstream serves the same 4 KiB body from a file (readable by nginx workers,
# which run as nobody), and changes nothing else.
# Usage: bench/proxy-vs-4k.sh -- CANDIDATE_COMMAND...
set -euo pipefail
shared=$(cd "$(dirname "$0")/../../shared/bench" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$shared/idle-conns.py" "$tmp/"
sed -e "s|location / { return 200 '\$payload'; }|location / { root \$dir/www; try_files /payload =404; default_type text/plain; }|" \
    -e 's|^dir=$(mktemp -d); pids=()|dir=$(mktemp -d); pids=(); mkdir -p "$dir/www"; chmod 755 "$dir" "$dir/www"|' \
    "$shared/proxy-vs.sh" > "$tmp/proxy-vs.sh"
# The payload file is written once the script has chosen it.
sed -i "s|^\[\[ \$BODY == 4k \]\] && payload=.*|&\nprintf %s \"\$payload\" > \"\$dir/www/payload\"|" "$tmp/proxy-vs.sh"
grep -q 'try_files /payload' "$tmp/proxy-vs.sh" || { echo "proxy-vs.sh changed; update bench/proxy-vs-4k.sh"; exit 2; }
BODY=4k bash "$tmp/proxy-vs.sh" "$@"
