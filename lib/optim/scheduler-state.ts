/**
 * Learning-rate schedulers' stateDict()/loadStateDict(): their counters as
 * float64 tensors under `scheduler.` keys, so they go through antler.save
 * with the optimizer's stateDict() (whose keys never start with
 * `scheduler.`), in one file or their own.
 */
import { fail } from '../errors';
import { checkTensor, Tensor, tensor } from '../tensor';
import { describe } from '../validate';

/**
 * What a field may hold: 'epoch', an integer >= -1 (-1 for a scheduler
 * SequentialLR has not started); 'count', an integer >= 0; 'period', an
 * integer >= 1; 'nonneg', a finite number >= 0; 'extended', a number that
 * may be infinite (ReduceLROnPlateau's best before any metric); 'lrs', one
 * learning rate per parameter group (finite, >= 0).
 */
export type StateKind = 'epoch' | 'count' | 'period' | 'nonneg' | 'extended' | 'lrs';
export interface StateField {
  kind: StateKind;
  value: number | readonly number[];
}
export type StateFields = Record<string, StateField>;
export type StateValues = Record<string, number | number[]>;

export const SCHEDULER_PREFIX = 'scheduler.';

export function writeState(prefix: string, fields: StateFields, out: Record<string, Tensor>): void {
  for (const [k, f] of Object.entries(fields)) {
    const v = f.value;
    out[prefix + k] = typeof v === 'number' ? tensor([v], [], { dtype: 'float64' }) : tensor([...v], [v.length], { dtype: 'float64' });
  }
}

/** Reads and checks every field under prefix (marking the keys used); changes nothing. */
export function readState(dict: Record<string, unknown>, prefix: string, fields: StateFields, op: string, used: Set<string>): StateValues {
  const out: StateValues = {};
  for (const [k, f] of Object.entries(fields)) {
    const key = prefix + k;
    if (!Object.hasOwn(dict, key)) fail('INVALID_ARGUMENT', `${op}: missing '${key}'; a dict from this scheduler's stateDict() has ${Object.keys(fields).map((n) => `'${prefix}${n}'`).join(', ')}`);
    const t = dict[key] as Tensor;
    checkTensor(t, op, `'${key}'`);
    used.add(key);
    const values = Array.from(t.dataSync() as ArrayLike<number>);
    if (f.kind === 'lrs') {
      const n = (f.value as readonly number[]).length;
      if (t.rank !== 1 || t.size !== n)
        fail('SHAPE_MISMATCH', `${op}: '${key}' has shape [${t.shape.join(', ')}]; expected [${n}], one learning rate per parameter group the scheduler was made with (a group added later by addParamGroup is not one: make the scheduler, and add the groups, in the order the saved run did)`);
      values.forEach((v, i) => {
        if (!Number.isFinite(v) || v < 0) fail('INVALID_ARGUMENT', `${op}: '${key}'[${i}] is ${v}; expected a finite learning rate >= 0`);
      });
      out[k] = values;
      continue;
    }
    if (t.size !== 1) fail('SHAPE_MISMATCH', `${op}: '${key}' has shape [${t.shape.join(', ')}]; expected a single number`);
    const v = values[0];
    const least = { epoch: -1, count: 0, period: 1 } as Record<StateKind, number>;
    if (f.kind in least && !(Number.isInteger(v) && v >= least[f.kind])) fail('INVALID_ARGUMENT', `${op}: '${key}' is ${v}; expected an integer >= ${least[f.kind]}`);
    if (f.kind === 'nonneg' && !(Number.isFinite(v) && v >= 0)) fail('INVALID_ARGUMENT', `${op}: '${key}' is ${v}; expected a finite number >= 0`);
    if (f.kind === 'extended' && Number.isNaN(v)) fail('INVALID_ARGUMENT', `${op}: '${key}' is NaN; expected a number (±Infinity allowed)`);
    out[k] = v;
  }
  return out;
}

/**
 * loadStateDict() of every scheduler: read(used) checks everything and
 * returns what applies it; keys outside `scheduler.` (the optimizer's, a
 * model's) are left alone, an unknown `scheduler.` key is refused.
 */
export function loadState(dict: unknown, op: string, read: (d: Record<string, unknown>, used: Set<string>) => () => void): void {
  if (dict === null || typeof dict !== 'object' || Array.isArray(dict) || dict instanceof Tensor)
    fail('INVALID_ARGUMENT', `${op}: expected the object the scheduler's stateDict() returned (or antler.load() of the file it was saved in); got ${describe(dict)}`);
  const d = dict as Record<string, unknown>;
  const mine = Object.keys(d).filter((k) => k.startsWith(SCHEDULER_PREFIX));
  if (!mine.length) {
    const some = Object.keys(d).slice(0, 3).map((k) => `'${k}'`).join(', ');
    fail('INVALID_ARGUMENT', `${op}: the dict has no '${SCHEDULER_PREFIX}…' keys (it has ${some || 'none'}${Object.keys(d).length > 3 ? ', …' : ''}); pass what a scheduler's stateDict() returned`);
  }
  const used = new Set<string>();
  const apply = read(d, used);
  const unknown = mine.filter((k) => !used.has(k));
  if (unknown.length) fail('INVALID_ARGUMENT', `${op}: unknown key '${unknown[0]}'${unknown.length > 1 ? ` (and ${unknown.length - 1} more)` : ''}: the dict comes from another kind of scheduler, or from more than one`);
  apply();
}
