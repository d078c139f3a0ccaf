#!/usr/bin/env node
/**
 * `antler doctor | demo | bench | build`. Each command loads its module when
 * it runs, so --help, --version and option errors answer without loading the
 * library.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { AntlerError } from './errors';

/** commander argParser for --device: 'auto', 'cpu', 'cuda' or 'cuda:N' ('tpu' is refused before anything runs). */
function deviceFlag(value: string): string {
  if (value === 'auto' || value === 'cpu' || value === 'cuda' || /^cuda:\d{1,3}$/.test(value)) return value;
  throw new InvalidArgumentError(`--device must be 'cpu', 'cuda', 'cuda:N' or 'auto'; got '${value}'`);
}

/** commander argParser for an option that takes a positive integer: '12' → 12; 'abc', '0', '2.7' are refused. */
function positiveInteger(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1)
      throw new InvalidArgumentError(`${flag} must be a positive integer; got '${value}'`);
    return n;
  };
}

// The package's version; package.json sits one level above lib/ and dist/ alike.
const { version } = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };

const program = new Command();
program
  .name('antler')
  .description('antler: CUDA-backed recurrent models for Node.js')
  .version(version, '-v, --version', 'print the antler version');

program
  .command('doctor')
  .description('print versions, build flags, BLAS, OpenMP threads, CUDA driver/runtime, devices and cuBLAS')
  .option('--json', 'print the report as JSON')
  .action(async (opts: { json?: boolean }) => {
    const { text, json, ok } = (await import('./doctor')).doctorReport();
    console.log(opts.json ? JSON.stringify(json, null, 2) : text);
    if (!ok) process.exitCode = 1;
  });

program
  .command('demo')
  .description('trains an MLP on three spirals with fit(), then saves and reloads a checkpoint')
  .option('-d, --device <device>', "'cpu', 'cuda', 'cuda:N' or 'auto' (CUDA when available)", deviceFlag, 'auto')
  .option('-e, --epochs <n>', 'training epochs', positiveInteger('--epochs'), 40)
  .action(async (opts: { device: string; epochs: number }) => {
    await (await import('./demo')).runDemo({ device: opts.device, steps: 0, epochs: opts.epochs });
  });

program
  .command('bench')
  .description('benchmarks: ratios against peers measured in the same run')
  .argument('[suite]', "suite to run: 'matmul', 'sru', 'deer', 'ode', 'optim', 'linalg', 'overhead', 'isa', 'conv', 'grid', 'pool' or 'all'", 'all')
  .option('-q, --quick', 'fewer sizes and repeats')
  .option('-o, --out <dir>', 'where JSON results go', path.join(process.cwd(), 'bench', 'results'))
  .action(async (suite: string, opts: { quick?: boolean; out: string }) => {
    await (await import('./bench')).runBench(suite, opts);
  });

program
  .command('build')
  .description('rebuild the native addon from source (npm run build in a clone, npm rebuild antler in a project)')
  .action(() => {
    const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'install.js'), '--force'], { stdio: 'inherit' });
    process.exitCode = r.status ?? 1;
  });

// A user's mistake (an AntlerError other than INTERNAL, or a failed system
// call such as a --out directory that cannot be created) prints its code and
// message; anything else is a bug in antler and keeps its stack trace.
// ANTLER_DEBUG=1 prints the stack trace for every error.
program.parseAsync(process.argv).catch((e: Error & { code?: unknown; syscall?: unknown }) => {
  const userError = (e instanceof AntlerError && e.code !== 'INTERNAL') || typeof e.syscall === 'string';
  if (process.env.ANTLER_DEBUG === '1' || !userError) console.error(e instanceof Error ? e.stack : e);
  else console.error(e instanceof AntlerError ? `${e.code}: ${e.message}` : e.message);
  process.exitCode = 1;
});
