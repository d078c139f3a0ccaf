/**
 * The fused DEER solve (option `fused`: every Newton iteration of 'deer' and
 * 'quasi' in one native call, native/kernels/deer_fused.h) against the
 * iteration by launches on the same operands: the same answer, and the same
 * judgement of every sequence (iterations, converged, diverged then ELK,
 * stalled or out of iterations then the sequential answer, strict's
 * NOT_CONVERGED), with chunks, gradients (through the fused adjoint, which
 * `fused` also selects) and kept Jacobians; and the native ops' own checks. Fresh random operands each run (the seed is printed).
 */
import * as antler from '../../lib';
import { tensor, tidy } from '../../lib';
import { cellRecurrence, CellKind, DeerOptions, DeerStats } from '../../lib/deer';
import { cellNative } from '../../lib/deer/native-cells';
import { wrap } from '../../lib/ops/core';
import { expectAntlerErrorInTidy as expectAntlerError, expectClose, expectNoTensorLeaks, makeRng, maxAbs, randomArray, randomCellValues } from '../helpers';

const rng = makeRng();
const SEED = rng.seed;
antler.setSeed(rng.u32());
expectNoTensorLeaks();

type Dt = 'float32' | 'float64';
type Cell = { kind: CellKind; values: Float64Array[]; shapes: number[][] };

/** Random operands xp, Whh, bhh, y0 of a cell; gain scales Whh and xp (large gains make Newton diverge). */
const randomCell = (kind: CellKind, T: number, B: number, H: number, gain = 1): Cell => randomCellValues(rng, kind, T, B, H, gain);
const make = (a: Float64Array, shape: number[], dtype: Dt, requiresGrad = false) =>
  tensor(dtype === 'float64' ? a : Float32Array.from(a), shape, { dtype, requiresGrad });

/** y, the stats and (with w) the gradients of Σ w ⊙ y for xp, Whh, bhh, y0. */
function solve(c: Cell, dtype: Dt, options: DeerOptions, w?: Float64Array) {
  return tidy(() => {
    const [xp, Whh, bhh, y0] = c.values.map((a, i) => make(a, c.shapes[i], dtype, w !== undefined));
    const r = cellRecurrence(c.kind, xp, Whh, bhh, y0, options);
    let grads: Float64Array[] = [];
    if (w) {
      antler.sum(antler.mul(r.y, make(w, r.y.shape.slice(), dtype))).backward();
      grads = [xp, Whh, bhh, y0].map((t) => Float64Array.from(t.grad!.dataSync()));
    }
    return { y: Float64Array.from(r.y.dataSync()), stats: r.stats, grads };
  });
}

const relClose = (a: Float64Array, b: Float64Array, tol: number, what: string) => expectClose(a, b, 0, tol * Math.max(1, maxAbs(b)), what);

/**
 * The judgement of every sequence: fused and by launches agree, their iteration counts at most
 * `slack` apart (rounding: at a residual's rounding floor, where it only jitters, any count).
 */
function sameJudgement(f: DeerStats, u: DeerStats, what: string, slack = 1) {
  expect({ what, converged: f.converged, fallback: f.fallbackSequences, diverged: f.diverged }).toEqual({
    what, converged: u.converged, fallback: u.fallbackSequences, diverged: u.diverged,
  });
  f.sequenceIterations.forEach((k, b) => expect(Math.abs(k - u.sequenceIterations[b])).toBeLessThanOrEqual(slack));
}

