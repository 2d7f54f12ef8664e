// The official openai Node SDK, used the way its README shows:
// client.chat.completions.create({stream: true}) and for await over the
// chunks. Prints what consumer.c prints (see py_client.py), buffered so
// that printing costs little.
//
//     node node_client.mjs text|args|tools BASE_URL
import OpenAI from 'openai';

const [mode, baseURL] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: 'bench', maxRetries: 0 });
const schema = (props) => ({
  type: 'object',
  properties: Object.fromEntries(props.map(([k, t]) => [k, { type: t }])),
  required: props.map(([k]) => k),
});
const tools = {
  tools: [{ type: 'function', function: { name: 'add',
    description: 'Add two integers.',
    parameters: schema([['a', 'integer'], ['b', 'integer']]) } }],
  args: [{ type: 'function', function: { name: 'write_file',
    description: 'Write a text file.',
    parameters: schema([['path', 'string'], ['content', 'string']]) } }],
}[mode];

let pending = [];
let pendingLen = 0;
function out(s) {
  pending.push(s);
  pendingLen += s.length;
  if (pendingLen > 65536) flush();
}
function flush() {
  process.stdout.write(pending.join(''));
  pending = [];
  pendingLen = 0;
}

const messages = [{ role: 'user', content: 'Write a long answer.' }];
for (;;) {
  const stream = await client.chat.completions.create({
    model: 'qwen2.5-7b-instruct-q4_k_m', messages, stream: true,
    ...(tools ? { tools } : {}),
  });
  const calls = [];
  for await (const chunk of stream) {
    const d = chunk.choices[0]?.delta;
    if (!d) continue;
    if (d.content) out(d.content);
    for (const tc of d.tool_calls ?? []) {
      const c = (calls[tc.index ?? 0] ??= { id: '', name: '', args: '' });
      if (tc.id && !c.id) c.id = tc.id;
      if (tc.function?.name && !c.name) c.name = tc.function.name;
      if (tc.function?.arguments) c.args += tc.function.arguments;
    }
  }
  if (mode === 'args') out(calls[0].args);
  if (mode !== 'tools' || calls.length === 0) break;
  messages.push({ role: 'assistant', content: null, tool_calls: calls.map(
    (c) => ({ id: c.id, type: 'function',
      function: { name: c.name, arguments: c.args } })) });
  for (const c of calls) {
    out(`${c.name} ${c.args}\n`);
    const a = JSON.parse(c.args);
    messages.push({ role: 'tool', tool_call_id: c.id, content: String(a.a + a.b) });
  }
}
flush();
