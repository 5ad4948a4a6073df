export declare function runCampaign(opts?: {
  ops?: number;
  seed?: number;
  log?: (s: string) => void;
}): Promise<{ ops: number; kills: number; stats: Record<string, number> }>;
