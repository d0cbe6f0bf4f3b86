/** Thrown into scenario code once its VU has been stopped (graceful stop expired, abort). */
export class VuInterrupted extends Error {
  override readonly name = 'VuInterrupted';
}
/** exec.test.abort(): stops the whole test. */
export class TestAborted extends Error {
  override readonly name = 'TestAborted';
}

export function errorMessage(err: unknown): string {
  if (err && typeof err === 'object' && 'message' in err) {
    const e = err as { name?: unknown; message: unknown };
    return e.name && e.name !== 'Error' ? `${String(e.name)}: ${String(e.message)}` : String(e.message);
  }
  return String(err);
}

/**
 * The scenario threw while evaluating its init context (its top level, in VU 0 or in a VU the scenarios
 * pre-allocate): k6 exits 107 (ScriptException) before writing any output, and so does the local executor.
 */
export class InitContextError extends Error {
  override readonly name = 'InitContextError';
}
