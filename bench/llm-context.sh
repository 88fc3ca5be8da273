#!/usr/bin/env bash
# Cost of the LLM context-window policy on a long chat: one growing conversation replayed turn by
# turn through two `sluice serve` in the same run, one with [routes.llm] context =
# { strategy = "truncate_oldest", window = WINDOW, reserve_output = R } and one with the same
# config without it, both in front of the same mock OpenAI provider (`sluice chaos mock`, a
# separate process).
#
# Usage: bench/llm-context.sh [SLUICE]        (default: build/release/cmd/sluice)
# Environment: TURNS=200, WINDOW=8192, TRIM_AT=150, N=2000 (requests per measurement),
#   ROUNDS=3, AT=100,200 (the turns measured), SESSION=0 (1: also the x-sluice-session variant:
#   two more gateways with [routes.llm] sessions, RUNS=10 new sessions each replayed from turn 1
#   sending only the system prompt and the new user turn, the CPU of turns 171..200 measured
#   from schedstat alone)
# The conversation: a system prompt, then turns of about 50 tokens, a user message of about 20
#   tokens of text (24 as counted) and the mock's reply (its echo, about 26). Every request sends
#   the whole history (the stateless client) and no max_tokens, so reserve_output applies.
#   R is chosen so that truncate_oldest starts trimming at turn TRIM_AT:
#   R = WINDOW - (the prompt tokens of turn TRIM_AT, as the mock counts them) + 1.
# Steps: replay turns 1..TURNS through the gateway without the policy (the mock's replies and
#   counts become the reference), replay them again through the gateway with the policy and check
#   its x-sluice-context-tokens-before/-after/-dropped-turns against the mock's counts, then send
#   each AT turn's request N times to each gateway, ROUNDS rounds in rotating order.
# Measures the gateway's CPU time per request from /proc/PID/stat (utime+stime; the column
#   "stat") and from the sum of its threads' /proc/PID/task/*/schedstat (ns; "sched"), medians of
#   the rounds. Only the gateway process is measured: the client (bench/llm-context.py) and the
#   mock run on CPU 0, the gateways (one worker each) on CPU 1.
# Prints a table, then its LAST line: "policy_cost_us_at_turn200=X (target < 300)" (X: the stat
#   figure with the policy minus without it, at the last AT turn).
# Exit 1 when X >= 300 or a context header disagreed with the mock, 3 when something failed to
#   run (a non-200 answer, a process that did not start).
set -euo pipefail
cd "$(dirname "$0")/.."
sluice=$(realpath "${1:-build/release/cmd/sluice}")
TURNS=${TURNS:-200} WINDOW=${WINDOW:-8192} TRIM_AT=${TRIM_AT:-150} N=${N:-2000} ROUNDS=${ROUNDS:-3}
AT=${AT:-100,200} SESSION=${SESSION:-0} RUNS=${RUNS:-10}
for t in python3 taskset; do command -v $t >/dev/null || { echo "missing: $t"; exit 2; }; done
[[ -x $sluice ]] || { echo "missing: $sluice (make build)"; exit 2; }
client="python3 bench/llm-context.py"
dir=$(mktemp -d); pids=()
cleanup() {
  set +e
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.3; rm -rf "$dir"
}
trap cleanup EXIT
wait_port() { for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened"; return 1; }

# The mock provider: chaos mock needs a whole scenario; only its [[mocks]] are used.
cat > "$dir/mock.toml" <<'C'
name = "mock OpenAI provider of bench/llm-context.sh (phases and assertions are not used)"
[[mocks]]
name = "openai"
[mocks.llm]
provider = "openai"
context_window = 128000
[[phases]]
name = "unused"
duration = "1s"
[[assertions]]
name = "unused"
expect = "client.errors == 0"
C
taskset -c 0 "$sluice" chaos mock -c "$dir/mock.toml" 2>"$dir/mock.log" & pids+=($!)
for _ in $(seq 100); do grep -q '"name":"mock.openai"' "$dir/mock.log" && break; sleep 0.1; done
mock=$(sed -n 's/.*"name":"mock.openai","address":"\([^"]*\)".*/\1/p' "$dir/mock.log")
[[ -n $mock ]] || { echo "the mock did not start"; cat "$dir/mock.log"; exit 3; }

# gateway NAME PORT ADMIN_PORT [CONTEXT_LINE] [SESSIONS_LINE]: the config of bench/llm.toml.
gateway() {
  cat > "$dir/$1.toml" <<C
[server]
workers = 1
[admin]
listen = "127.0.0.1:$3"
[log]
access = "off"
[[listeners]]
name = "main"
listen = "127.0.0.1:$2"
[[routes]]
name = "llm"
path_prefix = "/v1/"
[routes.llm]
${4:-}
${5:-}
[[providers]]
name = "mock"
kind = "openai-compatible"
base_url = "http://$mock/v1"
[[models]]
name = "*"
targets = [{ provider = "mock" }]
C
  taskset -c 1 "$sluice" serve --config "$dir/$1.toml" >"$dir/$1.log" 2>&1 & pids+=($!)
  PID[$1]=$!
  wait_port "$2" || { cat "$dir/$1.log"; exit 3; }
}
declare -A PID
gateway off 18096 18906

$client replay 18096 "$dir/conv.json" "$TURNS" || exit 3
prompt_at() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['prompt_tokens'][int(sys.argv[2])-1])" "$dir/conv.json" "$1"; }
RESERVE=$((WINDOW - $(prompt_at "$TRIM_AT") + 1))
context="context = { strategy = \"truncate_oldest\", window = $WINDOW, reserve_output = $RESERVE }"
gateway on 18097 18907 "$context"
echo "$("$sluice" --version | head -1), $(nproc) CPUs; window $WINDOW, reserve_output $RESERVE"

