// `openssl pkeyutl -verify -rawin`: an Ed25519 check that shares no code with the product.
import { spawnSync } from 'node:child_process';

/** Verify the raw Ed25519 signature in `sigFile` over the bytes of `dataFile` with the PEM
 * public key `pubFile`; the result and openssl's output. */
export function opensslVerify(pubFile: string, dataFile: string, sigFile: string): { ok: boolean; output: string } {
  const r = spawnSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', pubFile, '-rawin', '-in', dataFile, '-sigfile', sigFile], {
    encoding: 'utf8',
  });
  return { ok: r.status === 0 && r.stdout.includes('Signature Verified Successfully'), output: r.stdout + r.stderr };
}
