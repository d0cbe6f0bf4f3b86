/**
 * Globals k6 (≥ 1.0) provides that @types/k6 2.3 does not declare, for the
 * scenarios' own TypeScript program (scenarios/tsconfig.json: types ["k6"],
 * no DOM, no Node). Only what the scenarios use.
 */

interface K6CryptoKey {
  readonly type: string;
  readonly extractable: boolean;
  readonly algorithm: unknown;
  readonly usages: string[];
}

interface K6SubtleCrypto {
  importKey(
    format: 'pkcs8' | 'spki' | 'raw' | 'jwk',
    keyData: ArrayBuffer | ArrayBufferView,
    algorithm: string | { name: string; hash?: string | { name: string } },
    extractable: boolean,
    keyUsages: string[],
  ): Promise<K6CryptoKey>;
  sign(algorithm: string | { name: string }, key: K6CryptoKey, data: ArrayBuffer | ArrayBufferView): Promise<ArrayBuffer>;
  verify(algorithm: string | { name: string }, key: K6CryptoKey, signature: ArrayBuffer | ArrayBufferView, data: ArrayBuffer | ArrayBufferView): Promise<boolean>;
  digest(algorithm: string | { name: string }, data: ArrayBuffer | ArrayBufferView): Promise<ArrayBuffer>;
}

/** WebCrypto, global since k6 v1.0 (k6/experimental/webcrypto was removed in v1.1). */
declare var crypto: {
  readonly subtle: K6SubtleCrypto;
  getRandomValues<T extends ArrayBufferView>(array: T): T;
  randomUUID(): string;
};

declare var console: {
  log(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  debug(...args: unknown[]): void;
};

declare function setTimeout(callback: (...args: unknown[]) => void, ms?: number): number;
declare function clearTimeout(id: number | undefined): void;
