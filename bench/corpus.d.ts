export declare function routingText(): string;
export declare function artifactText(i: number, rand: () => number, size?: number): { path: string; text: string };
export declare function generateCorpus(dir: string, n: number, opts?: { git?: boolean }): string[];
