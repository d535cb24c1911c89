/**
 * Session handlers: requests the SERVER sends to the client — sampling (run a model), elicitation
 * (ask the user) and roots (where the server may work) — answered by handlers in the config. A
 * capability is only declared when its handler exists. The demo server never asks for these, so
 * this example talks to `@modelcontextprotocol/server-everything` over stdio (a child process the
 * runtime starts and stops). Run: npx tsx examples/session-handlers.ts
 */
import { createRequire } from 'node:module';
import { createRuntime } from '../src/index.js';
import { textOf } from './demo-target.js';

const everything = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-everything/dist/index.js',
);

await using rt = createRuntime({
  servers: { everything: { command: process.execPath, args: [everything, 'stdio'] } },
  handlers: {
    sampling: async (params, { server }) => {
      const prompt = (params.messages[0]?.content as { text?: string } | undefined)?.text;
      console.log(`sampling asked by ${server}: ${prompt}`);
      return {
        role: 'assistant',
        model: 'example-model',
        content: { type: 'text', text: `a reply to ${prompt}` },
      };
    },
    elicitation: async (params) => {
      console.log(`elicitation: ${params.message}`);
      return { action: 'accept', content: { name: 'Ada', color: 'blue' } };
    },
    roots: async () => [{ uri: 'file:///work/project', name: 'project' }],
  },
});
await rt.start();

// server-everything adds these tools once it knows what the client can do: wait for them.
for (let i = 0; i < 50 && !rt.findTool('everything.trigger-sampling-request'); i++) {
  await rt.refreshTools(['everything']);
  if (!rt.findTool('everything.trigger-sampling-request')) await new Promise((r) => setTimeout(r, 100));
}
const sampled = await rt.callTool('everything', 'trigger-sampling-request', {
  prompt: 'hello',
  maxTokens: 5,
});
console.log(
  `sampling result: ${textOf(sampled).includes('a reply to') ? 'the model reply reached the server' : textOf(sampled)}`,
);
const elicited = await rt.callTool('everything', 'trigger-elicitation-request');
console.log(`elicitation result: ${textOf(elicited).split('\n')[0]}`);
const roots = await rt.callTool('everything', 'get-roots-list');
console.log(
  `roots seen by the server: ${textOf(roots).includes('file:///work/project') ? 'file:///work/project' : '?'}`,
);
