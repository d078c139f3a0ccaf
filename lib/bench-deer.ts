/**
 * `antler bench deer`: the DEER paper's speed table (Lim et al., ICLR 2024) on
 * this machine. A GRU with input size = hidden size = n, batch 16, float32,
 * evaluated by the DEER solver in modes 'deer' (dense Newton) and 'quasi'
 * (diagonal Jacobian) against mode 'sequential' (antler's fused sequential
 * kernel), all through nn.GRU on the same weights and inputs, in the same
 * run on the same device; 'auto' runs too, to show which mode it picks.
 * PyTorch's nn.GRU (cuDNN on CUDA) joins when python3 can import torch.
 * Forward runs under noGrad; forward+gradient backpropagates Σ y.
 *
 * Per cell: ms per implementation, the speedups sequential/deer and
 * sequential/quasi, Newton iterations (stats.iterations, summed over chunks),
 * the chunkSize used (so the dense Jacobian, T_chunk·B·n²·4 bytes, stays
 * under ~2 GiB on a GPU and ~512 MiB on the CPU), and the peak memory of the
 * measurement above what was live before it. A measurement that runs out of
 * memory is reported as OOM; one predicted (from the previous T) to take
 * longer than the per-measurement limit is skipped, and the output says so.
 *
 * A full run (not --quick) also writes its tables into BENCHMARKS.md's
 * '## DEER' section when run from the antler checkout.
 *
 * ANTLER_BENCH_DEER_NS and ANTLER_BENCH_DEER_TS (comma-separated, e.g.
 * "1,8" and "100000,1000000") replace the plan's sizes: part of the grid, in
 * the time a GPU session has; such a run does not update BENCHMARKS.md.
 * ANTLER_BENCH_DEER_FUSED=0 or 1 sets the solver option `fused` (the whole
 * Newton solve and the adjoint in one native call; by default on CUDA, off
 * on the CPU): the two in the same session show what fusing gains. Such a
 * run does not update BENCHMARKS.md either.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { noGrad } from './autograd/graph';
import { BenchRow, runTorch, timeWithin } from './bench-timing';
import type { DeerMode, DeerStats } from './deer/solver';
import { backends, cpuLoopsLabel, emptyCache } from './device';
import { tidy } from './engine';
import { AntlerError } from './errors';
import { memory, resetPeakMemory } from './memory';
import { GRU } from './nn/rnn';
import { sum } from './ops/core';
import { setSeed } from './random';
import { randn } from './tensor';

/** Batch size of every cell, as in the paper. */
const BATCH = 16;
const GiB = 1024 ** 3;

type Pass = 'fwd' | 'fwd+grad';
const PASSES: readonly Pass[] = ['fwd', 'fwd+grad'];
/** The antler implementations, timed in this order (sequential first: the baseline of every ratio). */
const MODES = ['sequential', 'deer', 'quasi', 'auto'] as const;

export interface DeerBenchRow extends BenchRow {
  n: number;
  T: number;
  batch: number;
  pass: Pass;
  /** 'ok' (ms is the median time), or why there is no time: 'OOM', 'skipped' or 'error' (ms is NaN). */
  status: 'ok' | 'OOM' | 'skipped' | 'error';
  /** The mode that ran (what 'auto' chose). */
  mode?: string;
  /** Newton iterations of the slowest sequence, summed over chunks. */
  iterations?: number;
  chunks?: number;
  chunkSize?: number;
  /** Peak bytes on the device during the measurement, above what was live before it. */
  peakBytes?: number;
  /** Timed runs behind the median (after one warm-up). */
  runs?: number;
  /** Any sequence fell back to the sequential kernel. */
  fallback?: boolean;
  note?: string;
}

interface Plan {
  device: string;
  ns: number[];
  Ts: number[];
  /** Time for the repeats of one measurement (after the warm-up run). */
  budgetMs: number;
  maxRepeats: number;
  /** A measurement predicted to take longer than this per run is skipped. */
  skipMs: number;
  /** Memory for the per-chunk Jacobians. */
  jacobianBytes: number;
  /** DeerOptions.fused for every deer and quasi measurement (undefined: the default). */
  fused?: boolean;
}

