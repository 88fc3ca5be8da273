#!/usr/bin/env python3
# The client of bench/llm-context.sh: replays one growing chat conversation through a gateway and
# measures the gateway's CPU time per request from /proc. Standard library only.
#
#   llm-context.py replay PORT CONV TURNS           conversation out to CONV (JSON): the mock's
#                                                   replies and its prompt_tokens per turn
#   llm-context.py check PORT CONV WINDOW RESERVE   replays CONV again through a gateway with the
#                                                   context policy; checks its x-sluice-context-*
#   llm-context.py measure CONV N ROUNDS TURN,... NAME=PID:PORT...
#                                                   repeats each turn's request N times per gateway
#   llm-context.py session CONV RUNS FIRST LAST NAME=PID:PORT...
#                                                   x-sluice-session: only the new user turn is sent
#
# Turn k's request is the system prompt, the k-1 earlier exchanges (the user turn and the reply
# the mock gave to it) and user turn k, with no max_tokens (so reserve_output applies). The user
# turns are distinct (the gateway caches token counts by message hash: repeating one text would
# make every message a hit for the wrong reason).
import http.client
import json
import os
import statistics
import sys
import time

MODEL = "gpt-4o-mini"
SYSTEM = "You are a concise assistant. Answer in one short paragraph."
WORDS = ("river", "garden", "window", "market", "silver", "orange", "engine", "forest", "planet",
         "letter", "bridge", "camera", "doctor", "island", "summer", "winter", "castle", "pocket",
         "candle", "rocket", "violin", "harbor", "desert", "meadow", "ticket", "mirror", "button",
         "anchor", "butter", "cotton", "dragon", "feather", "jacket", "lantern", "monkey", "needle",
         "pepper", "rabbit", "saddle", "tunnel", "velvet", "wallet", "yellow", "zipper")


def user_text(k, run=0):
    # About 20 tokens (o200k_base): "Turn K:" and 12 words that change with K, and a question.
    tag = f"Turn {k}:" if not run else f"Run {run} turn {k}:"
    ws = [WORDS[(k * 7 + i * 5 + run * 3) % len(WORDS)] for i in range(12)]
    return f"{tag} {' '.join(ws)}, which one?"


def body_of(conv, k, run=0):
    msgs = [{"role": "system", "content": SYSTEM}]
    for j in range(1, k):
        msgs.append({"role": "user", "content": user_text(j, run)})
        msgs.append({"role": "assistant", "content": conv["replies"][j - 1]})
    msgs.append({"role": "user", "content": user_text(k, run)})
    return json.dumps({"model": MODEL, "messages": msgs}, separators=(",", ":")).encode()


class Client:
    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, body, headers=None):
        h = {"Content-Type": "application/json", "Authorization": "Bearer sk-bench"}
        h.update(headers or {})
        self.conn.request("POST", "/v1/chat/completions", body=body, headers=h)
        r = self.conn.getresponse()
        data = r.read()
        if r.status != 200:
            sys.exit(f"port {self.port}: HTTP {r.status}: {data[:300]!r}")
        return r, data


def reply_of(data):
    j = json.loads(data)
    return j["choices"][0]["message"]["content"], j["usage"]["prompt_tokens"]


def cpu(pid):
    """(seconds from /proc/PID/stat utime+stime, seconds from the tasks' schedstat run time)"""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    ns = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                ns += int(f.read().split()[0])
        except OSError:
            pass
    return ticks / os.sysconf("SC_CLK_TCK"), ns / 1e9


def gateways(args):
    out = []
    for a in args:
        name, rest = a.split("=", 1)
        pid, port = rest.split(":")
        out.append((name, int(pid), int(port)))
    return out


def replay(port, path, turns):
    c = Client(port)
    conv = {"replies": [], "prompt_tokens": [], "body_bytes": []}
    for k in range(1, turns + 1):
        body = body_of(conv, k)
        _, data = c.post(body)
        text, prompt = reply_of(data)
        conv["replies"].append(text)
        conv["prompt_tokens"].append(prompt)
        conv["body_bytes"].append(len(body))
    with open(path, "w") as f:
        json.dump(conv, f)


