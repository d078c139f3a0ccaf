/**
 * profile(fn): what a piece of work costs, op by op (TensorFlow.js's
 * tf.profile, with torch.profiler's table). Every native op run while fn
 * runs is timed (each CUDA op waited for, so its time is the device's, not
 * the launch's) and its memory effect recorded; the totals say how many
 * tensors and bytes fn left behind and how high memory went.
 */
import { isThenable } from './engine';
import { fail } from './errors';
import { currentOpLabel, native, NativeAddon, NativeMemory, rawNative, setProfiledAddon } from './native';
import { checkBoolean, checkOptions, describe } from './validate';

/** One native op run under profile(). */
export interface ProfileKernel {
  /** The op: the addon's entry point, with the elementwise or reduction op it ran ('binary:add', 'unary:tanh', 'matmul', 'reduce:sum'); 'addScaledInPlace' for a gradient added into an existing .grad. */
  name: string;
  /** Wall time of the op in milliseconds (a CUDA op waited for when `sync`). */
  ms: number;
  /** The same as `ms`, under TF.js's name (tf.profile's kernels[i].kernelTimeMs). */
  kernelTimeMs: number;
  /** Bytes it added (negative when it freed more than it made), over all devices. */
  bytesAdded: number;
  /** Bytes live after it, over all devices. */
  totalBytesSnapshot: number;
  /** Tensors it added. */
  tensorsAdded: number;
  /** Tensors live after it. */
  totalTensorsSnapshot: number;
  /** Shapes of the tensors it was given (TF.js's inputShapes), in argument order. */
  inputShapes: number[][];
  /** Shapes of the tensors it returned. */
  outputShapes: number[][];
  /** Device of its first output (or '' when it returned none, e.g. an in-place optimizer step). */
  device: string;
}

/** The kernels of one name, summed. */
export interface ProfileSummaryRow {
  name: string;
  calls: number;
  ms: number;
  bytesAdded: number;
}

export interface ProfileInfo<T> {
  /** What fn returned (tensors are not disposed: dispose them as fn's own). */
  result: T;
  /**
   * Tensors left live by fn (TF.js's newTensors). This and the byte counts are memory()'s, which
   * counts every thread of the process: a worker thread's tensors made meanwhile count too.
   */
  newTensors: number;
  /** Bytes left live by fn (TF.js's newBytes). */
  newBytes: number;
  /**
   * The most bytes live while fn ran, summed over devices: exact for a
   * device whose memory() peak fn raised; otherwise the most seen between
   * ops (an op's own scratch then not counted). profile() does not reset
   * memory()'s peaks.
   */
  peakBytes: number;
  /** Wall time of fn in milliseconds (with the per-op waits when `sync`). */
  wallMs: number;
  /** Sum of the ops' times. */
  kernelMs: number;
  /** Every op, in order. */
  kernels: ProfileKernel[];
  /** Their names, in order (TF.js's kernelNames). */
  kernelNames: string[];
  /** The ops grouped by name, most time first. */
  summary: ProfileSummaryRow[];
  /** The summary as a text table (the `top` rows by time; default 20). */
  table(top?: number): string;
}

export interface ProfileOptions {
  /** Wait for each CUDA op to finish, so its time is the device's (default true). CPU ops are synchronous either way. */
  sync?: boolean;
}

/** Bookkeeping entry points: not ops, not timed. */
const UNTIMED = new Set([
  'setErrorClass', 'buildInfo', 'backends', 'describe', 'metaBuffer', 'describeInto', 'dispose', 'versionSum', 'isDisposed',
  'memory', 'synchronize', 'setNumThreads', 'emptyCache', 'resetPeakMemory',
]);

function totals(addon: NativeAddon): { bytes: number; tensors: number; devices: Record<string, NativeMemory> } {
  const devices = addon.memory() as Record<string, NativeMemory>;
  let bytes = 0, tensors = 0;
  for (const d of Object.values(devices)) {
    bytes += d.numBytes;
    tensors += d.numTensors;
  }
  return { bytes, tensors, devices };
}