describe(`fused DEER solve on the CPU equals the iteration by launches (seed ${SEED})`, () => {
  const cases: [CellKind, number, number, Dt][] = [];
  for (const kind of ['gru', 'lstm', 'rnn_tanh', 'rnn_relu'] as CellKind[])
    for (const [T, H] of [[1, 3], [37, 1], [400, 8]])
      for (const dt of ['float64', 'float32'] as Dt[]) cases.push([kind, T, H, dt]);
  test.each(cases)('%s T=%i H=%i %s: y, iterations, gradients, for deer and quasi', (kind, T, H, dtype) => {
    const B = 3;
    const c = randomCell(kind, T, B, H);
    const n = kind === 'lstm' ? 2 * H : H;
    const w = Float64Array.from(randomArray(rng, T * B * n));
    const tol = dtype === 'float64' ? 1e-10 : 1e-5;
    const seq = solve(c, dtype, { mode: 'sequential' }, w);
    for (const mode of ['deer', 'quasi'] as const) {
      const fused = solve(c, dtype, { mode, fused: true }, w);
      const launches = solve(c, dtype, { mode, fused: false }, w);
      if (kind === 'rnn_relu') {
        // A relu draw can defeat Newton (seed 3007637787: H = 1, W_hh ≈ 1, the unit off at the first
        // step: the iterates switch it on and off, ELK stalls too, by launches as fused, before and after
        // the per-step test): such a sequence falls back, alike in both; the others converge.
        expect(fused.stats.converged.some(Boolean)).toBe(true);
        fused.stats.converged.forEach((ok, b) => expect(ok || fused.stats.fallbackSequences.includes(b)).toBe(true));
      } else expect(fused.stats.converged.every(Boolean)).toBe(true);
      sameJudgement(fused.stats, launches.stats, `${mode}`);
      relClose(fused.y, seq.y, tol, `${mode} y`);
      ['xp', 'Whh', 'bhh', 'y0'].forEach((name, i) => relClose(fused.grads[i], seq.grads[i], tol, `${mode} gradient of ${name}`));
      // The residual reported is that of the answer: within the tolerance.
      fused.stats.residual.forEach((r) => expect(r).toBeLessThanOrEqual((dtype === 'float64' ? 1e-12 : 1e-6) * (1 + maxAbs(fused.y))));
    }
  });

  test('chunkSize: the same answer and judgement chunk by chunk', () => {
    const c = randomCell('gru', 500, 2, 6);
    for (const mode of ['deer', 'quasi'] as const) {
      const fused = solve(c, 'float64', { mode, fused: true, chunkSize: 130 });
      const launches = solve(c, 'float64', { mode, fused: false, chunkSize: 130 });
      expect(fused.stats.chunks).toBe(4);
      sameJudgement(fused.stats, launches.stats, mode);
      relClose(fused.y, launches.y, 1e-10, mode);
    }
  });

  test('keepJacobians with fused: nothing to keep (the fused adjoint needs no Jacobian), the same gradients', () => {
    const c = randomCell('lstm', 200, 2, 3);
    const w = Float64Array.from(randomArray(rng, 200 * 2 * 6));
    const kept = solve(c, 'float64', { mode: 'deer', fused: true, keepJacobians: true }, w);
    const seq = solve(c, 'float64', { mode: 'sequential' }, w);
    kept.grads.forEach((g, i) => relClose(g, seq.grads[i], 1e-10, `gradient ${i}`));
  });

  test('weights scaled until Newton diverges: the same sequences diverge, go on under ELK or fall back, and the answer is the sequential one', () => {
    let seen = false;
    for (const gain of [4, 8, 16, 32, 64]) {
      const c = randomCell('gru', 1500, 4, 8, gain);
      const exact = solve(c, 'float64', { mode: 'sequential' });
      for (const mode of ['deer', 'quasi'] as const) {
        const fused = solve(c, 'float64', { mode, fused: true, maxIters: 60 });
        const launches = solve(c, 'float64', { mode, fused: false, maxIters: 60 });
        expect(fused.stats.diverged).toBe(launches.stats.diverged);
        expect(fused.stats.fallbackSequences).toEqual(launches.stats.fallbackSequences);
        relClose(fused.y, exact.y, 1e-8, `gain ${gain} ${mode}`);
        if (fused.stats.diverged) {
          seen = true;
          expect(fused.stats.fallback || fused.stats.lambda > 0).toBe(true);
        }
      }
      if (seen) break;
    }
    expect(seen).toBe(true);
  });

  test('one sequence of NaN inputs: it alone diverges and falls back (a NaN answer), the others converge as before', () => {
    const c = randomCell('gru', 200, 3, 4);
    for (let t = 0; t < 200; ++t) c.values[0][(t * 3 + 1) * 12] = NaN; // sequence 1's first gate, every step
    for (const mode of ['deer', 'quasi'] as const) {
      const fused = solve(c, 'float64', { mode, fused: true });
      const launches = solve(c, 'float64', { mode, fused: false });
      sameJudgement(fused.stats, launches.stats, mode);
      expect(fused.stats.converged).toEqual([true, false, true]);
      expect(fused.stats.diverged).toBe(true);
      relClose(Float64Array.from(fused.y.filter((_, i) => Math.floor(i / 4) % 3 !== 1)), Float64Array.from(launches.y.filter((_, i) => Math.floor(i / 4) % 3 !== 1)), 1e-10, mode);
    }
  });

  test('stalled at the rounding floor (float32 against 1e-12) and out of iterations: the sequential answer; strict throws NOT_CONVERGED', () => {
    const c = randomCell('gru', 300, 4, 8);
    const seq = solve(c, 'float32', { mode: 'sequential' });
    for (const mode of ['deer', 'quasi'] as const) {
      const stuck = { mode, atol: 1e-12, rtol: 1e-12, maxIters: 100 };
      // At float32's rounding floor rounding decides: an iterate may land on an exact fixed point (a
      // residual within 1e-12) where the other path's rounding keeps it just above and stalls
      // (seed 1208329205: quasi, sequence 3 converged fused, stalled by launches). So each sequence
      // either converged or stalled and took the sequential walk's own answer, in either path.
      const fused = solve(c, 'float32', { ...stuck, fused: true });
      const T = 300, B = 4, n = 8;
      const column = (y: Float64Array, b: number) => Float64Array.from({ length: T * n }, (_, k) => y[(Math.floor(k / n) * B + b) * n + (k % n)]);
      expect(fused.stats.fallbackSequences).toEqual([0, 1, 2, 3].filter((b) => !fused.stats.converged[b]));
      expect(fused.stats.fallbackSequences.length).toBeGreaterThan(0);
      // Every sequence stopped by the stall rule, not by maxIters: over 6,000 draws the solve took
      // 40–70 iterations (the residual jitters to a new low now and then, restarting the count of 8).
      expect(fused.stats.iterations).toBeLessThan(stuck.maxIters);
      for (const b of [0, 1, 2, 3]) {
        if (fused.stats.converged[b]) relClose(column(fused.y, b), column(seq.y, b), 1e-5, `${mode} sequence ${b} (converged)`);
        else expect(Array.from(column(fused.y, b))).toEqual(Array.from(column(seq.y, b)));
      }
      const stalls = fused.stats.fallbackSequences.length;
      expectAntlerError(() => solve(c, 'float32', { ...stuck, fused: true, strict: true }), 'NOT_CONVERGED', new RegExp(`^deer: ${stalls} of 4 sequences did not converge \\(${stalls} with no lower residual in 8 (deer|quasi) iterations`));

      const short = solve(c, 'float32', { mode, maxIters: 1, fused: true });
      const shortLaunches = solve(c, 'float32', { mode, maxIters: 1, fused: false });
      sameJudgement(short.stats, shortLaunches.stats, `${mode} maxIters 1`);
      expect(short.stats.fallbackSequences).toEqual([0, 1, 2, 3]);
      expect(short.stats.sequenceIterations).toEqual([1, 1, 1, 1]);
      expect(Array.from(short.y)).toEqual(Array.from(seq.y));
      expectAntlerError(() => solve(c, 'float32', { mode, maxIters: 1, fused: true, strict: true }), 'NOT_CONVERGED', /4 after 1 (deer|quasi) iterations.*raise maxIters/);
    }
  });

  test('the default: by launches on the CPU; fused must be a boolean', () => {
    const c = randomCell('gru', 50, 2, 3);
    const byDefault = solve(c, 'float64', { mode: 'deer' });
    const launches = solve(c, 'float64', { mode: 'deer', fused: false });
    expect(Array.from(byDefault.y)).toEqual(Array.from(launches.y));
    expectAntlerError(() => solve(c, 'float64', { mode: 'deer', fused: 'yes' as never }), 'INVALID_ARGUMENT', /^deer: fused must be a boolean; got 'yes'$/);
  });
});

