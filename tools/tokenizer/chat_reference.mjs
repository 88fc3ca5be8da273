// Regenerates fixtures/chat/expected.json: the token count of each request in
// fixtures/chat/requests.json, by OpenAI's published counting rules (the cookbook's
// num_tokens_from_messages and num_tokens_for_tools) applied with js-tiktoken, plus the rules
// sluice-tokens(1) documents where the cookbook is silent (content parts, tool calls).
//   cd tools/tokenizer && npm ci && node chat_reference.mjs
import { readFileSync, writeFileSync } from "node:fs";
import { getEncoding } from "js-tiktoken";

const root = new URL("../../", import.meta.url);
const cases = JSON.parse(readFileSync(new URL("fixtures/chat/requests.json", root), "utf8"));

function encodingFor(model) {
  if (/^(gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4)([-.:@]|$)/.test(model)) return "o200k_base";
  return "cl100k_base";
}

function count(request, model) {
  const encName = encodingFor(model);
  const enc = getEncoding(encName);
  const n = (s) => enc.encode(s, [], []).length;
  const text = (v) => (typeof v === "string" ? v : JSON.stringify(v));
  let perMessage = 3, perName = 1;
  if (model.includes("gpt-3.5-turbo-0301")) { perMessage = 4; perName = -1; }
  let total = 0;
  for (const m of request.messages) {
    let t = perMessage;
    for (const [key, value] of Object.entries(m)) {
      if (key === "content" && Array.isArray(value)) {
        for (const part of value) {
          if (typeof part === "string") t += n(part);
          else if (part.type === "text") t += n(part.text ?? "");
          else if (part.type === "image_url") t += part.image_url?.detail === "low" ? 85 : 765;
          else if (part.type === "refusal") t += n(part.refusal ?? "");
        }
      } else if (key === "tool_calls" && Array.isArray(value)) {
        for (const call of value) {
          t += 3 + n(call.function.name ?? "");
          if (call.function.arguments != null) t += n(text(call.function.arguments));
        }
      } else if (typeof value === "string") {
        t += n(value);
        if (key === "name") t += perName;
      }
    }
    total += Math.max(0, t);
  }
  const tools = request.tools ?? request.functions ?? [];
  if (tools.length > 0) {
    const funcInit = encName === "cl100k_base" ? 10 : 7;
    const [propInit, propKey, enumInit, enumItem, funcEnd] = [3, 3, -3, 3, 12];
    let t = 0;
    for (const tool of tools) {
      const f = tool.function ?? tool;
      t += funcInit;
      const desc = (f.description ?? "").replace(/\.$/, "");
      t += n(`${f.name ?? ""}:${desc}`);
      const props = f.parameters?.properties ?? {};
      if (Object.keys(props).length > 0) {
        t += propInit;
        for (const [key, p] of Object.entries(props)) {
          t += propKey;
          if (Array.isArray(p.enum)) {
            t += enumInit;
            for (const item of p.enum) t += enumItem + n(text(item));
          }
          const pdesc = (p.description ?? "").replace(/\.$/, "");
          t += n(`${key}:${text(p.type ?? "")}:${pdesc}`);
        }
      }
    }
    total += t + funcEnd;
  }
  return total + 3; // every reply is primed with <|start|>assistant<|message|>
}

const expected = cases.map((c) => ({ name: c.name, model: c.model, tokens: count(c.request, c.model) }));
writeFileSync(new URL("fixtures/chat/expected.json", root), JSON.stringify(expected, null, 2) + "\n");
console.log(`wrote ${expected.length} counts to fixtures/chat/expected.json`);
