/**
 * What one connection holds, by heap snapshot: a bare SDK v2 Client vs a runtime pool member
 * (the two variants of bench/heap-child.ts), each in its own child process.
 *
 *   npx tsx bench/heap-snapshot.ts [count=200] [top=40]
 *
 * Under tsx every closure that esbuild names (`keepNames`: `onclose: () => ...`, `const f = () =>`)
 * gets its own property array (~256 B) that compiled code does not have. To measure the children as
 * compiled code runs, bundle this file without tsx and name the bundle:
 *
 *   npx esbuild bench/heap-snapshot.ts --bundle --platform=node --format=esm --packages=external \
 *     --outfile=node_modules/.cache/heap-snapshot.mjs
 *   HEAP_SNAPSHOT_BUNDLE=node_modules/.cache/heap-snapshot.mjs npx tsx bench/heap-snapshot.ts
 *
 * Each child opens one connection and closes it (warm-up), takes a heap snapshot, opens `count`
 * connections (connected, one echo call each), takes another, and sums the self size of every
 * object born in between (ids absent from the first snapshot), by kind. The table lists bytes and
 * objects per connection of each variant and the difference, largest first. Kinds: an object's
 * constructor; a closure's function name; arrays, contexts and other internal objects by what holds
 * them (`(array) Foo.bar`: the array in property `bar` of a `Foo`).
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeHeapSnapshot } from 'node:v8';
import { startBenchServers, TSX_LOADER_URL } from './server-process.js';

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[]];
      edge_fields: string[];
      edge_types: [string[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** Bytes and object count per kind of the objects born between two snapshots. */
type Births = Record<string, { bytes: number; count: number }>;

/** Reads a snapshot and deletes its file (kept when HEAP_SNAPSHOT_KEEP=1, to open in DevTools). */
function readSnapshot(path: string): Snapshot {
  const s = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  if (process.env.HEAP_SNAPSHOT_KEEP !== '1') rmSync(path);
  else process.stderr.write(`kept ${path}\n`);
  return s;
}

function ids(s: Snapshot): Set<number> {
  const width = s.snapshot.meta.node_fields.length;
  const idField = s.snapshot.meta.node_fields.indexOf('id');
  const out = new Set<number>();
  for (let i = 0; i < s.nodes.length; i += width) out.add(s.nodes[i + idField] as number);
  return out;
}

/** The objects of `after` not in `before`, summed by kind. */
function births(before: Set<number>, after: Snapshot): Births {
  const { meta } = after.snapshot;
  const width = meta.node_fields.length;
  const [typeF, nameF, idF, sizeF, edgeCountF] = ['type', 'name', 'id', 'self_size', 'edge_count'].map((f) =>
    meta.node_fields.indexOf(f),
  ) as [number, number, number, number, number];
  const edgeWidth = meta.edge_fields.length;
  const [eTypeF, eNameF, eToF] = ['type', 'name_or_index', 'to_node'].map((f) =>
    meta.edge_fields.indexOf(f),
  ) as [number, number, number];
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const { nodes, edges, strings } = after;
  const count = nodes.length / width;
  const born = new Uint8Array(count);
  for (let n = 0; n < count; n++) born[n] = before.has(nodes[n * width + idF] as number) ? 0 : 1;
  // One holder for each newborn: the first strong edge from an object with a name worth showing.
  const holder = new Int32Array(count).fill(-1);
  const holderEdge: string[] = new Array(count);
  let e = 0;
  for (let n = 0; n < count; n++) {
    const edgeCount = nodes[n * width + edgeCountF] as number;
    const fromType = nodeTypes[nodes[n * width + typeF] as number];
    for (let k = 0; k < edgeCount; k++, e += edgeWidth) {
      const to = (edges[e + eToF] as number) / width;
      if (!born[to] || holder[to] !== -1) continue;
      const eType = edgeTypes[edges[e + eTypeF] as number];
      if (eType === 'weak' || eType === 'shortcut') continue;
      if (fromType === 'synthetic' || fromType === 'object shape') continue;
      holder[to] = n;
      holderEdge[to] =
        eType === 'element' || eType === 'hidden'
          ? `[${edges[e + eNameF]}]`
          : strings[edges[e + eNameF] as number]!;
    }
  }
  const nameOf = (n: number) =>
    strings[nodes[n * width + nameF] as number] || `(${nodeTypes[nodes[n * width + typeF] as number]})`;
  const heldBy = (n: number) => {
    const h = holder[n] as number;
    return h === -1 ? '?' : `${nameOf(h).slice(0, 40)}.${holderEdge[n]}`;
  };
  const out: Births = {};
  for (let n = 0; n < count; n++) {
    if (!born[n]) continue;
    const type = nodeTypes[nodes[n * width + typeF] as number];
    let kind: string;
    // Plain objects and anonymous closures say little by themselves: name what holds them.
    if (type === 'object') kind = nameOf(n) === 'Object' ? `Object ${heldBy(n)}` : nameOf(n);
    else if (type === 'closure') kind = `closure ${nameOf(n)} ${nameOf(n) === '(closure)' ? heldBy(n) : ''}`;
    else if (type === 'string' || type === 'concatenated string' || type === 'sliced string')
      kind = '(string)';
    else
      kind = `(${type}${type === 'hidden' || type === 'code' ? ` ${nameOf(n).slice(0, 30)}` : ''}) ${heldBy(n)}`;
    const entry = out[kind] ?? { bytes: 0, count: 0 };
    out[kind] = entry;
    entry.bytes += nodes[n * width + sizeF] as number;
    entry.count++;
  }
  return out;
}

