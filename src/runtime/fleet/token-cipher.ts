/**
 * Tokens at rest in the fleet store: AES-256-GCM (node:crypto) with a key the user supplies.
 * Nothing readable reaches Redis: each record is `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url),
 * with a fresh 96-bit IV per write and the store key as additional data, so a record copied under
 * another key does not decrypt. `keyId` (a hash prefix of the key, not the key) names which key
 * wrote it, so a wrong key fails with a clear error instead of garbage.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { ConfigError } from '../../errors/index.js';

const IV_BYTES = 12;
const VERSION = 'v1';

/** A 32-byte key: a Buffer/Uint8Array, or a string in base64 or hex that decodes to 32 bytes. */
export type FleetKey = string | Uint8Array;

/**
 * Turns the configured key into 32 bytes; a key of any other length is a ConfigError naming
 * `fleet.key` (the key itself never appears in the message).
 *
 * @example
 * parseFleetKey(randomBytes(32).toString('base64'));
 */
export function parseFleetKey(key: FleetKey): Buffer {
  let bytes: Buffer;
  if (typeof key !== 'string') bytes = Buffer.from(key);
  else if (/^[0-9a-fA-F]{64}$/.test(key)) bytes = Buffer.from(key, 'hex');
  else bytes = Buffer.from(key, 'base64');
  if (bytes.length !== 32)
    throw new ConfigError([
      {
        path: 'fleet.key',
        message: `must be 32 bytes (AES-256): a Buffer, 64 hex characters or base64; got ${bytes.length} bytes`,
      },
    ]);
  return bytes;
}

/** Encrypts and decrypts the fleet's token records. */
export class TokenCipher {
  private readonly key: Buffer;
  private readonly keyId: string;

  constructor(key: FleetKey) {
    this.key = parseFleetKey(key);
    this.keyId = createHash('sha256').update(this.key).digest('base64url').slice(0, 8);
  }

  /**
   * Seals `plaintext` for the store key `aad`.
   *
   * @example
   * const record = cipher.seal(JSON.stringify(tokens), 'ns:tok:demo');
   */
  seal(plaintext: string, aad: string): string {
    const iv = randomBytes(IV_BYTES);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(aad));
    const body = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
    return [
      VERSION,
      this.keyId,
      iv.toString('base64url'),
      c.getAuthTag().toString('base64url'),
      body.toString('base64url'),
    ].join('.');
  }

  /** Opens a record written by {@link seal} under `aad`; throws when the key or the record is wrong. */
  open(record: string, aad: string): string {
    const [version, keyId, iv, tag, body] = record.split('.');
    if (version !== VERSION || !iv || !tag || body === undefined)
      throw new Error('not a sealed fleet record');
    if (keyId !== this.keyId) throw new Error('the record was sealed with another fleet.key');
    const d = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([d.update(Buffer.from(body, 'base64url')), d.final()]).toString('utf8');
  }
}
