// Minimal typings for joyent's http-signature (devDependency used as an independent reference verifier).
declare module 'http-signature' {
  import type { ClientRequest } from 'node:http';
  export interface ParsedSignature {
    scheme: string;
    params: { keyId: string; algorithm: string; headers: string[]; signature: string };
    signingString: string;
    algorithm: string;
    keyId: string;
  }
  export function parseRequest(
    request: { headers: Record<string, string | string[] | undefined>; method?: string; url?: string; httpVersion?: string },
    options?: { clockSkew?: number; headers?: string[]; algorithms?: string[]; strict?: boolean },
  ): ParsedSignature;
  export function verifySignature(parsed: ParsedSignature, pubkey: string): boolean;
  export function signRequest(
    request: ClientRequest,
    options: { keyId: string; key: string; headers?: string[]; algorithm?: string; authorizationHeaderName?: string },
  ): boolean;
  const _default: { parseRequest: typeof parseRequest; verifySignature: typeof verifySignature; signRequest: typeof signRequest };
  export default _default;
}