function planFor(device: string, quick: boolean): Plan {
  if (device === 'cpu')
    return quick
      ? { device, ns: [1, 8], Ts: [1000], budgetMs: 300, maxRepeats: 3, skipMs: 10_000, jacobianBytes: 512 * 1024 ** 2 }
      : { device, ns: [1, 4, 8, 32], Ts: [1000, 10_000], budgetMs: 1200, maxRepeats: 15, skipMs: 30_000, jacobianBytes: 512 * 1024 ** 2 };
  return quick
    ? { device, ns: [1, 8, 32], Ts: [1000, 10_000], budgetMs: 500, maxRepeats: 5, skipMs: 20_000, jacobianBytes: 2 * GiB }
    : { device, ns: [1, 2, 4, 8, 16, 32, 64], Ts: [1000, 10_000, 100_000, 1_000_000], budgetMs: 2000, maxRepeats: 20, skipMs: 60_000, jacobianBytes: 2 * GiB };
}

/**
 * chunkSize for a mode: dense DEER holds a [T_chunk, B, n, n] Jacobian, and so
 * does every mode's gradient (the adjoint scan runs on the dense Jacobian at
 * the solution); a quasi forward holds about 16 [T_chunk, B, n] tensors.
 * 'auto' gets the dense bound (it may pick DEER); 'sequential' needs no chunks.
 */
function chunkFor(mode: DeerMode, pass: Pass, n: number, T: number, plan: Plan): number {
  if (mode === 'sequential') return T;
  const perStep = BATCH * 4 * (mode === 'quasi' && pass === 'fwd' ? 16 * n : n * n);
  return Math.max(1, Math.min(T, Math.floor(plan.jacobianBytes / perStep)));
}

/** 1000 → '1k', 1_000_000 → '1M'. */
const tLabel = (T: number): string => (T >= 1e6 && T % 1e6 === 0 ? `${T / 1e6}M` : T >= 1e3 && T % 1e3 === 0 ? `${T / 1e3}k` : String(T));
const caseName = (n: number, T: number, pass: Pass) => `n=${n} T=${tLabel(T)} ${pass}`;

/** Times run() on the device with its peak memory; an OUT_OF_MEMORY is a result, other errors are reported in the row. */
function measure(run: () => DeerStats, plan: Plan): Pick<DeerBenchRow, 'ms' | 'status' | 'runs' | 'peakBytes' | 'note'> & { stats?: DeerStats } {
  const live = () => memory().devices[plan.device] ?? { numBytes: 0, peakBytes: 0 };
  const before = live().numBytes;
  resetPeakMemory();
  let stats: DeerStats | undefined;
  try {
    const t = timeWithin(() => void (stats = run()), plan.device, plan.budgetMs, plan.maxRepeats);
    return { ms: t.ms, runs: t.runs, status: 'ok', peakBytes: live().peakBytes - before, stats };
  } catch (e) {
    if (plan.device !== 'cpu') emptyCache();
    if (e instanceof AntlerError && e.code === 'OUT_OF_MEMORY') return { ms: NaN, status: 'OOM', note: e.message };
    return { ms: NaN, status: 'error', note: e instanceof Error ? `${(e as AntlerError).code ?? e.name}: ${e.message}` : String(e) };
  }
}

