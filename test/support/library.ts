// The library in place of a CLI process, for checks inside loops that are about the core
// (what a crashed write left behind), not about the command line: the exit status the
// command would have given, from the same call the command makes.
import { exitCodeFor, isArtifactsError, type Finding } from '../../src/core/errors.js';
import { indexVerifySummary } from '../../src/core/index/operations.js';
import { openRepo } from '../../src/core/repo.js';

/** The exit status of a command that reports `findings`, or fails with an ArtifactsError. */
export async function exitOf(findings: () => Promise<readonly Finding[]>): Promise<number> {
  try {
    return exitCodeFor(await findings());
  } catch (e) {
    if (isArtifactsError(e)) return e.exitCode;
    throw e;
  }
}

/** The exit status of `artifacts index verify` in `dir`. */
export function indexVerifyExit(dir: string): Promise<number> {
  return exitOf(async () => (await indexVerifySummary(await openRepo({ cwd: dir }))).findings);
}
