export declare const CONTRACT: string;
export declare function generateHistory(dir: string, n: number, opts?: { layout?: 'nested' | 'flat' }): void;
export declare function gitShim(dir: string, logFile: string): string;