/** The antler cells of the grid, each measured forward and forward+gradient in every mode. */
function benchAntler(plan: Plan): DeerBenchRow[] {
  const rows: DeerBenchRow[] = [];
  const lastTime = new Map<string, { T: number; ms: number }>();
  for (const n of plan.ns)
    for (const T of plan.Ts) {
      setSeed(1234);
      const gru = new GRU(n, n, { device: plan.device });
      const x = randn([T, BATCH, n], { device: plan.device });
      for (const pass of PASSES) {
        const cell: DeerBenchRow[] = [];
        for (const mode of MODES) {
          const chunkSize = chunkFor(mode, pass, n, T, plan);
          const base = { suite: 'deer', case: caseName(n, T, pass), device: plan.device, impl: mode, n, T, batch: BATCH, pass, chunkSize };
          const key = `${mode}/${pass}/${n}`;
          const prev = lastTime.get(key);
          const predicted = prev ? (prev.ms * T) / prev.T : 0;
          if (predicted > plan.skipMs) {
            cell.push({ ...base, ms: NaN, status: 'skipped', note: `predicted ${(predicted / 1e3).toFixed(0)} s per run from T=${tLabel(prev!.T)}` });
            continue;
          }
          const opts = { mode, chunkSize, ...(plan.fused !== undefined ? { fused: plan.fused } : {}) };
          const run = pass === 'fwd'
            ? () => tidy(() => noGrad(() => gru.forward(x, null, opts).stats[0]))
            : () => {
                gru.zeroGrad();
                return tidy(() => {
                  const out = gru.forward(x, null, opts);
                  sum(out.output).backward();
                  return out.stats[0];
                });
              };
          const m = measure(run, plan);
          gru.zeroGrad();
          const s = m.stats;
          delete m.stats;
          cell.push({ ...base, ...m, ...(s ? { mode: s.mode, iterations: s.iterations, chunks: s.chunks, fallback: s.fallback } : {}) });
          if (m.status === 'ok') lastTime.set(key, { T, ms: m.ms });
        }
        console.log(`  ${describeCell(cell)}`);
        rows.push(...cell);
      }
      x.dispose();
      gru.dispose();
    }
  return rows;
}

/** One progress line: 'n=8 T=1k fwd: sequential 3.1 ms, deer 9.0 ms (4 it), ...'. */
function describeCell(cell: DeerBenchRow[]): string {
  const parts = cell.map((r) => {
    if (r.status !== 'ok') return `${r.impl} ${r.status}${r.note ? ` (${r.note})` : ''}`;
    const extra = [
      r.impl === 'auto' ? `chose ${r.mode}` : '',
      r.mode !== 'sequential' && r.iterations !== undefined ? `${r.iterations} it` : '',
      (r.chunks ?? 1) > 1 ? `${r.chunks} chunks of ${r.chunkSize}` : '',
      r.fallback ? 'FELL BACK to sequential' : '',
    ].filter(Boolean);
    return `${r.impl} ${r.ms.toFixed(2)} ms${extra.length ? ` (${extra.join(', ')})` : ''}`;
  });
  return `${cell[0].case}: ${parts.join(', ')}`;
}

/** PyTorch's nn.GRU over the same grid (cuDNN on CUDA), in one python3 process; a note instead when torch is not importable. */
function benchTorch(plan: Plan): { rows: DeerBenchRow[]; note: string } {
  const dev = plan.device === 'cpu' ? 'cpu' : 'cuda';
  const r = runTorch<[number, number, Pass, number | null, DeerBenchRow['status'], number | string | null][]>(`
dev = '${dev}'
rows, last = [], {}
for n in ${JSON.stringify(plan.ns)}:
    for T in ${JSON.stringify(plan.Ts)}:
        torch.manual_seed(1234)
        m = torch.nn.GRU(n, n).to(dev)
        x = torch.randn(T, ${BATCH}, n, device=dev)
        for p in ['fwd', 'fwd+grad']:
            if (n, p) in last and last[(n, p)][1] * T / last[(n, p)][0] > ${plan.skipMs}:
                rows.append([n, T, p, None, 'skipped', None]); continue
            def fwd():
                with torch.no_grad(): m(x)
            def fwdgrad():
                m.zero_grad(); m(x)[0].sum().backward()
            try:
                if dev == 'cuda': torch.cuda.reset_peak_memory_stats(); base = torch.cuda.memory_allocated()
                ms = timed(fwd if p == 'fwd' else fwdgrad, dev, ${plan.maxRepeats}, ${plan.budgetMs})
                peak = torch.cuda.max_memory_allocated() - base if dev == 'cuda' else None
                rows.append([n, T, p, ms, 'ok', peak]); last[(n, p)] = (T, ms)
            except RuntimeError as e:
                # Out of memory is a result; so is a size cuDNN refuses (CUDNN_STATUS_NOT_SUPPORTED at T = 1M on an H200):
                # the cell says so and the rest of the grid still runs.
                msg = str(e).lower()
                # CUDA's 'out of memory', the CPU allocator's "can't allocate memory" / 'not enough memory'.
                oom = 'out of memory' in msg or 'allocate memory' in msg or 'enough memory' in msg
                first = (str(e).splitlines() or [type(e).__name__])[0][:160]
                rows.append([n, T, p, None, 'OOM' if oom else 'error', None if oom else first])
                if dev == 'cuda': torch.cuda.empty_cache()
        del m, x
print(json.dumps(rows))
`, 3_600_000);
  if ('note' in r) return { rows: [], note: r.note };
  // The last field is the peak memory of a measurement, or an error's message.
  const rows = r.result.map(([n, T, pass, ms, status, last]): DeerBenchRow => ({
    suite: 'deer', case: caseName(n, T, pass), device: plan.device, impl: 'pytorch', ms: ms ?? NaN, n, T, batch: BATCH, pass, status,
    ...(typeof last === 'number' ? { peakBytes: last } : typeof last === 'string' ? { note: last } : {}),
  }));
  return { rows, note: '' };
}

