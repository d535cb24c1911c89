/**
 * The conformance client built on mcp-actors' public API: one runtime, one server (the URL the
 * suite gives as the last argument), `protocol: 'auto'` (the default: what users run), auth
 * through the server's `auth: { oauth }` config with SDK v2 providers (the runtime is on SDK v2
 * since main 7bc69dc). See NEEDS.md at the branch root for what each 2026 scenario asks of the
 * runtime.
 *
 * Run by the suite (through scripts/conformance-gate.ts) as `node <bundle> <serverUrl>`, scenario
 * name in MCP_CONFORMANCE_SCENARIO, credentials as JSON in MCP_CONFORMANCE_CONTEXT.
 */
import {
  ClientCredentialsProvider,
  type OAuthClientProvider,
  PrivateKeyJwtProvider,
} from '@modelcontextprotocol/client';
import { createRuntime, isMcpRuntimeError, type McpRuntime } from '../../src/index.js';
import { CrossAppAccessProvider } from '../../src/runtime/auth-cross-app.js';
import {
  CLIENT_METADATA_URL,
  type ConformanceRun,
  MAX_AUTHORIZATIONS,
  need,
  REDIRECT_URL,
  readRun,
  runMain,
} from './context.js';
import {
  SelfCompletingDpopProvider,
  SelfCompletingOAuthProvider,
  WorkloadIdentityProvider,
} from './sdk-v2-oauth.js';

const SERVER = 'conformance';
const METADATA = { client_name: 'mcp-actors-conformance', redirect_uris: [REDIRECT_URL] };

function providerFor(run: ConformanceRun): OAuthClientProvider | undefined {
  const ctx = run.context;
  switch (run.scenario) {
    case 'initialize':
    case 'tools_call':
    case 'elicitation-sep1034-client-defaults':
    case 'sse-retry':
    case 'request-metadata':
    case 'sep-2322-client-request-state':
    case 'http-standard-headers':
    case 'http-custom-headers':
    case 'http-invalid-tool-headers':
    case 'json-schema-ref-no-deref':
    case 'json-schema-2020-12-preservation':
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
    case 'auth/enterprise-managed-authorization':
      return new CrossAppAccessProvider({
        clientId: need(ctx, 'client_id'),
        clientSecret: need(ctx, 'client_secret'),
        idpClientId: need(ctx, 'idp_client_id'),
        idpTokenEndpoint: need(ctx, 'idp_token_endpoint'),
        idToken: need(ctx, 'idp_id_token'),
      });
    case 'auth/wif-jwt-bearer':
      return new WorkloadIdentityProvider({
        clientId: need(ctx, 'client_id'),
        assertion: need(ctx, 'valid_jwt'),
      });
    case 'auth/pre-registration': {
      const p = new SelfCompletingOAuthProvider(METADATA, undefined, run.serverUrl);
      p.saveClientInformation({
        client_id: need(ctx, 'client_id'),
        client_secret: need(ctx, 'client_secret'),
        redirect_uris: METADATA.redirect_uris,
      });
      return p;
    }
    case 'auth/dpop':
    case 'auth/dpop-nonce':
      return new SelfCompletingDpopProvider(METADATA, CLIENT_METADATA_URL, run.serverUrl);
    default:
      if (!run.scenario.startsWith('auth/')) return undefined; // sep-2640-*: no auth
      return new SelfCompletingOAuthProvider(METADATA, CLIENT_METADATA_URL, run.serverUrl);
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
      const interactive = provider instanceof SelfCompletingOAuthProvider;
      if (!interactive || !isMcpRuntimeError(error, 'AUTH') || attempt > MAX_AUTHORIZATIONS) throw error;
      if (provider.authorizations >= MAX_AUTHORIZATIONS || !(await provider.tokens())) throw error;
      if (rt.snapshot().servers[SERVER]?.state === 'failed') rt.restart(SERVER);
    }
  }
}

