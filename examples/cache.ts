/**
 * The cache: resource reads (and, on request, results of read-only tools) are cached per server
 * with an LRU bound and a TTL; concurrent reads share one request; `cache: false` bypasses it.
 * Run: npx tsx examples/cache.ts [ws://host:port]
 */
import { createRuntime } from '../src/index.js';
import { demoTarget, textOf } from './demo-target.js';

const demo = await demoTarget();
try {
  await using rt = createRuntime({
    servers: { demo: { url: demo.url } },
    cache: { maxSize: 500, ttlMs: 30_000 },
  });
  await rt.listTools('demo'); // the registry learns which tools are read-only
  for (let i = 0; i < 5; i++) await rt.readResource('demo', 'demo://greeting');
  await rt.readResource('demo', 'demo://greeting', { cache: false }); // always fresh
  const add = await rt.callTool('demo', 'add', { a: 1, b: 2 }, { cache: true }); // read-only tool: cached
  await rt.callTool('demo', 'add', { a: 1, b: 2 }, { cache: true });
  console.log(`add: ${textOf(add)}`);
  const s = rt.cache.stats();
  console.log(`cache: ${s.hits} hits, ${s.misses} misses, ${s.size} entries`);
  rt.cache.clear('demo');
  console.log(`cache after clear: ${rt.cache.stats().size} entries`);
} finally {
  await demo.close();
}