// ---------------------------------------------------------------- tables

/** '22×', '3.7×', '0.41×' (two significant digits, as the paper prints them). */
function formatSpeedup(x: number): string {
  return `${x >= 10 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toPrecision(2)}×`;
}

/** The entry of one (n, T, pass) for impl: speedup over sequential, or why there is none. */
function speedupEntry(rows: DeerBenchRow[], n: number, T: number, pass: Pass, impl: string): string {
  const find = (i: string) => rows.find((r) => r.n === n && r.T === T && r.pass === pass && r.impl === i);
  const seq = find('sequential'), other = find(impl);
  if (!seq || !other) return '—';
  if (other.status !== 'ok') return other.status === 'skipped' ? 'skipped' : other.status;
  if (seq.status !== 'ok') return `sequential ${seq.status}`;
  return formatSpeedup(seq.ms / other.ms);
}

/**
 * The paper's speed table (Lim et al., ICLR 2024) as Markdown: rows 'forward n'
 * then 'fwd+grad n', columns T, entries sequential time / impl time measured
 * in the same run ('OOM' or 'skipped' where impl has no time).
 */
export function deerSpeedupMarkdown(rows: DeerBenchRow[], impl: 'deer' | 'quasi' | 'auto' | 'pytorch' = 'deer'): string {
  const ns = [...new Set(rows.map((r) => r.n))].sort((a, b) => a - b);
  const Ts = [...new Set(rows.map((r) => r.T))].sort((a, b) => a - b);
  const lines = [`| n \\ T | ${Ts.map(tLabel).join(' | ')} |`, `|---|${Ts.map(() => '---|').join('')}`];
  for (const pass of PASSES)
    for (const n of ns) lines.push(`| ${pass === 'fwd' ? 'forward' : 'fwd+grad'} ${n} | ${Ts.map((T) => speedupEntry(rows, n, T, pass, impl)).join(' | ')} |`);
  return lines.join('\n');
}

