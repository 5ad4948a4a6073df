// One artifact as the index records it (SPEC §5): the unit every index operation, the
// hydrator and the snapshots work with.

/** The statuses an artifact moves through, lowest to highest. */
export type ArtifactStatus = 'draft' | 'review' | 'approved';

/** One artifact as the index records it (SPEC §5). */
export interface IndexEntry {
  id: string;
  version: string;
  status: ArtifactStatus;
  framework: string;
  kind: string;
  path: string;
  content_address: string;
  size: number;
  checksum?: string;
  created_at?: string;
  updated_at?: string;
  derived_from?: string[];
  metadata_address?: string;
}