async function main(): Promise<void> {
  const run = readRun();
  const oauth = providerFor(run);
  const content: Record<string, boolean> =
    run.scenario === 'sep-2322-client-request-state' ? { confirmed: true } : {};
  const rt = createRuntime({
    servers: {
      [SERVER]: {
        url: run.serverUrl,
        transport: 'streamable-http',
        protocol: 'auto',
        ...(oauth ? { auth: { oauth } } : {}),
        // Clients run a few at once on a small machine: generous deadlines (the gate's is 30 s).
        timeoutMs: 25_000,
        connectTimeoutMs: 25_000,
        initializeTimeoutMs: 25_000,
        reconnect: { maxAttempts: 3 },
      },
    },
    clientInfo: { name: 'mcp-actors-conformance', version: '0.1.0' },
    handlers: {
      // Accept with nothing filled in: defaults from the requested schema apply (SEP-1034); the
      // MRTR scenario's confirmation form asks for `confirmed`.
      elicitation: async () => ({ action: 'accept', content }),
    },
  });
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
    await scenarioCalls(rt, run, tools);
  } finally {
    await rt.close();
  }
}

/** The calls of the scenarios past the basic ones (the same calls as the SDK v2 baseline makes). */
async function scenarioCalls(
  rt: McpRuntime,
  r: ConformanceRun,
  tools: Array<{ name: string }>,
): Promise<void> {
  const call = (name: string, args: Record<string, unknown> = {}) =>
    rt.callTool(SERVER, name, args).catch((error: unknown) => log(`${name}: ${String(error)}`));
  switch (r.scenario) {
    case 'http-standard-headers': {
      if (tools[0]) await call(tools[0].name);
      const resource = (await rt.listResources(SERVER))[0];
      if (resource) await rt.readResource(SERVER, resource.uri);
      const prompt = (await rt.listPrompts(SERVER))[0];
      if (prompt) await rt.getPrompt(SERVER, prompt.name, {});
      return;
    }
    case 'http-custom-headers':
      for (const c of r.context.toolCalls ?? []) await call(c.name, c.arguments);
      return;
    case 'http-invalid-tool-headers':
      for (const t of tools) await call(t.name, { region: 'us-west1' });
      return;
    case 'sep-2322-client-request-state':
      for (const name of ['test_mrtr_echo_state', 'test_mrtr_no_state', 'test_mrtr_unrelated'])
        await call(name);
      // A result without resultType must be refused without a retry.
      await call('test_mrtr_no_result_type');
      return;
    case 'sep-2640-client-no-prefetch':
    case 'sep-2640-client-verify-digest':
    case 'sep-2640-client-verify-size':
    case 'sep-2640-client-verify-frontmatter': {
      // As the v2 baseline: list; for verify-* load the first skill (SKILL.md), and its other
      // files only once SKILL.md passed verification (a tampered one rejects with PROTOCOL).
      const skill = (await rt.listSkills(SERVER))[0];
      if (!skill || r.scenario === 'sep-2640-client-no-prefetch') return;
      const loaded = await rt.readSkill(SERVER, skill).then(
        () => true,
        (error: unknown) => {
          log(`skill ${skill.uri} refused: ${String(error)}`);
          return false;
        },
      );
      const files = loaded && Array.isArray(skill.resources) ? skill.resources : [];
      for (const file of files) if (file.uri !== skill.uri) await rt.readSkill(SERVER, skill, file.uri);
      return;
    }
    case 'json-schema-2020-12-preservation': {
      const focal = await rt
        .listTools(SERVER)
        .then((ts) => ts.find((t) => t.name === 'json_schema_2020_12_tool'));
      if (focal) await call('json_schema_echo', { schema: focal.inputSchema });
      return;
    }
  }
}

const started = Date.now();
/** The runner keeps each client's stderr with the scenario's results: log the lifecycle there. */
function log(text: string): void {
  process.stderr.write(`+${Date.now() - started}ms ${text}\n`);
}

runMain(main);
