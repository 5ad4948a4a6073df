// Worker thread entry: inspect a batch of files (read, parse, validate, hash) and post the
// results back. Scans of large trees split their cache misses across one worker per core.
import { parentPort, workerData } from 'node:worker_threads';
import { inspectFile, type InspectContext, type Inspection } from '../metadata/inspect.js';

interface Job {
  ctx: InspectContext;
  explicit: boolean;
}

// The files come in one message (the worker starts before they are known).
const job = workerData as Job;
// Results go back in batches, so that neither thread holds two copies of a large scan.
const BATCH = 500;
parentPort!.once('message', (m: { files: string[] }) => {
  void (async () => {
    let batch: Inspection[] = [];
    for (const f of m.files) {
      batch.push(await inspectFile(job.ctx, f, { explicit: job.explicit }));
      if (batch.length === BATCH) {
        parentPort!.postMessage({ batch });
        batch = [];
      }
    }
    parentPort!.postMessage({ batch, done: true });
  })();
});
