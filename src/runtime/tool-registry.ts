/**
 * The registry of tools and prompts across every server: names qualified as `server.name` (server
 * names cannot contain a dot, so `find('demo.files.read')` is unambiguous: server `demo`, tool
 * `files.read`), refreshed on `notifications/tools/list_changed` / `prompts/list_changed`
 * (debounced: a burst of notifications costs one `list`), arguments validated against the tool's
 * `inputSchema` and `structuredContent` against its `outputSchema` with the runtime's one validator.
 */
import type { Prompt, Tool } from '@modelcontextprotocol/client';
import { validateAgainstSchema } from './schema.js';

/** A tool as the registry exposes it. */
export interface RegisteredTool {
  server: string;
  name: string;
  /** `server.name`. */
  qualifiedName: string;
  title?: string | undefined;
  description?: string | undefined;
  inputSchema: Tool['inputSchema'];
  outputSchema?: Tool['outputSchema'] | undefined;
  /** readOnlyHint, destructiveHint, idempotentHint, openWorldHint, title. */
  annotations?: Tool['annotations'] | undefined;
}

/** A prompt as the registry exposes it. */
export interface RegisteredPrompt {
  server: string;
  name: string;
  /** `server.name`. */
  qualifiedName: string;
  description?: string | undefined;
  arguments?: Prompt['arguments'] | undefined;
}

/** Which list a refresh concerns. */
export type ListKind = 'tools' | 'prompts';

/** What the registry needs from the runtime. */
export interface ToolRegistryDeps {
  /** Lists one server's tools or prompts (through the runtime's call path; feeds `ingest`). */
  list: (server: string, kind: ListKind) => Promise<unknown>;
  /** Called after a refresh changed a server's list. */
  onChanged: (server: string, kind: ListKind) => void;
  /** Reports a failed background refresh. */
  onError: (server: string, error: unknown) => void;
  /** Debounce of list_changed refreshes (ms). */
  debounceMs: number;
}

/** Splits `server.name` at the first dot. */
export function splitQualifiedName(qualified: string): { server: string; name: string } | undefined {
  const dot = qualified.indexOf('.');
  if (dot <= 0 || dot === qualified.length - 1) return undefined;
  return { server: qualified.slice(0, dot), name: qualified.slice(dot + 1) };
}

/** Tools and prompts of every server, kept fresh. */
export class ToolRegistry {
  private readonly toolsByServer = new Map<string, Map<string, RegisteredTool>>();
  /** Per known tool, the definition handed to the SDK with each call (built once). */
  private readonly requestDefinitions = new WeakMap<RegisteredTool, Tool>();
  private readonly promptsByServer = new Map<string, Map<string, RegisteredPrompt>>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(private readonly deps: ToolRegistryDeps) {}

  /** Replaces a server's list with what `tools/list` or `prompts/list` returned. */
  ingest(server: string, kind: ListKind, items: ReadonlyArray<Tool> | ReadonlyArray<Prompt>): void {
    if (kind === 'tools') {
      const map = new Map<string, RegisteredTool>();
      for (const t of items as ReadonlyArray<Tool>) {
        map.set(t.name, {
          server,
          name: t.name,
          qualifiedName: `${server}.${t.name}`,
          title: t.title,
          description: t.description,
          inputSchema: t.inputSchema,
          outputSchema: t.outputSchema,
          annotations: t.annotations,
        });
      }
      this.toolsByServer.set(server, map);
    } else {
      const map = new Map<string, RegisteredPrompt>();
      for (const p of items as ReadonlyArray<Prompt>) {
        map.set(p.name, {
          server,
          name: p.name,
          qualifiedName: `${server}.${p.name}`,
          description: p.description,
          arguments: p.arguments,
        });
      }
      this.promptsByServer.set(server, map);
    }
  }

  /** True once the server's list of `kind` was loaded. */
  isLoaded(server: string, kind: ListKind): boolean {
    return (kind === 'tools' ? this.toolsByServer : this.promptsByServer).has(server);
  }

  /** Every known tool (of one server, or of all). */
  tools(server?: string): RegisteredTool[] {
    return collect(this.toolsByServer, server);
  }

  /** Every known prompt (of one server, or of all). */
  prompts(server?: string): RegisteredPrompt[] {
    return collect(this.promptsByServer, server);
  }

