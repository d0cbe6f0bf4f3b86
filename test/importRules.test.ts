/**
 * The house's import rules (.dependency-cruiser.cjs) fail when they should: a
 * small tree with one import of each forbidden kind is cruised with the
 * project's own configuration, and each violation is reported under its rule.
 * (`npm run lint` holds the real tree to the same rules.)
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './support/helpers.js';
import { ROOT } from './support/paths.js';

const FILES: Record<string, string> = {
  'src/mastodon/classes.ts': `export const QUEUES = ['default'] as const;\n`,
  'src/shared/random.ts': `export const seed = 1;\n`,
  'src/profile/schema.ts': `export interface Profile { name: string }\nexport const DEFAULT_NAME = 'x';\n`,
  // Allowed: the model reads the facts, the generator, and the profile as a type.
  'src/model/workload.ts': `import { QUEUES } from '../mastodon/classes.js';\nimport { seed } from '../shared/random.js';\nimport type { Profile } from '../profile/schema.js';\nexport const n = (p: Profile) => QUEUES.length + seed + p.name.length;\n`,
  // Forbidden: I/O in the model, the profile's code in the model.
  'src/model/reads.ts': `import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\n`,
  'src/model/loads.ts': `import { DEFAULT_NAME } from '../profile/schema.js';\nexport const d = DEFAULT_NAME;\n`,
  // Forbidden: the product reaching into the simulated world, and the world into the product.
  'src/cli/testbed.ts': `import { start } from '../../world/testbed/server.js';\nexport const s = start;\n`,
  'world/testbed/server.ts': `import { DEFAULT_NAME } from '../../src/profile/schema.js';\nexport const start = () => DEFAULT_NAME;\n`,
  // Forbidden: a stage reaching forward in the data flow.
  'src/profile/load.ts': `import { n } from '../model/workload.js';\nexport const m = n;\n`,
  // Forbidden: a circle.
  'src/run/a.ts': `import { b } from './b.js';\nexport const a = () => b();\n`,
  'src/run/b.ts': `import { a } from './a.js';\nexport const b = (): number => (a ? 1 : 0);\n`,
};

function cruise(dir: string): { rule: string; from: string; to: string }[] {
  const r = spawnSync(
    join(ROOT, 'node_modules/.bin/depcruise'),
    ['src', 'world', '--config', '.dependency-cruiser.cjs', '--output-type', 'json'],
    { cwd: dir, encoding: 'utf8', timeout: 60_000 },
  );
  const out = JSON.parse(r.stdout) as {
    summary: { violations: { rule: { name: string }; from: string; to: string }[] };
  };
  return out.summary.violations.map((v) => ({ rule: v.rule.name, from: v.from, to: v.to }));
}

describe('import rules', () => {
  it('report each forbidden import under its rule, and nothing for the allowed ones', () => {
    const dir = tempDir('fedicap-import-rules-');
    copyFileSync(join(ROOT, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
    writeFileSync(
      join(dir, 'tsconfig.test.json'),
      JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }),
    );
    for (const [path, text] of Object.entries(FILES)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const found = cruise(dir);
    const has = (rule: string, from: string) => found.some((v) => v.rule === rule && v.from === from);
    expect(has('model-is-pure', 'src/model/reads.ts')).toBe(true);
    expect(has('model-no-io', 'src/model/reads.ts')).toBe(true);
    expect(has('model-takes-the-profile-as-data', 'src/model/loads.ts')).toBe(true);
    expect(has('src-does-not-import-the-world', 'src/cli/testbed.ts')).toBe(true);
    expect(has('world-imports-only-leaves', 'world/testbed/server.ts')).toBe(true);
    expect(has('stage-order-profile', 'src/profile/load.ts')).toBe(true);
    expect(found.some((v) => v.rule === 'no-circular' && v.from.startsWith('src/run/'))).toBe(true);
    expect(found.filter((v) => v.from === 'src/model/workload.ts')).toEqual([]);
  });
});
