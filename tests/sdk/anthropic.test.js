// The official `@anthropic-ai/sdk` client against sluice serve: Anthropic-format requests
// (POST /v1/messages) answered by mock Anthropic and OpenAI providers (see harness.js).
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { mockRequests, startStack } from './harness.js';

let stack;
let client;

before(async () => {
  stack = await startStack();
  // No retries: every test sees exactly what the gateway answered once.
  client = new Anthropic({ baseURL: stack.baseURL, apiKey: 'sk-ant-test', maxRetries: 0, timeout: 15000 });
});

// A gateway crash fails the test that caused it, not only the ones after it.
afterEach(() => stack.assertAlive());

after(async () => {
  await stack?.stop();
});

const user = (content) => [{ role: 'user', content }];

const weatherTool = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: {
    type: 'object',
    properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
    required: ['city', 'unit'],
  },
};

const textOf = (msg) => msg.content.filter((b) => b.type === 'text').map((b) => b.text).join('');

describe('chat', () => {
  test('Anthropic provider', async () => {
    const { data, response } = await client.messages
      .create({ model: 'claude', max_tokens: 200, messages: user('hello anthropic') })
      .withResponse();
    assert.equal(data.type, 'message');
    assert.equal(data.role, 'assistant');
    assert.equal(textOf(data), 'echo: hello anthropic');
    assert.equal(data.stop_reason, 'end_turn');
    assert.ok(data.usage.input_tokens > 0);
    assert.ok(data.usage.output_tokens > 0);
    assert.equal(response.headers.get('x-sluice-provider'), 'anthropic');
    assert.equal(response.headers.get('x-sluice-model'), 'claude-sonnet-4-5');
    assert.equal(response.headers.get('x-sluice-fallbacks'), '0');
  });

  test('OpenAI provider, translated', async () => {
    const { data, response } = await client.messages
      .create({
        model: 'gpt',
        max_tokens: 200,
        system: 'You are terse.',
        messages: user('hello openai'),
      })
      .withResponse();
    assert.equal(data.type, 'message');
    assert.equal(textOf(data), 'echo: hello openai');
    assert.equal(data.stop_reason, 'end_turn');
    assert.ok(data.usage.input_tokens > 0);
    assert.ok(data.usage.output_tokens > 0);
    assert.equal(response.headers.get('x-sluice-provider'), 'openai');
    assert.equal(response.headers.get('x-sluice-model'), 'gpt-4o-mini');
    // The upstream got the OpenAI shape: the system prompt first among the messages.
    const reqs = await mockRequests(stack, 'openai');
    assert.match(reqs.at(-1).target, /\/v1\/chat\/completions$/);
    const body = JSON.parse(reqs.at(-1).body);
    assert.equal(body.model, 'gpt-4o-mini');
    assert.equal(body.messages[0].role, 'system');
    assert.equal(body.messages.at(-1).role, 'user');
  });

  test('a reply cut at max_tokens has stop_reason max_tokens', async () => {
    for (const model of ['claude', 'gpt']) {
      const data = await client.messages.create({
        model,
        max_tokens: 2,
        messages: user('a fairly long message that the mock will echo back in full'),
      });
      assert.equal(data.stop_reason, 'max_tokens', model);
    }
  });
});

describe('streaming', () => {
  for (const [model, provider] of [['claude', 'anthropic'], ['gpt', 'openai']]) {
    test(`MessageStream assembles the text and the usage (${provider} provider)`, async () => {
      const text = 'stream me a fairly long reply, please, in several pieces';
      const stream = client.messages.stream({ model, max_tokens: 500, messages: user(text) });
      const deltas = [];
      stream.on('text', (delta) => deltas.push(delta));
      const final = await stream.finalMessage();
      assert.ok(deltas.length > 1, `several text deltas, got ${deltas.length}`);
      assert.equal(deltas.join(''), `echo: ${text}`);
      assert.equal(textOf(final), `echo: ${text}`);
      assert.equal(final.stop_reason, 'end_turn');
      assert.ok(final.usage.input_tokens > 0, `input_tokens ${final.usage.input_tokens}`);
      assert.ok(final.usage.output_tokens > 0, `output_tokens ${final.usage.output_tokens}`);
    });
  }

  test('raw events arrive in the documented order', async () => {
    const stream = await client.messages.create({
      model: 'gpt',
      max_tokens: 500,
      messages: user('raw events'),
      stream: true,
    });
    const types = [];
    let text = '';
    for await (const ev of stream) {
      if (types.at(-1) !== ev.type) types.push(ev.type);
      if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
    }
    assert.equal(text, 'echo: raw events');
    assert.equal(types[0], 'message_start');
    assert.equal(types.at(-1), 'message_stop');
    assert.equal(types.at(-2), 'message_delta');
    assert.ok(types.includes('content_block_start'));
    assert.ok(types.includes('content_block_stop'));
  });
});

