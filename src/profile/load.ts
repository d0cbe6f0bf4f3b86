import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { errnoText, InputError } from '../shared/errors.js';
import { packageRoot } from '../shared/packageRoot.js';
import { profileSchema, type Profile } from './schema.js';

/** The embedded default profile: a believable mid-size instance. */
export const DEFAULT_PROFILE_PATH = join(packageRoot(), 'fixtures', 'default-profile.json');

/** Read, parse and validate a JSON document; errors name the file and the place. */
export function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(`${what} ${path}: cannot read (${errnoText(err)})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(`${what} ${path}: not valid JSON: ${(err as Error).message}`);
  }
}

/** Turn schema issues into one message: `file: path.to.field: what was expected`. */
export function describeIssues(where: string, issues: readonly z.core.$ZodIssue[]): string {
  const lines = issues.slice(0, 10).map((issue) => {
    const path = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
    return `  ${path}: ${issue.message}`;
  });
  const more = issues.length > 10 ? `\n  … and ${issues.length - 10} more` : '';
  return `${where}: invalid\n${lines.join('\n')}${more}`;
}

export function parseProfile(doc: unknown, where: string): Profile {
  const result = profileSchema.safeParse(doc);
  if (!result.success) throw new InputError(describeIssues(`profile ${where}`, result.error.issues));
  return result.data;
}

export function loadProfile(path: string = DEFAULT_PROFILE_PATH): Profile {
  return parseProfile(readJsonFile(path, 'profile'), path);
}
