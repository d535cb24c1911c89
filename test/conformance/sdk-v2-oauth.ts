/**
 * OAuth pieces of the bare SDK v2 baseline, ported from the typescript-sdk's own conformance
 * client (test/conformance/src/helpers/*: conformanceOAuthProvider.ts, withOAuthRetry.ts, and the
 * DPoP / workload-identity providers of its open pull requests #2629 and #2572, which 2.4.0 does
 * not export as classes). Only SDK v2 functions do the OAuth work; these classes hold state.
 */
import {
  auth,
  computeScopeUnion,
  DpopSession,
  extractWWWAuthenticateParams,
  type FetchLike,
  isStrictScopeSuperset,
  type Middleware,
  type OAuthClientInformation,
  type OAuthClientInformationFull,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type OAuthTokens,
  UnauthorizedError,
  withDpopFromProvider,
} from '@modelcontextprotocol/client';
import { REDIRECT_URL } from './context.js';

type Scope = 'all' | 'client' | 'tokens' | 'verifier' | 'discovery';

/** In-memory provider whose "browser" is one fetch with `redirect: 'manual'` (keeps `code` and `iss`). */
export class ConformanceOAuthProvider implements OAuthClientProvider {
  private info: OAuthClientInformationFull | undefined;
  private saved: OAuthTokens | undefined;
  private verifier: string | undefined;
  private code: string | undefined;
  private issuer: string | undefined;
  private discovery: OAuthDiscoveryState | undefined;

  constructor(
    private readonly metadata: OAuthClientMetadata,
    readonly clientMetadataUrl?: string,
  ) {}

  get redirectUrl(): string {
    return REDIRECT_URL;
  }
  get clientMetadata(): OAuthClientMetadata {
    return this.metadata;
  }
  clientInformation(): OAuthClientInformation | undefined {
    return this.info;
  }
  saveClientInformation(info: OAuthClientInformationFull): void {
    this.info = info;
  }
  tokens(): OAuthTokens | undefined {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens): void {
    this.saved = tokens;
  }
  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.discovery = state;
  }
  discoveryState(): OAuthDiscoveryState | undefined {
    return this.discovery;
  }
  invalidateCredentials(scope: Scope): void {
    if (scope === 'all' || scope === 'client') this.info = undefined;
    if (scope === 'all' || scope === 'tokens') this.saved = undefined;
    if (scope === 'all' || scope === 'verifier') this.verifier = undefined;
    if (scope === 'all' || scope === 'discovery') this.discovery = undefined;
  }
  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier;
  }
  codeVerifier(): string {
    if (!this.verifier) throw new Error('No code verifier saved');
    return this.verifier;
  }

  async redirectToAuthorization(url: URL): Promise<void> {
    const response = await fetch(url, { redirect: 'manual' });
    await response.body?.cancel();
    const location = response.headers.get('location');
    if (!location) throw new Error(`No redirect location received, from '${url}'`);
    const redirect = new URL(location);
    const code = redirect.searchParams.get('code');
    // RFC 9207: keep `iss` with the code; auth() validates it before redeeming the code.
    this.issuer = redirect.searchParams.get('iss') ?? undefined;
    if (!code) throw new Error('No auth code in redirect URL');
    this.code = code;
  }

  /** The code and `iss` of the last authorization. */
  authorizationResult(): { code: string; iss: string | undefined } {
    if (!this.code) throw new Error('No authorization code');
    return { code: this.code, iss: this.issuer };
  }
}

/** {@link ConformanceOAuthProvider} plus a DPoP session: the SDK does every DPoP step (SEP-1932). */
export class DpopOAuthProvider extends ConformanceOAuthProvider {
  private readonly session = DpopSession.create();
  dpop(): Promise<DpopSession> {
    return this.session;
  }
}

/** Workload identity federation (SEP-1933): the RFC 7523 jwt-bearer grant with a workload JWT. */
export class WorkloadIdentityProvider implements OAuthClientProvider {
  private saved: OAuthTokens | undefined;
  constructor(private readonly options: { clientId: string; assertion: string }) {}
  get redirectUrl(): undefined {
    return undefined;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'workload-identity-client',
      redirect_uris: [],
      grant_types: ['urn:ietf:params:oauth:grant-type:jwt-bearer'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation(): OAuthClientInformation {
    return { client_id: this.options.clientId };
  }
  tokens(): OAuthTokens | undefined {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens): void {
    this.saved = tokens;
  }
  invalidateCredentials(scope: Scope): void {
    if (scope === 'all' || scope === 'tokens') this.saved = undefined;
  }
  redirectToAuthorization(): void {
    throw new Error('WorkloadIdentityProvider is non-interactive');
  }
  saveCodeVerifier(): void {}
  codeVerifier(): string {
    throw new Error('no code verifier in the jwt-bearer flow');
  }
  prepareTokenRequest(scope?: string): URLSearchParams {
    const params = new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: this.options.assertion,
    });
    if (scope) params.set('scope', scope);
    return params;
  }
}

