/**
 * The `mcp-actors` subcommands that talk to servers: connect, call, read, tools, watch, inspect.
 * Each resolves its target (config name, URL or command), runs a runtime for the duration of the
 * command and closes it, and prints text or, with `--json`, one JSON document.
 */
import type { CallToolResult, ReadResourceResult } from '@modelcontextprotocol/client';
import { ToolError } from '../errors/index.js';
import type { RuntimeConfig } from '../runtime/config.js';
import type { McpRuntime } from '../runtime/runtime.js';
import { resolveTarget } from './config-file.js';
import { EXIT, jsonForTerminal, type Output, UsageError } from './output.js';

/** What a command gets from the command line. */
export interface CommandContext {
  out: Output;
  positionals: string[];
  /** Arguments after `--` (a command line to run as a stdio server). */
  rest: string[];
  values: Record<string, string | boolean | undefined>;
  config: RuntimeConfig | undefined;
  usage: string;
}

function timeoutOf(ctx: CommandContext): number | undefined {
  const raw = ctx.values.timeout;
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0)
    throw new UsageError(`--timeout must be a positive integer (ms), got ${raw}`, ctx.usage);
  return n;
}

/** Loads the runtime on first use, so bad arguments are reported without loading it. */
async function newRuntime(config: RuntimeConfig): Promise<McpRuntime> {
  const { createRuntime } = await import('../runtime/runtime.js');
  return createRuntime(config);
}

/** The exit code after Ctrl-C (128 + SIGINT), as shells report it. */
const EXIT_INTERRUPTED = 130;

/**
 * Runs `run` with a runtime and closes it. Ctrl-C (or SIGTERM) closes the runtime before the
 * process exits: a stdio child leads its own process group, so the terminal's signal does not reach
 * it, and only `close()` makes sure it is gone. `watch` handles the signals itself (`signals: false`).
 */
async function withRuntime<T>(
  config: RuntimeConfig,
  run: (rt: McpRuntime) => Promise<T>,
  signals = true,
): Promise<T> {
  const rt = await newRuntime(config);
  const onSignal = (): void => {
    void rt.close().finally(() => process.exit(EXIT_INTERRUPTED));
  };
  if (signals) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  try {
    return await run(rt);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await rt.close();
  }
}

function textOf(content: ReadonlyArray<{ type: string; text?: string }> | undefined): string[] {
  return (content ?? []).map((c) => (c.type === 'text' ? (c.text ?? '') : `[${c.type}]`));
}

/** `connect <url> | connect -- command args...`: server info, capabilities, tools. */
export async function connectCommand(ctx: CommandContext): Promise<number> {
  const target = ctx.rest.length > 0 ? ctx.rest : ctx.positionals[0];
  if (!target || (ctx.rest.length > 0 && ctx.positionals.length > 0) || ctx.positionals.length > 1) {
    throw new UsageError('connect takes one server (name or URL) or a command after --', ctx.usage);
  }
  const { config, server } = resolveTarget(target, ctx.config);
  return withRuntime(config, async (rt) => {
    const timeoutMs = timeoutOf(ctx);
    await rt.start([server]);
    const snap = rt.snapshot().servers[server] as {
      session?: Record<string, unknown> | null;
      transport?: string;
      protocol?: { era: string | null; version: string | null };
    };
    const list = async <T>(run: () => Promise<T[]>): Promise<T[] | null> => run().catch(() => null);
    const opts = timeoutMs ? { timeoutMs } : {};
    const tools = await list(() => rt.listTools(server, opts));
    const resources = await list(() => rt.listResources(server, opts));
    const prompts = await list(() => rt.listPrompts(server, opts));
    const session = snap.session ?? {};
    if (ctx.out.json) {
      ctx.out.data({
        ok: true,
        server,
        transport: snap.transport,
        session,
        capabilities: { tools: tools !== null, resources: resources !== null, prompts: prompts !== null },
        tools: tools?.map((t) => ({ name: t.name, description: t.description })) ?? [],
        resources: resources?.map((r) => ({ uri: r.uri, name: r.name })) ?? [],
        prompts: prompts?.map((p) => ({ name: p.name, description: p.description })) ?? [],
      });
      return EXIT.ok;
    }
    const o = ctx.out;
    o.line(
      `${o.paint(32, 'connected')} to ${o.paint(1, String(session.serverName ?? server))} ${session.serverVersion ?? ''} over ${snap.transport}`,
    );
    const era = snap.protocol?.era;
    o.line(
      `protocol ${session.protocolVersion ?? snap.protocol?.version ?? '?'}${era ? ` (${era === 'modern' ? 'stateless, 2026 era' : 'sessions, 2025 era'})` : ''}`,
    );
    o.line(
      `capabilities: ${[tools && 'tools', resources && 'resources', prompts && 'prompts'].filter(Boolean).join(', ') || 'none'}`,
    );
    if (tools) {
      o.line(o.paint(1, `tools (${tools.length})`));
      for (const t of tools) o.line(`  ${o.paint(36, t.name)}${t.description ? `  ${t.description}` : ''}`);
    }
    if (resources?.length) {
      o.line(o.paint(1, `resources (${resources.length})`));
      for (const r of resources) o.line(`  ${o.paint(36, r.uri)}${r.name ? `  ${r.name}` : ''}`);
    }
    if (prompts?.length) {
      o.line(o.paint(1, `prompts (${prompts.length})`));
      for (const p of prompts) o.line(`  ${o.paint(36, p.name)}${p.description ? `  ${p.description}` : ''}`);
    }
    return EXIT.ok;
  });
}

