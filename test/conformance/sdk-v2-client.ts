/**
 * The baseline of the current SDK: the bare SDK v2 `Client` (`@modelcontextprotocol/client`
 * 2.4.0) + `StreamableHTTPClientTransport`, a port of the typescript-sdk's own conformance client
 * (test/conformance/src/everythingClient.ts; DPoP and workload identity from its pull requests
 * #2629 and #2572). Differences: one entry per scenario of suite 0.2.0-alpha.12 (the SEP-2640
 * skills scenarios use the SDK's `SkillsClient`, which the SDK's client does not drive yet); no
 * local `server/discover` stand-in (alpha.12's mocks answer it); every scenario negotiates the
 * modern era with `versionNegotiation: 'auto'` when the run is at the 2026-07-28 wire.
 *
 * Run by the suite as `node <bundle of this file> <serverUrl>`.
 */
import {
  Client,
  ClientCredentialsProvider,
  type ClientOptions,
  CrossAppAccessProvider,
  type OAuthClientProvider,
  PrivateKeyJwtProvider,
  requestJwtAuthorizationGrant,
  StreamableHTTPClientTransport,
  type StreamableHTTPClientTransportOptions,
} from '@modelcontextprotocol/client';
import { SkillsClient } from '@modelcontextprotocol/client/ext/skills';
import { CLIENT_METADATA_URL, type ConformanceRun, need, readRun, runMain } from './context.js';
import {
  ConformanceOAuthProvider,
  DpopOAuthProvider,
  WorkloadIdentityProvider,
  withOAuthRetry,
} from './sdk-v2-oauth.js';

const run = readRun();
const url = new URL(run.serverUrl);
const modern = run.protocolVersion === '2026-07-28';
const info = { name: 'sdk-v2-baseline', version: '1.0.0' };

function client(options: ClientOptions = { capabilities: {} }, negotiate = modern): Client {
  return new Client(info, negotiate ? { ...options, versionNegotiation: { mode: 'auto' } } : options);
}

async function connect(c: Client, options: StreamableHTTPClientTransportOptions = {}): Promise<Client> {
  await c.connect(new StreamableHTTPClientTransport(url, options));
  return c;
}

/** connect → list tools → call `tool` if listed → close. */
async function listAndCall(c: Client, tool?: string, args: Record<string, unknown> = {}): Promise<void> {
  const { tools } = await c.listTools();
  if (tool && tools.some((t) => t.name === tool)) await c.callTool({ name: tool, arguments: args });
  await c.close();
}

function oauthProvider(scenario: string): ConformanceOAuthProvider {
  const metadata = { client_name: 'sdk-v2-baseline', redirect_uris: ['http://localhost:3000/callback'] };
  if (scenario.startsWith('auth/dpop')) return new DpopOAuthProvider(metadata, CLIENT_METADATA_URL);
  if (scenario !== 'auth/pre-registration')
    return new ConformanceOAuthProvider(metadata, CLIENT_METADATA_URL);
  const provider = new ConformanceOAuthProvider(metadata);
  provider.saveClientInformation({
    client_id: need(run.context, 'client_id'),
    client_secret: need(run.context, 'client_secret'),
    redirect_uris: metadata.redirect_uris,
  });
  return provider;
}

/** The non-interactive providers the SDK ships (plus the workload-identity port). */
function machineProvider(r: ConformanceRun): OAuthClientProvider | undefined {
  const ctx = r.context;
  switch (r.scenario) {
    case 'auth/client-credentials-jwt':
      return new PrivateKeyJwtProvider({
        clientId: need(ctx, 'client_id'),
        privateKey: need(ctx, 'private_key_pem'),
        algorithm: ctx.signing_algorithm ?? 'ES256',
      });
    case 'auth/client-credentials-basic':
      return new ClientCredentialsProvider({
        clientId: need(ctx, 'client_id'),
        clientSecret: need(ctx, 'client_secret'),
      });
    case 'auth/enterprise-managed-authorization':
      return new CrossAppAccessProvider({
        clientId: need(ctx, 'client_id'),
        clientSecret: need(ctx, 'client_secret'),
        assertion: async (authCtx) =>
          (
            await requestJwtAuthorizationGrant({
              tokenEndpoint: need(ctx, 'idp_token_endpoint'),
              audience: authCtx.authorizationServerUrl,
              resource: authCtx.resourceUrl,
              idToken: need(ctx, 'idp_id_token'),
              clientId: need(ctx, 'idp_client_id'),
              fetchFn: authCtx.fetchFn,
            })
          ).jwtAuthGrant,
      });
    case 'auth/wif-jwt-bearer':
      return new WorkloadIdentityProvider({
        clientId: need(ctx, 'client_id'),
        assertion: need(ctx, 'valid_jwt'),
      });
    default:
      return undefined;
  }
}