/**
 * Runs fn and reports its ops, time and memory (TF.js's tf.profile; `await`
 * works on the synchronous result too). An async fn gives a Promise of the
 * report, profiling until it settles (other work run meanwhile counts too).
 * Profiles do not nest.
 *
 *   const info = antler.profile(() => model.forward(x));
 *   console.log(info.table());           // ops by time
 *   info.result.dispose();
 */
export function profile<T>(fn: () => Promise<T>, options?: ProfileOptions): Promise<ProfileInfo<T>>;
export function profile<T>(fn: () => T, options?: ProfileOptions): ProfileInfo<T>;
export function profile<T>(fn: () => T | Promise<T>, options?: ProfileOptions): ProfileInfo<T> | Promise<ProfileInfo<T>> {
  const { sync, addon } = checkRun('profile', fn, options);
  const start = totals(addon);
  const wait = deviceWaiter(addon);
  const kernels: ProfileKernel[] = [];
  // Per device, the most bytes live between ops.
  const seen = new Map<string, number>(Object.entries(start.devices).map(([d, m]) => [d, m.numBytes]));
  const see = (t: ReturnType<typeof totals>) => {
    for (const [d, m] of Object.entries(t.devices)) seen.set(d, Math.max(seen.get(d) ?? 0, m.numBytes));
  };
  const timed = standIn(addon, (key, f) => (...args: unknown[]) => {
    const label = currentOpLabel();
    const inputShapes = shapesOf(addon, args);
    const before = totals(addon);
    const t0 = performance.now();
    const out = f.apply(addon, args);
    const ms = performance.now() - t0 + (sync ? wait() : 0);
    const after = totals(addon);
    see(after);
    let device = '';
    const shapes = shapesOf(addon, Array.isArray(out) ? out : [out], (dev) => (device ||= dev));
    kernels.push({
      name: label ?? (typeof args[0] === 'string' ? `${key}:${args[0]}` : key),
      ms,
      kernelTimeMs: ms,
      inputShapes,
      bytesAdded: after.bytes - before.bytes,
      totalBytesSnapshot: after.bytes,
      tensorsAdded: after.tensors - before.tensors,
      totalTensorsSnapshot: after.tensors,
      outputShapes: shapes,
      device,
    });
    return out;
  });
  const finish = (result: T, t0: number): ProfileInfo<T> => {
    const wallMs = performance.now() - t0;
    const end = totals(addon);
    see(end);
    // A device whose memory() peak rose while fn ran peaked during fn, at that value; for the others the
    // most seen between ops (memory()'s peaks are never reset here).
    let peakBytes = 0;
    for (const [d, m] of Object.entries(end.devices)) peakBytes += m.peakBytes > (start.devices[d]?.peakBytes ?? 0) ? m.peakBytes : (seen.get(d) ?? m.numBytes);
    return report(result, kernels, { newTensors: end.tensors - start.tensors, newBytes: end.bytes - start.bytes, peakBytes, wallMs });
  };
  return runWith(timed, fn, finish);
}

/**
 * A function that waits for every CUDA device in use and returns the milliseconds spent waiting.
 * memory() lists a device from its first allocation on, so one that fn is the first to use appears
 * while fn runs: the list is read again at each call where CUDA is available (never on a CPU-only
 * run), outside the time returned, so an op's time holds only the op and its wait.
 */
function deviceWaiter(addon: NativeAddon): () => number {
  const cudaAvailable = addon.backends().cuda.available;
  const list = () => Object.keys(addon.memory() as Record<string, NativeMemory>).filter((d) => d.startsWith('cuda'));
  let devices = list();
  return () => {
    if (cudaAvailable) devices = list();
    const t0 = performance.now();
    for (const d of devices) addon.synchronize(d);
    return performance.now() - t0;
  };
}