/**
 * The target of a one-server command and its other positionals: a command after `--` (a stdio
 * server, no config file needed), else the first positional (a configured name or a URL).
 */
function targetOf(ctx: CommandContext): { target: string | string[] | undefined; args: string[] } {
  if (ctx.rest.length > 0) return { target: ctx.rest, args: ctx.positionals };
  const [target, ...args] = ctx.positionals;
  return { target, args };
}

/** `call <server-or-url> <tool> [json] | call <tool> [json] -- command args...`: calls a tool. */
export async function callCommand(ctx: CommandContext): Promise<number> {
  const { target, args: positionals } = targetOf(ctx);
  const [tool, json, ...extra] = positionals;
  if (!target || !tool || extra.length > 0) {
    throw new UsageError(
      'call needs <server-or-url> <tool> [json-arguments] (or <tool> [json] -- command)',
      ctx.usage,
    );
  }
  let args: Record<string, unknown> = {};
  if (json !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch (error) {
      throw new UsageError(`the arguments are not valid JSON: ${(error as Error).message}`, ctx.usage);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new UsageError('the arguments must be a JSON object, e.g. \'{"text":"hi"}\'', ctx.usage);
    }
    args = parsed as Record<string, unknown>;
  }
  const { config, server } = resolveTarget(target, ctx.config);
  const timeoutMs = timeoutOf(ctx);
  return withRuntime(config, async (rt) => {
    let result: CallToolResult;
    try {
      result = await rt.callTool(server, tool, args, {
        ...(timeoutMs ? { timeoutMs } : {}),
        onProgress: (p) => ctx.out.progress(p),
      });
    } catch (error) {
      if (error instanceof ToolError && ctx.out.json) {
        ctx.out.data({ ok: false, error: error.toJSON(), result: error.result });
        return EXIT.failed;
      }
      throw error;
    }
    if (ctx.out.json) ctx.out.data({ ok: true, result });
    else {
      for (const t of textOf(result.content as Array<{ type: string; text?: string }>)) ctx.out.line(t);
      if (result.structuredContent) ctx.out.line(JSON.stringify(result.structuredContent, null, 2));
    }
    return EXIT.ok;
  });
}

function printContents(out: Output, result: ReadResourceResult): void {
  for (const c of result.contents) {
    if ('text' in c && typeof c.text === 'string') out.line(c.text);
    else
      out.line(
        `[${c.mimeType ?? 'binary'} ${c.uri}, ${String((c as { blob?: string }).blob?.length ?? 0)} base64 chars]`,
      );
  }
}

/** `read <server-or-url> <uri> | read <uri> -- command args...`: prints a resource. */
export async function readCommand(ctx: CommandContext): Promise<number> {
  const { target, args } = targetOf(ctx);
  const [uri, ...extra] = args;
  if (!target || !uri || extra.length > 0)
    throw new UsageError('read needs <server-or-url> <uri> (or <uri> -- command)', ctx.usage);
  const { config, server } = resolveTarget(target, ctx.config);
  const timeoutMs = timeoutOf(ctx);
  return withRuntime(config, async (rt) => {
    const result = await rt.readResource(server, uri, {
      ...(timeoutMs ? { timeoutMs } : {}),
      onProgress: (p) => ctx.out.progress(p),
    });
    if (ctx.out.json) ctx.out.data({ ok: true, result });
    else printContents(ctx.out, result);
    return EXIT.ok;
  });
}