  /** A tool by server and name, or by qualified name alone. */
  findTool(serverOrQualified: string, name?: string): RegisteredTool | undefined {
    const ref =
      name === undefined ? splitQualifiedName(serverOrQualified) : { server: serverOrQualified, name };
    return ref ? this.toolsByServer.get(ref.server)?.get(ref.name) : undefined;
  }

  /** A prompt by server and name, or by qualified name alone. */
  findPrompt(serverOrQualified: string, name?: string): RegisteredPrompt | undefined {
    const ref =
      name === undefined ? splitQualifiedName(serverOrQualified) : { server: serverOrQualified, name };
    return ref ? this.promptsByServer.get(ref.server)?.get(ref.name) : undefined;
  }

  /** True when the tool is annotated read-only (its results may be cached). */
  isReadOnly(server: string, tool: string): boolean {
    return this.toolsByServer.get(server)?.get(tool)?.annotations?.readOnlyHint === true;
  }

  /**
   * The tool's definition for the SDK Client's `callTool({ toolDefinition })`, or undefined when
   * the tool is not known. It has no `outputSchema`: the runtime validates `structuredContent`
   * itself ({@link validateStructuredContent}), so the Client must not validate it a second time.
   */
  requestDefinition(server: string, tool: string): Tool | undefined {
    const t = this.toolsByServer.get(server)?.get(tool);
    if (!t) return undefined;
    let d = this.requestDefinitions.get(t);
    if (!d) {
      d = { name: t.name, inputSchema: t.inputSchema };
      this.requestDefinitions.set(t, d);
    }
    return d;
  }

  /**
   * Throws ValidationError naming the field when `args` do not match the tool's known `inputSchema`.
   * A `null` for an optional top-level property counts as omitted (see {@link withoutOptionalNulls}).
   */
  validateArguments(server: string, tool: string, args: unknown): void {
    const t = this.toolsByServer.get(server)?.get(tool);
    if (!t) return;
    const checked = withoutOptionalNulls(t.inputSchema, args);
    validateAgainstSchema(t.inputSchema, checked, 'arguments', `${tool} on ${server}`, server);
  }

  /** Throws ValidationError naming the field when `structuredContent` does not match the `outputSchema`. */
  validateStructuredContent(server: string, tool: string, structured: unknown): void {
    const schema = this.toolsByServer.get(server)?.get(tool)?.outputSchema;
    if (schema && structured !== undefined) {
      validateAgainstSchema(schema, structured, 'structuredContent', `${tool} on ${server} returned`, server);
    }
  }

  /** Loads a server's list now and reports the change. */
  async refresh(server: string, kind: ListKind): Promise<void> {
    await this.deps.list(server, kind);
    this.deps.onChanged(server, kind);
  }

  /** A `list_changed` arrived: refresh once after the debounce, however many arrive meanwhile. */
  scheduleRefresh(server: string, kind: ListKind): void {
    const key = `${server}\0${kind}`;
    if (this.timers.has(key)) return;
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        this.refresh(server, kind).catch((error: unknown) => this.deps.onError(server, error));
      }, this.deps.debounceMs),
    );
  }

  /** Forgets a server's lists (its session changed) without dropping the last known copy's loaded flag. */
  forget(server: string): void {
    this.toolsByServer.delete(server);
    this.promptsByServer.delete(server);
  }

  /** Cancels pending refreshes. */
  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}

/**
 * `args` without the top-level properties that are `null` and not `required` by `schema`: what
 * validation sees (the call still sends the `null`). Callers use `null` for "not given", and on the
 * 2026-07-28 wire a `null` designated parameter is sent without its `Mcp-Param-*` header
 * (SEP-2243), so refusing it locally would block a call the server accepts. A `null` for a required
 * property, or a wrong non-null type, is still refused.
 *
 * @example
 * withoutOptionalNulls({ type: 'object', properties: { verbose: { type: 'boolean' } } }, { verbose: null });
 * // {}
 */
export function withoutOptionalNulls(schema: { required?: unknown }, args: unknown): unknown {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) return args;
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  const entries = Object.entries(args);
  if (!entries.some(([k, v]) => v === null && !required.has(k))) return args;
  return Object.fromEntries(entries.filter(([k, v]) => v !== null || required.has(k)));
}

function collect<T>(by: Map<string, Map<string, T>>, server?: string): T[] {
  if (server !== undefined) return [...(by.get(server)?.values() ?? [])];
  const out: T[] = [];
  for (const m of by.values()) out.push(...m.values());
  return out;
}