def check(port, path, window, reserve):
    """Replays the conversation through the policy gateway; prints each disagreement. The mock's
    prompt_tokens of the untrimmed turn (from replay) is what the gateway should count before,
    and the mock's count of what it received is what it should count after."""
    conv = json.load(open(path))
    c = Client(port)
    bad, first_trim, last = 0, None, None
    for k in range(1, len(conv["replies"]) + 1):
        r, data = c.post(body_of(conv, k))
        text, received = reply_of(data)
        before = r.getheader("x-sluice-context-tokens-before")
        after = r.getheader("x-sluice-context-tokens-after")
        dropped = r.getheader("x-sluice-context-dropped-turns")
        expect_before = conv["prompt_tokens"][k - 1]
        problems = []
        if None in (before, after, dropped):
            problems.append("x-sluice-context-* headers missing")
        else:
            before, after, dropped = int(before), int(after), int(dropped)
            if before != expect_before:
                problems.append(f"tokens-before={before}, the mock counted {expect_before}")
            if after != received:
                problems.append(f"tokens-after={after}, the mock counted {received} received")
            if received + reserve > window:
                problems.append(f"sent {received} tokens + reserve {reserve} > window {window}")
            fits = expect_before + reserve <= window
            if fits and (dropped or after != before):
                problems.append(f"fits but dropped={dropped} after={after}")
            if not fits and not dropped:
                problems.append("over the window but nothing dropped")
            if dropped and first_trim is None:
                first_trim = k
            last = (before, after, dropped)
        if text != conv["replies"][k - 1]:
            problems.append("the mock's reply differs from the replay's")
        for p in problems:
            bad += 1
            if bad <= 20:
                print(f"CHECK turn {k}: {p}")
    print(f"check: first trimmed turn {first_trim}; last turn before={last[0]} after={last[1]} "
          f"dropped={last[2]}; {bad} problems")
    return 1 if bad else 0


def median(xs):
    return statistics.median(xs)


def measure(path, n, rounds, turns, gws):
    conv = json.load(open(path))
    clients = {name: Client(port) for name, _, port in gws}
    res = {}  # (name, turn) -> [(stat_us, sched_us)]
    for rnd in range(rounds):
        order = gws[rnd % len(gws):] + gws[:rnd % len(gws)]
        for turn in turns:
            body = body_of(conv, turn)
            for name, pid, _ in order:
                c = clients[name]
                for _ in range(min(200, n)):  # warm-up: the count cache, the pools
                    c.post(body)
                s0, t0 = cpu(pid)
                for _ in range(n):
                    c.post(body)
                s1, t1 = cpu(pid)
                res.setdefault((name, turn), []).append(((s1 - s0) * 1e6 / n, (t1 - t0) * 1e6 / n))
                print(f"# round {rnd + 1} turn {turn} {name}: {(s1 - s0) * 1e6 / n:.1f} "
                      f"{(t1 - t0) * 1e6 / n:.1f} us/req", file=sys.stderr)
    return conv, res


def session(path, runs, first, last, gws):
    """Each run is a new session replayed from turn 1 to last, sending the system prompt and the
    new user turn only; the gateway CPU of turns first..last is measured. Runs have their own
    texts (so their messages are not already in the count cache)."""
    conv = json.load(open(path))
    res = {}
    for name, pid, port in gws:
        c = Client(port)
        total_stat = total_sched = 0.0
        count = 0
        for run in range(1, runs + 1):
            sid = f"bench-{name}-{run}-{time.time_ns()}"
            for k in range(1, last + 1):
                body = json.dumps({"model": MODEL, "messages": [
                    {"role": "system", "content": SYSTEM},
                    {"role": "user", "content": user_text(k, run)}]},
                    separators=(",", ":")).encode()
                if k == first:
                    s0, t0 = cpu(pid)
                r, _ = c.post(body, {"x-sluice-session": sid})
                if k == last:
                    s1, t1 = cpu(pid)
                    dropped = r.getheader("x-sluice-context-dropped-turns", "-")
            total_stat += s1 - s0
            total_sched += t1 - t0
            count += last - first + 1
        res[name] = (total_stat * 1e6 / count, total_sched * 1e6 / count, dropped)
    return conv, res


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "replay":
        replay(int(args[0]), args[1], int(args[2]))
    elif cmd == "check":
        sys.exit(check(int(args[0]), args[1], int(args[2]), int(args[3])))
    elif cmd == "measure":
        turns = [int(t) for t in args[3].split(",")]
        conv, res = measure(args[0], int(args[1]), int(args[2]), turns, gateways(args[4:]))
        for (name, turn), xs in res.items():
            print(f"{name} {turn} {median([x[0] for x in xs]):.1f} {median([x[1] for x in xs]):.1f} "
                  f"{conv['prompt_tokens'][turn - 1]} {conv['body_bytes'][turn - 1]}")
    elif cmd == "session":
        conv, res = session(args[0], int(args[1]), int(args[2]), int(args[3]), gateways(args[4:]))
        for name, (st, sc, dropped) in res.items():
            print(f"{name} {st:.1f} {sc:.1f} {dropped}")
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
