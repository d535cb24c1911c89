// The inspector page: an overview row per server (era, state, breaker, queue, calls/s, p50/p99,
// last error), then one section per server with its figures in words and, behind a click, one
// statechart per actor with its active states highlighted; a transition log without heartbeats.
// Data arrives over SSE (/events); every figure comes from rt.snapshot() and rt.health().

const serversEl = document.getElementById('servers');
const logEl = document.getElementById('log');
const statusEl = document.getElementById('status');
const overviewEl = document.getElementById('overview-rows');
const rows = new Map();
// Actors created for no single server (the server's machines all carry its name).
const RUNTIME_WIDE = 'runtime';
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
  const figures = el('dl', { class: 'figures' });
  const details = el('details', { class: 'charts' });
  const summary = el('summary', {}, 'statecharts');
  const list = el('div', { class: 'actors' });
  list.append(el('p', { class: 'empty' }, 'no actor yet (connects on first use)'));
  details.append(summary, list);
  root.append(h2);
  if (server === RUNTIME_WIDE) {
    root.append(el('p', { class: 'note' }, 'Actors the runtime runs for all servers together.'));
  }
  root.append(figures, details);
  const names = [...sections.keys(), server].sort();
  const next = names[names.indexOf(server) + 1];
  serversEl.insertBefore(root, next ? sections.get(next).root : null);
  s = { root, badge, target, figures, list, summary, count: 0 };
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
    s.count++;
    s.summary.textContent = `statecharts (${s.count} actor${s.count === 1 ? '' : 's'})`;
    const root = el('div', { class: 'actor', 'data-actor': msg.label, 'data-machine': msg.machine });
    const h3 = el('h3', {}, `${msg.label} `);
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
  li.append(document.createTextNode(`${msg.label}: ${msg.from} → `));
  li.append(el('span', { class: 'to' }, msg.to));
  li.append(el('span', { class: 'event' }, ` (${msg.event})`));
  const atBottom = logEl.scrollTop + logEl.clientHeight >= logEl.scrollHeight - 4;
  logEl.append(li);
  while (logEl.children.length > LOG_LIMIT) logEl.firstElementChild.remove();
  if (atBottom) logEl.scrollTop = logEl.scrollHeight;
}

function ms(value) {
  if (value === null || value === undefined) return '–';
  if (value < 10) return `${value.toFixed(1)} ms`;
  if (value < 1000) return `${Math.round(value)} ms`;
  return `${(value / 1000).toFixed(value < 10_000 ? 2 : 1)} s`;
}

