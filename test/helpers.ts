import { loadProfile } from '../src/profile/load.js';
import { resolveQuantities } from '../src/profile/quantity.js';
import type { Profile } from '../src/profile/schema.js';
import type { ModelProfile } from '../src/model/workload.js';

/** The embedded default profile, parsed (quantities with sources). */
export function defaultProfile(): Profile {
  return loadProfile();
}

/** The default profile resolved to plain numbers, optionally edited. */
export function modelProfile(edit?: (p: ModelProfile) => void): ModelProfile {
  const p = resolveQuantities(defaultProfile());
  edit?.(p);
  return p;
}
