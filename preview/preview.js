'use strict';
// The preview page: plain browser JavaScript, no build step, no outside assets. Every request goes to the
// service that served the page.

const $ = (id) => document.getElementById(id);
const PRESETS = ['telegram', 'telegram_emoji', 'whatsapp', 'signal'];
// What each kind of source can be turned into (the first is the form it is stored in).
const OUTPUTS = {
  tgs: ['default', 'webp', 'gif', 'apng', 'png', 'webm', 'mp4'],
  webm: ['default', 'webp', 'gif', 'apng', 'png', 'mp4'],
  still: ['default', 'png', 'webp', 'gif'],
};
// Requests at once: the page shares the service's conversion threads with everyone else.
const AT_ONCE = 2;
let generation = 0;

function status(text, error) {
  $('status').textContent = text;
  $('status').className = error ? 'error' : '';
}

/** What the pasted text names: a set (name or link), a custom emoji id, or a sticker's file id. */
function kindOf(text, chosen) {
  if (chosen !== 'auto') return chosen;
  if (/^(https?:\/\/|tg:\/\/|t\.me\/|telegram\.me\/)/i.test(text)) return 'set';
  if (/^\d{1,24}$/.test(text)) return 'emoji';
  // File ids are long and start with a few known prefixes (stickers CAAC..., thumbnails AAMC...); set names
  // are letters, digits and _, up to 64.
  const fileId = /^[A-Za-z0-9_-]{20,}$/.test(text) && (text.includes('-') || text.length > 64 || /^(CAAC|CAAD|AAMC|BQAC|BAAC)/.test(text));
  return fileId ? 'sticker' : 'set';
}

const kib = (n) => (n < 10240 ? `${n} B` : `${(n / 1024).toFixed(1)} KiB`);

/** Runs the jobs AT_ONCE at a time; stops starting new ones when a newer request replaced this one. */
async function inTurn(jobs, mine) {
  let next = 0;
  const lane = async () => {
    while (next < jobs.length && mine === generation) await jobs[next++]();
  };
  await Promise.all(Array.from({ length: AT_ONCE }, lane));
}

function card(parent, name) {
  const el = document.createElement('article');
  el.className = 'card';
  el.dataset.format = name;
  el.dataset.state = 'loading';
  el.innerHTML = '<h3></h3><div class="media">…</div><p class="meta"></p>';
  el.querySelector('h3').textContent = name;
  parent.append(el);
  return el;
}

/** Fetches one output into its card: the picture (animated as the browser plays it) and what it cost. */
async function fill(el, request) {
  const started = performance.now();
  let res;
  try {
    res = await request();
  } catch (err) {
    return failed(el, String(err));
  }
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    return failed(el, `${res.status} ${body.code ?? ''}: ${body.message ?? res.statusText}`);
  }
  const h = (name) => res.headers.get(name);
  const blob = await res.blob();
  const type = (h('content-type') ?? '').split(';')[0];
  const media = el.querySelector('.media');
  media.textContent = '';
  if (type.startsWith('image/')) {
    const img = new Image();
    img.src = URL.createObjectURL(blob);
    img.alt = el.dataset.format;
    media.append(img);
    await img.decode().catch(() => undefined);
  } else if (type.startsWith('video/')) {
    const video = document.createElement('video');
    Object.assign(video, { src: URL.createObjectURL(blob), autoplay: true, loop: true, muted: true, playsInline: true });
    media.append(video);
  } else {
    const pre = document.createElement('pre');
    pre.textContent = type === 'application/json' ? (await blob.text()).slice(0, 600) : `${type}, ${blob.size} bytes`;
    media.append(pre);
  }
  const dims = h('x-output-width') ? `${h('x-output-width')}×${h('x-output-height')}` : (h('x-lottie-dimensions') ?? '');
  const frames = h('x-output-frames') ?? h('x-lottie-frames');
  const preset = h('x-preset-fit') ? ` · ${h('x-preset-fit')} (q ${h('x-preset-quality') ?? '-'}, ${h('x-preset-fps') ?? '-'} fps)` : '';
  const took = h('x-conversion-time-ms') ?? h('x-processing-time-ms') ?? String(Math.round(performance.now() - started));
  el.querySelector('.meta').textContent = `${type} · ${kib(blob.size)} · ${dims}${frames ? ` · ${frames} frames` : ''} · ${took} ms${h('x-cache-status') ? ` · ${h('x-cache-status')}` : ''}${preset}`;
  el.dataset.state = 'ok';
  el.dataset.type = type;
}

