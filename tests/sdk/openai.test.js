// The official `openai` client against sluice serve: OpenAI-format requests answered by mock
// OpenAI and Anthropic providers (see harness.js for the models).
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { mockRequests, startStack } from './harness.js';

let stack;
let client;

before(async () => {
  stack = await startStack();
  // No retries: every test sees exactly what the gateway answered once.
  client = new OpenAI({ baseURL: `${stack.baseURL}/v1`, apiKey: 'sk-test', maxRetries: 0, timeout: 15000 });
});

// A gateway crash fails the test that caused it, not only the ones after it.
afterEach(() => stack.assertAlive());

after(async () => {
  await stack?.stop();
});

const user = (content) => [{ role: 'user', content }];

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    strict: true,
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
      required: ['city', 'unit'],
      additionalProperties: false,
    },
  },
};

describe('chat', () => {
  test('OpenAI provider', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt', messages: user('hello openai') })
      .withResponse();
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.choices[0].message.role, 'assistant');
    assert.equal(data.choices[0].message.content, 'echo: hello openai');
    assert.equal(data.choices[0].finish_reason, 'stop');
    assert.ok(data.usage.prompt_tokens > 0);
    assert.ok(data.usage.completion_tokens > 0);
    assert.equal(data.usage.total_tokens, data.usage.prompt_tokens + data.usage.completion_tokens);
    assert.equal(response.headers.get('x-sluice-provider'), 'openai');
    assert.equal(response.headers.get('x-sluice-model'), 'gpt-4o-mini');
    assert.equal(response.headers.get('x-sluice-fallbacks'), '0');
  });

  test('Anthropic provider, translated', async () => {
    const { data, response } = await client.chat.completions
      .create({
        model: 'claude',
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'user', content: 'hello anthropic' },
        ],
        max_tokens: 200,
      })
      .withResponse();
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.choices[0].message.content, 'echo: hello anthropic');
    assert.equal(data.choices[0].finish_reason, 'stop');
    assert.ok(data.usage.prompt_tokens > 0);
    assert.ok(data.usage.completion_tokens > 0);
    assert.equal(response.headers.get('x-sluice-provider'), 'anthropic');
    assert.equal(response.headers.get('x-sluice-model'), 'claude-sonnet-4-5');
    // The upstream got the Anthropic shape: system prompt apart, max_tokens kept.
    const reqs = await mockRequests(stack, 'anthropic');
    const body = JSON.parse(reqs.at(-1).body);
    assert.match(reqs.at(-1).target, /\/v1\/messages$/);
    assert.equal(body.max_tokens, 200);
    assert.equal(body.model, 'claude-sonnet-4-5');
    assert.ok(JSON.stringify(body.system).includes('You are terse.'));
  });

  test('a reply cut at max_tokens has finish_reason length', async () => {
    const data = await client.chat.completions.create({
      model: 'claude',
      messages: user('a fairly long message that the mock will echo back in full'),
      max_tokens: 2,
    });
    assert.equal(data.choices[0].finish_reason, 'length');
  });
});

