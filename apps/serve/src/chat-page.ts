/**
 * The chat page served at `/`: one self-contained HTML file that calls `/v1/chat/completions` with
 * `stream: true` and appends the reply as SSE chunks arrive. No build step, no external assets.
 *
 * It says what it talks to (the model's name, and whether it is a base model that continues text or a chat
 * model), keeps each request inside the model's context — the oldest turns are dropped, the system prompt kept,
 * with a visible note — by counting tokens with `POST /tokenize`, and sends only turns that succeeded.
 *
 * @module
 */

/**
 * The page's HTML. Element ids (`input`, `send`, `new-chat`, `messages`, `model-name`, `model-info`, `system`,
 * `temperature`, `max-tokens`, `api-key`) and classes (`user`, `assistant` with `data-state` streaming / done /
 * error, `note`, `dropped`, `failed`) are stable: tests and users' scripts select them.
 */
export const CHAT_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Andes chat</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; max-width: 760px; margin: 0 auto; padding: 1rem; color: #1d2329; }
  h1 { font-size: 1.2rem; margin: 0 0 .25rem; }
  #model-info { font-size: .9rem; color: #4b5563; margin: 0 0 .5rem; }
  #model-info[data-kind=base] { color: #7a4b00; }
  #messages { border: 1px solid #ccd3da; border-radius: 6px; padding: .75rem; min-height: 240px; margin-bottom: .75rem; }
  .msg { white-space: pre-wrap; margin: .4rem 0; padding: .4rem .6rem; border-radius: 6px; }
  .user { background: #e8f0fe; }
  .assistant { background: #f3f4f6; }
  .error { background: #fde8e8; color: #8a1c1c; }
  .note { background: none; color: #6b7280; font-size: .85rem; font-style: italic; padding: 0 .6rem; }
  .dropped, .failed { opacity: .5; }
  form { display: flex; gap: .5rem; }
  textarea { flex: 1; min-height: 3rem; font: inherit; }
  .settings { margin-top: .5rem; display: flex; gap: 1rem; flex-wrap: wrap; font-size: .9rem; }
  input[type=number] { width: 5rem; }
</style>
</head>
<body>
<h1>Andes chat <small id="model-name"></small></h1>
<p id="model-info"></p>
<div id="messages" aria-live="polite"></div>
<form id="form">
  <textarea id="input" placeholder="Say something… (Enter sends, Shift+Enter for a new line)" required></textarea>
  <button id="send" type="submit">Send</button>
  <button id="new-chat" type="button">New chat</button>
</form>
<div class="settings">
  <label>system prompt <input id="system" type="text" placeholder="(none)"></label>
  <label>temperature <input id="temperature" type="number" min="0" max="2" step="0.1" value="0.8"></label>
  <label>max tokens <input id="max-tokens" type="number" min="1" value="128"></label>
  <label>API key <input id="api-key" type="password" autocomplete="off"></label>
</div>
<script type="module">
const $ = (id) => document.getElementById(id);
// Turns that succeeded, in order: { role, content, el } (el: the bubble, greyed out when the turn is dropped).
let history = [];
let model = null; // { id, maxLen, template } from /v1/models

function headers() {
  const h = { 'content-type': 'application/json' };
  const key = $('api-key').value.trim();
  if (key) h.authorization = 'Bearer ' + key;
  return h;
}

async function loadModel() {
  const res = await fetch('/v1/models', { headers: headers() });
  if (!res.ok) return;
  const card = (await res.json()).data[0];
  model = { id: card.id, maxLen: card.max_model_len || null, template: card.chat_template };
  $('model-name').textContent = '(' + card.id + ')';
  const about = [];
  if (card.chat_template === null) {
    $('model-info').dataset.kind = 'base';
    about.push('A base model: it was trained to continue text, not to chat, so a reply carries on from your ' +
      'words, often mid-sentence. Give it the start of a story.');
  } else if (typeof card.chat_template === 'string') {
    $('model-info').dataset.kind = 'chat';
    about.push('A chat model (' + card.chat_template + ' template).');
  }
  if (model.maxLen) {
    about.push('Context: ' + model.maxLen + ' tokens; the oldest turns are dropped to fit.');
    // A reply as long as the whole context leaves no room for the conversation: start at half of it at most.
    const max = $('max-tokens');
    max.max = String(model.maxLen - 1);
    if (Number(max.value) > model.maxLen / 2) max.value = String(Math.max(1, Math.floor(model.maxLen / 2)));
  }
  $('model-info').textContent = about.join(' ');
}

function bubble(role, text) {
  const div = document.createElement('div');
  div.className = 'msg ' + role;
  div.textContent = text;
  $('messages').appendChild(div);
  return div;
}

// Tokens of the prompt these messages render to, or null when the server cannot say (no /tokenize).
async function countTokens(messages) {
  const res = await fetch('/tokenize', {
    method: 'POST', headers: headers(), body: JSON.stringify({ model: model.id, messages }),
  });
  if (!res.ok) return null;
  return (await res.json()).count;
}

// Drops the oldest turns (user + reply pairs; the system prompt stays) until the prompt leaves max_tokens of room.
async function fitToContext(system, user, maxTokens) {
  const plain = (m) => ({ role: m.role, content: m.content });
  let dropped = 0;
  for (;;) {
    const messages = [...system, ...history.slice(dropped).map(plain), user];
    if (!model || !model.maxLen) return { messages, dropped };
    const budget = model.maxLen - maxTokens;
    const count = await countTokens(messages);
    if (count === null || count <= budget) return { messages, dropped };
    if (dropped >= history.length) {
      throw new Error('This message needs ' + count + ' prompt tokens but only ' + Math.max(0, budget) +
        ' fit (context ' + model.maxLen + ' minus max tokens ' + maxTokens + '): shorten it or lower max tokens.');
    }
    dropped += 2;
  }
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
  if (!text || $('send').disabled) return;
  $('input').value = '';
  $('send').disabled = true;
  if (!model) await loadModel();
  const userEl = bubble('user', text);
  const out = bubble('assistant', '');
  out.dataset.state = 'streaming';
  try {
    const systemText = $('system').value.trim();
    const system = systemText ? [{ role: 'system', content: systemText }] : [];
    const user = { role: 'user', content: text };
    const maxTokens = Number($('max-tokens').value);
    const { messages, dropped } = await fitToContext(system, user, maxTokens);
    if (dropped > 0) {
      for (const turn of history.slice(0, dropped)) turn.el.classList.add('dropped');
      history = history.slice(dropped);
      const turns = dropped / 2;
      const note = bubble('note', 'Dropped the ' + (turns === 1 ? 'oldest turn' : turns + ' oldest turns') +
        ' to fit the model\\'s ' + model.maxLen + '-token context.');
      $('messages').insertBefore(note, userEl);
    }
    const res = await fetch('/v1/chat/completions', {
      method: 'POST',
      headers: headers(),
      body: JSON.stringify({
        model: model && model.id, messages, stream: true,
        temperature: Number($('temperature').value), max_tokens: maxTokens,
      }),
    });
    if (!res.ok) throw new Error((await res.json()).error.message);
    let reply = '';
    await readSse(res.body, (chunk) => {
      if (chunk.error) throw new Error(chunk.error.message);
      const delta = chunk.choices[0] && chunk.choices[0].delta;
      if (delta && delta.content) { reply += delta.content; out.textContent = reply; }
    });
    // Only a turn that succeeded joins the history: a failed one must not break every later message.
    history.push({ role: 'user', content: text, el: userEl }, { role: 'assistant', content: reply, el: out });
    out.dataset.state = 'done';
  } catch (err) {
    userEl.classList.add('failed');
    out.className = 'msg error';
    out.textContent = String(err.message || err);
    out.dataset.state = 'error';
  } finally {
    $('send').disabled = false;
  }
});

// Enter sends; Shift+Enter (or composing with an input method) inserts a newline as usual.
$('input').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    $('form').requestSubmit();
  }
});

$('new-chat').addEventListener('click', () => {
  history = [];
  $('messages').replaceChildren();
  $('input').focus();
});
loadModel();
</script>
</body>
</html>
`;
