/**
 * The fleet's deliveries file: one NDJSON line per ActivityPub delivery a
 * simulated remote instance received (`fedicap fleet --deliveries-out`).
 * results may not import world/, so the line's type is restated here; a
 * test writes through the fleet's own writer and reads it back with this.
 */
import { InputError } from '../shared/errors.js';
import { parseJsonObject } from './json.js';
import { type ReadOptions, readRecordBatches, readRecords } from './records.js';

/** One delivery, as world/fleet/manifest.ts's DeliveryRecord. */
export interface DeliveryLine {
  activityId: string | null;
  type: string | null;
  inbox: string;
  host: string;
  /** `published` of the activity (or its object) in ms since the epoch, when present. */
  originTimeMs: number | null;
  receivedAtMs: number;
  signatureOk: boolean;
  keyId: string | null;
  /** The HTTP status the fleet answered. */
  status: number;
}

/** The deliveries file's name in a run directory, and the fleet's default `--deliveries-out`. */
export const DELIVERIES_FILES = ['deliveries.ndjson', 'fleet-deliveries.ndjson'] as const;

const FIELDS: Array<[keyof DeliveryLine, 'string' | 'number' | 'boolean', boolean]> = [
  ['activityId', 'string', true],
  ['type', 'string', true],
  ['inbox', 'string', false],
  ['host', 'string', false],
  ['originTimeMs', 'number', true],
  ['receivedAtMs', 'number', false],
  ['signatureOk', 'boolean', false],
  ['keyId', 'string', true],
  ['status', 'number', false],
];

/** One line of a deliveries file, checked; `where` (`file:line`) prefixes every error. */
export function parseDeliveryLine(text: string, where: string): DeliveryLine {
  const line = parseJsonObject(text, where);
  for (const [field, type, nullable] of FIELDS) {
    const value = line[field];
    if (typeof value === type || (nullable && value === null)) continue;
    throw new InputError(`${where}: a delivery whose ${field} is not a ${type}${nullable ? ' or null' : ''}`);
  }
  if (!Number.isInteger(line.status))
    throw new InputError(`${where}: a delivery whose status is not an integer`);
  return line as unknown as DeliveryLine;
}

/** The deliveries of a file (plain or gzip), in file order; a bad line is an InputError naming `path:line`. */
export function readDeliveries(path: string, options: ReadOptions = {}): AsyncIterable<DeliveryLine> {
  return readRecords(path, parseDeliveryLine, options);
}

/** readDeliveries a batch at a time. */
export function readDeliveryBatches(path: string, options: ReadOptions = {}): AsyncIterable<DeliveryLine[]> {
  return readRecordBatches(path, parseDeliveryLine, options);
}
