/**
 * The conformance client built on mcp-actors' public API: one runtime, one server (the URL the
 * suite gives as the last argument), auth through the server's `auth: { oauth }` config.
 *
 * Run by the suite as `node <bundle of this file> <serverUrl>` (scripts/conformance.sh), scenario
 * name in MCP_CONFORMANCE_SCENARIO, credentials as JSON in MCP_CONFORMANCE_CONTEXT.
 */
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import {
  ClientCredentialsProvider,
  PrivateKeyJwtProvider,
} from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { createRuntime, isMcpRuntimeError, type McpRuntime } from '../../src/index.js';
import { CrossAppAccessProvider } from '../../src/runtime/auth-cross-app.js';
import {
  CLIENT_METADATA_URL,
  type ConformanceRun,
  MAX_AUTHORIZATIONS,
  need,
  readRun,
  runMain,
} from './context.js';
import { HeadlessOAuthProvider, SelfCompletingOAuthProvider } from './headless-oauth.js';

const SERVER = 'conformance';

function providerFor(run: ConformanceRun): OAuthClientProvider | undefined {
  const ctx = run.context;
  switch (run.scenario) {
    case 'initialize':
    case 'tools_call':
    case 'elicitation-sep1034-client-defaults':
    case 'sse-retry':
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
    case 'auth/cross-app-access-complete-flow':
      return new CrossAppAccessProvider({
        clientId: need(ctx, 'client_id'),
        clientSecret: need(ctx, 'client_secret'),
        idpClientId: need(ctx, 'idp_client_id'),
        idpTokenEndpoint: need(ctx, 'idp_token_endpoint'),
        idToken: need(ctx, 'idp_id_token'),
      });
    case 'auth/pre-registration':
      return new SelfCompletingOAuthProvider(
        {
          clientName: 'mcp-actors-conformance',
          clientInformation: { client_id: need(ctx, 'client_id'), client_secret: need(ctx, 'client_secret') },
        },
        run.serverUrl,
      );
    default:
      return new SelfCompletingOAuthProvider(
        { clientName: 'mcp-actors-conformance', clientMetadataUrl: CLIENT_METADATA_URL },
        run.serverUrl,
      );
  }
}

/**
 * An interactive authorization surfaces as AUTH (the runtime gives the server up until the app
 * says so); once the user agent has produced tokens, the app restarts the server and retries.
 * Bounded: at most MAX_AUTHORIZATIONS authorizations in the whole run.
 */
async function authorized<T>(
  rt: McpRuntime,
  provider: OAuthClientProvider | undefined,
  step: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      const interactive = provider instanceof HeadlessOAuthProvider;
      if (!interactive || !isMcpRuntimeError(error, 'AUTH') || attempt > MAX_AUTHORIZATIONS) throw error;
      if (provider.authorizations >= MAX_AUTHORIZATIONS || !(await provider.tokens())) throw error;
      if (rt.snapshot().servers[SERVER]?.state === 'failed') rt.restart(SERVER);
    }
  }
}

async function main(): Promise<void> {
  const run = readRun();
  const oauth = providerFor(run);
  const rt = createRuntime({
    servers: {
      [SERVER]: {
        url: run.serverUrl,
        transport: 'streamable-http',
        ...(oauth ? { auth: { oauth } } : {}),
        // The suite starts 26 clients at once on a small machine: generous deadlines (its own is 30 s).
        timeoutMs: 25_000,
        connectTimeoutMs: 25_000,
        initializeTimeoutMs: 25_000,
        reconnect: { maxAttempts: 3 },
      },
    },
    clientInfo: { name: 'mcp-actors-conformance', version: '0.1.0' },
    // Accept with nothing filled in: defaults from the requested schema apply (SEP-1034).
    handlers: { elicitation: async () => ({ action: 'accept', content: {} }) },
  });
  // The runner keeps each client's stderr with the scenario's results: log the lifecycle there.
  const started = Date.now();
  const log = (text: string): void => void process.stderr.write(`+${Date.now() - started}ms ${text}\n`);
  rt.on('state', (e) =>
    log(`state ${e.from} -> ${e.to}${e.lastError ? ` (${e.lastError.code}: ${e.lastError.message})` : ''}`),
  );
  rt.on('error', (e) => log(`error ${e.error.code}: ${e.error.message}`));
  try {
    const tools = await authorized(rt, oauth, () => rt.listTools(SERVER));
    const has = (name: string): boolean => tools.some((t) => t.name === name);
    if (has('add_numbers')) await rt.callTool(SERVER, 'add_numbers', { a: 2, b: 3 });
    if (has('test_client_elicitation_defaults'))
      await rt.callTool(SERVER, 'test_client_elicitation_defaults');
    if (has('test_reconnection')) await rt.callTool(SERVER, 'test_reconnection');
    if (has('test-tool')) await authorized(rt, oauth, () => rt.callTool(SERVER, 'test-tool'));
  } finally {
    await rt.close();
  }
}

runMain(main);