/** Every cell as Markdown: times, speedups, iterations, chunk sizes and peak memory. */
export function deerDetailMarkdown(rows: DeerBenchRow[]): string {
  const keys = [...new Map(rows.map((r) => [`${r.n}/${r.T}/${r.pass}`, r])).values()]
    .sort((a, b) => a.n - b.n || a.T - b.T || PASSES.indexOf(a.pass) - PASSES.indexOf(b.pass));
  const hasTorch = rows.some((r) => r.impl === 'pytorch');
  const head = ['n', 'T', 'pass', 'sequential ms', 'deer ms (iters)', 'quasi ms (iters)', 'auto ms (chose)', ...(hasTorch ? ['PyTorch ms'] : []),
    'seq/deer', 'seq/quasi', 'chunkSize deer/quasi', 'peak MiB seq/deer/quasi'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---|').join('')}`];
  const mib = (r?: DeerBenchRow) => (r?.peakBytes === undefined ? '-' : (r.peakBytes / 1024 ** 2).toFixed(r.peakBytes < 10 * 1024 ** 2 ? 1 : 0));
  for (const k of keys) {
    const get = (impl: string) => rows.find((r) => r.n === k.n && r.T === k.T && r.pass === k.pass && r.impl === impl);
    const time = (r?: DeerBenchRow, extra?: string) => (!r ? '-' : r.status !== 'ok' ? r.status : `${r.ms.toFixed(r.ms < 10 ? 2 : 1)}${extra ? ` (${extra})` : ''}`);
    const iters = (r?: DeerBenchRow) => (r?.iterations === undefined ? '' : `${r.iterations}${r.fallback ? ', fell back' : ''}`);
    const [seq, deer, quasi, auto, torch] = ['sequential', 'deer', 'quasi', 'auto', 'pytorch'].map(get);
    const chunk = (r?: DeerBenchRow) => (r?.chunkSize === undefined ? '-' : r.chunkSize >= k.T ? 'whole' : String(r.chunkSize));
    lines.push(`| ${[
      k.n, tLabel(k.T), k.pass, time(seq), time(deer, iters(deer)), time(quasi, iters(quasi)), time(auto, auto?.mode), ...(hasTorch ? [time(torch)] : []),
      speedupEntry(rows, k.n, k.T, k.pass, 'deer'), speedupEntry(rows, k.n, k.T, k.pass, 'quasi'),
      `${chunk(deer)}/${chunk(quasi)}`, `${mib(seq)}/${mib(deer)}/${mib(quasi)}`,
    ].join(' | ')} |`);
  }
  return lines.join('\n');
}

/**
 * Whether 'auto' picked well: per measurement, the mode it chose against the
 * fastest of sequential/deer/quasi measured in the same cell (a choice within
 * 10% of the fastest counts as right: the timings are that noisy).
 */
export function autoSummary(rows: DeerBenchRow[]): string {
  const autos = rows.filter((r) => r.impl === 'auto' && r.status === 'ok' && r.mode);
  const chose = new Map<string, number>();
  let right = 0, judged = 0;
  for (const a of autos) {
    chose.set(a.mode!, (chose.get(a.mode!) ?? 0) + 1);
    const peers = rows.filter((r) => r.n === a.n && r.T === a.T && r.pass === a.pass && r.status === 'ok' && ['sequential', 'deer', 'quasi'].includes(r.impl));
    const picked = peers.find((r) => r.impl === a.mode);
    if (!picked || peers.length < 2) continue;
    judged += 1;
    if (picked.ms <= 1.1 * Math.min(...peers.map((r) => r.ms))) right += 1;
  }
  const counts = [...chose].map(([m, k]) => `${m} ${k}×`).join(', ') || 'nothing';
  return `auto chose ${counts}; its choice was the fastest of sequential/deer/quasi (within 10%) in ${right} of ${judged} measurements.`;
}

// ---------------------------------------------------------------- BENCHMARKS.md

const SECTION_INTRO = `## DEER

\`node dist/cli.js bench deer\` (lib/bench-deer.ts): the DEER paper's speed
table (Lim et al., ICLR 2024) on the machine it runs on. A GRU with input size =
hidden size = n, batch 16, float32, through nn.GRU; modes 'deer' (dense
Newton) and 'quasi' (diagonal Jacobian) against mode 'sequential' (antler's
fused sequential kernel) on the same weights and inputs, measured in the same
run on the same device; forward under noGrad, forward+gradient
backpropagates Σ y. Entries are sequential time / DEER time (above 1× DEER
is faster); peak memory is the device's peak during a measurement above what
was live before it. A full run rewrites its device's block below; the rest
of this file is left alone.`;

/** Replaces (or adds) the block for `kind` ('cpu' or 'gpu') in the '## DEER' section of the Markdown text. */
/** Whether dir is a checkout of antler itself (its package.json names antler and it has the sources), where a full run keeps BENCHMARKS.md up to date. */
export function isAntlerCheckout(dir: string): boolean {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === 'antler' && fs.existsSync(path.join(dir, 'lib', 'bench-deer.ts'));
  } catch {
    return false;
  }
}

