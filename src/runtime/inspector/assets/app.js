// The inspector page: one section per server, one statechart per actor with its active states
// highlighted, a transition log, and the figures of rt.snapshot(). Data arrives over SSE (/events).

const serversEl = document.getElementById('servers');
const logEl = document.getElementById('log');
const statusEl = document.getElementById('status');
const charts = {};
const svgText = {};
const sections = new Map();
const actors = new Map();
const LOG_LIMIT = 500;

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function section(server) {
  let s = sections.get(server);
  if (s) return s;
  const root = el('section', { class: 'server', 'data-server': server });
  const h2 = el('h2');
  h2.append(el('span', {}, server));
  const badge = el('span', { class: 'badge', 'data-state': 'idle' }, 'idle');
  const target = el('span', { class: 'target' });
  h2.append(badge, target);
  const figures = el('div', { class: 'figures' });
  const list = el('div', { class: 'actors' });
  list.append(el('p', { class: 'empty' }, 'no actor yet (connects on first use)'));
  root.append(h2, figures, list);
  const names = [...sections.keys(), server].sort();
  const next = names[names.indexOf(server) + 1];
  serversEl.insertBefore(root, next ? sections.get(next).root : null);
  s = { root, badge, target, figures, list };
  sections.set(server, s);
  return s;
}

function loadChart(machine) {
  if (!(machine in svgText)) {
    svgText[machine] = fetch(`/charts/${encodeURIComponent(machine)}.svg`)
      .then((r) => (r.ok ? r.text() : null))
      .catch(() => null);
  }
  return svgText[machine];
}

function drawChart(container, machine, text) {
  container.textContent = '';
  if (text) {
    const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
    const svg = doc.documentElement;
    if (svg && svg.nodeName === 'svg') {
      for (const node of svg.querySelectorAll('[id]')) {
        const id = node.getAttribute('id');
        if (id.startsWith('state:')) node.setAttribute('data-state-id', id.slice(6));
        node.removeAttribute('id');
      }
      svg.removeAttribute('width');
      svg.removeAttribute('height');
      container.append(document.importNode(svg, true));
      return;
    }
  }
  const fallback = el('div', { class: 'fallback' });
  for (const s of charts[machine] || []) {
    if (s.depth === 0) continue;
    fallback.append(el('span', { 'data-state-id': s.id }, s.key));
  }
  container.append(fallback);
}

function highlight(card) {
  const active = new Set(card.active || []);
  for (const node of card.chart.querySelectorAll('[data-state-id]')) {
    node.classList.toggle('active', active.has(node.getAttribute('data-state-id')));
  }
}

function actor(msg) {
  let card = actors.get(msg.key);
  if (!card) {
    const s = section(msg.server);
    const empty = s.list.querySelector('.empty');
    if (empty) empty.remove();
    const root = el('div', { class: 'actor', 'data-actor': msg.key, 'data-machine': msg.machine });
    const h3 = el('h3', {}, `${msg.machine} `);
    const value = el('span', { class: 'value' });
    h3.append(value);
    const chart = el('div', { class: 'chart' });
    root.append(h3, chart);
    s.list.append(root);
    card = { root, value, chart, active: [] };
    actors.set(msg.key, card);
    loadChart(msg.machine).then((text) => {
      drawChart(chart, msg.machine, text);
      highlight(card);
    });
  }
  card.active = msg.active;
  card.value.textContent = msg.value;
  card.root.setAttribute('data-state', msg.value);
  card.root.setAttribute('data-status', msg.status);
  highlight(card);
}

function time(at) {
  const d = new Date(at);
  return `${d.toLocaleTimeString([], { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

function transition(msg) {
  const li = el('li', { 'data-server': msg.server, 'data-machine': msg.machine });
  li.append(el('time', { datetime: new Date(msg.at).toISOString() }, time(msg.at)));
  li.append(document.createTextNode(`${msg.server} ${msg.machine}: ${msg.from} → `));
  li.append(el('span', { class: 'to' }, msg.to));
  li.append(el('span', { class: 'event' }, ` (${msg.event})`));
  const atBottom = logEl.scrollTop + logEl.clientHeight >= logEl.scrollHeight - 4;
  logEl.append(li);
  while (logEl.children.length > LOG_LIMIT) logEl.firstElementChild.remove();
  if (atBottom) logEl.scrollTop = logEl.scrollHeight;
}

function figureEntries(snap) {
  const out = [];
  const skip = new Set(['transport', 'target', 'state', 'session', 'lastError', 'retryAt']);
  for (const [key, value] of Object.entries(snap)) {
    if (skip.has(key) || value === null || value === undefined) continue;
    if (typeof value !== 'object') out.push([key, value]);
    else if (!Array.isArray(value)) {
      for (const [sub, v] of Object.entries(value)) {
        if (v === null || v === undefined || Array.isArray(v)) continue;
        if (typeof v !== 'object') out.push([`${key}.${sub}`, v]);
        else if (Object.keys(v).length) out.push([`${key}.${sub}`, JSON.stringify(v)]);
      }
    }
  }
  if (snap.lastError) out.push(['last error', `${snap.lastError.code}: ${snap.lastError.message}`]);
  return out;
}

function figures(snapshot) {
  for (const [server, snap] of Object.entries(snapshot.servers || {})) {
    const s = section(server);
    s.badge.textContent = snap.state;
    s.badge.setAttribute('data-state', snap.state);
    s.target.textContent = `${snap.transport} ${snap.target || ''}`;
    s.figures.textContent = '';
    for (const [k, v] of figureEntries(snap)) {
      const span = el('span', { 'data-figure': k }, `${k} `);
      span.append(el('b', {}, String(v)));
      s.figures.append(span);
    }
  }
}

const handlers = {
  hello(msg) {
    // A reconnect replays the recent log: start it afresh.
    logEl.textContent = '';
    Object.assign(charts, msg.charts);
    for (const server of msg.servers) section(server);
  },
  actor,
  transition,
  figures(msg) {
    figures(msg.snapshot);
  },
};

const source = new EventSource('/events');
source.onopen = () => {
  statusEl.textContent = 'live';
  statusEl.setAttribute('data-status', 'live');
};
source.onerror = () => {
  statusEl.textContent = 'disconnected';
  statusEl.setAttribute('data-status', 'lost');
};
source.onmessage = (e) => {
  const msg = JSON.parse(e.data);
  const handler = handlers[msg.type];
  if (handler) handler(msg);
};
