/**
 * The baseline: the same scenarios on the bare SDK v1 `Client` + `StreamableHTTPClientTransport`,
 * using only what the SDK ships (its auth providers, `finishAuth`). SEP-990 cross-app access is
 * not in SDK v1, so that scenario runs without it (and fails, as it would for an SDK user).
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
    case 'auth/cross-app-access-complete-flow':
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
  await transport.close();
}

runMain(main);
