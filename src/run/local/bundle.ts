/**
 * Load a scenario file the way k6 does (k6 ≥ 1.0 strips TypeScript with
 * esbuild too): bundle it with its relative imports, and resolve the k6
 * modules to the local executor's shims. Anything k6 could load but the local
 * executor does not implement fails here, before any load is sent.
 */
import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, relative } from 'node:path';
import { build, type BuildResult, type Message, type Plugin } from 'esbuild';
import { InputError } from '../../shared/errors.js';
import { SUPPORTED_MODULES, SYNCHRONOUS_HTTP, synchronousHttpHint } from './modules/supported.js';

const SHIM_NAMESPACE = 'k6-local';
/** @types/k6 modules that hold only types (no runtime module in k6). */
const TYPES_ONLY = new Set(['k6/options']);

function where(file: string | undefined): string {
  if (!file) return 'the scenario';
  return isAbsolute(file) ? relative(process.cwd(), file) || file : file;
}

function k6Plugin(): Plugin {
  return {
    name: 'k6-local-executor',
    setup(b) {
      b.onResolve({ filter: /^k6(\/|$)/ }, (args) => {
        if (!(args.path in SUPPORTED_MODULES)) {
          return {
            errors: [
              {
                text: `unsupported k6 module "${args.path}" imported by ${where(args.importer)}: the local executor implements ${Object.keys(SUPPORTED_MODULES).join(', ')}; run this scenario with k6 (--engine k6)`,
              },
            ],
          };
        }
        return { path: args.path, namespace: SHIM_NAMESPACE };
      });
      b.onResolve({ filter: /^(https?:)?\/\// }, (args) => ({
        errors: [
          {
            text: `remote module "${args.path}" imported by ${where(args.importer)}: the local executor loads only local files (vendor the module next to the scenario, or run with --engine k6)`,
          },
        ],
      }));
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (isAbsolute(args.path)) return undefined;
        return {
          errors: [
            {
              text: `module "${args.path}" imported by ${where(args.importer)}: k6 resolves only k6/* modules, relative or absolute paths and URLs, not packages by name`,
            },
          ],
        };
      });
      // TypeScript drops imports it sees no value use of, before they are resolved; k6 modules
      // are checked on the source too, so an unused `import browser from 'k6/browser'` still fails.
      b.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
        const contents = await readFile(args.path, 'utf8');
        const re = /^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s*)?['"](k6(?:\/[^'"]*)?)['"]/gm;
        for (const m of contents.matchAll(re)) {
          const spec = m[1]!;
          if (!(spec in SUPPORTED_MODULES) && !TYPES_ONLY.has(spec)) {
            const line = contents.slice(0, m.index).split('\n').length;
            return {
              errors: [
                {
                  text: `unsupported k6 module "${spec}" imported by ${where(args.path)}:${line}: the local executor implements ${Object.keys(SUPPORTED_MODULES).join(', ')}; run this scenario with k6 (--engine k6)`,
                },
              ],
            };
          }
        }
        const ext = extname(args.path);
        const loader = ext.includes('ts')
          ? ext.endsWith('x')
            ? 'tsx'
            : 'ts'
          : ext.endsWith('x')
            ? 'jsx'
            : 'js';
        return { contents, loader };
      });
      b.onLoad({ filter: /.*/, namespace: SHIM_NAMESPACE }, (args) => {
        const names = SUPPORTED_MODULES[args.path]!;
        const lines = [`const m = globalThis.__k6local.module(${JSON.stringify(args.path)});`];
        for (const name of names) lines.push(`export const ${name} = m.${name};`);
        lines.push('export default m.default;');
        return { contents: lines.join('\n'), loader: 'js' };
      });
    },
  };
}

/** Turn esbuild's wording about the shims into the API the scenario asked for. */
function explain(message: Message): string {
  const file = message.location ? `${where(message.location.file)}:${message.location.line}` : 'the scenario';
  const noExport = /No matching export in "k6-local:([^"]+)" for import "([^"]+)"/.exec(message.text);
  const undefinedImport =
    /Import "([^"]+)" will always be undefined because there is no matching export in "k6-local:([^"]+)"/.exec(
      message.text,
    );
  if (noExport || undefinedImport) {
    const mod = noExport ? noExport[1]! : undefinedImport![2]!;
    const name = noExport ? noExport[2]! : undefinedImport![1]!;
    if (mod === 'k6/http' && SYNCHRONOUS_HTTP.includes(name)) return `${file}: ${synchronousHttpHint(name)}`;
    return `unsupported k6 API: "${name}" from "${mod}" (imported by ${file}); the local executor's ${mod} provides ${SUPPORTED_MODULES[mod]!.join(', ')}. Run this scenario with k6 (--engine k6)`;
  }
  return message.location ? `${file}: ${message.text}` : message.text;
}

/** Bundle `file` into one script; its completion value is the module namespace. */
export async function bundleScenario(file: string): Promise<string> {
  let result: BuildResult<{ write: false }>;
  try {
    result = await build({
      entryPoints: [file],
      absWorkingDir: dirname(file),
      bundle: true,
      write: false,
      format: 'iife',
      globalName: '__k6_scenario',
      platform: 'neutral',
      target: 'es2022',
      charset: 'utf8',
      logLevel: 'silent',
      sourcemap: false,
      plugins: [k6Plugin()],
    });
  } catch (err) {
    const errors = (err as { errors?: Message[] }).errors;
    if (errors?.length) throw new InputError(`scenario ${where(file)}: ${errors.map(explain).join('\n')}`);
    throw err;
  }
  const undefinedImports = result.warnings.filter((w) =>
    /will always be undefined because there is no matching export in "k6-local:/.test(w.text),
  );
  if (undefinedImports.length)
    throw new InputError(`scenario ${where(file)}: ${undefinedImports.map(explain).join('\n')}`);
  const code = result.outputFiles[0]!.text;
  // `import http from 'k6/http'; http.batch(...)`: esbuild names the default import <module>_default;
  // members the shim lacks are refused here, before any load, rather than at the first call.
  const unsupported = new Set<string>();
  for (const [mod, names] of Object.entries(SUPPORTED_MODULES)) {
    const base = mod
      .split('/')
      .pop()!
      .replace(/[^A-Za-z0-9_$]/g, '_');
    const re = new RegExp(`\\b${base}_default\\d*\\.([A-Za-z_$][\\w$]*)`, 'g');
    for (const m of code.matchAll(re))
      if (!names.includes(m[1]!) && code.includes(`k6-local:${mod}`))
        unsupported.add(`${mod.split('/').pop()}.${m[1]} (from "${mod}")`);
  }
  const synchronous = SYNCHRONOUS_HTTP.filter((name) => unsupported.has(`http.${name} (from "k6/http")`));
  if (synchronous.length)
    throw new InputError(`scenario ${where(file)}: ${synchronous.map(synchronousHttpHint).join('\n')}`);
  if (unsupported.size) {
    throw new InputError(
      `scenario ${where(file)}: unsupported k6 API: ${[...unsupported].join(', ')} — not implemented by the local executor; run this scenario with k6 (--engine k6)`,
    );
  }
  return `${code}\n__k6_scenario;`;
}
