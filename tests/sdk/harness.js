// Starts the mock providers (`sluice chaos mock -c mocks.toml`) and a gateway in front of them
// (`sluice serve --config FILE`), everything on 127.0.0.1 with ports chosen by the kernel, and
// stops both after the tests. The sluice binary comes from $SLUICE_BIN.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const STARTUP_MS = 15000;

// Every process started here, so that none outlives the test process: killed on exit, and on
// SIGTERM or SIGINT (a ctest timeout, Ctrl-C).
const live = new Set();
process.on('exit', () => {
  for (const c of live) c.stdin.destroy();
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.once(sig, () => {
    for (const c of live) c.stdin.destroy();
    process.exit(128 + (sig === 'SIGTERM' ? 15 : 2));
  });
}

export function sluiceBin() {
  const bin = process.env.SLUICE_BIN;
  if (!bin) throw new Error('SLUICE_BIN is not set: the path of the sluice binary under test');
  return bin;
}

// Spawns a process and resolves once every name in `want` has printed its
// {"event":"listening","name":...,"address":...} line on stderr, with {name: address}.
function startListening(label, args, want) {
  // Through a small sh wrapper: sluice gets SIGTERM as soon as our end of the wrapper's stdin
  // closes, which happens however this process ends (even SIGKILL), so no sluice is left behind.
  // The wrapper exits with sluice's status.
  const child = spawn(
    '/bin/sh',
    ['-c', 'exec 3<&0; "$@" 3<&- & pid=$!; (cat <&3 >/dev/null; kill $pid 2>/dev/null) & wait $pid', 'sh', sluiceBin(), ...args],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  live.add(child);
  child.on('exit', () => live.delete(child));
  const stderr = [];
  const addresses = {};
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${label}: not listening after ${STARTUP_MS} ms:\n${stderr.join('')}`)),
      STARTUP_MS,
    );
    let buf = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      stderr.push(chunk);
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let ev;
        try {
          ev = JSON.parse(line);
        } catch {
          continue;
        }
        if (ev.event === 'listening' && ev.name && ev.address) addresses[ev.name] = ev.address;
      }
      if (want.every((n) => n in addresses)) {
        clearTimeout(timer);
        resolve(addresses);
      }
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited (${code ?? signal}) before listening:\n${stderr.join('')}`));
    });
  });
  return { child, ready, stderr };
}

// Closing the wrapper's stdin sends sluice SIGTERM; SIGKILL if it has not exited in 5 s.
function stop(child) {
  if (!child) return Promise.resolve();
  child.stdin.end();
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
  });
}

const MOCKS = [
  'openai', 'anthropic', 'openai_tools', 'anthropic_tools', 'openai_429', 'anthropic_429',
  'openai_429_fb', 'anthropic_429_fb', 'openai_cut', 'anthropic_cut',
];

function gatewayConfig(m) {
  const provider = (name, kind) => {
    const base = `http://${m[`mock.${name}`]}/v1`;
    return `[[providers]]\nname = "${name}"\nkind = "${kind}"\nbase_url = "${base}"\n`;
  };
  const model = (name, prov, upstreamModel, extra = '') =>
    `[[models]]\nname = "${name}"\n` +
    `targets = [{ provider = "${prov}", model = "${upstreamModel}" }]\n${extra}`;
  const GPT = 'gpt-4o-mini';
  const CLAUDE = 'claude-sonnet-4-5';
  return [
    '[[listeners]]',
    'name = "main"',
    'listen = "127.0.0.1:0"',
    '',
    '[admin]',
    'listen = "127.0.0.1:0"',
    '',
    '[[routes]]',
    'name = "llm"',
    'path_prefix = "/v1/"',
    '[routes.llm]',
    '',
    provider('openai', 'openai'),
    provider('anthropic', 'anthropic'),
    provider('openai_tools', 'openai'),
    provider('anthropic_tools', 'anthropic'),
    provider('openai_429', 'openai'),
    provider('anthropic_429', 'anthropic'),
    provider('openai_429_fb', 'openai'),
    provider('anthropic_429_fb', 'anthropic'),
    provider('openai_cut', 'openai'),
    provider('anthropic_cut', 'anthropic'),
    // Plain models on each provider kind.
    model('gpt', 'openai', GPT),
    model('claude', 'anthropic', CLAUDE),
    model('gpt-tools', 'openai_tools', GPT),
    model('claude-tools', 'anthropic_tools', CLAUDE),
    // The only target answers 429, and there is no fallback.
    model('gpt-limited', 'openai_429', GPT),
    model('claude-limited', 'anthropic_429', CLAUDE),
    // The first target answers 429; the fallback, on the other provider kind, answers.
    model('gpt-then-claude', 'openai_429_fb', GPT, 'fallbacks = ["claude"]\n'),
    model('claude-then-gpt', 'anthropic_429_fb', CLAUDE, 'fallbacks = ["gpt"]\n'),
    // Streams cut mid-way.
    model('gpt-cut', 'openai_cut', GPT),
    model('claude-cut', 'anthropic_cut', CLAUDE),
  ].join('\n');
}

// Starts the mocks and the gateway. Returns { baseURL (http://127.0.0.1:PORT), control, stop() }.
export async function startStack() {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-sdk-'));
  const procs = [];
  const stopAll = async () => {
    for (const p of procs.reverse()) await stop(p.child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const mocks = startListening(
      'sluice chaos mock',
      ['chaos', 'mock', '-c', join(here, 'mocks.toml'), '--control', '127.0.0.1:0'],
      [...MOCKS.map((n) => `mock.${n}`), 'control'],
    );
    procs.push(mocks);
    const m = await mocks.ready;
    const cfg = join(dir, 'sluice.toml');
    writeFileSync(cfg, gatewayConfig(m));
    const gw = startListening('sluice serve', ['serve', '--config', cfg], ['main']);
    procs.push(gw);
    const g = await gw.ready;
    return {
      baseURL: `http://${g.main}`,
      control: `http://${m.control}`,
      gatewayStderr: () => gw.stderr.join(''),
      // Throws when the gateway or the mocks exited on their own, with the end of their stderr.
      assertAlive: () => {
        for (const [label, p] of [['sluice serve', gw], ['sluice chaos mock', mocks]]) {
          const { exitCode, signalCode } = p.child;
          if (exitCode !== null || signalCode !== null)
            throw new Error(`${label} died (${exitCode ?? signalCode}):\n${p.stderr.join('').slice(-2000)}`);
        }
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

// The requests a mock recorded, through the chaos control API.
// The mock's recorded requests, once each is complete: a mock records an exchange's status when
// the exchange ends, which can be just after its answer reached the gateway and the client.
export async function mockRequests(stack, name) {
  for (let i = 0; ; ++i) {
    const res = await fetch(`${stack.control}/mocks/${name}/requests`);
    if (!res.ok) throw new Error(`control API: ${res.status}`);
    const { requests } = await res.json();
    if (requests.every((r) => r.complete) || i >= 200) return requests;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
