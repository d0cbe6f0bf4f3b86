import type { Argv } from 'yargs';
import { calibrationSchema } from '../calibrate/calibrationFile.js';
import { loadProfile } from '../profile/load.js';
import { profileJsonSchema, profileReference } from '../profile/docs.js';
import { isAssumption, listQuantities } from '../shared/quantity.js';
import { emit } from './output.js';
import { InputError } from '../shared/errors.js';

/** docs/profile.md: the profile's fields, then the calibration file's. */
export function profileDocs(): string {
  return profileReference([{ title: 'Calibration file reference', schema: calibrationSchema }]);
}

export function profileCommand(y: Argv) {
  return y.command('profile', 'The instance profile: check a file, print its schema or reference', (p) =>
    p
      .command(
        'check [file]',
        'Validate a profile (default: the embedded one) and count its assumptions',
        (c) =>
          c
            .positional('file', { type: 'string' })
            // The flag every other command takes the profile with, accepted here too.
            .option('profile', { type: 'string', describe: 'The profile file (instead of FILE)' }),
        (args) => {
          if (args.file !== undefined && args.profile !== undefined && args.file !== args.profile)
            throw new InputError(
              `profile check: give the file once, as FILE or as --profile (got ${args.file} and ${args.profile})`,
            );
          const file = args.file ?? args.profile;
          const profile = loadProfile(file);
          const quantities = listQuantities(profile);
          const assumed = quantities.filter((q) => isAssumption(q.quantity.source)).length;
          emit(
            `${file ?? 'embedded default profile'}: valid (${quantities.length} quantities, ${assumed} assumptions)`,
            undefined,
            '',
          );
        },
      )
      .command('schema', 'Print the profile JSON Schema', {}, () =>
        emit(JSON.stringify(profileJsonSchema(), null, 2), undefined, ''),
      )
      .command('docs', 'Print the field reference (docs/profile.md)', {}, () =>
        emit(profileDocs(), undefined, ''),
      )
      .demandCommand(1, 'say what to do: fedicap profile check|schema|docs'),
  );
}
