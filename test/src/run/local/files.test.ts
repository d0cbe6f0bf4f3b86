/**
 * Files in the local executor as k6 scripts use them: open(path, 'b') in the init context returns an
 * ArrayBuffer with the file's exact bytes (relative paths from the scenario's directory), and http.file
 * uploads it in a multipart body a real multipart parser (@fastify/multipart) reads back byte for byte.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLocal } from '../../../../src/run/local/runner.js';
import { InitContextError } from '../../../../src/run/local/errors.js';
import { tempDir } from '../../../support/helpers.js';
import { writeScenario } from '../../../support/runner.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** POST /upload answers what arrived: each file's name, type, size and digest, and the plain fields. */
async function startUploadServer(): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify();
  await app.register(multipart, { limits: { fileSize: 4 * 1024 * 1024 } });
  app.post('/upload', async (req) => {
    const files: Record<string, unknown> = {};
    const fields: Record<string, string> = {};
    for await (const part of req.parts()) {
      if (part.type === 'file') {
        const body = await part.toBuffer();
        files[part.fieldname] = {
          filename: part.filename,
          mimetype: part.mimetype,
          bytes: body.length,
          sha256: sha256(body),
        };
      } else fields[part.fieldname] = String(part.value);
    }
    return { files, fields };
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url };
}

const SCENARIO = `
import http from 'k6/http';
import { check } from 'k6';

const image = open('./image.jpg', 'b');
const nested = open('data/nested.bin', 'b');
const absolute = open(__ENV.ABSOLUTE, 'b');
const text = open('./data/nested.bin');

const hex = (buf) => Array.from(new Uint8Array(buf)).map((b) => b.toString(16).padStart(2, '0')).join('');

export const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: 2, iterations: 2 } } };

export default async function () {
  const digest = hex(await crypto.subtle.digest('SHA-256', image));
  check(null, {
    'an ArrayBuffer of this realm': () => image instanceof ArrayBuffer && nested instanceof ArrayBuffer,
    'the exact bytes': () => image.byteLength === Number(__ENV.IMAGE_BYTES) && digest === __ENV.IMAGE_SHA256,
    'relative to the scenario': () => new Uint8Array(nested)[0] === 0xfe && nested.byteLength === 3,
    'absolute paths as given': () => absolute.byteLength === Number(__ENV.IMAGE_BYTES),
    'text mode decodes UTF-8': () => typeof text === 'string',
  });
  const res = await http.asyncRequest(
    'POST',
    __ENV.BASE_URL + '/upload',
    { file: http.file(image, 'image.jpg', 'image/jpeg'), description: 'a test image' },
    { responseType: 'text' },
  );
  const got = res.json();
  check(got, {
    'multipart accepted': () => res.status === 200,
    'the file arrives byte for byte': (g) =>
      g.files.file.sha256 === __ENV.IMAGE_SHA256 && g.files.file.bytes === Number(__ENV.IMAGE_BYTES),
    'with its name and type': (g) => g.files.file.filename === 'image.jpg' && g.files.file.mimetype === 'image/jpeg',
    'beside the plain fields': (g) => g.fields.description === 'a test image',
  });
}
`;

describe("open(path, 'b') and http.file", () => {
  let server: { app: FastifyInstance; url: string };
  beforeAll(async () => {
    server = await startUploadServer();
  });
  afterAll(async () => {
    await server?.app.close();
  });

  it('reads the exact bytes and uploads them intact in a multipart body', async () => {
    const scenarioPath = writeScenario(SCENARIO, 'files.js');
    const dir = dirname(scenarioPath);
    // every byte value, and more than one read buffer's worth
    const image = Buffer.concat([
      Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      randomBytes(300_000),
    ]);
    writeFileSync(join(dir, 'image.jpg'), image);
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'nested.bin'), Buffer.from([0xfe, 0x01, 0x02]));
    const elsewhere = join(tempDir('fedicap-files-'), 'copy.jpg');
    writeFileSync(elsewhere, image);
    const outDir = join(dir, 'out');
    let stderr = '';
    const result = await runLocal({
      scenarioPath,
      env: {
        BASE_URL: server.url,
        ABSOLUTE: elsewhere,
        IMAGE_BYTES: String(image.length),
        IMAGE_SHA256: sha256(image),
      },
      outDir,
      stdout: () => {},
      stderr: (t) => {
        stderr += t;
      },
    });
    expect(result.exitCode, stderr).toBe(0);
    const summary = JSON.parse(readFileSync(join(outDir, 'summary.json'), 'utf8'));
    const checks = summary.root_group.checks as Record<string, { passes: number; fails: number }>;
    expect(Object.keys(checks)).toHaveLength(9);
    for (const [name, c] of Object.entries(checks))
      expect(c, `${name}\n${stderr}`).toEqual(expect.objectContaining({ passes: 4, fails: 0 }));
    // the request counts the whole multipart body as sent data
    expect(summary.metrics.data_sent.count).toBeGreaterThan(4 * image.length);
  }, 30_000);

  it('names the file it cannot open, as the scenario gave it and resolved, as an init-context failure (exit 107, as k6)', async () => {
    const scenarioPath = writeScenario(
      `const x = open('./missing.jpg', 'b');\nexport default function () {}\n`,
    );
    const run = runLocal({
      scenarioPath,
      env: { BASE_URL: server.url },
      outDir: join(dirname(scenarioPath), 'out'),
      stdout: () => {},
      stderr: () => {},
    });
    await expect(run).rejects.toThrow(InitContextError);
    await expect(run).rejects.toThrow(
      `open("./missing.jpg"): no such file (${join(dirname(scenarioPath), 'missing.jpg')})`,
    );
  }, 30_000);
});