describe('tool calls', () => {
  for (const model of ['claude-tools', 'gpt-tools']) {
    test(`tool_use block with parsed input (${model})`, async () => {
      const data = await client.messages.create({
        model,
        max_tokens: 500,
        messages: user('What is the weather in Paris?'),
        tools: [weatherTool],
      });
      assert.equal(data.stop_reason, 'tool_use');
      const uses = data.content.filter((b) => b.type === 'tool_use');
      assert.equal(uses.length, 1);
      assert.ok(uses[0].id);
      assert.equal(uses[0].name, 'get_weather');
      assert.deepEqual(uses[0].input, { city: 'Paris', unit: 'celsius' });
    });

    test(`streamed tool_use assembled by MessageStream (${model})`, async () => {
      const stream = client.messages.stream({
        model,
        max_tokens: 500,
        messages: user('What is the weather in Paris?'),
        tools: [weatherTool],
      });
      const partials = [];
      stream.on('inputJson', (partial) => partials.push(partial));
      const final = await stream.finalMessage();
      assert.equal(final.stop_reason, 'tool_use');
      const uses = final.content.filter((b) => b.type === 'tool_use');
      assert.equal(uses.length, 1);
      assert.equal(uses[0].name, 'get_weather');
      assert.deepEqual(uses[0].input, { city: 'Paris', unit: 'celsius' });
      assert.ok(partials.length > 0, 'input_json_delta events arrived');
    });

    test(`a tool_result round trip gets text back (${model})`, async () => {
      const first = await client.messages.create({
        model,
        max_tokens: 500,
        messages: user('What is the weather in Paris?'),
        tools: [weatherTool],
      });
      const use = first.content.find((b) => b.type === 'tool_use');
      const second = await client.messages.create({
        model,
        max_tokens: 500,
        tools: [weatherTool],
        messages: [
          ...user('What is the weather in Paris?'),
          { role: 'assistant', content: first.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '{"temperature":21}' }] },
        ],
      });
      assert.equal(second.stop_reason, 'end_turn');
      assert.ok(textOf(second).length > 0);
    });
  }
});

