// The signing key of promote, rollback and the trust records.
import { ArtifactsError } from '../core/errors.js';
import { loadSigner } from '../core/snapshots/keys.js';
import type { Signer } from '../core/trust/signer.js';
import { abs } from './context.js';

/** The signer of the key file --key FILE, else ARTIFACTS_SIGNING_KEY (a path). The key
 * stays inside the signer and is never printed. */
export async function signingKey(file: string | undefined): Promise<Signer> {
  const path = file ?? process.env.ARTIFACTS_SIGNING_KEY;
  if (!path) throw new ArtifactsError('KEY_MISSING', 'no signing key: pass --key FILE or set ARTIFACTS_SIGNING_KEY');
  return loadSigner(abs(path));
}
