/**
 * The manifest of the images a run uploads (OUT/images/manifest.json), as
 * `fedicap run` writes it (src/run/images.ts) and the scenarios read it
 * through `__ENV.IMAGES` (scenarios/lib/env.ts). Plain JSON, no imports, so
 * the k6 scripts can share the type.
 */
export interface ImageManifest {
  version: 1;
  seed: number;
  files: ImageFile[];
}

/** One file of the set. */
export interface ImageFile {
  /** File name inside the set's directory. */
  name: string;
  /** The file's real size. */
  bytes: number;
  /** The size asked for. */
  requestedBytes: number;
  contentType: string;
  width: number;
  height: number;
  /** Share of uploads that use this file (the shares add up to 1). */
  share: number;
}
