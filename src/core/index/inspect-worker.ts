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
// Results go back in batches, so that neither thread holds two copies of a large scan.
const BATCH = 500;
let batch: Inspection[] = [];
for (const f of job.files) {
  batch.push(await inspectFile(job.ctx, f, { explicit: job.explicit }));
  if (batch.length === BATCH) {
    parentPort!.postMessage({ batch });
    batch = [];
  }
}
parentPort!.postMessage({ batch, done: true });
