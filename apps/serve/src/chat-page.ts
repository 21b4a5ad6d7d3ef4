/**
 * The chat page served at `/`: one self-contained HTML file that calls `/v1/chat/completions` with
 * `stream: true` and appends the reply as SSE chunks arrive. No build step, no external assets.
 *
 * @module
 */

/** The page's HTML. Element ids (`input`, `send`, `messages`, `temperature`, `max-tokens`, `api-key`) are stable. */
export const CHAT_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Andes chat</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; max-width: 760px; margin: 0 auto; padding: 1rem; color: #1d2329; }
  h1 { font-size: 1.2rem; margin: 0 0 .5rem; }
  #messages { border: 1px solid #ccd3da; border-radius: 6px; padding: .75rem; min-height: 240px; margin-bottom: .75rem; }
  .msg { white-space: pre-wrap; margin: .4rem 0; padding: .4rem .6rem; border-radius: 6px; }
  .user { background: #e8f0fe; }
  .assistant { background: #f3f4f6; }
  .error { background: #fde8e8; color: #8a1c1c; }
  form { display: flex; gap: .5rem; }
  textarea { flex: 1; min-height: 3rem; font: inherit; }
  .settings { margin-top: .5rem; display: flex; gap: 1rem; flex-wrap: wrap; font-size: .9rem; }
  input[type=number] { width: 5rem; }
</style>
</head>
<body>
<h1>Andes chat <small id="model-name"></small></h1>
<div id="messages" aria-live="polite"></div>
<form id="form">
  <textarea id="input" placeholder="Say something…" required></textarea>
  <button id="send" type="submit">Send</button>
</form>
<div class="settings">
  <label>temperature <input id="temperature" type="number" min="0" max="2" step="0.1" value="0.8"></label>
  <label>max tokens <input id="max-tokens" type="number" min="1" value="128"></label>
  <label>API key <input id="api-key" type="password" autocomplete="off"></label>
</div>
<script type="module">
const $ = (id) => document.getElementById(id);
const history = [];
let model = null;

async function headers() {
  const h = { 'content-type': 'application/json' };
  const key = $('api-key').value.trim();
  if (key) h.authorization = 'Bearer ' + key;
  return h;
}

async function loadModel() {
  const res = await fetch('/v1/models', { headers: await headers() });
  if (!res.ok) return;
  model = (await res.json()).data[0].id;
  $('model-name').textContent = '(' + model + ')';
}

function bubble(role, text) {
  const div = document.createElement('div');
  div.className = 'msg ' + role;
  div.textContent = text;
  $('messages').appendChild(div);
  return div;
}

// Reads an SSE body and calls onData with each parsed data: payload until [DONE].
async function readSse(body, onData) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let cut;
    while ((cut = buf.indexOf('\\n\\n')) >= 0) {
      const event = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      for (const line of event.split('\\n')) {
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        if (data === '[DONE]') return;
        onData(JSON.parse(data));
      }
    }
  }
}

$('form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = $('input').value.trim();
  if (!text) return;
  $('input').value = '';
  $('send').disabled = true;
  if (!model) await loadModel();
  history.push({ role: 'user', content: text });
  bubble('user', text);
  const out = bubble('assistant', '');
  out.dataset.state = 'streaming';
  try {
    const res = await fetch('/v1/chat/completions', {
      method: 'POST',
      headers: await headers(),
      body: JSON.stringify({
        model, messages: history, stream: true,
        temperature: Number($('temperature').value), max_tokens: Number($('max-tokens').value),
      }),
    });
    if (!res.ok) throw new Error((await res.json()).error.message);
    let reply = '';
    await readSse(res.body, (chunk) => {
      if (chunk.error) throw new Error(chunk.error.message);
      const delta = chunk.choices[0] && chunk.choices[0].delta;
      if (delta && delta.content) { reply += delta.content; out.textContent = reply; }
    });
    history.push({ role: 'assistant', content: reply });
    out.dataset.state = 'done';
  } catch (err) {
    out.className = 'msg error';
    out.textContent = String(err.message || err);
    out.dataset.state = 'error';
  } finally {
    $('send').disabled = false;
  }
});
loadModel();
</script>
</body>
</html>
`;