export function replaceDeerBlock(text: string, kind: 'cpu' | 'gpu', block: string): string {
  const open = `<!-- deer:${kind} -->`, close = `<!-- /deer:${kind} -->`;
  const wrapped = `${open}\n${block.trim()}\n${close}`;
  const start = text.search(/^## DEER\s*$/m);
  if (start < 0) {
    // A new section goes before '## GPU' when there is one, else at the end.
    const gpu = text.search(/^## GPU\s*$/m);
    const section = `${SECTION_INTRO}\n\n${wrapped}\n\n`;
    return gpu >= 0 ? text.slice(0, gpu) + section + text.slice(gpu) : `${text.trimEnd()}\n\n${section.trimEnd()}\n`;
  }
  const next = text.slice(start + 1).search(/^## /m);
  const end = next < 0 ? text.length : start + 1 + next;
  let section = text.slice(start, end);
  const a = section.indexOf(open), b = section.indexOf(close);
  section = a >= 0 && b > a ? section.slice(0, a) + wrapped + section.slice(b + close.length) : `${section.trimEnd()}\n\n${wrapped}\n\n`;
  return text.slice(0, start) + section + text.slice(end);
}

function deviceBlock(plan: Plan, rows: DeerBenchRow[], torchNote: string, load: number): string {
  const b = backends();
  const date = new Date().toISOString().slice(0, 10);
  const cores = os.cpus().length;
  const cpu = `${os.cpus()[0]?.model?.trim() ?? 'unknown CPU'}, ${cores} cores, ${cpuLoopsLabel(b.cpu.isa)} loops, ${b.cpu.blas}`;
  const gpuName = b.cuda.available ? b.cuda.devices[0]?.name ?? plan.device : '';
  const head = plan.device === 'cpu'
    ? `### CPU: ${date}, ${cpu}\n\n${b.cuda.available ? '' : `CPU: ${cores} cores, no GPU here; GPU numbers need a GPU session.\n\n`}`
    : `### GPU: ${date}, ${gpuName} (${plan.device}); host ${cpu}\n\n`;
  return `${head}Grid: n ∈ {${plan.ns.join(', ')}}, T ∈ {${plan.Ts.map(tLabel).join(', ')}}, batch ${BATCH}; each time is the median of up to ${plan.maxRepeats} runs after a warm-up (as many as fit in ${plan.budgetMs / 1e3} s; a slow cell is one run), chunkSize keeps the dense Jacobian under ${(plan.jacobianBytes / GiB).toFixed(plan.jacobianBytes < GiB ? 1 : 0)} GiB, and a measurement predicted to take over ${plan.skipMs / 1e3} s per run is skipped. The 1-minute load average just before the run was ${load.toFixed(1)} on ${cores} cores${load > cores / 2 ? ' (other work shared the machine: the timings are noisy)' : ''}. ${torchNote ? `${torchNote}.` : "PyTorch's nn.GRU was measured in the same run."}

DEER (dense Newton) over sequential:

${deerSpeedupMarkdown(rows, 'deer')}

quasi-DEER over sequential:

${deerSpeedupMarkdown(rows, 'quasi')}

${autoSummary(rows)}

Every cell (ms; iterations are Newton iterations of the slowest sequence summed over chunks; 'auto' shows the mode it chose):

${deerDetailMarkdown(rows)}`;
}

// ---------------------------------------------------------------- entry

/** Runs the suite on CUDA when available (else the CPU), prints the tables, and returns rows for lib/bench.ts's JSON. */
export function benchDeer(quick: boolean): DeerBenchRow[] {
  const device = backends().cuda.available ? 'cuda:0' : 'cpu';
  const plan = planFor(device, quick);
  const sizes = (name: string): number[] | null => {
    const v = process.env[name];
    if (!v) return null;
    const list = v.split(',').map((x) => Number(x.trim()));
    if (!list.length || !list.every((x) => Number.isInteger(x) && x > 0))
      throw new AntlerError('INVALID_ARGUMENT', `${name}=${JSON.stringify(v)}: expected comma-separated positive integers, e.g. "1,8"`);
    return list;
  };
  const ns = sizes('ANTLER_BENCH_DEER_NS'), Ts = sizes('ANTLER_BENCH_DEER_TS');
  if (ns) plan.ns = ns;
  if (Ts) plan.Ts = Ts;
  const fusedEnv = process.env.ANTLER_BENCH_DEER_FUSED;
  if (fusedEnv !== undefined && fusedEnv !== '') {
    if (fusedEnv !== '0' && fusedEnv !== '1') throw new AntlerError('INVALID_ARGUMENT', `ANTLER_BENCH_DEER_FUSED=${JSON.stringify(fusedEnv)}: expected 0 or 1`);
    plan.fused = fusedEnv === '1';
  }
  const partial = ns !== null || Ts !== null || plan.fused !== undefined;
  const load = os.loadavg()[0];
  const tensorsBefore = memory().numTensors;
  console.log(`\ndeer on ${device}: GRU, input size = n, batch ${BATCH}, float32; n ∈ {${plan.ns.join(', ')}}, T ∈ {${plan.Ts.map(tLabel).join(', ')}}`);
  console.log(`  chunkSize: dense Jacobian under ${(plan.jacobianBytes / 1024 ** 2).toFixed(0)} MiB per chunk; a measurement predicted over ${plan.skipMs / 1e3} s per run is skipped`);
  console.log(`  solver option fused: ${plan.fused === undefined ? `the default (${device === 'cpu' ? 'off on the CPU' : 'on on CUDA where it applies'})` : plan.fused ? 'on (ANTLER_BENCH_DEER_FUSED=1)' : 'off (ANTLER_BENCH_DEER_FUSED=0)'}`);
  const rows = benchAntler(plan);
  const leaked = memory().numTensors - tensorsBefore;
  if (leaked > 0) console.log(`  WARNING: ${leaked} tensors were left alive by the suite`);
  const torch = benchTorch(plan);
  rows.push(...torch.rows);
  if (torch.note) console.log(`  (${torch.note})`);
  console.log('\nDEER speedup over sequential (sequential ms / deer ms, same run, same device):\n');
  console.log(deerSpeedupMarkdown(rows, 'deer'));
  console.log('\nquasi-DEER speedup over sequential:\n');
  console.log(deerSpeedupMarkdown(rows, 'quasi'));
  if (torch.rows.length) {
    console.log("\nPyTorch's nn.GRU against antler's sequential kernel (antler sequential ms / PyTorch ms; above 1× PyTorch is faster):\n");
    console.log(deerSpeedupMarkdown(rows, 'pytorch'));
  }
  console.log('\nevery cell:\n');
  console.log(deerDetailMarkdown(rows));
  console.log(`\n${autoSummary(rows)}`);
  // Only antler's own BENCHMARKS.md, in a checkout of antler: never a file of the user's own project.
  const md = path.join(process.cwd(), 'BENCHMARKS.md');
  if (quick || partial) console.log(`\n(${partial ? 'ANTLER_BENCH_DEER_NS/TS/FUSED' : '--quick'}: BENCHMARKS.md is not updated; a full run updates its DEER section)`);
  else if (isAntlerCheckout(process.cwd()) && fs.existsSync(md) && fs.readFileSync(md, 'utf8').startsWith('# Benchmarks')) {
    fs.writeFileSync(md, replaceDeerBlock(fs.readFileSync(md, 'utf8'), device === 'cpu' ? 'cpu' : 'gpu', deviceBlock(plan, rows, torch.note, load)));
    console.log(`\nBENCHMARKS.md: the DEER ${device === 'cpu' ? 'CPU' : 'GPU'} block was rewritten`);
  }
  return rows;
}
