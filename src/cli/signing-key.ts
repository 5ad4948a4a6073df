// The signing key of promote, rollback and the trust records.
import { ArtifactsError } from '../core/errors.js';
import { loadSigningKey, type SigningKey } from '../core/snapshots/keys.js';
import { abs } from './context.js';

/** The signing key: --key FILE, else ARTIFACTS_SIGNING_KEY (a path). Never printed. */
export async function signingKey(file: string | undefined): Promise<SigningKey> {
  const path = file ?? process.env.ARTIFACTS_SIGNING_KEY;
  if (!path) throw new ArtifactsError('KEY_MISSING', 'no signing key: pass --key FILE or set ARTIFACTS_SIGNING_KEY');
  return loadSigningKey(abs(path));
}
