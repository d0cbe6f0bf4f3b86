import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDeliveries } from '../../../src/results/deliveries.js';
import { InputError } from '../../../src/shared/errors.js';
import { DeliveryLog } from '../../../world/fleet/deliveries.js';
import type { DeliveryRecord } from '../../../world/fleet/manifest.js';
import { tempDir } from '../../support/helpers.js';
import { collect, writeLines } from '../../support/k6Lines.js';

const RECORD: DeliveryRecord = {
  activityId: 'https://staging.test/users/alice/statuses/1/activity',
  type: 'Create',
  inbox: 'https://r1.fleet.test/inbox',
  host: 'r1.fleet.test',
  originTimeMs: 1_796_306_400_000,
  receivedAtMs: 1_796_306_400_250,
  signatureOk: true,
  keyId: 'https://staging.test/users/alice#main-key',
  status: 202,
};

describe('readDeliveries', () => {
  it('reads back, field for field, what the fleet’s DeliveryLog wrote', async () => {
    const path = join(tempDir('fedicap-deliveries-'), 'deliveries.ndjson');
    const log = new DeliveryLog(path, 0);
    log.open();
    const unsigned = {
      ...RECORD,
      activityId: null,
      type: null,
      originTimeMs: null,
      keyId: null,
      signatureOk: false,
      status: 401,
    };
    log.add(RECORD);
    log.add(unsigned);
    await log.close();
    expect(await collect(readDeliveries(path))).toEqual([RECORD, unsigned]);
  });

  it('rejects a line with a field of the wrong type, naming the file and line', async () => {
    const path = writeLines(
      [JSON.stringify(RECORD), JSON.stringify({ ...RECORD, receivedAtMs: '1796306400250' })],
      'd.ndjson',
    );
    await expect(collect(readDeliveries(path))).rejects.toThrow(
      new InputError(`${path}:2: a delivery whose receivedAtMs is not a number`),
    );
  });
});
