// A deterministic mixed text (prose, code, numbers, whitespace runs, CJK, emoji sequences, flags,
// combining marks, special-token look-alikes, random characters of long-assigned blocks) and,
// optionally, fragments of invalid UTF-8. Shared by reference.mjs (the parity corpus) and
// bench/tokens-js.mjs (the benchmark text), so both sides of a comparison read the same bytes.

// mulberry32: a tiny PRNG, the same sequence on every machine.
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const words = (
  "the of and to in is that for it as was with be by on not he this are or his from at which " +
  "but have an they you were her she there been one all we their has would when if so no will " +
  "tokenizer gateway upstream request response latency budget stream context window prompt " +
  "It's We'll THEY'RE you've I'd don't Hello World Sluice JSON HTTP/1.1 x86_64 UTF-8 C++20"
).split(" ");
const foreign = (
  "Привет мир Καλημέρα κόσμε Straße İstanbul ıi Tiếng Việt नमस्ते दुनिया مرحبا بالعالم שלום עולם " +
  "สวัสดี 你好世界 今天天气很好 日本語のテキスト カタカナ 한국어 텍스트 안녕하세요 Բարեւ გამარჯობა " +
  "é ñ Å Z̴̧̛a̸̡͝l̷̢̛g̵̨͘o̶̧͝ ǅemal ẞ ½ ² Ⅻ ٠١٢ ０１２ ①"
).split(" ");
const emoji = [
  "👨‍👩‍👧‍👦", "👩‍❤️‍💋‍👨", "🏳️‍🌈", "🏴‍☠️", "🧑🏽‍🚀", "👍🏻", "👍🏿", "1️⃣", "#️⃣", "❤️", "☺︎",
  "🇺🇸", "🇯🇵", "🇪🇺", "🇦", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "😀", "🤣", "🤷‍♀️", "🏃🏾‍♀️‍➡️",
];
const specials = ["<|endoftext|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
  "<|endofprompt|>", "<|im_start|>", "<|im_end|>", "<|endoftext", "|>"];
const spaces = [" ", "  ", "\t", "\n", "\n\n", "\r\n", " \n", "   \n  ", "\u00a0", "\u3000",
  "\ufeff", "\u2028", "\u2029", "\u0085", "\u180e", "\u2003", "\u202f", "\u000b", "\u000c",
  " ".repeat(40), "\t".repeat(9), "\n".repeat(12)];
const punct = [".", ",", "!", "?", ";", ":", "...", "—", "–", "-", "(", ")", "[", "]", "{", "}",
  "\"", "'", "''", "‘", "’", "“", "”", "«", "»", "/", "//", "\\", "|", "&&", "->", "::", "=>",
  "。", "、", "「", "」", "！", "？", "@", "#", "$", "%", "^", "*", "+", "=", "~", "`", "<", ">"];
// Blocks assigned long before Unicode 14, with their holes left out by the caller's check.
const blocks = [[0x20, 0x7e], [0xa1, 0x24f], [0x250, 0x2af], [0x300, 0x36f], [0x391, 0x3a1],
  [0x3a3, 0x3ff], [0x400, 0x4ff], [0x531, 0x556], [0x561, 0x587], [0x5d0, 0x5ea], [0x621, 0x64a],
  [0x660, 0x669], [0x905, 0x939], [0x966, 0x96f], [0xe01, 0xe3a], [0x10d0, 0x10fa],
  [0x1e00, 0x1eff], [0x2010, 0x2027], [0x2030, 0x205e], [0x20a0, 0x20b5], [0x2100, 0x214f],
  [0x2153, 0x2188], [0x2190, 0x23ff], [0x2460, 0x24ff], [0x2500, 0x27bf], [0x3001, 0x303f],
  [0x3041, 0x3096], [0x30a1, 0x30fa], [0x4e00, 0x9fa5], [0xac00, 0xd7a3], [0xff01, 0xff5e],
  [0x1d400, 0x1d454], [0x10400, 0x1044f], [0x1f300, 0x1f5ff], [0x1f600, 0x1f64f]];
const invalid = [[0x80], [0xbf], [0xff], [0xfe], [0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98],
  [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88]];

const assigned = /\P{Cn}/u;

// Returns a Buffer of about `bytes` bytes; with `invalidRate` > 0, that share of the fragments
// are invalid UTF-8 sequences.
export function mixedText(seed, bytes, invalidRate = 0) {
  const r = rng(seed);
  const pick = (a) => a[Math.floor(r() * a.length)];
  const chunks = [];
  let size = 0;
  const add = (s) => {
    const b = typeof s === "string" ? Buffer.from(s, "utf8") : Buffer.from(s);
    chunks.push(b);
    size += b.length;
  };
  while (size < bytes) {
    const x = r();
    if (invalidRate > 0 && x < invalidRate) add(pick(invalid));
    else if (x < 0.45) add(pick(words) + (r() < 0.8 ? " " : ""));
    else if (x < 0.55) add(pick(foreign) + " ");
    else if (x < 0.65) add(pick(punct));
    else if (x < 0.75) add(pick(spaces));
    else if (x < 0.8) add(String(Math.floor(r() * 10 ** Math.floor(r() * 12))));
    else if (x < 0.85) add(pick(emoji));
    else if (x < 0.87) add(pick(specials));
    else {
      // A run of random characters from one block.
      const [lo, hi] = pick(blocks);
      let s = "";
      const n = 1 + Math.floor(r() * 8);
      for (let i = 0; i < n; ++i) {
        const cp = lo + Math.floor(r() * (hi - lo + 1));
        const c = String.fromCodePoint(cp);
        if (assigned.test(c)) s += c;
      }
      add(s + (r() < 0.5 ? " " : ""));
    }
  }
  return Buffer.concat(chunks);
}