describe('errors', () => {
  for (const [model, provider] of [['claude-limited', 'anthropic_429'], ['gpt-limited', 'openai_429']]) {
    test(`429 from the only target raises RateLimitError (${provider})`, async () => {
      const err = await client.messages
        .create({ model, max_tokens: 100, messages: user('hi') })
        .then(() => assert.fail('expected a RateLimitError'), (e) => e);
      assert.ok(err instanceof Anthropic.RateLimitError, `got ${err?.constructor?.name}: ${err?.message}`);
      assert.ok(err instanceof Anthropic.APIError);
      assert.equal(err.status, 429);
      assert.equal(err.error?.type, 'error');
      assert.equal(err.error?.error?.type, 'rate_limit_error');
      assert.equal(err.headers.get('retry-after'), '30');
      assert.equal(err.headers.get('x-sluice-provider'), provider);
    });
  }

  test('429 on a stream raises from the MessageStream', async () => {
    const stream = client.messages.stream({ model: 'claude-limited', max_tokens: 100, messages: user('hi') });
    const err = await stream.finalMessage().then(() => assert.fail('expected a RateLimitError'), (e) => e);
    assert.ok(err instanceof Anthropic.RateLimitError, `got ${err?.constructor?.name}: ${err?.message}`);
  });

  const long = 'word '.repeat(10000);
  for (const model of ['claude', 'gpt']) {
    test(`context length exceeded raises BadRequestError (${model})`, async () => {
      const err = await client.messages
        .create({ model, max_tokens: 100, messages: user(long) })
        .then(() => assert.fail('expected a BadRequestError'), (e) => e);
      assert.ok(err instanceof Anthropic.BadRequestError, `got ${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.status, 400);
      assert.equal(err.error?.error?.type, 'invalid_request_error');
      assert.match(err.message, /too long|context/i);
    });
  }
});

describe('fallbacks', () => {
  test('first target 429, answered by the OpenAI fallback', async () => {
    const { data, response } = await client.messages
      .create({ model: 'claude-then-gpt', max_tokens: 200, messages: user('fall back') })
      .withResponse();
    assert.equal(textOf(data), 'echo: fall back');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-sluice-fallbacks'), '1');
    assert.equal(response.headers.get('x-sluice-provider'), 'openai');
    assert.equal(response.headers.get('x-sluice-model'), 'gpt-4o-mini');
    const limited = await mockRequests(stack, 'anthropic_429_fb');
    assert.equal(limited.length, 1);
    assert.equal(limited[0].status, 429);
  });

  test('streamed: first target 429, the fallback streams', async () => {
    const stream = client.messages.stream({
      model: 'gpt-then-claude',
      max_tokens: 200,
      messages: user('stream fall back'),
    });
    const { response } = await stream.withResponse();
    assert.equal(response.headers.get('x-sluice-fallbacks'), '1');
    assert.equal(response.headers.get('x-sluice-provider'), 'anthropic');
    const final = await stream.finalMessage();
    assert.equal(textOf(final), 'echo: stream fall back');
  });
});

describe('stream cut mid-way', () => {
  for (const model of ['claude-cut', 'gpt-cut']) {
    test(`MessageStream raises instead of returning a truncated success (${model})`, async () => {
      const stream = client.messages.stream({
        model,
        max_tokens: 500,
        messages: user('a reply long enough to be cut after a few events'),
      });
      const deltas = [];
      stream.on('text', (d) => deltas.push(d));
      const err = await stream.finalMessage().then(
        (m) => assert.fail(`truncated success: ${JSON.stringify(m.content)}`),
        (e) => e,
      );
      assert.ok(err instanceof Anthropic.APIError, `got ${err?.constructor?.name}: ${err?.message}`);
      assert.match(err.message, /broke/);
      assert.ok(deltas.length > 0, 'some text arrived before the cut');
    });

    test(`raw iteration raises too (${model})`, async () => {
      const stream = await client.messages.create({
        model,
        max_tokens: 500,
        messages: user('a reply long enough to be cut after a few events'),
        stream: true,
      });
      const seen = [];
      const err = await (async () => {
        for await (const ev of stream) seen.push(ev.type);
      })().then(() => assert.fail('iteration ended cleanly'), (e) => e);
      assert.ok(err instanceof Anthropic.APIError, `got ${err?.constructor?.name}: ${err?.message}`);
      assert.ok(!seen.includes('message_stop'), 'no message_stop before the cut');
    });
  }
});

describe('models', () => {
  test('models.list lists the aliases', async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    for (const id of ['gpt', 'claude', 'claude-then-gpt']) assert.ok(ids.includes(id), `${id} in ${ids}`);
  });
});

describe('unknown model', () => {
  // Regression: the 404 for an unknown chat model used to abort the gateway.
  test('raises NotFoundError, and the gateway keeps serving', async () => {
    const err = await client.messages
      .create({ model: 'no-such-model', max_tokens: 100, messages: user('hi') })
      .then(() => assert.fail('expected an error'), (e) => e);
    assert.ok(err instanceof Anthropic.NotFoundError, `got ${err?.constructor?.name}: ${err?.message}`);
    assert.equal(err.status, 404);
    assert.equal(err.error?.error?.type, 'not_found_error');
    const ok = await client.messages.create({ model: 'claude', max_tokens: 100, messages: user('still there') });
    assert.equal(textOf(ok), 'echo: still there');
  });
});
