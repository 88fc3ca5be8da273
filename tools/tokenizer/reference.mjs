// Regenerates the tokenizer parity fixtures from js-tiktoken (the version pinned in
// package-lock.json), under Node 20. Run from this folder: npm ci && node reference.mjs
// Writes, under fixtures/tokenizer/:
//   corpus/random-mixed.bin  a deterministic mixed sample with some invalid UTF-8 (mixed.mjs)
//   reference.json           for every case of cases.json and every file of corpus/: the ids of
//                            encode(text, [], []) per encoding (long ones as a count and a hash)
//   js-unicode.json          the code points of each character class the patterns use, as
//                            Node's regex engine sees them (the unit test compares PCRE2's)
// Bytes become text as TextDecoder does (each maximal invalid subpart is one U+FFFD). ignoreBOM
// keeps a leading U+FEFF as a character, as it is in a JSON string or any API text.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { Tiktoken } from "js-tiktoken/lite";
import cl100k from "js-tiktoken/ranks/cl100k_base";
import o200k from "js-tiktoken/ranks/o200k_base";
import { mixedText } from "./mixed.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.resolve(here, "../../fixtures/tokenizer");
const version = JSON.parse(readFileSync(path.join(here, "node_modules/js-tiktoken/package.json"))).version;
const encodings = { cl100k_base: new Tiktoken(cl100k), o200k_base: new Tiktoken(o200k) };
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

writeFileSync(path.join(dir, "corpus/random-mixed.bin"), mixedText(20261125, 256 * 1024, 0.004));

// FNV-1a (64-bit) over the ids as 4-byte little-endian words.
function fnv1a(ids) {
  let h = 0xcbf29ce484222325n;
  for (const id of ids) {
    for (let k = 0; k < 4; ++k) {
      h ^= BigInt((id >>> (8 * k)) & 0xff);
      h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
    }
  }
  return h.toString(16).padStart(16, "0");
}

const inputs = [];
for (const c of JSON.parse(readFileSync(path.join(dir, "cases.json"), "utf8"))) {
  const bytes = c.hex !== undefined ? Buffer.from(c.hex, "hex") : Buffer.from(c.text, "utf8");
  inputs.push([`cases/${c.name}`, bytes]);
}
for (const f of readdirSync(path.join(dir, "corpus")).sort()) {
  inputs.push([`corpus/${f}`, readFileSync(path.join(dir, "corpus", f))]);
}

const lines = [];
for (const [name, bytes] of inputs) {
  const text = decoder.decode(bytes);
  const entry = { name };
  for (const [enc, t] of Object.entries(encodings)) {
    const ids = t.encode(text, [], []);
    entry[enc] = ids.length <= 4000 ? ids : { count: ids.length, fnv1a64: fnv1a(ids) };
  }
  lines.push("    " + JSON.stringify(entry));
}
writeFileSync(path.join(dir, "reference.json"),
  `{\n  "generator": "tools/tokenizer/reference.mjs",\n  "js-tiktoken": "${version}",\n` +
  `  "node": "${process.version}",\n  "unicode": "${process.versions.unicode}",\n` +
  `  "cases": [\n${lines.join(",\n")}\n  ]\n}\n`);

// Each character class the two patterns use, written as in them, with the code points it holds
// as sorted [first, last] ranges (surrogates excluded).
const classes = [String.raw`\p{L}`, String.raw`\p{N}`, String.raw`\s`, String.raw`\S`,
  String.raw`[^\r\n\p{L}\p{N}]`, String.raw`[^\s\p{L}\p{N}]`,
  String.raw`[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`, String.raw`[\p{Ll}\p{Lm}\p{Lo}\p{M}]`];
const out = {};
for (const name of classes) {
  const re = new RegExp(`^${name}$`, "u");
  const ranges = [];
  for (let cp = 0; cp <= 0x10ffff; ++cp) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    if (!re.test(String.fromCodePoint(cp))) continue;
    const last = ranges[ranges.length - 1];
    if (last && (last[1] === cp - 1 || (last[1] === 0xd7ff && cp === 0xe000))) last[1] = cp;
    else ranges.push([cp, cp]);
  }
  out[name] = ranges;
}
writeFileSync(path.join(dir, "js-unicode.json"),
  `{\n  "generator": "tools/tokenizer/reference.mjs",\n  "node": "${process.version}",\n` +
  `  "unicode": "${process.versions.unicode}",\n` +
  `  "classes": {\n` +
  Object.entries(out).map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(",\n") +
  "\n  }\n}\n");
console.log(`${inputs.length} inputs; js-tiktoken ${version}, Node ${process.version}, Unicode ${process.versions.unicode}`);
