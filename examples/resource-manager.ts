/**
 * A custom resource manager on top of the runtime's cache: reads go through `rt.readResource`
 * (concurrent reads share one request; entries are invalidated by `resources/updated`,
 * list_changed and session re-initialisation), templates are expanded, and the manager keeps
 * its own view (which URIs it loaded, and how often it hit the cache).
 * Run: npx tsx examples/resource-manager.ts [ws://host:port]
 */
import { createRuntime, type McpRuntime } from '../src/index.js';
import { demoTarget } from './demo-target.js';

/** Loads resources of one server by URI or template, cached by the runtime. */
class ResourceManager {
  private readonly loaded = new Set<string>();
  constructor(
    private readonly rt: McpRuntime,
    private readonly server: string,
  ) {}

  /** The text of a resource (cached). */
  async text(uri: string): Promise<string> {
    const result = await this.rt.readResource(this.server, uri);
    this.loaded.add(uri);
    return result.contents.map((c) => ('text' in c ? c.text : '')).join('');
  }

  /** The text of a templated resource, e.g. `demo://items/{id}` with `{ id: '2' }`. */
  async fromTemplate(template: string, vars: Record<string, string>): Promise<string> {
    const result = await this.rt.readTemplate(this.server, template, vars);
    return result.contents.map((c) => ('text' in c ? c.text : '')).join('');
  }

  /** Drops this server's cached entries (e.g. when the application knows better). */
  invalidate(): void {
    this.rt.cache.clear(this.server);
  }

  get uris(): string[] {
    return [...this.loaded];
  }
}

const demo = await demoTarget();
try {
  await using rt = createRuntime({
    servers: { demo: { url: demo.url } },
    cache: { maxSize: 100, ttlMs: 60_000 },
  });
  const resources = new ResourceManager(rt, 'demo');
  const [a, b] = await Promise.all([resources.text('demo://greeting'), resources.text('demo://greeting')]);
  console.log(`greeting: ${a} (same: ${a === b})`);
  await resources.text('demo://greeting'); // served from the cache
  console.log(`item 2: ${await resources.fromTemplate('demo://items/{id}', { id: '2' })}`);
  const templates = await rt.listResourceTemplates('demo');
  console.log(`templates: ${templates.map((t) => t.uriTemplate).join(', ')}`);
  const stats = rt.cache.stats();
  console.log(`cache: ${stats.hits} hits, ${stats.misses} misses, loaded ${resources.uris.join(', ')}`);
  resources.invalidate();
} finally {
  await demo.close();
}
