/**
 * The SDK v1 baseline's headless OAuth user agent for the conformance suite's authorization-code scenarios: instead of
 * opening a browser, `redirectToAuthorization` fetches the authorize URL without following the
 * redirect and keeps the `code` from its `Location`. The suite's authorization servers approve at once.
 */
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import { REDIRECT_URL } from './context.js';

/** Options of {@link HeadlessOAuthProvider}. */
export interface HeadlessOAuthOptions {
  clientName: string;
  /** CIMD (SEP-991) URL used as the client id when the server supports it. */
  clientMetadataUrl?: string;
  /** Pre-registered credentials (no dynamic registration). */
  clientInformation?: OAuthClientInformationMixed;
}

/** An in-memory OAuthClientProvider whose "browser" is one fetch with `redirect: 'manual'`. */
export class HeadlessOAuthProvider implements OAuthClientProvider {
  /** How many times the authorize endpoint was visited. */
  authorizations = 0;
  private info: OAuthClientInformationMixed | undefined;
  private saved: OAuthTokens | undefined;
  private verifier: string | undefined;
  private code: string | undefined;

  constructor(private readonly options: HeadlessOAuthOptions) {
    this.info = options.clientInformation;
  }

  get redirectUrl(): string {
    return REDIRECT_URL;
  }

  get clientMetadata(): OAuthClientMetadata {
    return { client_name: this.options.clientName, redirect_uris: [REDIRECT_URL] };
  }

  get clientMetadataUrl(): string | undefined {
    return this.options.clientMetadataUrl;
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.info;
  }

  saveClientInformation(info: OAuthClientInformationMixed): void {
    this.info = info;
  }

  tokens(): OAuthTokens | undefined {
    return this.saved;
  }

  saveTokens(tokens: OAuthTokens): void {
    this.saved = tokens;
  }

  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier;
  }

  codeVerifier(): string {
    if (!this.verifier) throw new Error('no PKCE code verifier saved');
    return this.verifier;
  }

  async redirectToAuthorization(url: URL): Promise<void> {
    this.authorizations++;
    const response = await fetch(url, { redirect: 'manual' });
    await response.body?.cancel();
    const location = response.headers.get('location');
    const code = location ? new URL(location).searchParams.get('code') : null;
    if (!code) throw new Error(`the authorization server answered ${response.status} without a code`);
    this.code = code;
  }

  /** The code the last authorization produced (consumed: a code is single-use). */
  async waitForAuthorizationCode(): Promise<string> {
    const code = this.code;
    this.code = undefined;
    if (!code) throw new Error('no authorization code (redirectToAuthorization was not called)');
    return code;
  }
}
