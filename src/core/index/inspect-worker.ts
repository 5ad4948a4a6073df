// Worker thread entry: inspect a batch of files (read, parse, validate, hash) and post the
// results back. Scans of large trees split their cache misses across one worker per core.
import { parentPort, workerData } from 'node:worker_threads';
import { inspectFile, type InspectContext, type Inspection } from '../metadata/inspect.js';

interface Job {
  ctx: InspectContext;
  files: string[];
  explicit: boolean;
}

const job = workerData as Job;
const results: Inspection[] = [];
for (const f of job.files) {
  results.push(await inspectFile(job.ctx, f, { explicit: job.explicit }));
  if (results.length % 250 === 0) parentPort!.postMessage({ progress: results.length });
}
parentPort!.postMessage({ results });