/** On 401/403: (re)authorize through SDK v2 `auth()`, redeeming the code at once (with `iss`). */
async function handle401(
  response: Response,
  provider: ConformanceOAuthProvider,
  next: FetchLike,
  serverUrl: string | URL,
): Promise<void> {
  const { resourceMetadataUrl, scope: challenged } = extractWWWAuthenticateParams(response);
  const previous = await provider.tokens();
  // SEP-2350: a 403 step-up asks for the union of granted and challenged scopes.
  const scope = response.status === 403 ? computeScopeUnion(previous?.scope, challenged) : challenged;
  // SEP-2352: a 401 with a token in hand may mean the authorization server moved: rediscover.
  if (response.status === 401) provider.invalidateCredentials('discovery');
  let result = await auth(provider, {
    serverUrl,
    resourceMetadataUrl,
    scope,
    forceReauthorization: isStrictScopeSuperset(scope, previous?.scope),
    fetchFn: next,
  });
  if (result === 'REDIRECT') {
    const { code, iss } = provider.authorizationResult();
    result = await auth(provider, {
      serverUrl,
      resourceMetadataUrl,
      scope,
      authorizationCode: code,
      iss,
      fetchFn: next,
    });
    if (result !== 'AUTHORIZED') throw new UnauthorizedError(`Authentication failed with result: ${result}`);
  }
}

/**
 * Fetch middleware: bearer token on every request, one re-authorization on 401/403. DPoP signing
 * (a pass-through unless the provider has `dpop()`) sits below it, as in the SDK's `withOAuth`;
 * `auth()` keeps the unwrapped fetch (token-endpoint proofs are the SDK's own).
 */
export function withOAuthRetry(provider: ConformanceOAuthProvider, serverUrl: URL): Middleware {
  return (base: FetchLike) => {
    const next = withDpopFromProvider(provider)(base);
    return async (input, init) => {
      const attempt = async (): Promise<Response> => {
        const headers = new Headers(init?.headers);
        const tokens = await provider.tokens();
        if (tokens) headers.set('Authorization', `Bearer ${tokens.access_token}`);
        return next(input, { ...init, headers });
      };
      let response = await attempt();
      if (response.status === 401 || response.status === 403) {
        await handle401(response, provider, base, serverUrl);
        response = await attempt();
      }
      if (response.status === 401 || response.status === 403) {
        throw new UnauthorizedError(`Authentication failed for ${String(input)}`);
      }
      return response;
    };
  };
}

/**
 * The same user agent for mcp-actors, finishing the authorization itself: right after getting the
 * code it redeems it (with `iss`) through SDK v2 `auth()`, keeping the discovery just done. The
 * runtime then reports "authorization needed" once (AUTH) and the next attempt finds the tokens.
 */
export class SelfCompletingOAuthProvider extends ConformanceOAuthProvider {
  /** How many times the authorize endpoint was visited. */
  authorizations = 0;

  constructor(
    metadata: OAuthClientMetadata,
    clientMetadataUrl: string | undefined,
    private readonly serverUrl: string,
  ) {
    super(metadata, clientMetadataUrl);
  }

  override async redirectToAuthorization(url: URL): Promise<void> {
    this.authorizations++;
    await super.redirectToAuthorization(url);
    const { code, iss } = this.authorizationResult();
    const result = await auth(this, { serverUrl: this.serverUrl, authorizationCode: code, iss });
    if (result !== 'AUTHORIZED') throw new Error(`exchanging the authorization code gave ${result}`);
  }
}

/** {@link SelfCompletingOAuthProvider} with a DPoP session (SEP-1932). */
export class SelfCompletingDpopProvider extends SelfCompletingOAuthProvider {
  private readonly session = DpopSession.create();
  dpop(): Promise<DpopSession> {
    return this.session;
  }
}
