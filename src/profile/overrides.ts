import { InputError } from '../shared/errors.js';
import { exact, type Quantity } from '../shared/quantity.js';
import type { Profile } from './schema.js';

const assumption = (value: number, low: number, high: number): Quantity => ({
  value,
  low,
  high,
  source: 'assumption',
});

export interface RelaySpec {
  name: string;
  postsPerHour: number;
  mediaFraction?: number;
  startMonth?: number;
}

/**
 * A relay added from the command line. What the flag does not say is an
 * assumption with a range: relays bring mostly actors never seen before, so
 * cold key fetches are far more common than from followed accounts.
 */
export function relayFromSpec(profile: Profile, spec: RelaySpec, source: string): Profile['relays'][number] {
  return {
    name: spec.name,
    postsPerHour: exact(spec.postsPerHour, source),
    mediaFraction:
      spec.mediaFraction === undefined
        ? profile.graph.inbound.mediaFraction
        : exact(spec.mediaFraction, source),
    linkFraction: profile.graph.inbound.linkFraction,
    announceFraction: assumption(0.2, 0.05, 0.5),
    coldActorFraction: assumption(0.3, 0.1, 0.6),
    startMonth: spec.startMonth ?? 0,
  };
}

/** Parse `NAME:POSTS_PER_HOUR[:MEDIA_FRACTION[:START_MONTH]]` (the --relay flag). */
export function parseRelayFlag(text: string): RelaySpec {
  const parts = text.split(':');
  const [name, pph, media, start] = parts;
  const fail = (why: string) =>
    new InputError(
      `--relay "${text}": ${why} (expected NAME:POSTS_PER_HOUR[:MEDIA_FRACTION[:START_MONTH]], e.g. relay.example:3600:0.3)`,
    );
  if (parts.length < 2 || parts.length > 4 || !name) throw fail('wrong number of parts');
  const postsPerHour = Number(pph);
  if (pph === '' || !Number.isFinite(postsPerHour) || postsPerHour < 0 || postsPerHour > 1e12)
    throw fail(`posts per hour must be a number from 0 to 1e12 (a sane bound), got "${pph}"`);
  const spec: RelaySpec = { name, postsPerHour };
  if (media !== undefined && media !== '') {
    const f = Number(media);
    if (!Number.isFinite(f) || f < 0 || f > 1)
      throw fail(`media fraction must be between 0 and 1, got "${media}"`);
    spec.mediaFraction = f;
  }
  if (start !== undefined) {
    const m = Number(start);
    if (!Number.isInteger(m) || m < 0) throw fail(`start month must be an integer >= 0, got "${start}"`);
    spec.startMonth = m;
  }
  return spec;
}

export interface Overrides {
  growth?: number;
  relays?: RelaySpec[];
}

/** A copy of the profile with command-line overrides applied, each traced to its flag. */
export function applyOverrides(profile: Profile, overrides: Overrides): Profile {
  const out = structuredClone(profile);
  if (overrides.growth !== undefined) {
    out.growth.monthlyActiveUserGrowth = exact(overrides.growth, '--growth');
  }
  for (const spec of overrides.relays ?? []) {
    out.relays.push(relayFromSpec(out, spec, `--relay ${spec.name}`));
  }
  return out;
}