describe('streaming', () => {
  for (const [model, provider] of [['gpt', 'openai'], ['claude', 'anthropic']]) {
    test(`stream helper assembles the text and the usage (${provider} provider)`, async () => {
      const text = 'stream me a fairly long reply, please, in several pieces';
      const stream = client.chat.completions.stream({
        model,
        messages: user(text),
        stream_options: { include_usage: true },
      });
      const deltas = [];
      stream.on('content', (delta) => deltas.push(delta));
      const final = await stream.finalChatCompletion();
      assert.ok(deltas.length > 1, `several content deltas, got ${deltas.length}`);
      assert.equal(deltas.join(''), `echo: ${text}`);
      assert.equal(final.choices[0].message.content, `echo: ${text}`);
      assert.equal(final.choices[0].finish_reason, 'stop');
      assert.ok(final.usage, 'the final usage chunk arrived');
      assert.ok(final.usage.prompt_tokens > 0);
      assert.ok(final.usage.completion_tokens > 0);
      assert.equal(final.usage.total_tokens, final.usage.prompt_tokens + final.usage.completion_tokens);
    });
  }

  test('raw stream: chunks, then one usage chunk with no choices', async () => {
    const stream = await client.chat.completions.create({
      model: 'claude',
      messages: user('raw chunks'),
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish = null;
    let usage = null;
    for await (const chunk of stream) {
      assert.equal(chunk.object, 'chat.completion.chunk');
      for (const c of chunk.choices) {
        text += c.delta.content ?? '';
        finish = c.finish_reason ?? finish;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, 'echo: raw chunks');
    assert.equal(finish, 'stop');
    assert.ok(usage?.completion_tokens > 0);
  });
});

describe('tool calls', () => {
  for (const model of ['gpt-tools', 'claude-tools']) {
    test(`parsed tool call arguments (${model})`, async () => {
      const data = await client.chat.completions.parse({
        model,
        messages: user('What is the weather in Paris?'),
        tools: [weatherTool],
      });
      const choice = data.choices[0];
      assert.equal(choice.finish_reason, 'tool_calls');
      assert.equal(choice.message.tool_calls.length, 1);
      const call = choice.message.tool_calls[0];
      assert.equal(call.type, 'function');
      assert.ok(call.id);
      assert.equal(call.function.name, 'get_weather');
      assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris', unit: 'celsius' });
      assert.deepEqual(call.function.parsed_arguments, { city: 'Paris', unit: 'celsius' });
    });

    test(`streamed tool call assembled by the stream helper (${model})`, async () => {
      const stream = client.chat.completions.stream({
        model,
        messages: user('What is the weather in Paris?'),
        tools: [weatherTool],
        stream_options: { include_usage: true },
      });
      const done = [];
      stream.on('tool_calls.function.arguments.done', (e) => done.push(e));
      const final = await stream.finalChatCompletion();
      const choice = final.choices[0];
      assert.equal(choice.finish_reason, 'tool_calls');
      assert.equal(choice.message.tool_calls.length, 1);
      assert.equal(choice.message.tool_calls[0].function.name, 'get_weather');
      assert.deepEqual(choice.message.tool_calls[0].function.parsed_arguments, { city: 'Paris', unit: 'celsius' });
      assert.equal(done.length, 1);
      assert.deepEqual(done[0].parsed_arguments, { city: 'Paris', unit: 'celsius' });
    });

    test(`a tool result round trip gets text back (${model})`, async () => {
      const first = await client.chat.completions.create({
        model,
        messages: user('What is the weather in Paris?'),
        tools: [weatherTool],
      });
      const call = first.choices[0].message.tool_calls[0];
      const second = await client.chat.completions.create({
        model,
        tools: [weatherTool],
        messages: [
          ...user('What is the weather in Paris?'),
          first.choices[0].message,
          { role: 'tool', tool_call_id: call.id, content: '{"temperature":21}' },
        ],
      });
      assert.equal(second.choices[0].finish_reason, 'stop');
      assert.equal(typeof second.choices[0].message.content, 'string');
    });
  }
});

describe('errors', () => {
  for (const [model, provider] of [['gpt-limited', 'openai_429'], ['claude-limited', 'anthropic_429']]) {
    test(`429 from the only target raises RateLimitError (${provider})`, async () => {
      const err = await client.chat.completions
        .create({ model, messages: user('hi') })
        .then(() => assert.fail('expected a RateLimitError'), (e) => e);
      assert.ok(err instanceof OpenAI.RateLimitError, `got ${err?.constructor?.name}: ${err?.message}`);
      assert.ok(err instanceof OpenAI.APIError);
      assert.equal(err.status, 429);
      assert.equal(err.headers.get('retry-after'), '30');
      assert.equal(err.headers.get('x-sluice-provider'), provider);
    });
  }

  test('429 on a stream request raises before any chunk', async () => {
    const err = await client.chat.completions
      .create({ model: 'gpt-limited', messages: user('hi'), stream: true })
      .then(() => assert.fail('expected a RateLimitError'), (e) => e);
    assert.ok(err instanceof OpenAI.RateLimitError, `got ${err?.constructor?.name}: ${err?.message}`);
  });

  const long = 'word '.repeat(10000);
  for (const model of ['gpt', 'claude']) {
    test(`context length exceeded raises BadRequestError (${model})`, async () => {
      const err = await client.chat.completions
        .create({ model, messages: user(long), max_tokens: 100 })
        .then(() => assert.fail('expected a BadRequestError'), (e) => e);
      assert.ok(err instanceof OpenAI.BadRequestError, `got ${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.status, 400);
      assert.equal(err.code, 'context_length_exceeded');
      assert.equal(err.type, 'invalid_request_error');
    });
  }

});

describe('fallbacks', () => {
  test('first target 429, answered by the Anthropic fallback', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-then-claude', messages: user('fall back') })
      .withResponse();
    assert.equal(data.choices[0].message.content, 'echo: fall back');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-sluice-fallbacks'), '1');
    assert.equal(response.headers.get('x-sluice-provider'), 'anthropic');
    assert.equal(response.headers.get('x-sluice-model'), 'claude-sonnet-4-5');
    const limited = await mockRequests(stack, 'openai_429_fb');
    assert.equal(limited.length, 1);
    assert.equal(limited[0].status, 429);
  });

  test('streamed: first target 429, the fallback streams', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({
        model: 'claude-then-gpt',
        messages: user('stream fall back'),
        stream: true,
        stream_options: { include_usage: true },
      })
      .withResponse();
    assert.equal(response.headers.get('x-sluice-fallbacks'), '1');
    assert.equal(response.headers.get('x-sluice-provider'), 'openai');
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    assert.equal(text, 'echo: stream fall back');
  });
});

describe('stream cut mid-way', () => {
  for (const model of ['gpt-cut', 'claude-cut']) {
    test(`the stream helper raises instead of returning a truncated success (${model})`, async () => {
      const stream = client.chat.completions.stream({
        model,
        messages: user('a reply long enough to be cut after a few events'),
      });
      const deltas = [];
      stream.on('content', (d) => deltas.push(d));
      const err = await stream.finalChatCompletion().then(
        (c) => assert.fail(`truncated success: ${JSON.stringify(c.choices[0]?.message)}`),
        (e) => e,
      );
      assert.ok(err instanceof OpenAI.APIError, `got ${err?.constructor?.name}: ${err?.message}`);
      assert.match(err.message, /broke/);
      assert.ok(deltas.length > 0, 'some text arrived before the cut');
    });

    test(`raw iteration raises too (${model})`, async () => {
      const stream = await client.chat.completions.create({
        model,
        messages: user('a reply long enough to be cut after a few events'),
        stream: true,
      });
      let finish = null;
      const err = await (async () => {
        for await (const chunk of stream) finish = chunk.choices[0]?.finish_reason ?? finish;
      })().then(() => assert.fail('iteration ended cleanly'), (e) => e);
      assert.ok(err instanceof OpenAI.APIError, `got ${err?.constructor?.name}: ${err?.message}`);
      assert.equal(finish, null, 'no finish_reason before the cut');
    });
  }
});

describe('models and embeddings', () => {
  test('models.list lists the aliases', async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    for (const id of ['gpt', 'claude', 'gpt-then-claude']) assert.ok(ids.includes(id), `${id} in ${ids}`);
  });

  test('embeddings (the SDK asks for base64 and decodes it)', async () => {
    const res = await client.embeddings.create({ model: 'gpt', input: ['alpha', 'beta', 'alpha'] });
    assert.equal(res.data.length, 3);
    for (const [i, d] of res.data.entries()) {
      assert.equal(d.index, i);
      assert.ok(Array.isArray(d.embedding));
      assert.equal(d.embedding.length, 8);
      const norm = Math.hypot(...d.embedding);
      assert.ok(Math.abs(norm - 1) < 1e-4, `unit vector, norm ${norm}`);
    }
    assert.deepEqual(res.data[0].embedding, res.data[2].embedding);
    assert.notDeepEqual(res.data[0].embedding, res.data[1].embedding);
    assert.ok(res.usage.prompt_tokens > 0);
  });
});

describe('unknown model', () => {
  // Regression: the 404 for an unknown chat model used to abort the gateway (GCC 12 destroyed a
  // temporary of the co_await expression twice), so every later request was refused.
  test('raises NotFoundError, and the gateway keeps serving', async () => {
    const err = await client.chat.completions
      .create({ model: 'no-such-model', messages: user('hi') })
      .then(() => assert.fail('expected an error'), (e) => e);
    assert.ok(err instanceof OpenAI.NotFoundError, `got ${err?.constructor?.name}: ${err?.message}`);
    assert.equal(err.status, 404);
    assert.equal(err.type, 'model_not_found');
    const ok = await client.chat.completions.create({ model: 'gpt', messages: user('still there') });
    assert.equal(ok.choices[0].message.content, 'echo: still there');
  });
});