describe('cellDeerSolve, the native op', () => {
  const nat = cellNative();
  const ops = (kind: CellKind, T: number, B: number, H: number, dtype: Dt = 'float64') => {
    const c = randomCell(kind, T, B, H);
    const [xp, Whh, bhh, y0] = c.values.map((a, i) => make(a, c.shapes[i], dtype));
    return { xp, Whh, bhh, y0, guess: antler.zeros([T, B, kind === 'lstm' ? 2 * H : H], { dtype }) };
  };
  const call = (o: ReturnType<typeof ops>, jac: 'dense' | 'diagonal', over: Partial<{ atol: number; rtol: number; maxIters: number; guess: antler.Tensor }> = {}) => {
    const p = { atol: 1e-12, rtol: 1e-12, maxIters: 100, ...over };
    const [y, status] = nat.cellDeerSolve('gru', o.xp.handle, o.Whh.handle, o.bhh.handle, o.y0.handle, (p.guess ?? o.guess).handle, jac, p.atol, p.rtol, p.maxIters, 2, 8, 1000, 2 ** -52);
    return { y: wrap(y), status: wrap(status) };
  };

  test('status rows: code, steps and residual per sequence; T = 0 and B = 0 give converged rows and empty answers', () => {
    tidy(() => {
      const o = ops('gru', 30, 2, 3);
      const r = call(o, 'dense');
      expect(r.status.shape).toEqual([2, 3]);
      expect(r.status.dtype).toBe('float64');
      const s = Array.from(r.status.dataSync());
      expect([s[0], s[3]]).toEqual([0, 0]);
      expect(s[1]).toBeGreaterThan(0);
      expect(s[2]).toBeLessThanOrEqual(1e-12 * 2);
      const empty = call(ops('gru', 0, 2, 3), 'diagonal');
      expect(empty.y.shape).toEqual([0, 2, 3]);
      expect(Array.from(empty.status.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
      expect(call(ops('gru', 5, 0, 3), 'dense').status.shape).toEqual([0, 3]);
    });
  });

  // The judgement (kernels/deer_fused.h, deerJudge) replayed in JavaScript from the residual history of one
  // sequence, each residual read as the status of a solve stopped there by maxIters (the same iterates: one
  // sequence's solve is deterministic). eps = 1 and a huge stallFloor put every residual "near the floor" and a
  // huge growthFactor rules out divergence, so the solve stops at the first iteration that is stallIters
  // iterations past its lowest residual (or converges exactly before): stalled, with that many steps.
  test('stallIters: a solve stops as stalled exactly stallIters iterations after its lowest residual, as replayed from the history', () => {
    tidy(() => {
      for (const jac of ['dense', 'diagonal'] as const)
        for (const stallIters of [1, 3]) {
          const o = ops('gru', 200, 1, 6, 'float32');
          const run = (maxIters: number, stall: number) => {
            const [y, status] = nat.cellDeerSolve('gru', o.xp.handle, o.Whh.handle, o.bhh.handle, o.y0.handle, o.guess.handle, jac, 0, 0, maxIters, 1e300, stall, 1e300, 1).map(wrap);
            const s = Array.from(status.dataSync());
            y.dispose();
            status.dispose();
            return { code: s[0], steps: s[1], res: s[2] };
          };
          // Replay: best and the iterations since it, from iteration 0 on.
          let best = Infinity, since = 0, want: { code: number; steps: number } | null = null;
          for (let m = 0; m <= 60 && !want; m++) {
            const h = run(m, 1e6);
            if (h.code === 0) want = { code: 0, steps: h.steps }; // converged exactly (a zero residual) at h.steps <= m
            else {
              expect(h).toMatchObject({ code: 3, steps: m });
              if (h.res < best) {
                best = h.res;
                since = 0;
              } else since += 1;
              if (since >= stallIters) want = { code: 2, steps: m };
            }
          }
          expect(want).not.toBeNull();
          const got = run(100, stallIters);
          expect({ jac, stallIters, code: got.code, steps: got.steps }).toEqual({ jac, stallIters, ...want! });
        }
    });
  });

  test('bad arguments raise AntlerError naming what was passed', () => {
    tidy(() => {
      const o = ops('gru', 6, 2, 3);
      expectAntlerError(() => call(o, 'none' as never), 'INVALID_ARGUMENT', /jacobian must be 'dense' \(deer\) or 'diagonal' \(quasi\); got 'none'/);
      expectAntlerError(() => call(o, 'dense', { atol: -1 }), 'INVALID_ARGUMENT', /atol and rtol must be finite and >= 0; got atol -1/);
      expectAntlerError(() => call(o, 'dense', { maxIters: -2 }), 'INVALID_ARGUMENT', /maxIters >= 0.*got maxIters -2/);
      expectAntlerError(() => call(o, 'dense', { guess: antler.zeros([6, 2, 4], { dtype: 'float64' }) }), 'SHAPE_MISMATCH', /the first guess has shape \[6, 2, 4\]; expected \[T, B, H\] = \[6, 2, 3\]/);
      expectAntlerError(() => call(o, 'dense', { guess: antler.zeros([6, 2, 3]) }), 'DTYPE_MISMATCH', /the first guess has dtype float32 but Whh has float64/);
      const y = antler.zeros([6, 2, 3], { dtype: 'float64' });
      expectAntlerError(() => nat.cellDeerAdjoint('gru', o.xp.handle, o.Whh.handle, o.bhh.handle, o.y0.handle, y.handle, antler.zeros([6, 2, 2], { dtype: 'float64' }).handle), 'SHAPE_MISMATCH', /deer\.cell adjoint: the gradient of y has shape \[6, 2, 2\]; expected \[T, B, H\] = \[6, 2, 3\]/);
      // maxSegments (CUDA's split of a sequence over blocks): a count, 0 for automatic.
      const solveWith = (m: unknown) => nat.cellDeerSolve('gru', o.xp.handle, o.Whh.handle, o.bhh.handle, o.y0.handle, o.guess.handle, 'dense', 1e-12, 1e-12, 100, 2, 8, 1000, 2 ** -52, m as number);
      expectAntlerError(() => solveWith(-1), 'INVALID_ARGUMENT', /^deer\.cell solve: maxSegments must be 0 \(as many as fill the device\) or more; got -1$/);
      expectAntlerError(() => solveWith(1.5), 'INVALID_ARGUMENT', /deer\.cell solve: maxSegments must be an integer; got 1\.5/);
      expectAntlerError(() => nat.cellDeerAdjoint('gru', o.xp.handle, o.Whh.handle, o.bhh.handle, o.y0.handle, y.handle, y.handle, -3), 'INVALID_ARGUMENT', /^deer\.cell adjoint: maxSegments must be 0 \(as many as fill the device\) or more; got -3$/);
    });
  });

  test('ANTLER_DEER_FUSED_SEGMENTS: a count is taken silently; another value is warned about once, naming it, and the solve runs on', () => {
    const c = randomCell('gru', 30, 2, 3);
    const before = process.env.ANTLER_DEER_FUSED_SEGMENTS;
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const plain = solve(c, 'float64', { mode: 'deer', fused: true }).y;
      process.env.ANTLER_DEER_FUSED_SEGMENTS = '3';
      expect(solve(c, 'float64', { mode: 'deer', fused: true }).y).toEqual(plain);
      expect(warn).not.toHaveBeenCalled();
      process.env.ANTLER_DEER_FUSED_SEGMENTS = 'all';
      expect(solve(c, 'float64', { mode: 'deer', fused: true }).y).toEqual(plain);
      expect(solve(c, 'float64', { mode: 'quasi', fused: true }).y.length).toBe(plain.length);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toMatch(/^ANTLER_DEER_FUSED_SEGMENTS is 'all'; expected a whole number >= 1/);
    } finally {
      warn.mockRestore();
      if (before === undefined) delete process.env.ANTLER_DEER_FUSED_SEGMENTS;
      else process.env.ANTLER_DEER_FUSED_SEGMENTS = before;
    }
  });

  test('maxSegments changes nothing on the CPU (one sequence per thread there)', () => {
    tidy(() => {
      const o = ops('gru', 40, 3, 2);
      const y = antler.zeros([40, 3, 2], { dtype: 'float64' });
      for (const m of [0, 1, 7]) {
        const [ya, sa] = nat.cellDeerSolve('gru', o.xp.handle, o.Whh.handle, o.bhh.handle, o.y0.handle, o.guess.handle, 'dense', 1e-12, 1e-12, 100, 2, 8, 1000, 2 ** -52, m).map(wrap);
        const [yb, sb] = nat.cellDeerSolve('gru', o.xp.handle, o.Whh.handle, o.bhh.handle, o.y0.handle, o.guess.handle, 'dense', 1e-12, 1e-12, 100, 2, 8, 1000, 2 ** -52).map(wrap);
        expect(Array.from(ya.dataSync())).toEqual(Array.from(yb.dataSync()));
        expect(Array.from(sa.dataSync())).toEqual(Array.from(sb.dataSync()));
        const la = wrap(nat.cellDeerAdjoint('gru', o.xp.handle, o.Whh.handle, o.bhh.handle, o.y0.handle, ya.handle, yb.handle, m));
        const lb = wrap(nat.cellDeerAdjoint('gru', o.xp.handle, o.Whh.handle, o.bhh.handle, o.y0.handle, ya.handle, yb.handle));
        expect(Array.from(la.dataSync())).toEqual(Array.from(lb.dataSync()));
      }
      y.dispose();
    });
  });
});
