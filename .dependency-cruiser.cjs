/**
 * The house's import rules (README, Layout). `npm test` runs them through `npm run lint`.
 * The data flow: profile → collect → run → results → calibrate → model → report, with the
 * simulated world (world/) beside it; src/mastodon and src/shared are leaves every part may use.
 */
/** Node built-ins that do I/O or read the clock: not for the pure model. */
const IO_MODULES = '^(node:)?(fs|fs/promises|net|http|https|http2|tls|dgram|dns|child_process|cluster|worker_threads|os|process|readline|vm|perf_hooks)$';

/**
 * The stages of src/ in data-flow order. A stage imports earlier stages and the leaves, never a later
 * one: the profile knows nothing of runs, a run nothing of calibration or the model, the model nothing
 * of reports. (run may use results' types: it writes the files results reads. src/model has its own,
 * stricter rules below.)
 */
const STAGES = ['profile', 'collect', 'run', 'results', 'calibrate', 'model', 'validate', 'report', 'cli'];
const MAY_ALSO_IMPORT = { run: ['results'] };
const stageRules = STAGES.filter((stage) => stage !== 'model' && stage !== 'cli').map((stage) => {
  const later = STAGES.slice(STAGES.indexOf(stage) + 1).filter((s) => !(MAY_ALSO_IMPORT[stage] ?? []).includes(s));
  return {
    name: `stage-order-${stage}`,
    severity: 'error',
    comment: `src/${stage} comes before ${later.join(', ')} in the data flow and does not import them.`,
    from: { path: `^src/${stage}/` },
    to: { path: `^src/(${later.join('|')})/` },
  };
});

module.exports = {
  forbidden: [
    ...stageRules,
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A circle of imports: modules that cannot be understood one at a time.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'model-is-pure',
      severity: 'error',
      comment:
        'src/model is pure math: it imports the model, src/mastodon, the seeded generator and quantities, and the profile only as a type (the shape of its input).',
      from: { path: '^src/model/' },
      to: {
        pathNot: [
          '^src/model/',
          '^src/mastodon/',
          '^src/shared/(random|quantity)\\.ts$',
          '^src/profile/schema\\.ts$',
          '(^|/)node_modules/(pure-rand|simple-statistics)/',
        ],
      },
    },
    {
      name: 'model-takes-the-profile-as-data',
      severity: 'error',
      comment: 'The model reads a profile it is given; it does not load or validate one.',
      from: { path: '^src/model/' },
      to: { path: '^src/profile/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'model-no-io',
      severity: 'error',
      comment: 'No files, sockets, processes or clock in the model.',
      from: { path: '^src/(model|mastodon)/' },
      to: { dependencyTypes: ['core'], path: IO_MODULES },
    },
    {
      name: 'mastodon-and-shared-are-leaves',
      severity: 'error',
      comment: 'src/mastodon and src/shared are the facts and helpers every part shares; they import nothing else of ours.',
      from: { path: '^src/(mastodon|shared)/' },
      to: { dependencyTypes: ['local'], pathNot: ['^src/(mastodon|shared)/'] },
    },
    {
      name: 'src-does-not-import-the-world',
      severity: 'error',
      comment: 'The product (src/) never depends on the simulated world, the benchmarks, the tests or the entry point.',
      from: { path: '^src/' },
      to: { path: '^(world|bench|test|bin|scenarios)/' },
    },
    {
      name: 'world-imports-only-leaves',
      severity: 'error',
      comment: 'The simulated world (testbed, fleet, staging seed) uses only src/mastodon and src/shared; world/cli, its commands, may also read profiles and use the CLI helpers.',
      from: { path: '^world/(?!cli/)' },
      to: { dependencyTypes: ['local'], path: '^src/', pathNot: ['^src/(mastodon|shared)/'] },
    },
    {
      name: 'world-cli-reads-profiles-only',
      severity: 'error',
      comment: "The world's commands may read a profile and use the CLI's output helpers, nothing else of the product.",
      from: { path: '^world/cli/' },
      to: { dependencyTypes: ['local'], path: '^src/', pathNot: ['^src/(mastodon|shared|profile)/', '^src/cli/output\\.ts$'] },
    },
    {
      name: 'only-tests-import-test-support',
      severity: 'error',
      comment: 'Test helpers live under test/support and ship nowhere.',
      from: { path: '^(src|world|bin|scenarios)/' },
      to: { path: '^test/' },
    },
    {
      name: 'only-the-entry-point-composes',
      severity: 'error',
      comment: 'bin/fedicap.ts wires the product and the world together; nothing imports it.',
      from: {},
      to: { path: '^bin/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsConfig: { fileName: 'tsconfig.test.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
    moduleSystems: ['es6'],
  },
};
