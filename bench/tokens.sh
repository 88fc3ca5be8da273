#!/usr/bin/env bash
# Side-by-side tokenizer benchmark: Sluice's tokenizers against js-tiktoken (Node 20), on the
# same multi-megabyte mixed text, in the same run.
#
# Usage: bench/tokens.sh [TOKENS_BENCH]
#   TOKENS_BENCH is the driver built from bench/tokens_bench.cpp (default:
#   build/release/bench/tokens_bench).
# Environment: MB=4 (size of the text), SECONDS_PER=3 (timed seconds per encoding and side)
# Pinning: both sides run on CPU 1, one after the other.
# The text is written by bench/tokens-text.mjs (deterministic). js-tiktoken is the version pinned
# by tools/tokenizer/package-lock.json, installed there with `npm ci` when missing.
# Prints each side's lines, then per encoding "ratio ENCODING sluice/js=X (sluice A MB/s, js B MB/s)".
# Exit 1 when the token counts differ or Sluice is under 5x js-tiktoken for an encoding.
set -euo pipefail
cd "$(dirname "$0")/.."
bench=${1:-build/release/bench/tokens_bench}
MB=${MB:-4} SECONDS_PER=${SECONDS_PER:-3}
for t in node npm taskset; do command -v $t >/dev/null || { echo "missing: $t"; exit 2; }; done
[[ -x $bench ]] || { echo "missing: $bench (ninja -C build/release tokens_bench)"; exit 2; }
if [[ ! -f tools/tokenizer/node_modules/js-tiktoken/package.json ]]; then
  (cd tools/tokenizer && npm ci --silent --no-audit --no-fund >/dev/null)
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
node bench/tokens-text.mjs "$dir/text" "$MB"
echo "text: $(stat -c %s "$dir/text") bytes, node $(node --version), js-tiktoken $(node -p "require('./tools/tokenizer/node_modules/js-tiktoken/package.json').version")"
taskset -c 1 "$bench" "$dir/text" "$SECONDS_PER" | tee "$dir/sluice.out"
taskset -c 1 node bench/tokens-js.mjs "$dir/text" "$SECONDS_PER" | tee "$dir/js.out"
status=0
for enc in cl100k_base o200k_base; do
  field() { grep " $enc " "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
  s_tokens=$(field "$dir/sluice.out" tokens) j_tokens=$(field "$dir/js.out" tokens)
  s_mbs=$(field "$dir/sluice.out" mb_per_s) j_mbs=$(field "$dir/js.out" mb_per_s)
  ratio=$(awk -v a="$s_mbs" -v b="$j_mbs" 'BEGIN { printf "%.1f", a / b }')
  if [[ $s_tokens != "$j_tokens" ]]; then
    echo "MISMATCH $enc: sluice counted $s_tokens tokens, js-tiktoken $j_tokens"
    status=1
  fi
  awk -v r="$ratio" 'BEGIN { exit !(r < 5) }' && { echo "TOO SLOW $enc: under 5x"; status=1; }
  echo "ratio $enc sluice/js=$ratio (sluice $s_mbs MB/s, js-tiktoken $j_mbs MB/s, $s_tokens tokens both)"
done
exit $status
