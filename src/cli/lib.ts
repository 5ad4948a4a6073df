// What the command line loads: the public library (src/index.ts) and the few internals its
// commands need that are not part of the public API.
export * from '../index.js';
export { isGitWorkTree } from '../core/git.js';
export { hasTrustChain } from '../core/trust/trust-store.js';
export { readDecisionIndex } from '../core/index/decision-index.js';
export { routeDirectories } from '../core/routing/routes.js';
export { unverifiedSnapshots } from '../core/snapshots/queries.js';
export { writeOutputFile } from '../core/store/output-file.js';
