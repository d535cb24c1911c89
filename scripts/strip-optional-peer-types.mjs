// After `tsc`: the emitted declarations of the telemetry internals import types from
// `@opentelemetry/api`, an OPTIONAL peer dependency. A consumer without it, typechecking with
// `skipLibCheck: false`, would get TS2307. Those types never appear in the public API, so in the
// emitted .d.ts they become opaque (`unknown`): nothing a user can reach changes.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const PEERS = ['@opentelemetry/api', 'ioredis'];

function* declarations(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* declarations(path);
    else if (name.endsWith('.d.ts')) yield path;
  }
}

let changed = 0;
for (const file of declarations('dist')) {
  const text = readFileSync(file, 'utf8');
  let out = text;
  for (const peer of PEERS) {
    const quoted = peer.replace(/[/.]/g, '\\$&');
    out = out.replace(new RegExp(`^import type \\{([^}]*)\\} from '${quoted}';$`, 'gm'), (_, names) =>
      names
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean)
        .map((n) => {
          const [orig, alias] = n.replace(/^type\s+/, '').split(/\s+as\s+/);
          return `type ${alias ?? orig} = unknown;`;
        })
        .join(' '),
    );
    out = out.replace(new RegExp(`typeof import\\('${quoted}'\\)`, 'g'), 'unknown');
  }
  if (out !== text) {
    writeFileSync(file, out);
    changed++;
  }
}
console.log(`strip-optional-peer-types: ${changed} declaration files made independent of optional peers`);
