/** Timing shared by the benchmark suites: warm-up, then the median of synchronized repeats. */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import { synchronize } from './device';

export function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * One warm-up run, then the median wall time in ms of as many runs (up to
 * maxRepeats) as fit in budgetMs, waiting for the device after each; the
 * warm-up alone when none fits.
 */
export function timeWithin(fn: () => void, device: string, budgetMs: number, maxRepeats: number): { ms: number; runs: number } {
  const once = (): number => {
    const t0 = process.hrtime.bigint();
    fn();
    synchronize(device);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const first = once();
  const k = Math.min(maxRepeats, Math.floor(budgetMs / Math.max(first, 1e-3)));
  if (k < 1) return { ms: first, runs: 1 };
  return { ms: median(Array.from({ length: k }, once)), runs: k };
}

/** Median wall time of fn in ms over `repeats` runs after a warm-up, waiting for the device after each run. */
export function timeIt(fn: () => void, device: string, repeats: number): number {
  return timeWithin(fn, device, Infinity, repeats).ms;
}

/** One measurement, as printed by `antler bench` and written to bench/results. */
export interface BenchRow {
  suite: string;
  case: string;
  device: string;
  impl: string;
  ms: number;
  gflops?: number;
}

/**
 * What every PyTorch peer script starts with: imports, the thread count, and
 * timed(fn, dev, repeats, budget_ms): one warm-up run, then the median of up
 * to `repeats` synchronized runs that fit in budget_ms (the warm-up's own
 * time when not even one more fits).
 */
const TORCH_PRELUDE = `
import sys, time, json, torch
torch.set_num_threads(${os.cpus().length})
def timed(fn, dev, repeats, budget_ms=float('inf')):
    def once():
        t0 = time.perf_counter(); fn()
        if dev != 'cpu': torch.cuda.synchronize()
        return (time.perf_counter() - t0) * 1e3
    first = once()
    k = repeats if first <= 0 or budget_ms == float('inf') else min(repeats, int(budget_ms // first))
    if k < 1: return first
    ts = sorted(once() for _ in range(k))
    return ts[len(ts) // 2]
`;

let torchPython: { python: string } | { note: string } | undefined;

/**
 * The Python that can import torch: $ANTLER_PYTHON when set, else the first of
 * python3 on the PATH, /usr/bin/python3 and python that can (a pyenv or venv
 * python3 often shadows the system one that has the distribution's torch).
 */
export function findTorchPython(): { python: string } | { note: string } {
  if (torchPython) return torchPython;
  const env = process.env.ANTLER_PYTHON;
  const candidates = env ? [env] : ['python3', '/usr/bin/python3', 'python'];
  const tried: string[] = [];
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 120_000 });
    if (r.status === 0) return (torchPython = { python });
    const why = r.error ? (r.error as NodeJS.ErrnoException).code ?? r.error.message : (r.stderr || '').trim().split('\n').pop() || `exit status ${r.status}`;
    tried.push(`${python}: ${why}`);
  }
  return (torchPython = { note: `no Python with torch (${tried.join('; ')}); set ANTLER_PYTHON to one` });
}

/**
 * Runs a PyTorch peer: `body` (Python at column 0, after TORCH_PRELUDE) must
 * print its result as JSON on its last stdout line. Returns the parsed result,
 * or a note saying why PyTorch could not run (no Python with torch, or the
 * script failed), for the suites to print instead of their PyTorch columns.
 */
export function runTorch<R>(body: string, timeoutMs: number): { result: R; python: string } | { note: string } {
  const found = findTorchPython();
  if ('note' in found) return { note: `PyTorch columns skipped (${found.note})` };
  const r = spawnSync(found.python, ['-c', TORCH_PRELUDE + body], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    const why = r.error ? r.error.message : (r.stderr || '').trim().split('\n').pop() || `exit status ${r.status}`;
    return { note: `PyTorch columns skipped (the PyTorch script failed under ${found.python}: ${why})` };
  }
  return { result: JSON.parse(r.stdout.trim().split('\n').pop()!) as R, python: found.python };
}

/** PyTorch's version and threads as the peers ran it, for the tables' headers; '' when there is none. */
export function torchDescription(): string {
  const found = findTorchPython();
  if ('note' in found) return '';
  const r = spawnSync(found.python, ['-c', `import torch; torch.set_num_threads(${os.cpus().length}); print(torch.__version__, torch.get_num_threads(), torch.cuda.is_available())`], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) return '';
  const [version, threads, cuda] = r.stdout.trim().split(' ');
  return `PyTorch ${version} (${found.python}, ${threads} threads${cuda === 'True' ? ', CUDA' : ''})`;
}
