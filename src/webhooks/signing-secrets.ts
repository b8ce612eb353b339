import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The Standard Webhooks form of a signing secret: `whsec_` and 32 random bytes in base64. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

const SEALED_PREFIX = 'v1.';
const KEY_FILE = 'webhook-secrets.key';

/**
 * Seals webhooks' signing secrets for the store (AES-256-GCM, a fresh IV each): the store holds
 * only what this key opens, so a copy of the database, an export or a log of a row shows no
 * secret. The key comes from `WEBHOOK_SECRET_KEY` (the same on every replica), or for the
 * embedded store from a key file of its own in `DATA_DIR`, made at first need (mode 0600).
 */
export class SecretSeal {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    this.#key = key;
  }

  /** From `WEBHOOK_SECRET_KEY`: any string of 32 characters or more, stretched to a key with HKDF. */
  static fromPassphrase(passphrase: string): SecretSeal {
    return new SecretSeal(Buffer.from(hkdfSync('sha256', passphrase, 'bulk-import-gateway', 'webhook signing secrets', 32)));
  }

  /** The embedded store's own key, in `dataDir` (made once, kept with the store it protects). */
  static async fromDataDir(dataDir: string): Promise<SecretSeal> {
    const path = join(dataDir, KEY_FILE);
    try {
      return new SecretSeal(Buffer.from((await readFile(path, 'utf8')).trim(), 'base64'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const key = randomBytes(32);
    // `wx`: two processes cannot both make it (the store allows one process per DATA_DIR anyway).
    await writeFile(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    return new SecretSeal(key);
  }

  seal(secret: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return SEALED_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64');
  }

  open(sealed: string): string {
    if (!sealed.startsWith(SEALED_PREFIX)) throw new Error('not a sealed secret');
    const bytes = Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, bytes.subarray(0, 12));
    decipher.setAuthTag(bytes.subarray(12, 28));
    return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
  }
}
