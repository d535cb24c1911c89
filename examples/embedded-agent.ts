/**
 * Embedding: the runtime as one more actor of the application's own XState system. The agent
 * (examples/embedded-agent-machine.ts, drawn in docs/statecharts/embeddedAgent.svg) invokes
 * `mcpRuntimeLogic`, calls a tool per task, and when the primary server's breaker opens it switches
 * to the fallback server. Two demo servers run in this process; the primary is stopped after two
 * tasks. Run: npx tsx examples/embedded-agent.ts
 */
import { createActor, toPromise } from 'xstate';
import { startDemoServer } from '../src/demo/demo-server.js';
import { embeddedAgentMachine } from './embedded-agent-machine.js';

const primary = await startDemoServer();
const fallback = await startDemoServer();
const agent = createActor(embeddedAgentMachine, {
  input: {
    config: {
      servers: { primary: { url: primary.wsUrl }, fallback: { url: fallback.wsUrl } },
      // Two failures open the breaker; it stays open longer than this example runs.
      defaults: {
        breaker: { failureThreshold: 2, resetTimeoutMs: 30_000 },
        reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
      },
    },
    primary: 'primary',
    fallback: 'fallback',
    tasks: ['one', 'two', 'three', 'four', 'five', 'six'],
    callTimeoutMs: 500,
    maxAttempts: 5,
  },
});
let printed = 0;
let primaryStopped = false;
agent.subscribe((snap) => {
  for (const a of snap.context.answers.slice(printed))
    console.log(`task ${a.task}: answered by ${a.server} (${a.text})`);
  printed = snap.context.answers.length;
  if (printed === 2 && !primaryStopped) {
    primaryStopped = true;
    console.log('stopping the primary server');
    void primary.close();
  }
});
agent.start();
const { answers, log } = await toPromise(agent);
for (const line of log) console.log(`agent saw: ${line}`);
const by = (s: string) => answers.filter((a) => a.server === s).length;
console.log(
  `agent ${agent.getSnapshot().value}: ${answers.length} tasks, ${by('primary')} by primary, ${by('fallback')} by fallback`,
);
await fallback.close();
await primary.close();