status=0
$client check 18097 "$dir/conv.json" "$WINDOW" "$RESERVE" || status=1

$client measure "$dir/conv.json" "$N" "$ROUNDS" "$AT" off="${PID[off]}:18096" on="${PID[on]}:18097" \
  > "$dir/measure.out" || exit 3
echo
printf '%-6s %-8s %13s %11s %16s %17s\n' turn policy prompt_tokens body_bytes 'cpu_us/req stat' 'cpu_us/req sched'
for t in ${AT//,/ }; do
  for g in off on; do
    read -r _ _ st sc tok bytes < <(awk -v g=$g -v t=$t '$1==g && $2==t' "$dir/measure.out")
    printf '%-6s %-8s %13s %11s %16s %17s\n' "$t" "$g" "$tok" "$bytes" "$st" "$sc"
  done
done
echo
for t in ${AT//,/ }; do
  awk -v t=$t '$2==t {s[$1]=$3; c[$1]=$4} END {printf "turn %s: the policy adds %.1f us/req (stat), %.1f (sched)\n", t, s["on"]-s["off"], c["on"]-c["off"]}' "$dir/measure.out"
done

if [[ $SESSION == 1 ]]; then
  sessions='sessions = { enabled = true }'
  gateway soff 18098 18908 "" "$sessions"
  gateway son 18099 18909 "$context" "$sessions"
  $client session "$dir/conv.json" "$RUNS" 171 200 off="${PID[soff]}:18098" on="${PID[son]}:18099" \
    > "$dir/session.out" || exit 3
  # Only RUNS*30 requests per gateway: the stat ticks (10 ms) are too coarse, sched is the figure.
  awk '{c[$1]=$3; d[$1]=$4} END {printf "x-sluice-session, turns 171..200: %.1f us/req without the policy, %.1f with it (sched; %s turns dropped at turn 200): the policy adds %.1f\n", c["off"], c["on"], d["on"], c["on"]-c["off"]}' "$dir/session.out"
fi

last=${AT##*,}
cost=$(awk -v t="$last" '$2==t {s[$1]=$3} END {printf "%.1f", s["on"]-s["off"]}' "$dir/measure.out")
awk -v c="$cost" 'BEGIN {exit !(c >= 300)}' && status=1
echo "policy_cost_us_at_turn$last=$cost (target < 300)"
exit $status