function failed(el, message) {
  el.dataset.state = 'error';
  el.classList.add('error');
  el.querySelector('.media').textContent = '';
  el.querySelector('.meta').textContent = message;
}

function query(format, size, tint) {
  if (format === 'default') return '';
  const q = new URLSearchParams({ format });
  if (format !== 'png' || size) q.set('size', String(size));
  if (tint) q.set('tint', tint);
  return `?${q}`;
}

/**
 * Every output of one source side by side, then each preset. `request(search)` makes one request for the
 * source with that query string (a GET of a sticker, or a POST of a dropped file).
 */
async function showOutputs(request, mine) {
  const size = Number($('size').value) || 256;
  $('outputs').hidden = false;
  $('cards').textContent = '';
  $('presets').textContent = '';
  status('Fetching…');
  const first = card($('cards'), 'default');
  await fill(first, () => request(''));
  if (first.dataset.state !== 'ok') return status('The source could not be read: see its card.', true);
  const original = lastOriginal ?? 'tgs';
  const kind = original === 'tgs' || original === 'webm' ? original : 'still';
  // A custom emoji that Telegram repaints is shown in the chosen text colour, as a client would.
  const tint = repaint ? $('tint').value.slice(1) : undefined;
  const jobs = OUTPUTS[kind].slice(1).map((format) => {
    const el = card($('cards'), format);
    return () => fill(el, () => request(query(format, size, tint)));
  });
  for (const preset of PRESETS) {
    const el = card($('presets'), preset);
    jobs.push(() => fill(el, () => request(`?preset=${preset}`)));
  }
  await inTurn(jobs, mine);
  if (mine === generation) status('Done.');
}

// The stored form's format (X-Original-Format), and whether it is a custom emoji to repaint
// (X-Needs-Repainting), from the first answer.
let lastOriginal;
let repaint = false;
async function remembered(promise) {
  const res = await promise;
  if (res.ok && res.headers.get('x-original-format')) lastOriginal = res.headers.get('x-original-format');
  if (res.ok && res.headers.get('x-needs-repainting')) repaint = res.headers.get('x-needs-repainting') === 'true';
  return res;
}

function showSticker(path) {
  const mine = ++generation;
  lastOriginal = undefined;
  repaint = false;
  return showOutputs((search) => remembered(fetch(`${path}${search}`)), mine);
}

async function showSet(name) {
  const mine = ++generation;
  status('Fetching the set…');
  $('outputs').hidden = true;
  const res = await fetch(`/sticker-sets/${encodeURIComponent(name)}`);
  const body = await res.json();
  if (!res.ok) return status(`${res.status} ${body.code}: ${body.message}`, true);
  if (mine !== generation) return;
  $('set').hidden = false;
  $('set-title').textContent = `${body.title} (${body.stickers.length} stickers, ${body.sticker_type})`;
  const list = $('set-stickers');
  list.textContent = '';
  for (const s of body.stickers) {
    const button = document.createElement('button');
    button.className = 'sticker';
    button.type = 'button';
    button.title = `${s.emoji ?? ''} ${s.kind}`;
    button.dataset.fileId = s.file_id;
    const img = new Image();
    img.loading = 'lazy';
    img.alt = s.emoji ?? String(s.index);
    img.src = `${s.thumbnail_url ?? s.url}?format=png&size=96`;
    button.append(img);
    button.addEventListener('click', () => showSticker(`/stickers/${encodeURIComponent(s.file_id)}`));
    list.append(button);
  }
  status('Pick a sticker.');
}

function showFile(file) {
  const mine = ++generation;
  lastOriginal = undefined;
  repaint = false;
  $('set').hidden = true;
  const post = (search) => remembered(fetch(`/convert${search}`, { method: 'POST', body: file, headers: { 'content-type': 'application/octet-stream' } }));
  return showOutputs(post, mine);
}

$('ask').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = $('what').value.trim();
  if (!text) return status('Paste a file id, a custom emoji id or a set name first.', true);
  const kind = kindOf(text, $('kind').value);
  if (kind === 'set') return void showSet(text);
  $('set').hidden = true;
  void showSticker(kind === 'emoji' ? `/custom-emoji/${encodeURIComponent(text)}` : `/stickers/${encodeURIComponent(text)}`);
});

const drop = $('drop');
drop.addEventListener('dragover', (event) => {
  event.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (event) => {
  event.preventDefault();
  drop.classList.remove('over');
  const file = event.dataTransfer?.files[0];
  if (file) void showFile(file);
});
$('file').addEventListener('change', () => {
  const file = $('file').files[0];
  if (file) void showFile(file);
});
