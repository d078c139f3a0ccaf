/**
 * `npm run bench`: every number is a ratio against a peer measured in the
 * same run on the same machine. Suites: matmul (antler CPU vs antler CUDA vs
 * PyTorch when python3 with torch is importable), sru (lib/bench-sru.ts),
 * deer (lib/bench-deer.ts), ode (lib/bench-ode.ts), optim (lib/bench-optim.ts), linalg
 * (lib/bench-linalg.ts: one large matrix through each factorisation),
 * overhead (lib/bench-overhead.ts), isa (lib/bench-isa.ts: the CPU loops'
 * AVX2 copy against their baseline copy), conv (lib/bench-conv.ts: dense,
 * depthwise, grouped and 3-D convolutions, forward and forward + backward), grid (lib/bench-grid.ts:
 * gridSample's native kernels against the composite and PyTorch) and pool (lib/bench-pool.ts: max, average and
 * adaptive pools, native against the composite and PyTorch, interleaved).
 */
import { BenchRow, runTorch, timeIt } from './bench-timing';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { benchConv } from './bench-conv';
import { benchGrid } from './bench-grid';
import { benchDeer } from './bench-deer';
import { benchIsa } from './bench-isa';
import { benchLinalg } from './bench-linalg';
import { benchOde } from './bench-ode';
import { benchOptim } from './bench-optim';
import { benchOverhead } from './bench-overhead';
import { benchPool } from './bench-pool';
import { backends } from './device';
import { benchSru } from './bench-sru';
import { tidy } from './engine';
import { fail } from './errors';
import { matmul } from './ops/core';
import { randn } from './tensor';

type Row = BenchRow;


function torchMatmul(sizes: number[], repeats: number): { times: Map<number, number>; note?: string } {
  const r = runTorch<[number, number][]>(`
rows = []
for n in [${sizes.join(',')}]:
    a = torch.randn(n, n); b = torch.randn(n, n)
    rows.append([n, timed(lambda: a @ b, 'cpu', ${repeats})])
print(json.dumps(rows))
`, 300_000);
  return 'result' in r ? { times: new Map(r.result) } : { times: new Map(), note: r.note };
}

function benchMatmul(quick: boolean): Row[] {
  const sizes = quick ? [128, 256] : [256, 512, 1024];
  const repeats = quick ? 5 : 15;
  const devices = ['cpu', ...(backends().cuda.available ? ['cuda:0'] : [])];
  const rows: Row[] = [];
  for (const n of sizes)
    for (const device of devices) {
      const [a, b] = [randn([n, n], { device }), randn([n, n], { device })];
      const ms = timeIt(() => tidy(() => void matmul(a, b)), device, repeats);
      rows.push({ suite: 'matmul', case: `${n}x${n}x${n} float32`, device, impl: 'antler', ms, gflops: (2 * n ** 3) / ms / 1e6 });
      a.dispose();
      b.dispose();
    }
  const torch = torchMatmul(sizes, repeats);
  for (const [n, ms] of torch.times)
    rows.push({ suite: 'matmul', case: `${n}x${n}x${n} float32`, device: 'cpu', impl: 'pytorch', ms, gflops: (2 * n ** 3) / ms / 1e6 });
  if (torch.note) console.log(`  (${torch.note})`);
  return rows;
}

export async function runBench(suite: string, opts: { quick?: boolean; out: string }): Promise<void> {
  const suites: Record<string, (quick: boolean) => Row[]> = { matmul: benchMatmul, sru: benchSru, deer: benchDeer, ode: benchOde, optim: benchOptim, linalg: benchLinalg, overhead: benchOverhead, isa: benchIsa, conv: benchConv, grid: benchGrid, pool: benchPool };
  const names = suite === 'all' ? Object.keys(suites) : [suite];
  for (const name of names)
    if (!suites[name]) fail('INVALID_ARGUMENT', `unknown bench suite '${name}'; expected one of: all, ${Object.keys(suites).join(', ')}`);
  const b = backends();
  const machine = {
    date: new Date().toISOString(),
    cpu: `${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}`,
    gpu: b.cuda.available ? b.cuda.devices.map((d) => d.name).join(', ') : 'none',
    blas: b.cpu.blas,
    cpuLoops: b.cpu.isa,
  };
  // The output folder before any suite runs (a bad --out must not cost a whole run), and the
  // results written after every suite (one that throws keeps those before it).
  try {
    fs.mkdirSync(opts.out, { recursive: true });
  } catch (e) {
    fail('INVALID_ARGUMENT', `bench: cannot make the results folder --out ${JSON.stringify(opts.out)}: ${(e as Error).message}`);
  }
  // A quick run has its own file: it never replaces the full run's results that BENCHMARKS.md cites.
  const file = path.join(opts.out, `bench-${names.join('-')}-${machine.gpu === 'none' ? 'cpu' : 'gpu'}${opts.quick ? '-quick' : ''}.json`);
  console.log(`antler bench (${machine.cpu}, ${machine.cpuLoops} loops; GPU: ${machine.gpu}; BLAS: ${machine.blas})`);
  // A test setting: every new buffer is filled first, which a timing then includes (on an H200 it cost a
  // 512 MiB copy a quarter of its time, and the SRU kernel's outputs a fill per launch).
  if (process.env.ANTLER_POISON === '1')
    console.log('WARNING: ANTLER_POISON=1 fills every new buffer before use: these times include the fills (unset it to benchmark)');
  const all: Row[] = [];
  const done: string[] = [];
  const write = () => fs.writeFileSync(file, JSON.stringify({ machine, suites: done, rows: all }, null, 2));
  for (const name of names) {
    let rows: Row[];
    try {
      rows = suites[name](Boolean(opts.quick));
    } catch (e) {
      if (done.length) console.log(`\nsuite ${name} failed; the results of ${done.join(', ')} are in ${path.relative(process.cwd(), file)}`);
      throw e;
    }
    all.push(...rows);
    done.push(name);
    write();
    const cases = [...new Set(rows.map((r) => r.case))];
    // Columns as wide as the longest case and impl/device (a long DEER case name kept them from lining up).
    const cw = Math.max(28, ...cases.map((c) => c.length)), iw = Math.max(20, ...rows.map((r) => `${r.impl}/${r.device}`.length));
    console.log(`\n${name}`);
    console.log(`  ${'case'.padEnd(cw)} ${'impl/device'.padEnd(iw)} ${'ms'.padStart(9)} ${'GFLOP/s'.padStart(9)}  speed vs the case's first row`);
    for (const c of cases) {
      const group = rows.filter((x) => x.case === c);
      const base = group[0];
      for (const r of group) {
        // Rows without a time (a DEER cell that ran out of memory or was skipped) say why instead.
        const timed = Number.isFinite(r.ms);
        const ms = timed ? r.ms.toFixed(3) : ((r as { status?: string }).status ?? '-');
        const ratio = timed && Number.isFinite(base.ms) ? (base.ms / r.ms).toFixed(2) + 'x' : '-';
        const gflops = r.gflops === undefined ? '-' : r.gflops.toFixed(1);
        console.log(`  ${c.padEnd(cw)} ${`${r.impl}/${r.device}`.padEnd(iw)} ${ms.padStart(9)} ${gflops.padStart(9)}  ${ratio}`);
      }
    }
  }
  console.log(`\nresults written to ${path.relative(process.cwd(), file)}`);
}
