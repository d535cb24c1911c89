/**
 * One benchmark target in a closed loop, for profiling a row alone:
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile-loop.ts \
 *     --target=runtime|v2|v1|path --transport=memory|websocket|http --era=2025|2026 [--seconds=4] [--inFlight=64]
 *
 * (`--heap-prof` for allocation sampling.) WebSocket targets talk to the bench server child; in
 * memory, the server shares this process (and its profile). Prints calls/s and CPU µs per call.
 */
import { parseArgs } from 'node:util';
import {
  callPathOver,
  type Era,
  inMemoryServer,
  runtimeTarget,
  sdkHttp,
  sdkInMemory,
  sdkV2InMemory,
  sdkV2WebSocket,
  sdkWebSocket,
  type Target,
} from './clients.js';
import { throughput } from './harness.js';
import { startBenchServers } from './server-process.js';

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'runtime' },
    transport: { type: 'string', default: 'memory' },
    era: { type: 'string', default: '2025' },
    seconds: { type: 'string', default: '4' },
    inFlight: { type: 'string', default: '64' },
    window: { type: 'string' },
  },
  strict: true,
});
const era = values.era as Era;
const inFlight = Number(values.inFlight);
const window = Number(values.window ?? inFlight);
const servers = values.transport === 'memory' ? undefined : await startBenchServers();
const url =
  values.transport === 'http'
    ? era === '2025'
      ? servers?.mcpHttpUrl
      : servers?.leanHttpUrl
    : era === '2025'
      ? servers?.mcpWsUrl
      : servers?.mcpWs2026Url;

async function open(): Promise<Target> {
  switch (values.target) {
    case 'v1':
    case 'v2':
      if (values.transport === 'http' && url) return sdkHttp(values.target, url);
      return url ? sdkWebSocket(values.target, url) : sdkInMemory(values.target, era);
    case 'path': {
      const sdk = url ? await sdkV2WebSocket(url) : await sdkV2InMemory(era);
      const path = callPathOver(sdk.client, window);
      return {
        call: path.call,
        close: async () => {
          await path.close();
          await sdk.close();
        },
      };
    }
    default:
      return runtimeTarget(
        url
          ? { url, queue: { concurrency: window } }
          : { mock: inMemoryServer(era), queue: { concurrency: window } },
      );
  }
}

const t = await open();
await throughput(t.call, inFlight, 500); // warm-up
const m = await throughput(t.call, inFlight, Number(values.seconds) * 1000);
console.log(
  `${values.target} ${values.transport} ${era} @${inFlight}: ${m.callsPerSec.toFixed(0)} calls/s, ${m.cpuUsPerCall.toFixed(1)} µs CPU/call`,
);
await t.close();
await servers?.stop();
process.exit(0);