function clock(at) {
  return new Date(at).toLocaleTimeString([], { hour12: false });
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function sum(list) {
  return (list || []).reduce((a, b) => a + b, 0);
}

function eraText(row) {
  if (!row.era) return '–';
  return `${row.era}${row.protocolVersion ? ` (${row.protocolVersion})` : ''}`;
}

function errorText(e) {
  return e ? `${e.code}: ${e.message}` : '';
}

// The figures of one server, in words: [label, text, key] (key names the data-figure attribute).
function figureEntries(snap) {
  const out = [];
  const state =
    snap.state === 'ready' ? 'ready' : `${snap.state}${snap.attempt ? `, attempt ${snap.attempt}` : ''}`;
  out.push(['connection', state, 'state']);
  out.push(['reconnects', String(Math.max(0, (snap.readyCount || 0) - 1)), 'reconnects']);
  if (snap.retryAt) out.push(['next attempt', clock(snap.retryAt), 'retryAt']);
  if (snap.session?.protocolVersion) out.push(['protocol', snap.session.protocolVersion, 'protocol']);
  const q = snap.queue || {};
  out.push([
    'queue',
    `${q.mode || 'accepting'}, ${q.queued || 0} queued, ${q.inFlight || 0} in flight`,
    'queue',
  ]);
  for (const [key, b] of Object.entries(snap.breakers || {})) {
    const name = key === '*' ? 'breaker' : `breaker ${key}`;
    const until = b.state === 'open' && b.openUntil ? ` until ${clock(b.openUntil)}` : '';
    out.push([
      name,
      `${b.state}${until}, opened ${b.openedCount}×, resets after ${ms(b.resetTimeoutMs)}`,
      `breaker:${key}`,
    ]);
  }
  const st = snap.stats || {};
  out.push(['calls', `${st.calls || 0} (${st.ok || 0} ok, ${st.failed || 0} failed)`, 'calls']);
  out.push([
    'retries',
    `${st.retries || 0}${st.retriesDeniedByBudget ? `, ${st.retriesDeniedByBudget} denied by budget` : ''}`,
    'retries',
  ]);
  if (snap.retryBudget) {
    out.push([
      'retry budget',
      `${sum(snap.retryBudget.retries)} retries for ${plural(sum(snap.retryBudget.calls), 'call')} in the window`,
      'retryBudget',
    ]);
  }
  if (st.breakerRejections || st.queueRejections) {
    out.push([
      'rejected',
      `${st.breakerRejections || 0} by breaker, ${st.queueRejections || 0} by queue`,
      'rejected',
    ]);
  }
  const byCode = Object.entries(st.failuresByCode || {});
  if (byCode.length) out.push(['failures', byCode.map(([c, n]) => `${c} ×${n}`).join(', '), 'failures']);
  if (snap.pool)
    out.push(['pool', `${plural(snap.pool.size, 'member')}, ${snap.pool.inFlight} in flight`, 'pool']);
  if (snap.supervisor) out.push(['supervisor', snap.supervisor.state, 'supervisor']);
  if (snap.lateProgressDropped)
    out.push(['late progress dropped', String(snap.lateProgressDropped), 'lateProgress']);
  if (snap.lastError) out.push(['connection error', errorText(snap.lastError), 'lastError']);
  return out;
}

const COLUMNS = ['server', 'era', 'state', 'breaker', 'queue', 'calls/s', 'p50', 'p99', 'last error'];

function overviewRow(row) {
  let tr = rows.get(row.server);
  if (!tr) {
    tr = el('tr', { 'data-server': row.server });
    for (const c of COLUMNS) tr.append(el('td', { 'data-col': c }));
    const names = [...rows.keys(), row.server].sort();
    const next = names[names.indexOf(row.server) + 1];
    overviewEl.insertBefore(tr, next ? rows.get(next) : null);
    rows.set(row.server, tr);
  }
  const cell = (c) => tr.querySelector(`[data-col="${c}"]`);
  cell('server').textContent = row.server;
  cell('era').textContent = eraText(row);
  cell('era').setAttribute('data-era', row.era || 'unknown');
  const state = cell('state');
  state.textContent = '';
  state.append(el('span', { class: 'badge', 'data-state': row.state }, row.state));
  cell('breaker').textContent = row.breaker || '–';
  cell('breaker').setAttribute('data-breaker', row.breaker || 'none');
  cell('queue').textContent = `${row.queued} queued · ${row.inFlight} in flight`;
  cell('calls/s').textContent = row.callsPerSecond === null ? '–' : String(row.callsPerSecond);
  for (const [c, value] of [
    ['p50', row.latencyP50Ms],
    ['p99', row.latencyP99Ms],
  ]) {
    cell(c).textContent = ms(value);
    cell(c).setAttribute('data-ms', value === null ? '' : String(value));
  }
  const err = cell('last error');
  err.textContent = errorText(row.lastError);
  err.title = row.lastError?.at ? `at ${clock(row.lastError.at)}` : '';
}

function figures(msg) {
  for (const row of msg.overview || []) overviewRow(row);
  for (const [server, snap] of Object.entries(msg.servers || {})) {
    const s = section(server);
    s.badge.textContent = snap.state;
    s.badge.setAttribute('data-state', snap.state);
    s.target.textContent = `${snap.transport} ${snap.target || ''}`;
    s.figures.textContent = '';
    for (const [label, text, key] of figureEntries(snap)) {
      const div = el('div', { 'data-figure': key });
      div.append(el('dt', {}, label), el('dd', {}, text));
      s.figures.append(div);
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
  figures,
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
