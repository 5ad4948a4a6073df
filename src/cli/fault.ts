// Fault injection for crash tests: ARTIFACTS_FAULT_INJECT="<point>[:<n>]" kills this process
// with SIGKILL at the n-th (default first) time the write protocol reaches <point>. It exists
// so that tests can prove crash safety with real processes; it does nothing when unset.
import type { FaultHook, FaultPoint } from '../index.js';

export function faultHookFromEnv(spec: string | undefined): FaultHook | undefined {
  if (!spec) return undefined;
  const [point, nth] = spec.split(':') as [FaultPoint, string | undefined];
  let remaining = nth ? Number(nth) : 1;
  return (p) => {
    if (p !== point) return;
    remaining--;
    if (remaining === 0) process.kill(process.pid, 'SIGKILL');
  };
}
