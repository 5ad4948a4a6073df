// Unit assignment for rollouts (SPEC §13): a pure, public rule, the same on every machine
// and in every version that names it. bucket = the first 8 bytes of
// SHA-256("artifacts-rollout/1" 0x00 NAME 0x00 SEED 0x00 UNIT) read as a big-endian
// unsigned 64-bit integer, mod 10000; a unit gets the target iff its bucket is below the
// current step in basis points (so a unit that has the target keeps it at every later step).
import { createHash } from 'node:crypto';
import { ArtifactsError } from '../errors.js';

/** The rule's name, stored in every channel record (`bucketing`). */
export const BUCKETING = 'artifacts-rollout/1';

/** Basis points: 10000 is every unit. */
export const ALL_UNITS = 10_000;

/** The bucket (0..9999) of `unit` in channel `name` for a rollout seeded with `seed`. */
export function bucketOf(name: string, seed: string, unit: string): number {
  const d = createHash('sha256').update(`${BUCKETING}\0${name}\0${seed}\0${unit}`, 'utf8').digest();
  return Number(d.readBigUInt64BE(0) % 10_000n);
}

/** Does `unit` get the target at `basisPoints` (0..10000)? */
export function getsTarget(name: string, seed: string, unit: string, basisPoints: number): boolean {
  return bucketOf(name, seed, unit) < basisPoints;
}

/** A unit as one line of text: its trailing CR removed; empty or holding NUL (or a line
 * break) it is refused. */
export function unitOf(line: string): string {
  const unit = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (unit === '') throw new ArtifactsError('USAGE', 'a unit is empty: every line of a units file names one unit');
  if (/[\0\n\r]/.test(unit)) throw new ArtifactsError('USAGE', 'a unit holds a NUL or a line break');
  return unit;
}