/** profile()'s and time()'s arguments checked: fn, {sync} (default true); the addon, refused while either runs. */
function checkRun(op: string, fn: unknown, options: unknown): { sync: boolean; addon: NativeAddon } {
  if (typeof fn !== 'function') fail('INVALID_ARGUMENT', `${op}: expected a function to run; got ${describe(fn)}`);
  const o = checkOptions<ProfileOptions>(options, op, ['sync']);
  const sync = o.sync === undefined ? true : checkBoolean(o.sync, op, 'sync');
  const addon = rawNative();
  // native() hands out a stand-in while either runs.
  if (native() !== addon) fail('INVALID_ARGUMENT', `${op}: a profile() or time() is already running (they do not nest); read the outer one's report instead`);
  return { sync, addon };
}

/**
 * A stand-in for the addon whose ops (every entry point but the bookkeeping ones) are wrap(key, f)'s
 * functions; the others are the addon's own, bound. (A stand-in target because the addon's own
 * properties are read-only, which a proxy of it must return as they are.)
 */
function standIn(addon: NativeAddon, wrap: (key: string, f: (...args: unknown[]) => unknown) => (...args: unknown[]) => unknown): NativeAddon {
  const wrappers = new Map<PropertyKey, unknown>();
  return new Proxy({} as NativeAddon, {
    get(_stand, key) {
      const v = Reflect.get(addon, key) as unknown;
      if (typeof v !== 'function') return v;
      let w = wrappers.get(key);
      if (w) return w;
      const f = v as (...args: unknown[]) => unknown;
      w = typeof key !== 'string' || UNTIMED.has(key) ? f.bind(addon) : wrap(key, f);
      wrappers.set(key, w);
      return w;
    },
  });
}

/** fn run with `stand` as the addon native() hands out (until fn, or its Promise, settles), then done(result, start time). */
function runWith<T, R>(stand: NativeAddon, fn: () => T | Promise<T>, done: (result: T, t0: number) => R): R | Promise<R> {
  setProfiledAddon(stand);
  const stop = () => setProfiledAddon(null);
  const t0 = performance.now();
  let result: T | Promise<T>;
  try {
    result = fn();
  } catch (e) {
    stop();
    throw e;
  }
  if (!isThenable(result)) {
    stop();
    return done(result, t0);
  }
  return Promise.resolve(result).then(
    (r) => {
      stop();
      return done(r, t0);
    },
    (e: unknown) => {
      stop();
      throw e;
    },
  );
}

/** What time() measured. */
export interface TimingInfo<T> {
  /** What fn returned (tensors are not disposed: dispose them as fn's own). */
  result: T;
  /** Wall time of fn in milliseconds, from a device that had finished earlier work to one that has finished fn's. */
  wallMs: number;
  /**
   * Time spent in antler's native ops, in milliseconds (TF.js's kernelMs): with `sync` (the default)
   * each CUDA op is waited for, so this is the devices' time; with `sync: false` it is the host's time
   * in the calls (CUDA launches return early) plus the final wait for the devices. wallMs − kernelMs is
   * the time spent in JavaScript.
   */
  kernelMs: number;
  /** How many native ops fn ran. */
  ops: number;
}

/**
 * Runs fn and says how long it took (TF.js's tf.time; `await` works on the
 * synchronous result too): wall time, time in native ops, op count. Lighter
 * than profile() (no per-op record or memory bookkeeping). CUDA devices are
 * synchronized before fn starts and after it ends, so wallMs is the time fn's
 * work took. An async fn gives a Promise. Not inside profile() or another time().
 *
 *   const t = antler.time(() => model.forward(x));
 *   console.log(t.wallMs, t.kernelMs);
 *   t.result.dispose();
 */
