// Converts js-tiktoken's rank data (the version pinned in package-lock.json) into the compact
// files Sluice embeds: data/tokenizers/<encoding>.ranks. Run from this folder:
//   npm ci && node convert.mjs
// The format is described in data/tokenizers/README.md. The script refuses data it cannot
// represent (rank gaps, tokens longer than 255 bytes) rather than writing a lossy file.
import { writeFileSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import path from "node:path";
import cl100k from "js-tiktoken/ranks/cl100k_base";
import o200k from "js-tiktoken/ranks/o200k_base";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, "../../data/tokenizers");
const version = JSON.parse(readFileSync(path.join(here, "node_modules/js-tiktoken/package.json"))).version;

function convert(name, ranks) {
  // js-tiktoken's format: lines of "! OFFSET TOKEN TOKEN ..." with base64 tokens ranked from OFFSET.
  const tokens = [];
  for (const line of ranks.bpe_ranks.split("\n").filter(Boolean)) {
    const [, offsetStr, ...toks] = line.split(" ");
    const offset = Number.parseInt(offsetStr, 10);
    toks.forEach((t, i) => {
      if (tokens[offset + i] !== undefined) throw new Error(`${name}: rank ${offset + i} twice`);
      tokens[offset + i] = Buffer.from(t, "base64");
    });
  }
  const seen = new Set();
  for (let r = 0; r < tokens.length; ++r) {
    const t = tokens[r];
    if (t === undefined) throw new Error(`${name}: rank ${r} missing`);
    if (t.length === 0 || t.length > 255) throw new Error(`${name}: rank ${r} has ${t.length} bytes`);
    const key = t.toString("latin1");
    if (seen.has(key)) throw new Error(`${name}: token of rank ${r} appears twice`);
    seen.add(key);
  }
  const specials = Object.entries(ranks.special_tokens);
  const parts = [];
  const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
  parts.push(Buffer.from("SLUICE-RANKS-1\n\0", "latin1"), u32(tokens.length));
  for (const t of tokens) parts.push(Buffer.from([t.length]), t);
  parts.push(u32(specials.length));
  for (const [text, id] of specials) {
    const b = Buffer.from(text, "utf8");
    parts.push(u32(id), Buffer.from([b.length]), b);
  }
  const file = Buffer.concat(parts);
  writeFileSync(path.join(out, `${name}.ranks`), file);
  writeFileSync(path.join(out, `${name}.pattern`), ranks.pat_str + "\n");
  const sha = createHash("sha256").update(file).digest("hex");
  console.log(`${name}: ${tokens.length} ranks, ${specials.length} special tokens, ${file.length} bytes, sha256 ${sha}`);
}

console.log(`js-tiktoken ${version}`);
convert("cl100k_base", cl100k);
convert("o200k_base", o200k);
