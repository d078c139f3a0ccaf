/**
 * `npm run bench -- isa`: the CPU loops' AVX2 copy against their x86-64
 * baseline copy (native/cpu/isa.h), the same cases timed in child processes
 * started with ANTLER_CPU_ISA=baseline and without it, alternately (two rounds
 * each, the faster kept), one thread. The two copies compute the same bits;
 * this measures only what the wider vectors buy.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { BenchRow, timeIt } from './bench-timing';
import { backends, setNumThreads } from './device';
import { dispose, tidy } from './engine';
import { fail } from './errors';
import { layerNorm, softmax } from './ops/nn';
import { sigmoid, tanh, exp, sum } from './ops/core';
import { randn, Tensor } from './tensor';
import { GRU } from './nn/rnn';
import { SRU } from './sru/module';
import { sruRecurrence } from './sru/recurrence';

interface Case {
  name: string;
  /** Makes the inputs and returns one repetition (outputs freed) and a cleanup. */
  setup: () => { run: () => void; free: () => void };
  repeats: number;
}

const MEGA = 1 << 20;

function unaryCase(name: string, f: (x: Tensor) => Tensor, backward = false): Case {
  return {
    name,
    repeats: 30,
    setup: () => {
      const x = randn([MEGA], { requiresGrad: backward });
      const g = randn([MEGA]);
      return {
        run: () => tidy(() => (backward ? f(x).backward(g) : void f(x))),
        free: () => dispose([x.grad, x, g]),
      };
    },
  };
}

function gruCase(n: number, T: number, mode: 'sequential' | 'deer' | 'quasi'): Case {
  return {
    name: `GRU n=${n} T=${T} B=16 ${mode} fwd+bwd`,
    repeats: 5,
    setup: () => {
      const gru = new GRU(n, n, { mode });
      const x = randn([T, 16, n], { requiresGrad: true });
      return {
        run: () => tidy(() => sum(gru.forward(x).output).backward()),
        free: () => dispose([x.grad, x, gru]),
      };
    },
  };
}

function cases(quick: boolean): Case[] {
  const list: Case[] = [
    unaryCase('exp f32 1M', exp),
    unaryCase('tanh f32 1M', tanh),
    unaryCase('sigmoid f32 1M', sigmoid),
    unaryCase('tanh fwd+bwd f32 1M', tanh, true),
    {
      name: 'softmax f32 [16384, 64]',
      repeats: 30,
      setup: () => {
        const x = randn([16384, 64]);
        return { run: () => tidy(() => void softmax(x, -1)), free: () => x.dispose() };
      },
    },
    {
      name: 'layerNorm f32 [4096, 256]',
      repeats: 30,
      setup: () => {
        const x = randn([4096, 256]);
        return { run: () => tidy(() => void layerNorm(x)), free: () => x.dispose() };
      },
    },
    {
      name: 'SRU (32, 256, 32) fwd+bwd',
      repeats: 10,
      setup: () => {
        const sru = new SRU(256, 256, { numLayers: 2 });
        const x = randn([32, 32, 256], { requiresGrad: true });
        return {
          run: () => tidy(() => sum(sru.forward(x).output).backward()),
          free: () => dispose([x.grad, x, sru]),
        };
      },
    },
    {
      name: 'SRU recurrence (128, 512, 32) fwd+bwd',
      repeats: 10,
      setup: () => {
        const [L, B, d] = [128, 32, 512];
        const U = randn([L, B, 3 * d], { requiresGrad: true }), x = randn([L, B, d]);
        const weightC = randn([2 * d], { requiresGrad: true }), bias = randn([2 * d], { requiresGrad: true });
        const o = { hiddenSize: d, bidirectional: false, k: 3 as const, hasSkipTerm: true, scaleX: 1, activation: 'tanh' as const };
        return {
          run: () => tidy(() => sum(sruRecurrence(U, x, weightC, bias, null, null, o).h).backward()),
          free: () => dispose([U.grad, weightC.grad, bias.grad, U, x, weightC, bias]),
        };
      },
    },
    gruCase(32, 1000, 'sequential'),
    gruCase(8, 2000, 'deer'),
    gruCase(8, 2000, 'quasi'),
  ];
  return quick ? list.filter((_, i) => i % 3 === 0) : list;
}

/** @internal Run in the child: every case's time in ms, as JSON on stdout. */
export function measureIsaCases(quick: boolean): void {
  setNumThreads(1);
  const out: [string, number][] = [];
  for (const c of cases(quick)) {
    const { run, free } = c.setup();
    out.push([c.name, timeIt(run, 'cpu', quick ? Math.min(c.repeats, 5) : c.repeats)]);
    free();
  }
  process.stdout.write(JSON.stringify({ isa: backends().cpu.isa, times: out }));
}

function child(isa: 'baseline' | 'auto', quick: boolean): { isa: string; times: [string, number][] } {
  const env = { ...process.env, ANTLER_CPU_ISA: isa };
  const index = path.join(__dirname, 'bench-isa');
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(index)}).measureIsaCases(${quick})`], { env, encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) fail('INTERNAL', `bench isa: the ${isa} child failed: ${r.error ?? ''}${r.stderr}`);
  return JSON.parse(r.stdout);
}

export function benchIsa(quick: boolean): BenchRow[] {
  const cpu = backends().cpu;
  const isas: ('baseline' | 'auto')[] = cpu.avx2Supported ? ['baseline', 'auto'] : ['baseline'];
  if (!cpu.avx2Supported) console.log('  (this CPU or build has no AVX2 copy: the baseline alone is timed)');
  const best = new Map<string, number>();
  for (let round = 0; round < 2; round++)
    for (const isa of isas) {
      const r = child(isa, quick);
      for (const [name, ms] of r.times) {
        const key = `${r.isa}\u0000${name}`;
        best.set(key, Math.min(best.get(key) ?? Infinity, ms));
      }
    }
  const rows: BenchRow[] = [];
  for (const c of cases(quick))
    for (const isa of cpu.avx2Supported ? ['baseline', 'avx2'] : ['baseline'])
      rows.push({ suite: 'isa', case: c.name, device: 'cpu', impl: isa, ms: best.get(`${isa}\u0000${c.name}`)! });
  return rows;
}
