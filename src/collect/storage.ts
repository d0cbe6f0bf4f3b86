import type { Dirent } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Sample } from './sample.js';
import type { Sampler } from './sampler.js';

/**
 * Entries (files and directories) looked at per sample. A Mastodon media tree
 * (public/system: one directory chain per attachment) can hold millions, and
 * a sample must not stall the collector; so the walk is capped per tick and
 * resumes at the next one, rather than cached by directory mtime (which
 * would still stat every directory each tick, and misses files that grow in
 * place).
 */
export const STORAGE_ENTRIES_PER_SAMPLE = 20_000;
/** lstat calls in flight at once. */
const STAT_BATCH = 64;

/**
 * Bytes and objects under a media directory (`--media-dir`, Mastodon's
 * public/system when S3_ENABLED is false): `storage_bytes{dir}`, the sum of
 * regular files' sizes (apparent size, as an object store bills), and
 * `storage_objects{dir}`, their count. Symbolic links are not followed.
 *
 * A walk of a large tree spans several samples; the numbers are written once
 * per completed walk, stamped with the time of the sample that completed it
 * (a small tree completes at every tick). A directory removed mid-walk (media
 * cleanup) is skipped; a missing root is a gap.
 *
 * S3-compatible buckets are out of scope here (a later sampler: ListObjectsV2 through a well-kept
 * client, with the same metrics and a `bucket` label).
 */
export class StorageSampler implements Sampler {
  readonly source = 'storage' as const;
  readonly name: string;
  private walk: TreeWalk | undefined;

  constructor(
    private readonly dir: string,
    private readonly entriesPerSample = STORAGE_ENTRIES_PER_SAMPLE,
  ) {
    this.name = dir;
  }

  async sample(time: string): Promise<Sample[]> {
    if (!(await stat(this.dir)).isDirectory()) throw new Error(`${this.dir} is not a directory`);
    this.walk ??= new TreeWalk(this.dir);
    // An unreadable directory (EACCES…) is a gap, and the next sample walks again from the top.
    const done = await this.walk.step(this.entriesPerSample).catch((err: unknown) => {
      this.walk = undefined;
      throw err;
    });
    if (!done) return [];
    this.walk = undefined;
    const labels = { dir: this.dir };
    return [
      { time, source: 'storage', metric: 'storage_bytes', value: done.bytes, labels },
      { time, source: 'storage', metric: 'storage_objects', value: done.objects, labels },
    ];
  }

  async close(): Promise<void> {}
}

/** A depth-first walk that can stop after a budget of entries and resume where it was. */
class TreeWalk {
  private readonly dirs: string[];
  /** Entries read from a directory but not looked at yet. */
  private entries: { dir: string; dirent: Dirent }[] = [];
  private bytes = 0;
  private objects = 0;

  constructor(root: string) {
    this.dirs = [root];
  }

  /** Look at up to `budget` entries; the totals once the whole tree has been seen. */
  async step(budget: number): Promise<{ bytes: number; objects: number } | undefined> {
    let left = budget;
    while (left > 0) {
      if (this.entries.length === 0) {
        const dir = this.dirs.pop();
        if (dir === undefined) return { bytes: this.bytes, objects: this.objects };
        const dirents = await readdir(dir, { withFileTypes: true }).catch(ignoreVanished);
        this.entries = dirents.map((dirent) => ({ dir, dirent }));
        left--;
        continue;
      }
      const batch = this.entries.splice(0, Math.min(STAT_BATCH, left));
      left -= batch.length;
      await Promise.all(batch.map((e) => this.look(join(e.dir, e.dirent.name), e.dirent)));
    }
    return undefined;
  }

  private async look(path: string, dirent: Dirent): Promise<void> {
    if (dirent.isDirectory()) this.dirs.push(path);
    else if (dirent.isFile()) {
      const st = await lstat(path).catch(() => undefined); // removed since readdir: not there
      if (st?.isFile()) {
        this.bytes += st.size;
        this.objects++;
      }
    }
  }
}

function ignoreVanished(err: NodeJS.ErrnoException): Dirent[] {
  if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return [];
  throw err;
}
