// A short crash campaign in CI (the full 1,000-operation run: `node bench/crash-campaign.js`).
import { expect, test } from 'vitest';
import { runCampaign } from '../../bench/crash-campaign.js';

test('mixed operations killed at random moments keep every invariant', async () => {
  const r = await runCampaign({ ops: Number(process.env.CAMPAIGN_OPS ?? 15), seed: 7 });
  expect(r.ops).toBeGreaterThan(0);
  expect(r.kills).toBeGreaterThan(0);
}, 300_000);
