// The js-tiktoken side of bench/tokens.sh: counts the tokens of a file with encode(text, [], [])
// for each encoding and prints the throughput in the same format as tokens_bench.
// Usage: node bench/tokens-js.mjs FILE [SECONDS]   (js-tiktoken from tools/tokenizer/node_modules)
import { readFileSync } from "node:fs";
import { Tiktoken } from "../tools/tokenizer/node_modules/js-tiktoken/dist/lite.js";
import cl100k from "../tools/tokenizer/node_modules/js-tiktoken/dist/ranks/cl100k_base.js";
import o200k from "../tools/tokenizer/node_modules/js-tiktoken/dist/ranks/o200k_base.js";

const [file, secs] = process.argv.slice(2);
const bytes = readFileSync(file);
const text = new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes);
const seconds = Number(secs ?? 3);
for (const [name, ranks] of [["cl100k_base", cl100k], ["o200k_base", o200k]]) {
  let t0 = performance.now();
  const tok = new Tiktoken(ranks);
  const initMs = performance.now() - t0;
  const tokens = tok.encode(text, [], []).length;  // warm-up (and the JIT's)
  let rounds = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    if (tok.encode(text, [], []).length !== tokens) throw new Error("counts differ between rounds");
    ++rounds;
    elapsed = (performance.now() - start) / 1000;
  } while (elapsed < seconds);
  const mb = (bytes.length * rounds) / 1e6;
  console.log(`js-tiktoken ${name} tokens=${tokens} bytes=${bytes.length} rounds=${rounds} ` +
    `seconds=${elapsed.toFixed(3)} mb_per_s=${(mb / elapsed).toFixed(2)} init_ms=${initMs.toFixed(1)}`);
}
