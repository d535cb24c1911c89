/**
 * The legacy baseline: the same scenarios on the bare SDK v1 `Client` (1.32.2) +
 * `StreamableHTTPClientTransport`, using only what the SDK ships (its auth providers,
 * `finishAuth`). What v1 lacks (the 2026-07-28 wire, MRTR, SEP-990 enterprise-managed
 * authorization, DPoP, workload identity, the skills extension) the scenarios run without, and
 * fail as they would for an SDK v1 user.
 *
 * Run by the suite as `tsx test/conformance/sdk-client.ts <serverUrl>`.
 */

import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import {
  ClientCredentialsProvider,
  PrivateKeyJwtProvider,
} from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { CLIENT_METADATA_URL, MAX_AUTHORIZATIONS, need, readRun, runMain } from './context.js';
import { HeadlessOAuthProvider } from './headless-oauth.js';

const run = readRun();
const url = new URL(run.serverUrl);

function providerFor(): OAuthClientProvider | undefined {
  const ctx = run.context;
  switch (run.scenario) {
    case 'initialize':
    case 'tools_call':
    case 'elicitation-sep1034-client-defaults':
    case 'sse-retry':
    case 'auth/enterprise-managed-authorization':
    case 'auth/wif-jwt-bearer':
      return undefined;
    case 'auth/client-credentials-basic':
      return new ClientCredentialsProvider({
        clientId: need(ctx, 'client_id'),
        clientSecret: need(ctx, 'client_secret'),
      });
    case 'auth/client-credentials-jwt':
      return new PrivateKeyJwtProvider({
        clientId: need(ctx, 'client_id'),
        privateKey: need(ctx, 'private_key_pem'),
        algorithm: ctx.signing_algorithm ?? 'ES256',
      });
    case 'auth/pre-registration':
      return new HeadlessOAuthProvider({
        clientName: 'sdk-baseline',
        clientInformation: { client_id: need(ctx, 'client_id'), client_secret: need(ctx, 'client_secret') },
      });
    default:
      if (!run.scenario.startsWith('auth/')) return undefined;
      return new HeadlessOAuthProvider({
        clientName: 'sdk-baseline',
        clientMetadataUrl: CLIENT_METADATA_URL,
      });
  }
}

async function main(): Promise<void> {
  const provider = providerFor();
  const client = new Client(
    { name: 'sdk-baseline', version: '1.0.0' },
    { capabilities: { elicitation: { form: { applyDefaults: true } } } },
  );
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: {} }));
  let transport = new StreamableHTTPClientTransport(url, provider ? { authProvider: provider } : {});

  // The SDK's interactive flow: an UnauthorizedError means "the user must authorize"; the app
  // finishes with the code on the transport that got the 401, then tries again.
  const authorized = async <T>(step: () => Promise<T>, reconnect: boolean): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await step();
      } catch (error) {
        if (!(error instanceof UnauthorizedError) || !(provider instanceof HeadlessOAuthProvider))
          throw error;
        if (attempt >= MAX_AUTHORIZATIONS - 1) throw error;
        await transport.finishAuth(await provider.waitForAuthorizationCode());
        if (reconnect) transport = new StreamableHTTPClientTransport(url, { authProvider: provider });
      }
    }
  };

  await authorized(() => client.connect(transport), true);
  const { tools } = await authorized(() => client.listTools(), false);
  const pick = (name: string) => tools.find((t) => t.name === name);
  if (pick('add_numbers')) await client.callTool({ name: 'add_numbers', arguments: { a: 2, b: 3 } });
  if (pick('test_client_elicitation_defaults')) {
    await client.callTool({ name: 'test_client_elicitation_defaults', arguments: {} });
  }
  if (pick('test_reconnection')) await client.callTool({ name: 'test_reconnection', arguments: {} });
  if (pick('test-tool')) await authorized(() => client.callTool({ name: 'test-tool', arguments: {} }), false);
  await scenarioCalls(client, tools);
  await transport.close();
}

/** The calls of the scenarios past the basic ones (the same calls as the v2 baseline makes). */
async function scenarioCalls(
  client: Client,
  tools: Array<{ name: string; inputSchema: unknown }>,
): Promise<void> {
  const call = (name: string, args: Record<string, unknown> = {}) =>
    client.callTool({ name, arguments: args }).catch((error: unknown) => console.error(`${name}:`, error));
  switch (run.scenario) {
    case 'http-standard-headers': {
      if (tools[0]) await call(tools[0].name);
      const resource = (await client.listResources()).resources[0];
      if (resource) await client.readResource({ uri: resource.uri });
      const prompt = (await client.listPrompts()).prompts[0];
      if (prompt) await client.getPrompt({ name: prompt.name, arguments: {} });
      return;
    }
    case 'http-custom-headers':
      for (const c of run.context.toolCalls ?? []) await call(c.name, c.arguments);
      return;
    case 'http-invalid-tool-headers':
      for (const t of tools) await call(t.name, { region: 'us-west1' });
      return;
    case 'sep-2322-client-request-state':
      for (const name of ['test_mrtr_echo_state', 'test_mrtr_no_state', 'test_mrtr_unrelated'])
        await call(name);
      return;
    case 'json-schema-2020-12-preservation': {
      const focal = tools.find((t) => t.name === 'json_schema_2020_12_tool');
      if (focal) await call('json_schema_echo', { schema: focal.inputSchema });
      return;
    }
  }
}

runMain(main);
