// A tiny OpenAI-compatible provider for the end-to-end test. It speaks the real wire format of
// `GET /v1/models` and `POST /v1/chat/completions` (plain JSON and SSE with a final usage chunk),
// accepts only the API key it was started with, and counts the calls it served.
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';

export function startMockProvider({ apiKey, port = 0 }) {
  const stats = { chat: 0, models: 0, unauthorized: 0 };
  const server = createServer((req, res) => {
    const send = (status, body, headers = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req_${randomUUID()}`, ...headers });
      res.end(JSON.stringify(body));
    };
    const auth = req.headers.authorization ?? '';
    if (auth !== `Bearer ${apiKey}`) {
      stats.unauthorized += 1;
      return send(401, {
        error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' },
      });
    }
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/v1/models') {
      stats.models += 1;
      return send(200, {
        object: 'list',
        data: ['gpt-4o-mini', 'gpt-4o'].map((id) => ({ id, object: 'model', created: 1721172741, owned_by: 'system' })),
      });
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        let body;
        try {
          body = JSON.parse(raw);
        } catch {
          return send(400, { error: { message: 'We could not parse the JSON body of your request.', type: 'invalid_request_error', param: null, code: null } });
        }
        stats.chat += 1;
        const model = body.model ?? 'gpt-4o-mini';
        const promptText = (body.messages ?? []).map((m) => (typeof m.content === 'string' ? m.content : '')).join(' ');
        const promptTokens = Math.max(1, Math.ceil(promptText.length / 4)) + 7;
        const answer = 'Hello from the Keyward e2e mock provider.';
        const completionTokens = 9;
        const id = `chatcmpl-${randomUUID().replace(/-/g, '').slice(0, 24)}`;
        const created = Math.floor(Date.now() / 1000);
        const usage = {
          prompt_tokens: promptTokens,
          completion_tokens: completionTokens,
          total_tokens: promptTokens + completionTokens,
          prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
          completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
        };
        if (body.stream) {
          res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
          const chunk = (delta, finish, extra = {}) =>
            `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_e2e', choices: delta === null ? [] : [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...extra })}\n\n`;
          res.write(chunk({ role: 'assistant', content: '' }, null));
          for (const word of answer.split(' ')) res.write(chunk({ content: `${word} ` }, null));
          res.write(chunk({}, 'stop'));
          if (body.stream_options?.include_usage) res.write(chunk(null, null, { usage }));
          res.end('data: [DONE]\n\n');
          return;
        }
        send(200, {
          id,
          object: 'chat.completion',
          created,
          model,
          system_fingerprint: 'fp_e2e',
          choices: [{ index: 0, message: { role: 'assistant', content: answer, refusal: null }, logprobs: null, finish_reason: 'stop' }],
          usage,
          service_tier: 'default',
        });
      });
      return;
    }
    send(404, { error: { message: `Invalid URL (${req.method} ${path})`, type: 'invalid_request_error', param: null, code: null } });
  });
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => {
      const { port: p } = server.address();
      resolve({ url: `http://127.0.0.1:${p}/v1`, stats, close: () => new Promise((r) => server.close(r)) });
    });
  });
}