export function time<T>(fn: () => Promise<T>, options?: ProfileOptions): Promise<TimingInfo<T>>;
export function time<T>(fn: () => T, options?: ProfileOptions): TimingInfo<T>;
export function time<T>(fn: () => T | Promise<T>, options?: ProfileOptions): TimingInfo<T> | Promise<TimingInfo<T>> {
  const { sync, addon } = checkRun('time', fn, options);
  const wait = deviceWaiter(addon);
  wait();
  let kernelMs = 0, ops = 0;
  const timed = standIn(addon, (_key, f) => (...args: unknown[]) => {
    const t0 = performance.now();
    let out: unknown;
    try {
      out = f.apply(addon, args);
    } finally {
      kernelMs += performance.now() - t0;
      ops++;
    }
    if (sync) kernelMs += wait();
    return out;
  });
  return runWith(timed, fn, (result, t0) => {
    const waited = wait();
    if (!sync) kernelMs += waited;
    return { result, wallMs: performance.now() - t0, kernelMs, ops };
  });
}

/**
 * The shapes of the tensor handles among `values`, and in an array among them (concat's inputs),
 * other values passed over; onDevice sees each one's device.
 */
function shapesOf(addon: NativeAddon, values: unknown[], onDevice?: (device: string) => void): number[][] {
  const shapes: number[][] = [];
  for (const h of values.flatMap((v) => (Array.isArray(v) ? (v as unknown[]) : [v]))) {
    if (h === null || typeof h !== 'object' || Array.isArray(h) || ArrayBuffer.isView(h) || isThenable(h)) continue;
    try {
      const [shape, , dev] = addon.describe(h as never);
      shapes.push(shape);
      onDevice?.(dev);
    } catch {
      // not a tensor handle (an options object)
    }
  }
  return shapes;
}

function report<T>(result: T, kernels: ProfileKernel[], totals: { newTensors: number; newBytes: number; peakBytes: number; wallMs: number }): ProfileInfo<T> {
  const byName = new Map<string, ProfileSummaryRow>();
  for (const k of kernels) {
    const row = byName.get(k.name) ?? { name: k.name, calls: 0, ms: 0, bytesAdded: 0 };
    row.calls += 1;
    row.ms += k.ms;
    row.bytesAdded += k.bytesAdded;
    byName.set(k.name, row);
  }
  const summary = [...byName.values()].sort((a, b) => b.ms - a.ms || a.name.localeCompare(b.name));
  const kernelMs = kernels.reduce((a, k) => a + k.ms, 0);
  return {
    result,
    ...totals,
    kernelMs,
    kernels,
    kernelNames: kernels.map((k) => k.name),
    summary,
    table: (top = 20) => profileTable(summary, kernelMs, top),
  };
}

function bytesText(b: number): string {
  const a = Math.abs(b);
  const [v, u] = a >= 1024 ** 3 ? [b / 1024 ** 3, 'GiB'] : a >= 1024 ** 2 ? [b / 1024 ** 2, 'MiB'] : a >= 1024 ? [b / 1024, 'KiB'] : [b, 'B'];
  return u === 'B' ? `${v} B` : `${v.toFixed(1)} ${u}`;
}

function profileTable(summary: ProfileSummaryRow[], kernelMs: number, top: number): string {
  if (typeof top !== 'number' || !Number.isInteger(top) || top < 1) fail('INVALID_ARGUMENT', `profile table: top must be a positive integer; got ${describe(top)}`);
  const rows = summary.slice(0, top).map((r) => [
    r.name, String(r.calls), r.ms.toFixed(3), (r.ms / r.calls).toFixed(4), kernelMs > 0 ? `${((100 * r.ms) / kernelMs).toFixed(1)}%` : '-', bytesText(r.bytesAdded),
  ]);
  const head = ['op', 'calls', 'total ms', 'mean ms', 'time', 'bytes added'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const rest = summary.length > top ? [`… ${summary.length - top} more ops`] : [];
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), ...rest].join('\n');
}
