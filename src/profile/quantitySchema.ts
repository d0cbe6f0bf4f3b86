import { z } from 'zod';
import { exact, isAssumption, type Quantity } from '../shared/quantity.js';

export interface QuantityBounds {
  min?: number;
  max?: number;
  integer?: boolean;
  /** Why `max` is the bound, named in the message of a value above it. */
  maxReason?: string;
}

/** Schema of one quantity; `description` documents the field (docs/profile.md is generated from it). */
export function quantity(description: string, bounds: QuantityBounds = { min: 0 }) {
  const num = boundedNumber(bounds);
  const annotated = z.strictObject({
    value: num,
    range: z.tuple([num, num]).optional(),
    source: z.string().min(1),
  });
  return z
    .union([num, annotated])
    .superRefine((input, ctx) => {
      if (typeof input === 'number' || !input.range) {
        if (typeof input !== 'number' && isAssumption(input.source)) {
          ctx.addIssue({ code: 'custom', message: 'an "assumption" needs a "range": [low, high]' });
        }
        return;
      }
      const [low, high] = input.range;
      if (!(low <= input.value && input.value <= high)) {
        ctx.addIssue({
          code: 'custom',
          message: `range [${low}, ${high}] must contain value ${input.value}`,
        });
      }
    })
    .transform(
      (input): Quantity =>
        typeof input === 'number'
          ? exact(input, 'profile')
          : {
              value: input.value,
              low: input.range?.[0] ?? input.value,
              high: input.range?.[1] ?? input.value,
              source: input.source,
            },
    )
    .describe(description);
}

function boundedNumber(bounds: QuantityBounds) {
  let num = bounds.integer ? z.number().int() : z.number();
  if (bounds.min !== undefined) num = num.min(bounds.min);
  if (bounds.max !== undefined) {
    const why = bounds.maxReason ? ` (${bounds.maxReason})` : '';
    num = num.max(bounds.max, `must be at most ${bounds.max}${why}`);
  }
  return num;
}
