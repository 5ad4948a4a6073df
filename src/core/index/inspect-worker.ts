// Worker thread entry: inspect a batch of files (read, parse, validate, hash) and post the
// results back. Scans of large trees share their cache misses between the calling thread
// and one worker for each other core.
import { parentPort, workerData } from 'node:worker_threads';
import { inspectFile, type InspectContext, type Inspection } from '../metadata/inspect.js';

interface Job {
  ctx: InspectContext;
  explicit: boolean;
}

// Files come in batches, each answered with its results (the worker starts before the
// files are known, and takes a batch at a time so that all threads finish together).
const job = workerData as Job;
parentPort!.on('message', (m: { files: string[] }) => {
  void (async () => {
    const results: Inspection[] = [];
    for (const f of m.files) results.push(await inspectFile(job.ctx, f, { explicit: job.explicit }));
    parentPort!.postMessage({ results });
  })();
});
