/**
 * An independent RsaSignature2017 implementation for cross-checks: test/support/ld_sign.py (PyLD and
 * cryptography from Debian's python3-pyld and python3-cryptography, installed by .ci/run), fed the
 * contexts the repository ships.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./ld_sign.py', import.meta.url));
const CONTEXTS_DIR = fileURLToPath(new URL('../../src/mastodon/contexts/', import.meta.url));
/** Debian's interpreter, where apt installs python3-pyld (a pyenv python3 on PATH would not see it). */
const PYTHON = '/usr/bin/python3';

const CONTEXT_FILES: Record<string, string> = {
  'https://www.w3.org/ns/activitystreams': 'activitystreams.json',
  'https://w3id.org/security/v1': 'security-v1.json',
  'https://w3id.org/identity/v1': 'identity-v1.json',
};
const contexts = Object.fromEntries(
  Object.entries(CONTEXT_FILES).map(([url, file]) => [url, `${CONTEXTS_DIR}${file}`]),
);

/** null when PyLD can be used, else why not. */
export function pyldUnavailable(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import pyld, cryptography'], { encoding: 'utf8', timeout: 20_000 });
  if (r.error) return `${PYTHON} cannot run (${r.error.message}); install python3-pyld python3-cryptography`;
  if (r.status !== 0)
    return `${PYTHON} lacks pyld or cryptography (${r.stderr.trim().split('\n').pop()}); apt-get install python3-pyld python3-cryptography`;
  return null;
}

function runPython(request: Record<string, unknown>): unknown {
  const r = spawnSync(PYTHON, [SCRIPT], {
    input: JSON.stringify({ ...request, contexts }),
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`ld_sign.py failed: ${r.error?.message ?? r.stderr}`);
  return JSON.parse(r.stdout);
}

/** The document signed by PyLD as Mastodon signs (creator keyId, created as given). */
export function pyldSign<T extends Record<string, unknown>>(
  document: T,
  signer: { keyId: string; privateKeyPem: string },
  created: string,
): T & { signature: Record<string, string> } {
  return runPython({ document, ...signer, created }) as T & { signature: Record<string, string> };
}

/** Whether PyLD verifies the document's signature with the key. */
export function pyldVerify(document: Record<string, unknown>, publicKeyPem: string): boolean {
  return (runPython({ document, publicKeyPem }) as { ok: boolean }).ok;
}