async function child(url: string, variant: string, count: number): Promise<void> {
  // heap-child.ts opens the connections; its module runs rounds, so drive the same code here.
  const { openOne } = await import('./heap-open.js');
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  const settle = () => {
    for (let i = 0; i < 4; i++) gc();
  };
  await (await openOne(url, variant)).close();
  settle();
  const first = join(tmpdir(), `heap-${process.pid}-a.heapsnapshot`);
  writeHeapSnapshot(first);
  const opened = [];
  for (let i = 0; i < count; i++) opened.push(await openOne(url, variant));
  settle();
  const second = join(tmpdir(), `heap-${process.pid}-b.heapsnapshot`);
  writeHeapSnapshot(second);
  // Read only now: the first snapshot's ids would be newborns of the second.
  const born = births(ids(readSnapshot(first)), readSnapshot(second));
  for (const o of opened) await o.close();
  process.stdout.write(`${JSON.stringify(born)}\n`);
  process.exit(0);
}

function run(url: string, variant: string, count: number): Promise<Births> {
  const bundle = process.env.HEAP_SNAPSHOT_BUNDLE;
  const c = spawn(
    process.execPath,
    [
      '--expose-gc',
      '--max-old-space-size=4096',
      ...(bundle ? [bundle] : ['--import', TSX_LOADER_URL, fileURLToPath(import.meta.url)]),
      'child',
      url,
      variant,
      String(count),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  c.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  return new Promise((resolve, reject) =>
    c.once('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as Births)
        : reject(new Error(`${variant}: exit ${code}`)),
    ),
  );
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'child') {
  await child(rest[0]!, rest[1]!, Number(rest[2]));
} else {
  const count = Number(mode ?? 200);
  const top = Number(rest[0] ?? 40);
  const servers = await startBenchServers();
  try {
    // One at a time: the snapshots are large and the machine is shared.
    const sdk = await run(servers.mcpWsUrl, 'sdk', count);
    const pooled = await run(servers.mcpWsUrl, 'pooled', count);
    const kinds = new Set([...Object.keys(sdk), ...Object.keys(pooled)]);
    const per = (b: Births, k: string) => ({
      bytes: (b[k]?.bytes ?? 0) / count,
      n: (b[k]?.count ?? 0) / count,
    });
    const rows = [...kinds]
      .map((k) => ({ k, sdk: per(sdk, k), pooled: per(pooled, k) }))
      .sort((a, b) => b.pooled.bytes - b.sdk.bytes - (a.pooled.bytes - a.sdk.bytes));
    const total = (b: Births) => Object.values(b).reduce((s, x) => s + x.bytes, 0) / count;
    const fmt = (x: number) => x.toFixed(0).padStart(7);
    const fmtN = (x: number) => x.toFixed(1).padStart(6);
    process.stdout.write(
      `per connection (count ${count}): sdk ${total(sdk).toFixed(0)} B, pooled ${total(pooled).toFixed(0)} B, ` +
        `ratio ${(total(pooled) / total(sdk)).toFixed(2)}\n` +
        `${'Δbytes'.padStart(7)} ${'pooled'.padStart(7)} ${'n'.padStart(6)} ${'sdk'.padStart(7)} ${'n'.padStart(6)}  kind\n`,
    );
    for (const r of rows.slice(0, top)) {
      process.stdout.write(
        `${fmt(r.pooled.bytes - r.sdk.bytes)} ${fmt(r.pooled.bytes)} ${fmtN(r.pooled.n)} ${fmt(r.sdk.bytes)} ${fmtN(r.sdk.n)}  ${r.k}\n`,
      );
    }
  } finally {
    await servers.stop();
  }
}
