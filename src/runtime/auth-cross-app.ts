/**
 * Cross-App Access (SEP-990, "Enterprise-Managed Authorization") as an SDK `OAuthClientProvider`:
 * the user's ID token from the enterprise IdP is exchanged at the IdP for an ID-JAG (RFC 8693
 * token exchange), which the MCP server's authorization server then trades for an access token
 * (RFC 7523 jwt-bearer grant, the client authenticating with its own secret). No browser, no
 * redirect. SDK v1 has no such provider; this one plugs into `auth: { oauth }` like the SDK's own.
 */
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthClientProvider,
  OAuthDiscoveryState,
  OAuthTokens,
} from '@modelcontextprotocol/client';
import { AuthError } from '../errors/index.js';

/** RFC 8693 / RFC 7523 / SEP-990 identifiers. */
export const GRANT_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** The jwt-bearer grant (RFC 7523) the authorization server accepts the ID-JAG with. */
export const GRANT_JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Token type of the ID-JAG (Identity Assertion JWT Authorization Grant). */
export const TOKEN_TYPE_ID_JAG = 'urn:ietf:params:oauth:token-type:id-jag';
/** Token type of an OpenID Connect ID token. */
export const TOKEN_TYPE_ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';

/** Options of {@link CrossAppAccessProvider}. */
export interface CrossAppAccessOptions {
  /** The MCP client's id at the MCP server's authorization server. */
  clientId: string;
  /** Its secret there (sent with client_secret_basic, or _post if that is all the server takes). */
  clientSecret: string;
  /** The IdP's token endpoint, where the ID token is exchanged for an ID-JAG. */
  idpTokenEndpoint: string;
  /** The client's id at the IdP. */
  idpClientId: string;
  /** The client's secret at the IdP, when the IdP wants one. */
  idpClientSecret?: string;
  /** The user's ID token from the IdP, or a function returning a current one. */
  idToken: string | (() => string | Promise<string>);
  /** Scope to ask for; default: none (the authorization server decides). */
  scope?: string;
  /** Custom fetch for the IdP request (TLS agents, tests). */
  fetch?: typeof fetch;
}

/**
 * A non-interactive provider for SEP-990 Cross-App Access. Give it to a server's
 * `auth: { oauth }`; the SDK transport calls it on a 401 and retries with the new token.
 *
 * @example
 * const oauth = new CrossAppAccessProvider({
 *   clientId: 'my-agent', clientSecret: process.env.AGENT_SECRET!,
 *   idpTokenEndpoint: 'https://idp.example.com/token', idpClientId: 'my-agent-at-idp',
 *   idToken: () => session.idToken,
 * });
 * const rt = createRuntime({ servers: { docs: { url: 'https://docs.example.com/mcp', auth: { oauth } } } });
 */
export class CrossAppAccessProvider implements OAuthClientProvider {
  private saved: OAuthTokens | undefined;
  private discovery: OAuthDiscoveryState | undefined;

  constructor(private readonly options: CrossAppAccessOptions) {
    for (const field of ['clientId', 'clientSecret', 'idpTokenEndpoint', 'idpClientId'] as const) {
      if (!options[field]) throw new AuthError(`CrossAppAccessProvider: ${field} is required`);
    }
  }

  /** Non-interactive: no redirect URL, so the SDK fetches tokens directly. */
  get redirectUrl(): undefined {
    return undefined;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: this.options.clientId,
      redirect_uris: [],
      grant_types: [GRANT_JWT_BEARER],
      token_endpoint_auth_method: 'client_secret_basic',
      ...(this.options.scope ? { scope: this.options.scope } : {}),
    };
  }

  clientInformation(): OAuthClientInformationMixed {
    return { client_id: this.options.clientId, client_secret: this.options.clientSecret };
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

  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    if (scope === 'all' || scope === 'tokens') this.saved = undefined;
    if (scope === 'all' || scope === 'discovery') this.discovery = undefined;
  }

  redirectToAuthorization(): never {
    throw new AuthError('Cross-App Access never redirects a user agent');
  }

  saveCodeVerifier(): void {}

  codeVerifier(): never {
    throw new AuthError('Cross-App Access uses no PKCE code verifier');
  }

  /**
   * Called by the SDK right before it posts to the authorization server's token endpoint:
   * exchanges the ID token for an ID-JAG at the IdP and returns the jwt-bearer grant.
   */
  async prepareTokenRequest(scope?: string): Promise<URLSearchParams> {
    const state = this.discovery;
    const audience = state?.authorizationServerMetadata?.issuer ?? state?.authorizationServerUrl;
    const resource = state?.resourceMetadata?.resource;
    if (!audience || !resource) {
      throw new AuthError('Cross-App Access needs the resource and authorization server metadata (RFC 9728)');
    }
    const assertion = await this.exchangeIdToken(audience, resource, scope ?? this.options.scope);
    const params = new URLSearchParams({ grant_type: GRANT_JWT_BEARER, assertion });
    if (scope ?? this.options.scope) params.set('scope', (scope ?? this.options.scope) as string);
    return params;
  }

  /** RFC 8693 token exchange at the IdP: ID token in, ID-JAG out. */
  private async exchangeIdToken(
    audience: string,
    resource: string,
    scope: string | undefined,
  ): Promise<string> {
    const o = this.options;
    const subjectToken = typeof o.idToken === 'function' ? await o.idToken() : o.idToken;
    if (!subjectToken) throw new AuthError('Cross-App Access: no ID token');
    const body = new URLSearchParams({
      grant_type: GRANT_TOKEN_EXCHANGE,
      requested_token_type: TOKEN_TYPE_ID_JAG,
      audience,
      resource,
      subject_token: subjectToken,
      subject_token_type: TOKEN_TYPE_ID_TOKEN,
      client_id: o.idpClientId,
    });
    if (o.idpClientSecret) body.set('client_secret', o.idpClientSecret);
    if (scope) body.set('scope', scope);
    let response: Response;
    try {
      response = await (o.fetch ?? fetch)(o.idpTokenEndpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body,
      });
    } catch (cause) {
      throw new AuthError('Cross-App Access: the IdP token endpoint is unreachable', { cause });
    }
    const payload = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok || typeof payload.access_token !== 'string') {
      const reason = typeof payload.error === 'string' ? payload.error : `HTTP ${response.status}`;
      throw new AuthError(`Cross-App Access: the IdP refused the token exchange (${reason})`, {
        status: response.status,
      });
    }
    if (payload.issued_token_type !== undefined && payload.issued_token_type !== TOKEN_TYPE_ID_JAG) {
      throw new AuthError(
        `Cross-App Access: the IdP issued ${String(payload.issued_token_type)}, not an ID-JAG`,
      );
    }
    return payload.access_token;
  }
}
