import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package root, found from this module whether it runs from src/ (tests) or dist/src/ (the CLI):
 * where fixtures/ (the embedded profile, the API schema) lives.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`fedicap: package.json not found above ${import.meta.url}`);
    dir = parent;
  }
  return dir;
}