/** SEP-2640: list skills; for the verify scenarios load the first one (SKILL.md, then its files). */
async function skills(loadSkill: boolean): Promise<void> {
  const c = await connect(client(undefined, true));
  const host = new SkillsClient(c);
  const { skills: entries } = await host.list();
  const skill = entries[0];
  if (loadSkill && skill) {
    await host.read(skill); // throws SkillVerificationError on a tampered SKILL.md
    const files = Array.isArray(skill.resources) ? skill.resources : []; // or "dynamic"
    for (const file of files) if (file.uri !== skill.uri) await host.read(skill, file.uri);
  }
  await c.close();
}

async function main(): Promise<void> {
  const s = run.scenario;
  const machine = machineProvider(run);
  if (machine) return listAndCall(await connect(client(), { authProvider: machine }));
  if (s.startsWith('auth/')) {
    const provider = oauthProvider(s);
    const fetch = withOAuthRetry(provider, url)(globalThis.fetch);
    return listAndCall(await connect(client(undefined, true), { fetch }), 'test-tool');
  }
  if (s.startsWith('sep-2640-')) return skills(s !== 'sep-2640-client-no-prefetch');
  switch (s) {
    case 'initialize':
    case 'json-schema-ref-no-deref':
      return listAndCall(await connect(client()));
    case 'tools_call':
      return listAndCall(await connect(client()), 'add_numbers', { a: 5, b: 3 });
    case 'request-metadata': {
      const c = client(
        { capabilities: { roots: { listChanged: true }, sampling: {}, elicitation: {} } },
        true,
      );
      return (await connect(c)).close();
    }
    case 'http-standard-headers': {
      const c = await connect(client(undefined, true));
      const tool = (await c.listTools()).tools[0];
      if (tool) await c.callTool({ name: tool.name, arguments: {} });
      const resource = (await c.listResources()).resources[0];
      if (resource) await c.readResource({ uri: resource.uri });
      const prompt = (await c.listPrompts()).prompts[0];
      if (prompt) await c.getPrompt({ name: prompt.name, arguments: {} });
      return c.close();
    }
    case 'http-custom-headers': {
      const c = await connect(client(undefined, true));
      await c.listTools(); // caches the x-mcp-header annotations the calls mirror
      for (const call of run.context.toolCalls ?? []) await c.callTool(call);
      return c.close();
    }
    case 'http-invalid-tool-headers': {
      const c = await connect(client(undefined, true));
      // listTools() drops the tools whose x-mcp-header annotations are invalid; call the rest.
      for (const tool of (await c.listTools()).tools) {
        await c.callTool({ name: tool.name, arguments: { region: 'us-west1' } }).catch(() => undefined);
      }
      return c.close();
    }
    case 'sep-2322-client-request-state': {
      const c = client({ capabilities: { elicitation: {} } }, true);
      c.setRequestHandler('elicitation/create', async () => ({
        action: 'accept' as const,
        content: { confirmed: true },
      }));
      await connect(c);
      await c.callTool({ name: 'test_mrtr_echo_state', arguments: {} });
      await c.callTool({ name: 'test_mrtr_no_state', arguments: {} });
      await c.callTool({ name: 'test_mrtr_unrelated', arguments: {} });
      // A result without resultType is a protocol violation: the SDK rejects it without retrying.
      await c.callTool({ name: 'test_mrtr_no_result_type', arguments: {} }).catch(() => undefined);
      return c.close();
    }
    case 'elicitation-sep1034-client-defaults': {
      const c = client({ capabilities: { elicitation: { form: { applyDefaults: true } } } });
      // Accept with nothing filled in: the SDK applies the schema's defaults.
      c.setRequestHandler('elicitation/create', async () => ({ action: 'accept' as const, content: {} }));
      return listAndCall(await connect(c), 'test_client_elicitation_defaults');
    }
    case 'sse-retry':
      return listAndCall(await connect(client()), 'test_reconnection');
    case 'json-schema-2020-12-preservation': {
      const c = await connect(client());
      const focal = (await c.listTools()).tools.find((t) => t.name === 'json_schema_2020_12_tool');
      if (!focal) throw new Error("tool 'json_schema_2020_12_tool' not advertised");
      await c.callTool({ name: 'json_schema_echo', arguments: { schema: focal.inputSchema } });
      return c.close();
    }
    default:
      throw new Error(`no handler for scenario ${s}`);
  }
}

runMain(main);
