// Flags shared by the CLI's commands.
import { DEVICE_CHOICES, type DeviceChoice } from '../engine/runtime.js';
import { PRECISIONS, type Precision } from '../models/one-graph-model.js';
import { InputError } from '../common/errors.js';
import { checkThreads } from '../tuning/jobs/prepare.js';

export function parseDevice(value: string | undefined): DeviceChoice {
  const d = (value ?? 'cpu') as DeviceChoice;
  if (!DEVICE_CHOICES.includes(d)) throw new InputError(`--device ${value}: expected one of ${DEVICE_CHOICES.join(', ')}`);
  return d;
}

export function parsePrecision(value: string | undefined): Precision {
  const p = (value ?? 'auto') as Precision;
  if (!PRECISIONS.includes(p)) throw new InputError(`--precision ${value}: expected one of ${PRECISIONS.join(', ')}`);
  return p;
}

/** --threads: a whole number from 1 to this machine's CPU threads (absent: all of them). */
export function parseThreads(value: string | undefined): number | undefined {
  return value === undefined ? undefined : checkThreads(Number(value.trim() === '' ? NaN : value), '--threads', value);
}
