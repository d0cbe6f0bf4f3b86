/** The simulated remote fleet (see server.ts); the manifest types are the contract with the k6 scenarios. */
export {
  startFleet,
  originTimeOf,
  CLIENT_CLOSED,
  type RunningFleet,
  type FleetStats,
  type CapturedRequest,
} from './server.js';
export {
  resolveFleetOptions,
  parseByteSize,
  parseTargetRule,
  byteSizeLabel,
  FLEET_LIMITS,
  DEFAULT_MEDIA_SIZES,
  DEFAULT_SLOW_DELAY_MS,
  type FleetOptions,
  type TargetRule,
} from './options.js';
export type {
  FleetManifest,
  FleetInstance,
  FleetActor,
  FleetMedia,
  FleetPage,
  DeliveryRecord,
} from './manifest.js';
