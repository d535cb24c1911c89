import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketClientTransport } from '../../src/actors/websocket-client-transport.js';
import { ConnectionLostError } from '../../src/errors/index.js';
import { type DemoServerProcess, demoStdioCommand, spawnDemoServer } from '../helpers/demo-server-process.js';

function textOf(result: unknown): string {
  return (result as { content: Array<{ text: string }> }).content[0]?.text ?? '';
}

async function wsClient(url: string): Promise<{ client: Client; transport: WebSocketClientTransport }> {
  const transport = new WebSocketClientTransport({ url });
  const client = new Client({ name: 'test', version: '0.0.0' });
  await client.connect(transport);
  return { client, transport };
}

async function httpClient(url: string): Promise<Client> {
  const client = new Client({ name: 'test', version: '0.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

describe('demo server in a child process', () => {
  let demo: DemoServerProcess;
  beforeAll(async () => {
    demo = await spawnDemoServer();
  });
  afterAll(async () => {
    await demo?.kill();
  });

  it('serves the same tools over WebSocket and Streamable HTTP, sharing one counter', async () => {
    const { client: ws } = await wsClient(demo.wsUrl);
    const http = await httpClient(demo.httpUrl);
    try {
      const wsTools = (await ws.listTools()).tools.map((t) => t.name).sort();
      const httpTools = (await http.listTools()).tools.map((t) => t.name).sort();
      expect(wsTools).toEqual(['add', 'ask', 'counter', 'crash', 'echo', 'fail', 'slow']);
      expect(httpTools).toEqual(wsTools);
      expect(textOf(await ws.callTool({ name: 'echo', arguments: { text: 'over ws' } }))).toBe('over ws');
      expect(textOf(await http.callTool({ name: 'add', arguments: { a: 1, b: 2 } }))).toBe('3');
      const first = Number(textOf(await ws.callTool({ name: 'counter', arguments: {} })));
      const second = Number(textOf(await http.callTool({ name: 'counter', arguments: {} })));
      expect(second).toBe(first + 1);
      const progress: number[] = [];
      await http.callTool({ name: 'slow', arguments: { durationMs: 20, steps: 2 } }, undefined, {
        onprogress: (p) => progress.push(p.progress),
      });
      expect(progress.length).toBeGreaterThan(0);
    } finally {
      await ws.close();
      await http.close();
    }
  });

  it('rejects bad tool input with an MCP error and keeps serving', async () => {
    const { client } = await wsClient(demo.wsUrl);
    try {
      const bad = await client.callTool({ name: 'add', arguments: { a: 'one', b: 2 } });
      expect(bad.isError).toBe(true);
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'ok' } }))).toBe('ok');
    } finally {
      await client.close();
    }
  });

  it('a kill -9 fails the pending call and closes the transport; restart on the same ports serves again', async () => {
    const wsUrl = demo.wsUrl;
    const httpUrl = demo.httpUrl;
    const { client, transport } = await wsClient(wsUrl);
    let closes = 0;
    client.onclose = () => {
      closes++;
    };
    let inCall!: () => void;
    const started = new Promise<void>((resolve) => {
      inCall = resolve;
    });
    // The rejection is observed at once (it may land while kill() is still awaited).
    const call = client
      .callTool({ name: 'slow', arguments: { durationMs: 60_000, steps: 600 } }, undefined, {
        onprogress: () => inCall(),
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    await started;
    await demo.kill('SIGKILL');
    expect(demo.exit?.signal).toBe('SIGKILL');
    expect(String(await call)).toMatch(/Connection closed/i);
    expect(closes).toBe(1);
    expect(transport.lastCloseError).toBeInstanceOf(ConnectionLostError);

    // Nothing listens any more.
    await expect(new WebSocketClientTransport({ url: wsUrl }).start()).rejects.toBeInstanceOf(
      ConnectionLostError,
    );

    await demo.restart();
    expect(demo.wsUrl).toBe(wsUrl);
    expect(demo.httpUrl).toBe(httpUrl);
    const again = await wsClient(demo.wsUrl);
    const http = await httpClient(demo.httpUrl);
    try {
      expect(textOf(await again.client.callTool({ name: 'echo', arguments: { text: 'back' } }))).toBe('back');
      expect(textOf(await http.callTool({ name: 'echo', arguments: { text: 'back too' } }))).toBe('back too');
    } finally {
      await again.client.close();
      await http.close();
    }
  });

  it('the crash tool ends the process with exit code 1', async () => {
    const { client } = await wsClient(demo.wsUrl);
    const call = client.callTool({ name: 'crash', arguments: {} });
    await expect(call).rejects.toThrow(/Connection closed/i);
    await demo.kill();
    expect(demo.exit?.code).toBe(1);
    await demo.restart();
  });

  it('SIGTERM shuts down cleanly with exit code 0', async () => {
    await demo.kill('SIGTERM');
    expect(demo.exit).toEqual({ code: 0, signal: null });
  });
});

describe('demo server over stdio', () => {
  it('serves tools over stdio and closes the child', async () => {
    const { command, args, cwd } = demoStdioCommand();
    const transport = new StdioClientTransport({ command, args, cwd, stderr: 'pipe' });
    const client = new Client({ name: 'test', version: '0.0.0' });
    await client.connect(transport);
    try {
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'stdio' } }))).toBe('stdio');
      const pid = transport.pid;
      expect(pid).toBeTypeOf('number');
    } finally {
      await client.close();
    }
  });
});
