/** The `k6/execution` module: exec.scenario, exec.instance, exec.test, exec.vu. */
import { TestAborted } from '../errors.js';
import type { ScenarioState, VuApi } from '../vuApi.js';

/** An exec.* object whose unknown members throw, naming the API. */
function strictObject(what: string, target: object): object {
  return new Proxy(target, {
    get(t, prop, receiver) {
      if (typeof prop !== 'string' || prop in t || prop === 'then' || prop === 'toJSON')
        return Reflect.get(t, prop, receiver);
      throw new Error(
        `unsupported k6 API: exec.${what}.${prop} is not implemented by the local executor; run this scenario with k6 (--engine k6)`,
      );
    },
  });
}

function scenarioObject(vu: VuApi): object {
  const needScenario = (prop: string): ScenarioState => {
    if (!vu.scenario) throw new Error(`exec.scenario.${prop} is only available inside a scenario iteration`);
    return vu.scenario;
  };
  return strictObject('scenario', {
    get name() {
      return needScenario('name').name;
    },
    get executor() {
      return needScenario('executor').executor;
    },
    get startTime() {
      return needScenario('startTime').startEpochMs;
    },
    get progress() {
      return needScenario('progress').progress();
    },
    get iterationInInstance() {
      needScenario('iterationInInstance');
      return vu.iterInTest;
    },
    get iterationInTest() {
      needScenario('iterationInTest');
      return vu.iterInTest;
    },
  });
}

function instanceObject(vu: VuApi): object {
  const info = () => vu.engine.instanceInfo();
  return strictObject('instance', {
    get iterationsInterrupted() {
      return info().iterationsInterrupted;
    },
    get iterationsCompleted() {
      return info().iterationsCompleted;
    },
    get vusActive() {
      return info().vusActive;
    },
    get vusInitialized() {
      return info().vusInitialized;
    },
    get currentTestRunDuration() {
      return info().currentTestRunDuration;
    },
  });
}

function testObject(vu: VuApi): object {
  const engine = vu.engine;
  return strictObject('test', {
    abort(reason?: unknown) {
      const text = reason === undefined ? 'test aborted by the script' : String(reason);
      engine.abort(text);
      throw new TestAborted(text);
    },
    fail(message?: unknown) {
      engine.failTest(message === undefined ? 'test marked as failed by the script' : String(message));
    },
    get options() {
      return engine.options;
    },
  });
}

/** exec.vu.tags: reads see every tag of a sample emitted now; writes set the VU's own tags. */
function vuTags(vu: VuApi): object {
  return new Proxy(vu.userTags, {
    get(_t, prop) {
      if (typeof prop !== 'string') return undefined;
      return vu.sampleTags()[prop];
    },
    set(t, prop, value) {
      if (typeof prop !== 'string') return false;
      if (!['string', 'number', 'boolean'].includes(typeof value))
        throw new Error(`exec.vu.tags.${prop}: tag values must be strings, numbers or booleans`);
      t[prop] = String(value);
      return true;
    },
    deleteProperty(t, prop) {
      if (typeof prop === 'string') delete t[prop];
      return true;
    },
  });
}

function vuObject(vu: VuApi): object {
  const tags = vuTags(vu);
  return strictObject('vu', {
    get idInInstance() {
      return vu.id;
    },
    get idInTest() {
      return vu.id;
    },
    get iterationInInstance() {
      return vu.iterInInstance;
    },
    get iterationInScenario() {
      return vu.iterInScenario;
    },
    get tags() {
      return tags;
    },
  });
}

export function executionMembers(vu: VuApi): Record<string, unknown> {
  return {
    scenario: scenarioObject(vu),
    instance: instanceObject(vu),
    test: testObject(vu),
    vu: vuObject(vu),
  };
}
