/**
 * The inspector page in a real browser (Debian's chromium driven by playwright-core): it leads with
 * an overview row a server (era, state, p50/p99 from `rt.health()`), keeps the statecharts behind a
 * click, follows a SIGKILL of the demo server to `reconnecting` and back to `ready`, logs the
 * transitions without heartbeats, shows figures in words and no secret. `scripts/ensure-chromium.sh` installs the
 * browser (CI runs it before `npm test`); without a browser the test skips and says why.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import type { InspectorHandle } from '../../src/runtime/inspector/server.js';
import { createRuntime, type McpRuntime } from '../../src/runtime/runtime.js';
import { type DemoServerProcess, spawnDemoServer } from '../helpers/demo-server-process.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasBrowser = existsSync(CHROMIUM);
if (!hasBrowser) {
  console.warn(
    `test/browser/inspector.test.ts skipped: no browser at ${CHROMIUM} (run scripts/ensure-chromium.sh)`,
  );
}
const SECRET = 'sekret-token-4711-do-not-show';

describe.skipIf(!hasBrowser)('inspector page in chromium', () => {
  let demo: DemoServerProcess;
  let rt: McpRuntime;
  let inspector: InspectorHandle;
  let browser: BrowserContext;
  let page: Page;
  let dir: string;
  const pageErrors: string[] = [];
  /** Heartbeats the runtime made (seen by the application's own inspection observer). */
  let heartbeats = 0;

  const state = (server: string, id: string): string =>
    `section[data-server="${server}"] .actor[data-machine="connection"] [data-state-id="${id}"]`;
  // The charts are collapsed: wait for the highlight in the DOM, visible or not.
  const waitActive = (server: string, id: string, timeoutMs = 15_000): Promise<unknown> =>
    page.waitForSelector(`${state(server, id)}.active`, { timeout: timeoutMs, state: 'attached' });
  const cell = (server: string, col: string): string =>
    `#overview-rows tr[data-server="${server}"] td[data-col="${col}"]`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-actors-inspector-'));
    demo = await spawnDemoServer();
    rt = createRuntime(
      {
        servers: {
          ws: { url: demo.wsUrl, auth: { token: SECRET } },
          http: { url: demo.httpUrl, heartbeat: { intervalMs: 1_000, timeoutMs: 400, maxMissed: 1 } },
          // WebSocket pings are the heartbeat that would flood the log (HTTP has no liveness check).
          pinged: { url: demo.wsUrl, heartbeat: { intervalMs: 300, timeoutMs: 1_000, maxMissed: 3 } },
        },
        defaults: {
          timeoutMs: 5_000,
          // A fixed 400 ms between attempts keeps `reconnecting` on screen while the server is down.
          reconnect: { initialDelayMs: 400, factor: 1, maxDelayMs: 400, maxAttempts: 1_000, jitter: false },
          heartbeat: { intervalMs: 0 },
        },
      },
      {
        inspect: (event: InspectionEvent) => {
          const value = ((event as { snapshot?: unknown }).snapshot as { value?: unknown } | undefined)
            ?.value as { ready?: unknown } | undefined;
          if (event.type === '@xstate.snapshot' && value?.ready === 'pinging') heartbeats++;
        },
      },
    );
    await rt.start();
    inspector = await rt.inspect({ figuresIntervalMs: 250 });
    // A fresh profile directory per run (playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      viewport: { width: 1500, height: 1000 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    // Only 127.0.0.1 may be reached: the page works offline.
    await page.route('**/*', (route) =>
      new URL(route.request().url()).hostname === '127.0.0.1' ? route.continue() : route.abort(),
    );
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await inspector?.close();
    await rt?.close();
    await demo?.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows the connection chart with the current state, follows a kill and a restart', async () => {
    await page.goto(inspector.url);
    await page.waitForSelector('#status[data-status="live"]');
    await waitActive('ws', 'connection.ready');
    await waitActive('http', 'connection.ready');
    const drawn = await page.$$eval(
      `section[data-server="ws"] .actor[data-machine="connection"] svg [data-state-id]`,
      (nodes) => nodes.map((n) => n.getAttribute('data-state-id')),
    );
    for (const s of ['idle', 'connecting', 'negotiating', 'ready', 'reconnecting', 'failed', 'closed']) {
      expect(drawn).toContain(`connection.${s}`);
    }
    // Only the current state (and its ancestors/children) is highlighted.
    expect(await page.$$(`${state('ws', 'connection.reconnecting')}.active`)).toHaveLength(0);
    // Charts are behind a click; the actor is labelled server/machine#n.
    const charts = 'section[data-server="ws"] details.charts';
    expect(await page.$eval(charts, (d) => (d as HTMLDetailsElement).open)).toBe(false);
    expect(await page.isVisible(`${charts} svg`)).toBe(false);
    expect(await page.$$('section[data-server="ws"] .actor[data-actor="ws/connection#1"]')).toHaveLength(1);

    // The overview row: era and state at once, p50/p99 from rt.health() after calls.
    const era = rt.snapshot().servers.ws!.protocol.era;
    expect(era === 'modern' || era === 'legacy').toBe(true);
    await page.waitForSelector(`${cell('ws', 'era')}[data-era="${era}"]`);
    expect(await page.textContent(cell('ws', 'state'))).toBe('ready');
    expect(await page.textContent(cell('ws', 'p50'))).toBe('–');
    for (let i = 0; i < 20; i++) await rt.callTool('ws', 'echo', { text: `call ${i}` });
    const health = rt.health('ws');
    expect(health.latencyP50Ms).not.toBeNull();
    // ws has no heartbeat: once the calls are done its health stands still, and the page shows it.
    await page.waitForSelector(`${cell('ws', 'p50')}[data-ms="${health.latencyP50Ms}"]`);
    await page.waitForSelector(`${cell('ws', 'p99')}[data-ms="${health.latencyP99Ms}"]`);
    expect(await page.textContent(cell('ws', 'p50'))).toMatch(/^\d+(\.\d+)? m?s$/);
    await page.waitForFunction(
      (sel) => /^\d+(\.\d)?$/.test(document.querySelector(sel)?.textContent ?? ''),
      cell('ws', 'calls/s'),
    );

    const killedAt = performance.now();
    await demo.kill('SIGKILL');
    await waitActive('ws', 'connection.reconnecting');
    const badge = await page.textContent('section[data-server="ws"] .badge');
    expect(['reconnecting', 'connecting']).toContain(badge);
    await page.waitForSelector('#log li[data-server="ws"] .to:text-matches("^reconnecting")');
    await page.waitForFunction(
      (sel) => (document.querySelector(sel)?.textContent ?? '').length > 0,
      cell('ws', 'last error'),
    );

    await demo.restart();
    await waitActive('ws', 'connection.ready');
    await page.waitForSelector('section[data-server="ws"] .badge[data-state="ready"]');
    expect(await page.$$(`${state('ws', 'connection.reconnecting')}.active`)).toHaveLength(0);
    const recoveredMs = performance.now() - killedAt;
    expect(recoveredMs).toBeLessThan(20_000);

    const logLines = await page.$$eval('#log li', (lis) => lis.map((li) => li.textContent ?? ''));
    expect(logLines.some((l) => /ws\/connection#\d+: ready(\.\w+)? → reconnecting/.test(l))).toBe(true);
    // Back to ready through the handshake; a known 2026 verdict is adopted as the socket opens.
    const backToReady =
      era === 'modern'
        ? /ws\/connection#\d+: connecting → ready(\.\w+)? \(done openTransport\)/
        : /ws\/connection#\d+: negotiating(\.\w+)? → ready(\.\w+)? \(done negotiateSession\)/;
    expect(logLines.some((l) => backToReady.test(l))).toBe(true);
    expect(logLines.every((l) => /^\d\d:\d\d:\d\d\.\d{3}/.test(l))).toBe(true);
    // `pinged` pinged every 300 ms all along; none of it is in the log.
    await expect.poll(() => heartbeats, { timeout: 5_000 }).toBeGreaterThan(2);
    expect(logLines.filter((l) => /ready\.(waiting|pinging) → ready\.(waiting|pinging)/.test(l))).toEqual([]);

    await page.waitForSelector('section[data-server="ws"] [data-figure="reconnects"] dd:text-is("1")');
    // Every actor belongs to its server, the queue and breaker made by the calls too: no section
    // for actors of no server.
    expect(await page.$$('section[data-server="ws"] .actor[data-machine="breaker"]')).toHaveLength(1);
    expect(await page.$$eval('section.server', (s) => s.map((n) => n.getAttribute('data-server')))).toEqual([
      'http',
      'pinged',
      'ws',
    ]);
    // Figures in words: no JSON, no epoch milliseconds, no raw keys.
    const figureText = await page.$$eval('.figures', (f) => f.map((n) => n.textContent ?? '').join('\n'));
    expect(figureText).not.toMatch(/[{}]|\d{12,}|bucketStartMs|readyCount/);
    // docs/inspector.png: the page as it opens, charts collapsed (INSPECTOR_SCREENSHOT=docs/inspector.png).
    if (process.env.INSPECTOR_SCREENSHOT) {
      await page.screenshot({ path: process.env.INSPECTOR_SCREENSHOT, fullPage: true });
    }
    // One click opens a server's charts.
    await page.click(`${charts} > summary`);
    expect(await page.isVisible(`${charts} svg`)).toBe(true);
    const shot = join(dir, 'inspector.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('shows no secret, in the page or in what the server sends', async () => {
    const html = await page.content();
    expect(html).not.toContain(SECRET);
    const snapshot = await (await fetch(new URL('/snapshot.json', inspector.url))).text();
    expect(snapshot).toContain('"ws"');
    expect(snapshot).not.toContain(SECRET);
    const events = await fetch(new URL('/events', inspector.url));
    const reader = events.body!.getReader();
    const { value } = await reader.read();
    await reader.cancel();
    const first = new TextDecoder().decode(value);
    expect(first).toContain('"type":"hello"');
    expect(first).not.toContain(SECRET);
  });

  it('serves only its own assets and charts, GET only', async () => {
    expect((await fetch(new URL('/charts/connection.svg', inspector.url))).status).toBe(200);
    expect((await fetch(new URL('/charts/..%2Fpackage.svg', inspector.url))).status).toBe(404);
    expect((await fetch(new URL('/nosuch', inspector.url))).status).toBe(404);
    expect((await fetch(inspector.url, { method: 'POST' })).status).toBe(405);
    expect(new URL(inspector.url).hostname).toBe('127.0.0.1');
  });
});
