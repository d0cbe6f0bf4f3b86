/** Checks shared by the readers of NDJSON lines. */
import { InputError } from '../shared/errors.js';

/** A line parsed as a JSON object, or an InputError prefixed with `where` (`file:line`). */
export function parseJsonObject(text: string, where: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InputError(`${where}: not JSON`);
  }
  if (!isObject(value)) throw new InputError(`${where}: not a JSON object`);
  return value;
}

/** Whether a value is an object of string values. */
export function isStringRecord(value: unknown): value is Record<string, string> {
  if (!isObject(value)) return false;
  // A loop, not Object.values(): this runs for every line of a gigabyte file.
  for (const key in value) if (typeof value[key] !== 'string') return false;
  return true;
}

/** Whether a value is a JSON object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
