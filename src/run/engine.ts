/**
 * The engine a run uses: k6 (the load engine) when asked or when found on
 * PATH, else the local executor (CI and smoke tests), which sends load only
 * to loopback addresses.
 */
import { InputError } from '../shared/errors.js';
import { findK6 } from './k6.js';
import { isLoopbackHost } from './target.js';

export type EngineName = 'k6' | 'local';

export type EngineChoice =
  | { engine: 'k6'; k6Path: string /** The line saying why, for stderr. */; note: string }
  | { engine: 'local'; note: string };

/** The engine for `--engine asked` (or none), given where k6 is on PATH. */
export function chooseEngine(
  asked: EngineName | undefined,
  findK6Path: () => string | null = findK6,
): EngineChoice {
  const k6Path = asked === 'local' ? null : findK6Path();
  if (asked === 'k6') {
    if (!k6Path)
      throw new InputError(
        '--engine k6: no k6 executable on PATH (install k6 ≥ 1.0, or use --engine local for a small local run)',
      );
    return { engine: 'k6', k6Path, note: `engine: k6 (${k6Path}, as asked)\n` };
  }
  if (asked === 'local')
    return {
      engine: 'local',
      note: 'engine: local executor (as asked; it is for CI and smoke tests, k6 is the load engine)\n',
    };
  if (k6Path) return { engine: 'k6', k6Path, note: `engine: k6 (found ${k6Path})\n` };
  return {
    engine: 'local',
    note: 'engine: local executor (k6 is not on PATH; it is for CI and smoke tests — install k6 for real load)\n',
  };
}

/** The local executor refuses a target that is not a loopback address before any load starts. */
export function checkEngineReaches(engine: EngineName, target: URL, targetHost: string): void {
  if (engine === 'local' && !isLoopbackHost(target.hostname)) {
    throw new InputError(
      `--target ${targetHost}: the local executor sends load only to loopback addresses (127.0.0.0/8, ::1, localhost); aim k6 at other hosts (--engine k6)`,
    );
  }
}
