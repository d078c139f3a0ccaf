/**
 * The examples in examples/, run as a user runs them but for a few steps and
 * on small sizes (from their TypeScript sources, against lib/ through
 * test/examples-register.js), and type-checked as the README compiles them.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runSeed } from '../helpers';

const root = path.join(__dirname, '..', '..');

function example(name: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['-r', path.join(root, 'test', 'examples-register.js'), path.join(root, 'examples', name), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ANTLER_DEBUG: '' },
    timeout: 240_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// From the run's seed (ANTLER_TEST_SEED replays a run), as the other suites.
const seed = String(1 + (runSeed() % 1000));
const stepLines = (out: string) => out.split('\n').filter((l) => /^step +\d+/.test(l));

describe(`examples (seed ${seed})`, () => {
  test('every example is listed in examples/README.md and tested here', () => {
    const sources = fs.readdirSync(path.join(root, 'examples')).filter((f) => f.endsWith('.ts'));
    const readme = fs.readFileSync(path.join(root, 'examples', 'README.md'), 'utf8');
    const here = fs.readFileSync(__filename, 'utf8');
    for (const f of sources) {
      expect(readme).toContain(`\`${f}\``);
      expect(here).toContain(`example('${f}'`);
    }
  });

  test('they type-check against the library', () => {
    // The README compiles them against dist/ (the built library); CI builds dist/ first.
    if (!fs.existsSync(path.join(root, 'dist', 'index.d.ts'))) {
      console.log('examples: dist/ is not built; the type check is skipped (npm run build:ts)');
      return;
    }
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'examples', 'tsconfig.json'), '--noEmit'], { cwd: root, encoding: 'utf8', timeout: 240_000 });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 240_000);

  test('char-lm.ts trains a 2-layer SRU for a few steps and samples', () => {
    const r = example('char-lm.ts', ['--steps', '3', '--every', '1', '--seq', '16', '--batch', '4', '--hidden', '16', '--embed', '8', '--sample', '20', '--seed', seed]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(stepLines(r.stdout)).toHaveLength(4);
    // With AdaHessian: exact Hessian-vector products through the SRU, and a finite loss.
    const h = example('char-lm.ts', ['--steps', '2', '--every', '1', '--seq', '12', '--batch', '3', '--hidden', '8', '--embed', '8', '--sample', '0', '--seed', seed, '--optim', 'adahessian']);
    expect(h.stderr).toBe('');
    expect(h.status).toBe(0);
    expect(h.stdout).toMatch(/AdaHessian's Hessian-vector products: exact/);
    expect(stepLines(h.stdout)).toHaveLength(3);
  }, 240_000);

  test('ctc-digits.ts trains a bidirectional GRU with the CTC loss on padded batches for a few steps', () => {
    const r = example('ctc-digits.ts', ['--steps', '4', '--every', '2', '--batch', '6', '--hidden', '8', '--seed', seed]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = stepLines(r.stdout);
    expect(lines).toHaveLength(3);
    // Finite CTC losses, and an exact-match rate, on every line.
    for (const l of lines) expect(l).toMatch(/train \d+\.\d+ +held-out \d+\.\d+ +exact \d+\.\d%/);
    expect(r.stdout).toMatch(/held-out 0: target \d+ +read/);
  }, 240_000);

  test('seq-classify.ts trains an LSTM with an orthogonal weight_hh_l0 through fit() over bucketed, padded DataLoader batches, then evaluates', () => {
    for (const orthogonal of ['true', 'false']) {
      const r = example('seq-classify.ts', ['--epochs', '2', '--batch', '8', '--hidden', '8', '--embed', '4', '--train', '40', '--val', '16', '--maxLen', '12', '--orthogonal', orthogonal, '--seed', seed]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      // One line per epoch (two: patience 3 cannot stop it sooner), with the training and validation figures.
      const epochs = r.stdout.split('\n').filter((l) => /^epoch +\d+/.test(l));
      expect(epochs).toHaveLength(2);
      for (const l of epochs) expect(l).toMatch(/train loss \d+\.\d+ acc \d+\.\d% +val loss \d+\.\d+ acc \d+\.\d%/);
      expect(r.stdout).toMatch(/^test: loss \d+\.\d+ +accuracy \d+\.\d% over 16 held-out strings$/m);
      // The parametrization keeps WᵀW = I through training (float32); without it there is no such line.
      const gap = /max \|WᵀW − I\| (\S+)/.exec(r.stdout);
      if (orthogonal === 'true') expect(Number(gap![1])).toBeLessThan(1e-5);
      else expect(gap).toBeNull();
      expect(r.stdout.split('\n').filter((l) => /^test \d: [.ab]+ +truth (a more|b more|equal) +read (a more|b more|equal)$/.test(l))).toHaveLength(4);
    }
  }, 240_000);

  test('seq2seq-attention.ts trains a GRU encoder–decoder with multi-head attention for a few steps, with Adam and with RMSprop', () => {
    for (const opt of ['adam', 'rmsprop']) {
      const r = example('seq2seq-attention.ts', ['--steps', '3', '--every', '1', '--batch', '5', '--hidden', '8', '--digits', '4', '--optim', opt, '--seed', seed]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const lines = stepLines(r.stdout);
      expect(lines).toHaveLength(4);
      for (const l of lines) expect(l).toMatch(/train \d+\.\d+ +held-out \d+\.\d+ +exact \d+\.\d%/);
      expect(r.stdout).toMatch(/held-out 0: source \d+ +reversed \S+ +first token attended to position \d+ of \d+/);
    }
  }, 240_000);

  test('two-body-ode.ts trains a neural ODE by DEER for a few steps', () => {
    const r = example('two-body-ode.ts', ['--steps', '2', '--every', '1', '--points', '16', '--batch', '4', '--hidden', '8', '--seed', seed]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = stepLines(r.stdout);
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(l).toMatch(/Newton iterations per solve/);
  }, 240_000);

  test.each(['deer', 'quasi', 'elk', 'sequential'])('gru-adding.ts trains in mode %s, and its answer is the sequential one', (mode) => {
    const r = example('gru-adding.ts', ['--steps', '3', '--every', '1', '--length', '24', '--batch', '4', '--hidden', '8', '--mode', mode, '--dtype', 'float64', '--seed', seed]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = stepLines(r.stdout);
    expect(lines).toHaveLength(4);
    for (const l of lines) expect(l).toMatch(/train \d+\.\d+ +held-out \d+\.\d+/);
    const gap = /max \|difference\| (\S+)/.exec(r.stdout);
    expect(gap).not.toBeNull();
    // float64: DEER's solution equals the sequential recurrence to its tolerance.
    expect(Number(gap![1])).toBeLessThan(1e-8);
  }, 240_000);

  test('second-order.ts trains one MLP with SGD, Adam, AdaHessian (exact products) and L-BFGS, and checks an exact H·v', () => {
    const r = example('second-order.ts', ['--steps', '4', '--every', '2', '--points', '20', '--hidden', '8', '--seed', seed]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = stepLines(r.stdout);
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l).toMatch(/sgd \d+\.\d+ +adam \d+\.\d+ +adahessian \d+\.\d+ +lbfgs \d+\.\d+/);
    expect(r.stdout).toMatch(/adahessian +held-out accuracy \d+\.\d%, \d+\.\d+ ms per step \(Hessian-vector products: exact\)/);
    const gap = /max relative difference (\S+)/.exec(r.stdout);
    expect(gap).not.toBeNull();
    expect(r.stdout).toMatch(/over its first weight: exact;/);
    expect(Number(gap![1])).toBeLessThan(1e-6);
  }, 240_000);
});
