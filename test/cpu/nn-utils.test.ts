/**
 * nn.utils (torch.nn.utils) and forward hooks: weightNorm against a float64
 * transcription of w = g·v/‖v‖ (norm over every axis but dim; the whole
 * tensor for dim null/−1, as PyTorch's norm_except_dim) and central
 * differences for g and v; the state-dict keys PyTorch gives; a GRU's
 * weight_hh_l0 normalised; removeWeightNorm; parametersToVector /
 * vectorToParameters; registerForwardPreHook / registerForwardHook; errors.
 */
import * as antler from '../../lib';
import { nn, optim, Tensor, tensor, tidy } from '../../lib';
import { expectAntlerError, expectClose, expectNoLeaksInSuite, makeSeededRng, prod, randomArray, tensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const F64 = { dtype: 'float64' as const };
const read = (t: Tensor) => Array.from(t.dataSync());
/** The state dict's keys (its tensors are new ones: freed here). */
const keysOf = (m: nn.Module) => tidy(() => Object.keys(m.stateDict()));

/** PyTorch's norm_except_dim(v, 2, dim) in float64, broadcast back to every element of v (dim −1: one norm). */
function normsRef(v: number[], shape: number[], dim: number): number[] {
  if (dim === -1) {
    const n = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
    return v.map(() => n);
  }
  const inner = prod(shape.slice(dim + 1)), size = shape[dim];
  const sq = new Array(size).fill(0);
  v.forEach((x, i) => (sq[Math.floor(i / inner) % size] += x * x));
  return v.map((_, i) => Math.sqrt(sq[Math.floor(i / inner) % size]));
}

/** g per element of v (g has v's shape with every axis but dim of size 1). */
function gAt(g: number[], shape: number[], dim: number, i: number): number {
  if (dim === -1) return g[0];
  const inner = prod(shape.slice(dim + 1));
  return g[Math.floor(i / inner) % shape[dim]];
}

/** w = g · v / ‖v‖. */
function weightRef(g: number[], v: number[], shape: number[], dim: number): number[] {
  const n = normsRef(v, shape, dim);
  return v.map((x, i) => (gAt(g, shape, dim, i) * x) / n[i]);
}

/** y = x Wᵀ + b for x [N, in], W [out, in]. */
function linearRef(x: number[], w: number[], b: number[], N: number, inF: number, outF: number): number[] {
  const y: number[] = [];
  for (let n = 0; n < N; n++)
    for (let o = 0; o < outF; o++) {
      let s = b[o];
      for (let k = 0; k < inF; k++) s += x[n * inF + k] * w[o * inF + k];
      y.push(s);
    }
  return y;
}

const setValues = (t: Tensor, v: number[]) => antler.noGrad(() => tidy(() => t.assign(tensor(v, t.shape, { dtype: t.dtype }))));

describe(`nn.utils.weightNorm (seed ${SEED})`, () => {
  test.each([0, 1, -2, null, -1] as const)('Linear, dim %p: g’s shape and the state-dict keys are PyTorch’s; forward is linear(x, g·v/‖v‖); g and v get the central differences’ gradients', (dim) => {
    const inF = rng.int(2, 5), outF = rng.int(2, 5), N = rng.int(1, 4);
    const fc = new nn.Linear(inF, outF, F64);
    const w0 = read(fc.weight);
    nn.utils.weightNorm(fc, 'weight', dim);
    const d = dim === null ? -1 : dim < -1 ? dim + 2 : dim;
    const gShape = d === -1 ? [] : d === 0 ? [outF, 1] : [1, inF];
    const m = fc as unknown as Record<string, Tensor>;
    expect(keysOf(fc)).toEqual(['bias', 'weight_g', 'weight_v']);
    expect(m.weight_g.shape).toEqual(gShape);
    expect(m.weight_v.shape).toEqual([outF, inF]);
    expect(fc.parameters().map((p) => p.shape)).toEqual([[outF], gShape, [outF, inF]]);
    // At the start g = ‖w‖ and v = w: the weight is the one the module had.
    expectClose(read(fc.weight), w0, 1e-14, 1e-15, 'initial weight');
    // New g and v: the forward uses g·v/‖v‖.
    const g = randomArray(rng, prod(gShape), 0.5, 2), v = randomArray(rng, outF * inF, -1, 1), b = read(fc.bias!);
    setValues(m.weight_g, g);
    setValues(m.weight_v, v);
    const xv = randomArray(rng, N * inF);
    const x = tensor(xv, [N, inF], F64);
    const r = randomArray(rng, N * outF);
    const lossOf = (gg: number[], vv: number[]) => linearRef(xv, weightRef(gg, vv, [outF, inF], d), b, N, inF, outF).reduce((a, y, i) => a + r[i] * y, 0);
    const loss = tidy(() => antler.sum(antler.mul(fc.forward(x), tensor(r, [N, outF], F64))));
    expectClose([loss.item()], [lossOf(g, v)], 1e-12, 1e-13, `loss, dim ${dim}`);
    expectClose(read(fc.weight), weightRef(g, v, [outF, inF], d), 1e-13, 1e-14, 'the recomputed weight');
    loss.backward();
    const h = 1e-6;
    const central = (vals: number[], f: (a: number[]) => number) =>
      vals.map((_, i) => {
        const up = [...vals], dn = [...vals];
        up[i] += h;
        dn[i] -= h;
        return (f(up) - f(dn)) / (2 * h);
      });
    expectClose(read(m.weight_g.grad!), central(g, (gg) => lossOf(gg, v)), 1e-6, 1e-8, `g's gradient, dim ${dim}`);
    expectClose(read(m.weight_v.grad!), central(v, (vv) => lossOf(g, vv)), 1e-6, 1e-8, `v's gradient, dim ${dim}`);
    // ∂loss/∂v is orthogonal to v within each normalised slice (scaling v does not change w).
    const gv = read(m.weight_v.grad!);
    const dots = new Array(d === -1 ? 1 : d === 0 ? outF : inF).fill(0);
    v.forEach((vi, i) => (dots[d === -1 ? 0 : d === 0 ? Math.floor(i / inF) : i % inF] += vi * gv[i]));
    expectClose(dots, dots.map(() => 0), 0, 1e-10, 'v · ∂v');
    antler.dispose([x, loss]);
    fc.dispose();
  });

  test('Conv1d, dim 2 (g [1, 1, K]); a model with weight-normed layers trains, the weight recomputed from the stepped g and v at each forward', () => {
    const conv = nn.utils.weightNorm(new nn.Conv1d(2, 3, 3, F64), 'weight', 2);
    expect((conv as unknown as Record<string, Tensor>).weight_g.shape).toEqual([1, 1, 3]);
    conv.dispose();
    const net = new nn.Sequential(nn.utils.weightNorm(new nn.Linear(4, 8, F64)), new nn.Tanh(), nn.utils.weightNorm(new nn.Linear(8, 1, F64), 'weight', null));
    expect(keysOf(net)).toEqual(['0.bias', '0.weight_g', '0.weight_v', '2.bias', '2.weight_g', '2.weight_v']);
    const x = tensor(randomArray(rng, 32 * 4), [32, 4], F64);
    const y = tidy(() => antler.sin(antler.sum(x, 1, true)));
    const opt = new optim.Adam(net.parameters(), { lr: 0.02 });
    const losses: number[] = [];
    for (let k = 0; k < 60; k++) {
      opt.zeroGrad();
      const l = tidy(() => antler.mseLoss(net.forward(x) as Tensor, y));
      l.backward();
      opt.step();
      losses.push(l.item());
      l.dispose();
    }
    expect(losses[59]).toBeLessThan(0.5 * losses[0]);
    const first = net.layers[0] as unknown as Record<string, Tensor>;
    tidy(() => {
      net.forward(x);
    });
    expectClose(read(first.weight), weightRef(read(first.weight_g), read(first.weight_v), [8, 4], 0), 1e-13, 1e-14, 'weight after the steps');
    opt.dispose();
    antler.dispose([x, y]);
    net.dispose();
  });

  test('GRU weight_hh_l0: the output equals a plain GRU whose weight_hh_l0 is g·v/‖v‖; gradients reach g and v', () => {
    const I = rng.int(2, 4), H = rng.int(2, 5), T = rng.int(2, 6), B = rng.int(1, 3);
    const gru = nn.utils.weightNorm(new nn.GRU(I, H, { numLayers: 1, dtype: 'float64' }), 'weight_hh_l0');
    expect(keysOf(gru)).toEqual(['weight_ih_l0', 'bias_ih_l0', 'bias_hh_l0', 'weight_hh_l0_g', 'weight_hh_l0_v']);
    const m = gru as unknown as Record<string, Tensor>;
    const g = randomArray(rng, 3 * H, 0.3, 1.5);
    setValues(m.weight_hh_l0_g, g);
    const plain = new nn.GRU(I, H, { numLayers: 1, dtype: 'float64' });
    const p = plain as unknown as Record<string, Tensor>;
    for (const k of ['weight_ih_l0', 'bias_ih_l0', 'bias_hh_l0']) setValues(p[k], read(m[k]));
    setValues(p.weight_hh_l0, weightRef(g, read(m.weight_hh_l0_v), [3 * H, H], 0));
    const x = tensor(randomArray(rng, T * B * I), [T, B, I], F64);
    const a = tidy(() => gru.forward(x).output), b = tidy(() => plain.forward(x).output);
    expectClose(read(a), read(b), 1e-13, 1e-14, 'GRU output');
    const l = tidy(() => antler.sum(gru.forward(x).output));
    l.backward();
    expect(m.weight_hh_l0_g.grad!.shape).toEqual([3 * H, 1]);
    expect(m.weight_hh_l0_v.grad!.shape).toEqual([3 * H, H]);
    antler.dispose([x, a, b, l]);
    gru.dispose();
    plain.dispose();
  });

  test('removeWeightNorm: one parameter again (registered last), holding g·v/‖v‖; the forward is unchanged; the hook is gone', () => {
    const fc = nn.utils.weightNorm(new nn.Linear(3, 2, F64));
    const m = fc as unknown as Record<string, Tensor>;
    setValues(m.weight_g, randomArray(rng, 2, 0.5, 2));
    const x = tensor(randomArray(rng, 6), [2, 3], F64);
    const before = tidy(() => fc.forward(x));
    const want = weightRef(read(m.weight_g), read(m.weight_v), [2, 3], 0);
    nn.utils.removeWeightNorm(fc);
    expect(keysOf(fc)).toEqual(['bias', 'weight']);
    expect('weight_g' in fc || 'weight_v' in fc).toBe(false);
    expect(Object.prototype.hasOwnProperty.call(fc, 'forward')).toBe(false);
    expectClose(read(fc.weight), want, 1e-14, 1e-15, 'weight');
    expect(fc.weight.isLeaf && fc.weight.requiresGrad).toBe(true);
    const after = tidy(() => fc.forward(x));
    expectClose(read(after), read(before), 1e-14, 1e-15, 'forward');
    antler.dispose([x, before, after]);
    fc.dispose();
  });

  test('removeWeightNorm takes g·v/‖v‖ of the current g and v, not the weight of the last forward (g and v changed since, as an optimizer step does)', () => {
    const fc = nn.utils.weightNorm(new nn.Linear(3, 2, F64));
    const m = fc as unknown as Record<string, Tensor>;
    const x = tensor(randomArray(rng, 6), [2, 3], F64);
    antler.dispose(tidy(() => fc.forward(x))); // the weight of g and v as they were
    setValues(m.weight_g, randomArray(rng, 2, 0.5, 2));
    setValues(m.weight_v, randomArray(rng, 6, 0.5, 2));
    const want = weightRef(read(m.weight_g), read(m.weight_v), [2, 3], 0);
    nn.utils.removeWeightNorm(fc);
    expectClose(read(fc.weight), want, 1e-14, 1e-15, 'weight from the current g and v');
    x.dispose();
    fc.dispose();
  });

  test('a state dict saved from a weight-normed module loads into another and gives the same outputs', () => {
    const a = nn.utils.weightNorm(new nn.Linear(4, 3, F64)), b = nn.utils.weightNorm(new nn.Linear(4, 3, F64));
    setValues((a as unknown as Record<string, Tensor>).weight_g, randomArray(rng, 3, 0.5, 2));
    const sd = tidy(() => a.stateDict());
    b.loadStateDict(sd);
    const x = tensor(randomArray(rng, 8), [2, 4], F64);
    const ya = tidy(() => a.forward(x)), yb = tidy(() => b.forward(x));
    expectClose(read(yb), read(ya), 0, 0, 'loaded');
    antler.dispose([x, ya, yb, ...Object.values(sd)]);
    a.dispose();
    b.dispose();
  });

  test('errors: twice on one parameter, a missing parameter, a bad dim, removeWeightNorm without one, not a module', () => {
    const fc = nn.utils.weightNorm(new nn.Linear(3, 2, F64));
    expectAntlerError(() => nn.utils.weightNorm(fc), 'INVALID_ARGUMENT', /already has a weight norm/);
    expectAntlerError(() => nn.utils.weightNorm(fc, 'kernel'), 'INVALID_ARGUMENT', /has no parameter 'kernel'; its parameters: bias, weight_g, weight_v/);
    expectAntlerError(() => nn.utils.removeWeightNorm(fc, 'bias'), 'INVALID_ARGUMENT', /no weight norm of 'bias'/);
    const other = new nn.Linear(3, 2, F64);
    expectAntlerError(() => nn.utils.weightNorm(other, 'weight', 2), 'INVALID_ARGUMENT', /dim must be null or an integer in \[-2, 1\] for 'weight' of shape \[2, 3\]; got 2/);
    expectAntlerError(() => nn.utils.weightNorm({} as nn.Linear), 'INVALID_ARGUMENT', /expected a Module/);
    fc.dispose();
    other.dispose();
  });
});

describe(`forward hooks (seed ${SEED})`, () => {
  test('pre-hooks replace the arguments (an array: the list; one value: the single argument), forward hooks the output, in order; prepend; remove()', () => {
    const fc = new nn.Linear(2, 2, F64);
    const x = tensor(randomArray(rng, 4), [2, 2], F64);
    const seen: string[] = [];
    const plain = tidy(() => fc.forward(x));
    const h1 = fc.registerForwardPreHook((m, args) => {
      seen.push('pre1');
      expect(m).toBe(fc);
      expect(args[0]).toBe(x);
      return tidy(() => antler.mul(args[0] as Tensor, 2)); // one value: the new single argument
    });
    const h2 = fc.registerForwardPreHook((_m, args) => {
      seen.push('pre0');
      return [args[0]]; // an array: the list (unchanged)
    }, { prepend: true });
    const h3 = fc.registerForwardHook((_m, args, out) => {
      seen.push('post');
      expect(args).toHaveLength(1);
      return tidy(() => antler.add(out as Tensor, 1));
    });
    const got = tidy(() => fc.forward(x));
    expect(seen).toEqual(['pre0', 'pre1', 'post']);
    const x2 = tidy(() => antler.mul(x, 2));
    const want = tidy(() => antler.add(nn.linear(x2, fc.weight, fc.bias), 1));
    expectClose(read(got), read(want), 1e-15, 1e-15, 'hooked forward');
    expect(h1.id).not.toBe(h2.id);
    h1.remove();
    h1.remove(); // again: nothing
    h3.remove();
    const after = tidy(() => fc.forward(x));
    expectClose(read(after), read(plain), 0, 0, 'hooks removed');
    h2.remove();
    expect(Object.prototype.hasOwnProperty.call(fc, 'forward')).toBe(false);
    antler.dispose([x, x2, plain, got, want, after]);
    fc.dispose();
  });

  test('hooks on a Sequential’s children fire when the container runs; a hook may remove itself; the registry and toString are unchanged', () => {
    const net = new nn.Sequential(new nn.Linear(3, 4, F64), new nn.ReLU(), new nn.Linear(4, 1, F64));
    const keys = keysOf(net);
    const shown = net.toString();
    const captured: number[][] = [];
    const h = (net.layers[1] as nn.Module).registerForwardHook((_m, _a, out) => {
      captured.push([...(out as Tensor).shape]);
    });
    let once = 0;
    const self = (net.layers[0] as nn.Module).registerForwardPreHook(() => {
      once++;
      self.remove();
    });
    const x = tensor(randomArray(rng, 15), [5, 3], F64);
    tidy(() => {
      net.forward(x);
    });
    tidy(() => {
      net.forward(x);
    });
    expect(captured).toEqual([[5, 4], [5, 4]]);
    expect(once).toBe(1);
    expect(keysOf(net)).toEqual(keys);
    expect(net.toString()).toBe(shown);
    h.remove();
    x.dispose();
    net.dispose();
    expectAntlerError(() => new nn.ReLU().registerForwardHook(3 as never), 'INVALID_ARGUMENT', /registerForwardHook: expected a function; got 3/);
  });

  test('a Sequential leaves alone a layer output that a forward hook or the layer kept (feature extraction), and frees the others', () => {
    const net = new nn.Sequential(new nn.Linear(3, 4, F64), new nn.Tanh(), new nn.Linear(4, 2, F64));
    class Cache extends nn.Module {
      last: Tensor | null = null;
      forward(x: Tensor) {
        this.last = antler.keep(antler.mul(x, 2));
        return this.last;
      }
    }
    const cache = new Cache();
    const net2 = new nn.Sequential(cache, new nn.Linear(3, 1, F64));
    const feats: Tensor[] = [];
    const h = (net.layers[0] as nn.Module).registerForwardHook((_m, _a, out) => {
      feats.push(antler.keep(out as Tensor));
    });
    const xv = randomArray(rng, 15);
    const x = tensor(xv, [5, 3], F64);
    const before = antler.memory().numTensors;
    const y = antler.noGrad(() => net.forward(x));
    // the Linear's output itself, alive and unchanged after the Tanh and the last Linear used it
    const w = read((net.layers[0] as nn.Linear).weight);
    const b = read((net.layers[0] as nn.Linear).bias!);
    const want = Array.from({ length: 20 }, (_, k) => b[k % 4] + [0, 1, 2].reduce((a, j) => a + xv[Math.floor(k / 4) * 3 + j] * w[(k % 4) * 3 + j], 0));
    expect(feats[0].isDisposed).toBe(false);
    expectClose(read(feats[0]), want, 1e-12, 1e-12);
    // y and the kept feature are the only new tensors (no graph holds any: noGrad): the Tanh's output was freed
    expect(antler.memory().numTensors).toBe(before + 2);
    const y2 = net2.forward(x);
    expect(cache.last!.isDisposed).toBe(false);
    expectClose(read(cache.last!), xv.map((v) => 2 * v), 0, 0);
    h.remove();
    antler.dispose([x, y, y2, feats[0], cache.last!]);
    net.dispose();
    net2.dispose();
  });

  test('a module whose forward is its own property (an arrow function) gets it back when the last hook goes', () => {
    class Twice extends nn.Module {
      forward = (x: Tensor) => antler.mul(x, 2);
    }
    const m = new Twice();
    const own = m.forward;
    const h = m.registerForwardHook((_m, _a, out) => tidy(() => antler.neg(out as Tensor)));
    const x = tensor([1, 2], [2], F64);
    const y = tidy(() => m.forward(x));
    expect(read(y)).toEqual([-2, -4]);
    h.remove();
    expect(m.forward).toBe(own);
    antler.dispose([x, y]);
  });

  test('a forward assigned while hooks are registered runs inside them, and stays when the last hook goes (it was bypassed, then dropped by remove())', () => {
    const fc = new nn.Linear(2, 2, { dtype: 'float64' });
    const h = fc.registerForwardHook((_m, _a, out) => tidy(() => antler.add(out as Tensor, 1)));
    const times7 = (x: Tensor) => antler.mul(x, 7);
    fc.forward = times7 as never;
    const x = tensor([1, 2], [1, 2], F64);
    const y = tidy(() => fc.forward(x));
    expect(read(y)).toEqual([8, 15]);
    h.remove();
    expect(fc.forward).toBe(times7);
    const z = tidy(() => fc.forward(x));
    expect(read(z)).toEqual([7, 14]);
    antler.dispose([x, y, z]);
    fc.dispose();
  });
});

describe(`nn.utils.parametersToVector / vectorToParameters (seed ${SEED})`, () => {
  test('the parameters flattened in order and back; gradients flow through parametersToVector; errors', () => {
    const net = new nn.Sequential(new nn.Linear(3, 2, F64), new nn.Linear(2, 1, F64));
    const ps = net.parameters();
    const vec = nn.utils.parametersToVector(net);
    expect(vec.shape).toEqual([ps.reduce((a, p) => a + p.size, 0)]);
    expectClose(read(vec), ps.flatMap(read), 0, 0, 'flattened');
    // d(c · vec)/dp = c's slice for p.
    const c = randomArray(rng, vec.size);
    const l = tidy(() => antler.sum(antler.mul(nn.utils.parametersToVector(ps), tensor(c, [c.length], F64))));
    l.backward();
    let at = 0;
    for (const p of ps) {
      expectClose(read(p.grad!), c.slice(at, at + p.size), 0, 0, 'gradient slice');
      at += p.size;
    }
    const fresh = randomArray(rng, vec.size);
    const fv = tensor(fresh, [fresh.length]);
    nn.utils.vectorToParameters(fv, ps); // float32 values into float64 parameters
    expectClose(ps.flatMap(read), read(fv), 0, 0, 'written back');
    expect(ps.every((p) => p.dtype === 'float64')).toBe(true);
    expectAntlerError(() => tidy(() => nn.utils.vectorToParameters(tensor([1, 2], [2], F64), ps)), 'SHAPE_MISMATCH', new RegExp(`total size ${vec.size}; got shape \\[2\\]`));
    expectAntlerError(() => nn.utils.parametersToVector([]), 'INVALID_ARGUMENT', /at least one parameter/);
    expectAntlerError(() => nn.utils.parametersToVector([ps[0], 3 as never]), 'INVALID_ARGUMENT', /entry 1 must be a Tensor; got 3/);
    antler.dispose([vec, l, fv]);
    net.dispose();
    // Mixed float32 and float64 parameters: one float64 vector (torch.cat promotes), every value exact.
    const p32 = tensor(randomArray(rng, 3), [3]), p64 = tensor(randomArray(rng, 4), [2, 2], F64);
    const mixed = nn.utils.parametersToVector([p32, p64]);
    expect(mixed.dtype).toBe('float64');
    expectClose(read(mixed), [...read(p32), ...read(p64)], 0, 0, 'mixed dtypes flattened');
    antler.dispose([p32, p64, mixed]);
    // torch.nn.utils' gradient clipping: optim's functions.
    expect(nn.utils.clipGradNorm).toBe(optim.clipGradNorm);
    expect(nn.utils.clipGradValue).toBe(optim.clipGradValue);
  });
});
