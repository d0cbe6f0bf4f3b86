/** The scenario's __ENV: the user's -e pairs, the target as BASE_URL, and the sizing knobs. */
import { resolve } from 'node:path';
import { InputError } from '../shared/errors.js';

/** `-e KEY=VALUE` pairs; BASE_URL is not one of them (it comes from --target). */
export function parseEnvPairs(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=([\s\S]*)$/.exec(pair);
    if (!m)
      throw new InputError(
        `-e "${pair.length > 40 ? `${pair.slice(0, 40)}…` : pair}": expected KEY=VALUE with KEY made of letters, digits and _`,
      );
    if (m[1] === 'BASE_URL')
      throw new InputError(
        '-e BASE_URL: the target is given with --target (the scenario gets it as __ENV.BASE_URL)',
      );
    env[m[1]!] = m[2]!;
  }
  return env;
}

/**
 * BASE_URL first, then the user's pairs, DURATION and SCALE; PROFILE and IMAGES made absolute (the scenario runs
 * elsewhere).
 */
export function scenarioEnv(
  target: URL,
  userEnv: Record<string, string>,
  sizing: { duration: string | undefined; scale: number | undefined },
): Record<string, string> {
  const env: Record<string, string> = { BASE_URL: target.toString().replace(/\/$/, ''), ...userEnv };
  if (sizing.duration !== undefined) env.DURATION = sizing.duration;
  if (sizing.scale !== undefined) env.SCALE = String(sizing.scale);
  if (env.PROFILE) env.PROFILE = resolve(env.PROFILE);
  if (env.IMAGES) env.IMAGES = resolve(env.IMAGES);
  return env;
}
