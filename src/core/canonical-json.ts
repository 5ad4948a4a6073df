// RFC 8785 JSON Canonicalization Scheme. The `canonicalize` package implements the number
// and string serialisation of the RFC; we add the refusals it lacks (non-finite numbers,
// lone surrogates) because they have no canonical form and would silently corrupt digests.
import canonicalizeImpl from 'canonicalize';
import { ArtifactsError } from './errors.js';
import { sha256Hex } from './hash/digest.js';

const canonicalizeFn = canonicalizeImpl as unknown as (v: unknown) => string | undefined;

function assertCanonicalizable(v: unknown, pointer: string): void {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new ArtifactsError('INTERNAL', `cannot canonicalize non-finite number at ${pointer || '/'}`);
  } else if (typeof v === 'string') {
    if (!v.isWellFormed()) throw new ArtifactsError('INTERNAL', `cannot canonicalize lone surrogate at ${pointer || '/'}`);
  } else if (Array.isArray(v)) {
    v.forEach((x, i) => assertCanonicalizable(x, `${pointer}/${i}`));
  } else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (!k.isWellFormed()) throw new ArtifactsError('INTERNAL', `cannot canonicalize lone surrogate in key at ${pointer || '/'}`);
      assertCanonicalizable(x, `${pointer}/${k}`);
    }
  }
}

/** RFC 8785 canonical JSON text of a value. Throws on NaN/Infinity and lone surrogates. */
export function canonicalJson(value: unknown): string {
  assertCanonicalizable(value, '');
  const s = canonicalizeFn(value);
  if (s === undefined) throw new ArtifactsError('INTERNAL', 'value has no JSON form');
  return s;
}

/** `sha256:<hex>` of the canonical JSON of a value. */
export function canonicalDigest(value: unknown): string {
  return `sha256:${sha256Hex(Buffer.from(canonicalJson(value), 'utf8'))}`;
}
