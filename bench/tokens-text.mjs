// Writes the benchmark text of bench/tokens.sh: MB megabytes of deterministic mixed text (the
// generator of the parity corpus, tools/tokenizer/mixed.mjs, with another seed and no invalid
// UTF-8). Usage: node bench/tokens-text.mjs OUT [MB]
import { writeFileSync } from "node:fs";
import { mixedText } from "../tools/tokenizer/mixed.mjs";

const [out, mb] = process.argv.slice(2);
writeFileSync(out, mixedText(42, Math.round(Number(mb ?? 4) * 1e6)));
