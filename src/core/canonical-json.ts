// RFC 8785 JSON Canonicalization Scheme. The `canonicalize` package implements the number
// and string serialisation of the RFC; we add the refusals it lacks (non-finite numbers,
// lone surrogates) because they have no canonical form and would silently corrupt digests.
import canonicalizeImpl from 'canonicalize';
import { ArtifactsError } from './errors.js';
import { sha256Hex } from './hash/digest.js';

const canonicalizeFn = canonicalizeImpl as unknown as (v: unknown) => string | undefined;

// JSON.stringify (which `canonicalize` uses for strings) escapes a lone surrogate as \udXXX;
// an escaped backslash before it (\\udXXX) is a literal backslash, not a surrogate.
const LONE_SURROGATE = /(?:^|[^\\])(?:\\\\)*\\ud[89a-f][0-9a-f]{2}/;

/** RFC 8785 canonical JSON text of a value. Throws on NaN/Infinity and lone surrogates. */
export function canonicalJson(value: unknown): string {
  let s: string | undefined;
  try {
    s = canonicalizeFn(value);
  } catch (e) {
    throw new ArtifactsError('INTERNAL', `cannot canonicalize: ${(e as Error).message}`);
  }
  if (s === undefined) throw new ArtifactsError('INTERNAL', 'value has no JSON form');
  if (LONE_SURROGATE.test(s)) throw new ArtifactsError('INTERNAL', 'cannot canonicalize a string holding a lone surrogate');
  return s;
}

/** `sha256:<hex>` of the canonical JSON of a value. */
export function canonicalDigest(value: unknown): string {
  return `sha256:${sha256Hex(Buffer.from(canonicalJson(value), 'utf8'))}`;
}