/** `tools [server-or-url...] | tools -- command args...`: the tools of every server (or of the ones named). */
export async function toolsCommand(ctx: CommandContext): Promise<number> {
  const targets: Array<string | string[]> = ctx.rest.length > 0 ? [ctx.rest] : ctx.positionals;
  if (ctx.rest.length > 0 && ctx.positionals.length > 0) {
    throw new UsageError('tools takes server names or URLs, or one command after --, not both', ctx.usage);
  }
  if (targets.length === 0 && !ctx.config) {
    throw new UsageError(
      'tools needs a config file (mcp-actors.config.json or --config FILE), a server URL or a command after --',
      ctx.usage,
    );
  }
  const schemas = ctx.values.schema === true;
  const runs =
    targets.length === 0
      ? Object.keys(ctx.config!.servers ?? {}).map((server) => ({ config: ctx.config!, server }))
      : targets.map((t) => resolveTarget(t, ctx.config));
  const rows: Array<{ server: string; name: string; description?: string; inputSchema?: unknown }> = [];
  const failures: Array<{ server: string; error: unknown }> = [];
  for (const { config, server } of runs) {
    await withRuntime(config, async (rt) => {
      const timeoutMs = timeoutOf(ctx);
      try {
        const tools = await rt.listTools(server, timeoutMs ? { timeoutMs } : {});
        for (const t of tools)
          rows.push({
            server,
            name: t.name,
            ...(t.description ? { description: t.description } : {}),
            ...(schemas ? { inputSchema: t.inputSchema } : {}),
          });
      } catch (error) {
        failures.push({ server, error });
      }
    });
  }
  if (ctx.out.json) {
    ctx.out.data({
      ok: failures.length === 0,
      tools: rows,
      ...(failures.length
        ? { errors: failures.map((f) => ({ server: f.server, message: (f.error as Error).message })) }
        : {}),
    });
  } else {
    const width = Math.max(0, ...rows.map((r) => r.server.length));
    for (const r of rows) {
      ctx.out.line(
        `${r.server.padEnd(width)}  ${ctx.out.paint(36, r.name)}${r.description ? `  ${r.description}` : ''}`,
      );
      if (schemas) ctx.out.line(indent(jsonForTerminal(r.inputSchema ?? {}), width + 4));
    }
    for (const f of failures) ctx.out.note(`${f.server}: ${(f.error as Error).message}`);
  }
  return failures.length ? EXIT.failed : EXIT.ok;
}

function indent(text: string, columns: number): string {
  const pad = ' '.repeat(columns);
  return text
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
}

/** `watch [server-or-url] <uri>`: prints the resource, then again on every update, until Ctrl-C. */
export async function watchCommand(ctx: CommandContext): Promise<number> {
  const [first, second, ...extra] = ctx.positionals;
  if (!first || extra.length > 0) throw new UsageError('watch needs [server-or-url] <uri>', ctx.usage);
  let target = second === undefined ? undefined : first;
  const uri = second ?? first;
  if (target === undefined) {
    const names = Object.keys(ctx.config?.servers ?? {});
    if (names.length !== 1) {
      throw new UsageError(
        'name the server (watch <server-or-url> <uri>) when the config has not exactly one',
        ctx.usage,
      );
    }
    target = names[0]!;
  }
  const max = ctx.values.count === undefined ? Number.POSITIVE_INFINITY : Number(ctx.values.count);
  if (!(max > 0) || (Number.isFinite(max) && !Number.isInteger(max))) {
    throw new UsageError(`--count must be a positive integer, got ${ctx.values.count}`, ctx.usage);
  }
  const { config, server } = resolveTarget(target, ctx.config);
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await withRuntime(
      config,
      async (rt) => {
        const first = await rt.readResource(server, uri);
        emit(ctx.out, uri, first, 0);
        let seen = 0;
        for await (const update of rt.watch(server, uri, { signal: stop.signal })) {
          seen++;
          emit(ctx.out, uri, update as ReadResourceResult, seen);
          if (seen >= max) break;
        }
        return EXIT.ok;
      },
      false,
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function emit(out: Output, uri: string, result: ReadResourceResult, update: number): void {
  if (out.json)
    out.stdout.write(`${jsonForTerminal({ uri, update, at: new Date().toISOString(), result }, 0)}\n`);
  else {
    out.line(out.paint(2, `── ${new Date().toISOString()} ${uri}${update ? ` (update ${update})` : ''}`));
    printContents(out, result);
  }
}

/** `inspect [--port N]`: serves the live inspector for the configured servers until Ctrl-C. */
export async function inspectCommand(ctx: CommandContext): Promise<number> {
  if (ctx.positionals.length > 0)
    throw new UsageError('inspect takes no arguments (servers come from the config)', ctx.usage);
  if (!ctx.config)
    throw new UsageError('inspect needs a config file (mcp-actors.config.json or --config FILE)', ctx.usage);
  const port = ctx.values.port === undefined ? 0 : Number(ctx.values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new UsageError(`--port must be a port number, got ${ctx.values.port}`, ctx.usage);
  }
  const rt = await newRuntime(ctx.config);
  const inspector = await rt.inspect({ port });
  if (ctx.out.json) ctx.out.stdout.write(`${jsonForTerminal({ url: inspector.url }, 0)}\n`);
  else ctx.out.line(`inspector at ${ctx.out.paint(1, inspector.url)} (Ctrl-C stops)`);
  rt.on('error', (e) => ctx.out.note(`${e.server}: ${e.error.code} ${e.error.message}`));
  const started = Promise.allSettled(rt.serverNames.map((s) => rt.start([s])));
  void started.then((results) =>
    results.forEach((r, i) => {
      if (r.status === 'rejected') ctx.out.note(`${rt.serverNames[i]}: ${(r.reason as Error).message}`);
    }),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await inspector.close();
  await rt.close();
  return EXIT.ok;
}
