/**
 * What the conformance runner hands a client program: the scenario (env MCP_CONFORMANCE_SCENARIO),
 * the server URL (the LAST argv) and, for some auth scenarios, credentials as JSON in
 * MCP_CONFORMANCE_CONTEXT. Shared by our client and the bare SDK baseline.
 */

/** Credentials the runner passes for the scenarios that need them. */
export interface ConformanceContext {
  name?: string;
  client_id?: string;
  client_secret?: string;
  private_key_pem?: string;
  signing_algorithm?: string;
  idp_client_id?: string;
  idp_id_token?: string;
  idp_issuer?: string;
  idp_token_endpoint?: string;
  /** auth/wif-jwt-bearer: the workload's JWT (the context's other JWTs are for the referee). */
  valid_jwt?: string;
  /** http-custom-headers: the tool calls to make. */
  toolCalls?: Array<{ name: string; arguments: Record<string, unknown> }>;
}

/** One run of a client program, as the runner describes it. */
export interface ConformanceRun {
  scenario: string;
  serverUrl: string;
  context: ConformanceContext;
  /** The wire the run speaks (env MCP_CONFORMANCE_PROTOCOL_VERSION): 2026-07-28 is stateless. */
  protocolVersion: string | undefined;
}

/** Reads the run from argv and env; throws a clear error when something is missing. */
export function readRun(argv: readonly string[] = process.argv, env = process.env): ConformanceRun {
  const scenario = env.MCP_CONFORMANCE_SCENARIO;
  const serverUrl = argv.at(-1);
  if (!scenario || !serverUrl || !/^https?:\/\//.test(serverUrl)) {
    throw new Error('usage: MCP_CONFORMANCE_SCENARIO=<name> <client> <serverUrl>');
  }
  const raw = env.MCP_CONFORMANCE_CONTEXT;
  const context = raw ? (JSON.parse(raw) as ConformanceContext) : {};
  return { scenario, serverUrl, context, protocolVersion: env.MCP_CONFORMANCE_PROTOCOL_VERSION };
}

/** The context's field, or a clear error naming it. */
export function need(
  context: ConformanceContext,
  field: Exclude<keyof ConformanceContext, 'toolCalls'>,
): string {
  const value = context[field];
  if (!value) throw new Error(`MCP_CONFORMANCE_CONTEXT has no ${field}`);
  return value;
}

/** Fixed CIMD URL (SEP-991): used as the client id when the server advertises support. */
export const CLIENT_METADATA_URL = 'https://conformance-test.local/client-metadata.json';
/** The redirect URI registered for the headless authorization-code flow. */
export const REDIRECT_URL = 'http://localhost:3000/callback';
/** At most this many authorizations per run (the suite's scope-retry-limit asks for <= 3). */
export const MAX_AUTHORIZATIONS = 3;

/** Runs `main` and exits 0 on success, 1 with the error on stderr otherwise. */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error('conformance client failed:', error);
      process.exit(1);
    },
  );
}
