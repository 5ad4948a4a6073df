// Fault injection for crash tests: ARTIFACTS_FAULT_INJECT="<point>[:<n>[:stop]]" kills this
// process with SIGKILL (or, with `stop`, pauses it with SIGSTOP) at the n-th (default first)
// time the write protocol reaches <point>. It exists so that tests can prove crash safety
// and lock takeover with real processes; it does nothing when unset.
import type { FaultHook, FaultPoint } from '../core/store/durable-write.js';

export function faultHookFromEnv(spec: string | undefined): FaultHook | undefined {
  if (!spec) return undefined;
  const [point, nth, action] = spec.split(':') as [FaultPoint, string | undefined, string | undefined];
  let remaining = nth ? Number(nth) : 1;
  return (p) => {
    if (p !== point) return;
    remaining--;
    if (remaining === 0) process.kill(process.pid, action === 'stop' ? 'SIGSTOP' : 'SIGKILL');
  };
}
