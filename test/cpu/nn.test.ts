/**
 * nn modules: Linear, Sequential naming, state dicts, train/eval, Dropout,
 * LayerNorm, Embedding, Module.to/cast/zeroGrad and parameter lifetime,
 * against float64 JavaScript references.
 */
import * as antler from '../../lib';
import { nn, ones, randn, Tensor, tensor, tidy, zeros } from '../../lib';
import { globalDrawPosition } from '../../lib/random';
import { backprop, cellStepRef, expectAntlerError, expectAntlerErrorInTidy, expectClose, expectExact, expectNoLeaksInSuite, makeSeededRng, matmul2d, randomArray, randomInts, splitDropped, spreadFloor, tensorCounts, F32_ROUNDING } from '../helpers';

// Initialisation draws from the global generator: seed it from the run's seed.
const rng = makeSeededRng();
const SEED = rng.seed;

const baseline = expectNoLeaksInSuite(tensorCounts);

/** y = x Wᵀ + b in float64 for x [N, in], W [out, in]. */
function linearRef(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, N: number, inF: number, outF: number): Float64Array {
  const y = matmul2d(x, w, N, outF, inF, false, true);
  if (b) for (let i = 0; i < N; i++) for (let j = 0; j < outF; j++) y[i * outF + j] += b[j];
  return y;
}

const values = (ps: Tensor[]): Float64Array[] => ps.map((p) => Float64Array.from(p.dataSync()));
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe(`Linear (seed ${SEED})`, () => {
  test('init is U(±1/√in) for weight and bias, spread across the bound; weight is [out, in]', () => {
    const [inF, outF] = [rng.int(40, 90), rng.int(100, 160)];
    const lin = new nn.Linear(inF, outF);
    const bound = 1 / Math.sqrt(inF);
    expect(lin.weight.shape).toEqual([outF, inF]);
    expect(lin.bias!.shape).toEqual([outF]);
    expect(lin.weight.dtype).toBe('float32');
    expect(lin.weight.requiresGrad && lin.bias!.requiresGrad).toBe(true);
    expect(lin.weight.isLeaf).toBe(true);
    for (const [name, t] of [['weight', lin.weight], ['bias', lin.bias!]] as const) {
      const v = Array.from(t.dataSync());
      const lo = Math.min(...v), hi = Math.max(...v);
      expect({ name, within: lo >= -bound * F32_ROUNDING && hi <= bound * F32_ROUNDING }).toEqual({ name, within: true });
      // Spread: both ends of the interval are reached, and the mean is near 0. P(max < f·bound) = ((1 + f)/2)^n,
      // so f = 2·spreadFloor(n, 5e-10) − 1 fails a correct init with odds 1e-9 for both ends: 0.99 of the bound
      // for the weight's 4,000+ draws, 0.61–0.75 for the bias's 100–160 (0.75 failed one run in 300,000 at 100).
      // The next test tells the bias's 1/√in from 1/√out.
      const f = 2 * spreadFloor(v.length, 5e-10) - 1;
      expect(lo).toBeLessThan(-f * bound);
      expect(hi).toBeGreaterThan(f * bound);
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      expect(Math.abs(mean)).toBeLessThan((6 * bound) / Math.sqrt(3 * v.length));
    }
    // Variance of U(−a, a) is a²/3.
    const w = Array.from(lin.weight.dataSync());
    const variance = w.reduce((a, b) => a + b * b, 0) / w.length;
    expect(Math.abs(variance / (bound * bound / 3) - 1)).toBeLessThan(0.1);
    lin.dispose();
  });

  test('the bias bound is 1/√in too, not 1/√out: a wide layer from one input has biases spread over ±1', () => {
    // in = 1: weight and bias are U(−1, 1); a bound of 1/√out would keep all of them within ±0.03.
    // P(max |b| < 0.75) = 0.75^out < 1e-120 for out >= 1000.
    const outF = rng.int(1000, 1500);
    const lin = new nn.Linear(1, outF, { dtype: 'float64' });
    for (const [name, t] of [['weight', lin.weight], ['bias', lin.bias!]] as const) {
      const v = Array.from(t.dataSync(), Math.abs);
      expect({ name, max: Math.max(...v) <= 1, spread: Math.max(...v) > 0.75 }).toEqual({ name, max: true, spread: true });
    }
    lin.dispose();
    // The other way round, in = 1000+, out = 1: the bound 1/√in keeps the lone bias small (1/√out would be 1).
    const inF = rng.int(1000, 1500);
    const narrow = new nn.Linear(inF, 1, { dtype: 'float64' });
    expect(Math.abs(narrow.bias!.dataSync()[0])).toBeLessThanOrEqual(1 / Math.sqrt(inF));
    narrow.dispose();
  });

  test('forward equals x Wᵀ + b (float32 and float64, with and without bias)', () => {
    for (const dtype of ['float32', 'float64'] as const)
      for (const bias of [true, false]) {
        const [N, inF, outF] = [rng.int(1, 7), rng.int(1, 9), rng.int(1, 9)];
        const lin = new nn.Linear(inF, outF, { dtype, bias });
        expect(lin.bias === null).toBe(!bias);
        expect(lin.weight.dtype).toBe(dtype);
        const x = tensor(randomArray(rng, N * inF, -2, 2), [N, inF], { dtype });
        const y = lin.forward(x);
        expect(y.shape).toEqual([N, outF]);
        const ref = linearRef(x.dataSync(), lin.weight.dataSync(), bias ? lin.bias!.dataSync() : null, N, inF, outF);
        expectClose(y.dataSync(), ref, dtype === 'float64' ? 1e-13 : 1e-5, dtype === 'float64' ? 1e-13 : 1e-6, `${dtype} bias=${bias}`);
        expect(lin.namedParameters().map(([n]) => n)).toEqual(bias ? ['weight', 'bias'] : ['weight']);
        antler.dispose([x, y]);
        lin.dispose();
      }
  });

  test('a wrong feature count throws SHAPE_MISMATCH', () => {
    const lin = new nn.Linear(3, 2);
    const x = antler.zeros([4, 5]);
    expectAntlerErrorInTidy(() => lin.forward(x), 'SHAPE_MISMATCH', /3/);
    x.dispose();
    lin.dispose();
  });
});

describe(`parameter names and state dicts (seed ${SEED})`, () => {
  const mlp = (): nn.Sequential => new nn.Sequential(new nn.Linear(3, 5), new nn.ReLU(), new nn.Linear(5, 2));

  test('namedParameters: weight/bias; Sequential children 0, 1, 2 with dotted names, nested', () => {
    const m = mlp();
    expect(m.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expect(m.parameters()).toHaveLength(4);
    expect(m.numParameters()).toBe(3 * 5 + 5 + 5 * 2 + 2);
    const nested = new nn.Sequential(new nn.Sequential(new nn.Linear(2, 2), new nn.Tanh()), new nn.LayerNorm(2), new nn.Linear(2, 1, { bias: false }));
    expect(nested.namedParameters().map(([n]) => n)).toEqual(['0.0.weight', '0.0.bias', '1.weight', '1.bias', '2.weight']);
    expect(nested.namedChildren().map(([n]) => n)).toEqual(['0', '1', '2']);
    m.dispose();
    nested.dispose();
  });

  test('stateDict → loadStateDict into a fresh model gives identical outputs; the values are copies', () => {
    const a = mlp();
    const b = mlp();
    const bParams = b.parameters();
    const x = tensor(randomArray(rng, 6 * 3, -2, 2), [6, 3]);
    const ya = tidy(() => a.forward(x).dataSync());
    const yb0 = tidy(() => b.forward(x).dataSync());
    expect(Array.from(ya)).not.toEqual(Array.from(yb0)); // different inits
    const dict = a.stateDict();
    expect(Object.keys(dict)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expect(dict['0.weight'].requiresGrad).toBe(false);
    const result = b.loadStateDict(dict);
    expect(result).toEqual({ missingKeys: [], unexpectedKeys: [] });
    antler.dispose(dict);
    // Parameter objects are the same (optimizers stay bound), with a's values.
    b.parameters().forEach((p, i) => expect(p).toBe(bParams[i]));
    expectExact(tidy(() => b.forward(x).dataSync()), ya, 'loaded model output');
    // Changing a afterwards does not reach b, and a still works after the dict was disposed.
    for (const p of a.parameters()) tidy(() => void p.assign(antler.zerosLike(p)));
    expectExact(tidy(() => b.forward(x).dataSync()), ya, 'after a changed');
    expectExact(a.parameters()[0].dataSync(), new Float32Array(15), 'a zeroed');
    x.dispose();
    a.dispose();
    b.dispose();
  });

  test('loadStateDict converts dtype (float64 dict into a float32 model)', () => {
    const a = new nn.Linear(4, 3, { dtype: 'float64' });
    const b = new nn.Linear(4, 3);
    const dict = a.stateDict();
    b.loadStateDict(dict);
    expect(b.weight.dtype).toBe('float32');
    expectExact(b.weight.dataSync(), Float32Array.from(a.weight.dataSync()), 'rounded to float32');
    antler.dispose(dict);
    a.dispose();
    b.dispose();
  });

  test('strict loadStateDict: a missing or an unexpected key throws INVALID_ARGUMENT naming it, and loads nothing', () => {
    const a = mlp();
    const b = mlp();
    const before = values(b.parameters());
    const dict = a.stateDict();
    const bias = dict['2.bias'];
    delete dict['2.bias'];
    expectAntlerErrorInTidy(() => b.loadStateDict(dict), 'INVALID_ARGUMENT', /missing: 2\.bias/);
    dict['2.bias'] = bias;
    dict['extra.weight'] = tensor([1, 2]);
    expectAntlerErrorInTidy(() => b.loadStateDict(dict), 'INVALID_ARGUMENT', /unexpected: extra\.weight/);
    values(b.parameters()).forEach((v, i) => expectExact(v, before[i], `param ${i} unchanged`));
    antler.dispose(dict);
    a.dispose();
    b.dispose();
  });

  test('a buffer loaded from a tensor that requires grad stays a plain leaf (load_state_dict runs under no_grad); the values are copied', () => {
    class WithAvg extends nn.Module {
      fc = new nn.Linear(2, 2, { dtype: 'float64' });
      avg: Tensor;
      constructor() {
        super();
        this.avg = this.registerBuffer('avg', zeros([2], { dtype: 'float64' }));
      }
      forward(x: Tensor): Tensor {
        return this.fc.forward(x);
      }
    }
    const m = new WithAvg();
    const src = tensor([1.5, -2], [2], { dtype: 'float64', requiresGrad: true });
    tidy(() => {
      const dict = m.stateDict();
      dict.avg = src.mul(2);
      m.loadStateDict(dict);
    });
    expect([m.avg.requiresGrad, m.avg.isLeaf]).toEqual([false, true]);
    expectExact(m.avg.dataSync(), [3, -4], 'avg loaded');
    antler.dispose([src, m]);
  });

  test('a wrong shape throws SHAPE_MISMATCH naming the key and leaves the module unchanged', () => {
    const a = mlp();
    const b = mlp();
    const before = values(b.parameters());
    const dict = a.stateDict();
    // '0.weight' (first in order) is valid; the last key has the wrong shape.
    dict['2.bias'].dispose();
    dict['2.bias'] = tensor([1, 2, 3]);
    expectAntlerErrorInTidy(() => b.loadStateDict(dict), 'SHAPE_MISMATCH', /'2\.bias'.*\[3\].*\[2\]/);
    // A disposed value is named by its key too (it said "the tensor (shape [3], float32)").
    dict['2.bias'].dispose();
    expectAntlerErrorInTidy(() => b.loadStateDict(dict), 'DISPOSED', /^loadStateDict: '2\.bias' \(shape \[3\], float32\) has been disposed$/);
    values(b.parameters()).forEach((v, i) => expectExact(v, before[i], `param ${i} unchanged (no partial load)`));
    antler.dispose(dict);
    a.dispose();
    b.dispose();
  });

  test('strict: false returns the missing and unexpected keys and loads the rest', () => {
    const a = mlp();
    const b = mlp();
    const before = values(b.parameters());
    const dict = a.stateDict();
    dict['0.bias'].dispose();
    delete dict['0.bias'];
    dict['head.scale'] = tensor([1]);
    const r = b.loadStateDict(dict, { strict: false });
    expect(r).toEqual({ missingKeys: ['0.bias'], unexpectedKeys: ['head.scale'] });
    const [w0, b0, w2, b2] = values(b.parameters());
    expectExact(w0, a.parameters()[0].dataSync(), '0.weight loaded');
    expectExact(b0, before[1], '0.bias untouched');
    expectExact(w2, a.parameters()[2].dataSync(), '2.weight loaded');
    expectExact(b2, a.parameters()[3].dataSync(), '2.bias loaded');
    antler.dispose(dict);
    a.dispose();
    b.dispose();
  });
  test('a value with the right number of entries but another shape (a transposed weight, an extra axis) throws SHAPE_MISMATCH, strict or not, and loads nothing (PyTorch checks shapes, not sizes)', () => {
    const inF = rng.int(2, 5), outF = inF + rng.int(1, 3);
    const m = new nn.Linear(inF, outF, { dtype: 'float64' });
    const before = values(m.parameters());
    const cases: [string, number[], number[]][] = [['weight', [inF, outF], [outF, inF]], ['bias', [outF, 1], [outF]], ['bias', [1, outF], [outF]], ['weight', [outF * inF], [outF, inF]]];
    for (const strict of [true, false])
      for (const [key, bad, want] of cases)
        tidy(() => {
          const dict = m.stateDict();
          dict[key] = antler.ones(bad, { dtype: 'float64' });
          expectAntlerErrorInTidy(() => m.loadStateDict(dict, { strict }), 'SHAPE_MISMATCH', new RegExp(`'${key}' has shape \\[${bad.join(', ')}\\]; the module expects \\[${want.join(', ')}\\]`));
        });
    values(m.parameters()).forEach((v, i) => expectExact(v, before[i], `param ${i} unchanged`));
    m.dispose();
  });

  test('an int32 value for a float parameter, or a float value for an int32 buffer, throws DTYPE_MISMATCH and loads nothing; float32 and float64 convert either way', () => {
    class Counted extends nn.Module {
      fc = new nn.Linear(2, 3, { dtype: 'float64' });
      steps: Tensor;
      constructor() {
        super();
        this.steps = this.registerBuffer('steps', tensor([7], [1], { dtype: 'int32' }));
      }
      forward(x: Tensor): Tensor {
        return this.fc.forward(x);
      }
    }
    const m = new Counted();
    const before = values(m.parameters());
    tidy(() => {
      const dict = m.stateDict();
      dict['fc.bias'] = tensor([1, 2, 3], [3], { dtype: 'int32' });
      expectAntlerErrorInTidy(() => m.loadStateDict(dict), 'DTYPE_MISMATCH', /'fc\.bias' is int32; the module expects float64/);
      dict['fc.bias'] = tensor([1, 2, 3], [3], { dtype: 'float32' });
      dict.steps = tensor([3], [1], { dtype: 'float64' });
      expectAntlerErrorInTidy(() => m.loadStateDict(dict, { strict: false }), 'DTYPE_MISMATCH', /'steps' is float64; the module expects int32/);
    });
    values(m.parameters()).forEach((v, i) => expectExact(v, before[i], `param ${i} unchanged`));
    expectExact(m.steps.dataSync(), [7], 'buffer unchanged');
    tidy(() => {
      const dict = m.stateDict();
      dict['fc.bias'] = tensor([1.5, -2.25, 3], [3], { dtype: 'float32' });
      dict.steps = tensor([11], [1], { dtype: 'int32' });
      m.loadStateDict(dict);
    });
    expect([m.fc.bias!.dtype, m.steps.dtype]).toEqual(['float64', 'int32']);
    expectExact(m.fc.bias!.dataSync(), [1.5, -2.25, 3], 'float32 value widened');
    expectExact(m.steps.dataSync(), [11], 'int32 buffer loaded');
    m.dispose();
  });
});

describe(`modules built PyTorch's way, by assignment (seed ${SEED})`, () => {
  class Net extends nn.Module {
    l1: nn.Linear;
    act = new nn.Tanh();
    l2: nn.Linear;
    scale: Tensor;
    constant: Tensor;
    parent: nn.Module | null = null;
    constructor(inF: number, hidden: number) {
      super();
      this.l1 = new nn.Linear(inF, hidden, { dtype: 'float64' });
      this.l2 = new nn.Linear(hidden, 2, { dtype: 'float64' });
      this.scale = nn.parameter(tensor([1.5], [1], { dtype: 'float64' }));
      this.constant = tensor([2], [1], { dtype: 'float64', requiresGrad: true }); // not marked: not a parameter (PyTorch: not an nn.Parameter)
    }
    forward(x: Tensor): Tensor {
      return this.l2.forward(this.act.forward(this.l1.forward(x))).mul(this.scale);
    }
  }

  test('sub-modules and nn.parameter() tensors assigned to properties are registered under their names; training reaches them; null removes', () => {
    const [inF, hidden] = [rng.int(2, 5), rng.int(2, 6)];
    const net = new Net(inF, hidden);
    expect(net.namedParameters().map(([n]) => n)).toEqual(['scale', 'l1.weight', 'l1.bias', 'l2.weight', 'l2.bias']);
    expect(net.numParameters()).toBe(1 + inF * hidden + hidden + hidden * 2 + 2);
    // In the order of the assignments, as PyTorch's __setattr__ registers them: the field initialiser
    // (act) runs before the constructor's body (l1, l2), whatever order the compiler defines the keys in.
    expect(net.namedChildren().map(([n]) => n)).toEqual(['act', 'l1', 'l2']);
    // One SGD step moves every parameter by −lr·grad.
    const x = tensor(randomArray(rng, 3 * inF, -1, 1), [3, inF], { dtype: 'float64' });
    const opt = new antler.optim.SGD(net.parameters(), { lr: 0.1 });
    const before = values(net.parameters());
    backprop(() => net.forward(x).square().sum());
    const grads = net.parameters().map((p) => Float64Array.from(p.grad!.dataSync()));
    opt.step();
    net.parameters().forEach((p, i) => expectClose(p.dataSync(), before[i].map((v, j) => v - 0.1 * grads[i][j]), 1e-15, 1e-15, `parameter ${i}`));
    // A parent link is a cycle: the walk does not enter it twice.
    const outer = new Net(inF, hidden);
    (outer as unknown as { inner: Net }).inner = net;
    net.parent = outer;
    expect(outer.parameters()).toHaveLength(10);
    outer.eval();
    expect([outer.training, net.training, net.l1.training]).toEqual([false, false, false]);
    // Assigning null removes a sub-module or parameter, as in PyTorch.
    (outer as unknown as { inner: Net | null }).inner = null;
    const outerScale = outer.scale;
    (outer as unknown as { scale: Tensor | null }).scale = null;
    expect(outer.namedParameters().map(([n]) => n)).toEqual(['l1.weight', 'l1.bias', 'l2.weight', 'l2.bias']);
    opt.dispose();
    x.dispose();
    net.constant.dispose();
    outer.constant.dispose();
    outer.dispose();
    net.dispose();
    outerScale.dispose(); // no longer the module's
  });

  test("Sequential with a recurrent module before another layer names both layers (not 'Linear: input must be a Tensor')", () => {
    const s = new nn.Sequential(new nn.GRU(2, 3), new nn.Linear(3, 1));
    const x = tensor(randomArray(rng, 8), [4, 1, 2]);
    expectAntlerErrorInTidy(() => s.forward(x), 'INVALID_ARGUMENT', /^Sequential: layer 0 \(GRU\) returned an object with keys output, hidden, stats, not a Tensor for layer 1 \(Linear\)/);
    s.dispose();
    x.dispose();
  });


  test('ModuleList registers its modules as 0, 1, … (torch.nn.ModuleList key names); forward through it trains them all', () => {
    class Stack extends nn.Module {
      layers = new nn.ModuleList<nn.Linear>([new nn.Linear(3, 4, { dtype: 'float64' })]);
      constructor() {
        super();
        this.layers.append(new nn.Linear(4, 4, { dtype: 'float64' })).extend([new nn.Linear(4, 2, { dtype: 'float64' })]);
      }
      forward(x: Tensor): Tensor {
        return tidy(() => {
          let h = x;
          for (const layer of this.layers) h = antler.tanh(layer.forward(h));
          return h;
        });
      }
    }
    const net = new Stack();
    expect(tidy(() => Object.keys(net.stateDict()))).toEqual(['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias', 'layers.2.weight', 'layers.2.bias']);
    expect(net.layers.length).toBe(3);
    expect(net.layers.get(-1)).toBe(net.layers.get(2));
    // Python's negative indices: −k is item n − k, for every k.
    const items = [...net.layers];
    for (let k = 1; k <= 3; k++) expect(net.layers.get(-k)).toBe(items[3 - k]);
    const xv = randomArray(rng, 6);
    const x = tensor(xv, [2, 3], { dtype: 'float64' });
    backprop(() => net.forward(x).sum());
    for (const p of net.parameters()) expect(p.grad).toBeTruthy();
    // The same function by hand, from the weights.
    let h: number[][] = [xv.slice(0, 3), xv.slice(3)];
    for (const l of net.layers) {
      const W = Array.from(l.weight.dataSync()), b = Array.from(l.bias!.dataSync());
      const [o, i] = l.weight.shape;
      h = h.map((row) => Array.from({ length: o }, (_, r) => Math.tanh(b[r] + row.reduce((acc, v, k) => acc + v * W[r * i + k], 0))));
    }
    const y = net.forward(x);
    expectClose(Array.from(y.dataSync()), h.flat(), 1e-14, 1e-15);
    y.dispose();
    expectAntlerErrorInTidy(() => net.layers.forward(), 'INVALID_ARGUMENT', /ModuleList has no forward/);
    expectAntlerErrorInTidy(() => net.layers.get(3), 'INVALID_ARGUMENT', /\[-3, 3\)/);
    expectAntlerErrorInTidy(() => new nn.ModuleList(5 as never), 'INVALID_ARGUMENT', /array \(or iterable\) of modules; got 5/);
    net.dispose();
    x.dispose();
  });
  test('ModuleList insert, pop, set and slice renumber the registry as PyTorch’s (state-dict keys follow the list), and check their arguments', () => {
    const F64 = { dtype: 'float64' as const };
    const mk = (i: number, o: number) => new nn.Linear(i, o, F64);
    const a = mk(1, 2), b = mk(2, 3), c = mk(3, 4), d = mk(4, 5), e = mk(5, 6);
    const list = new nn.ModuleList<nn.Linear>([a, b, c]);
    // key → weight shape, in state-dict order
    const layout = () => tidy(() => Object.entries(list.stateDict()).filter(([k]) => k.endsWith('weight')).map(([k, t]) => `${k}:${t.shape.join('x')}`));
    list.insert(1, d);
    expect([...list]).toEqual([a, d, b, c]);
    expect(layout()).toEqual(['0.weight:2x1', '1.weight:5x4', '2.weight:3x2', '3.weight:4x3']);
    list.insert(4, e);
    list.insert(0, e); // the same module twice: listed once by parameters(), under both names by stateDict()
    expect(list.length).toBe(6);
    expect(layout()).toEqual(['0.weight:6x5', '1.weight:2x1', '2.weight:5x4', '3.weight:3x2', '4.weight:4x3', '5.weight:6x5']);
    expect(list.parameters().length).toBe(10);
    expect(list.pop()).toBe(e);
    expect(list.pop(1)).toBe(a);
    expect(list.pop(-2)).toBe(b);
    expect([...list]).toEqual([e, d, c]);
    expect(layout()).toEqual(['0.weight:6x5', '1.weight:5x4', '2.weight:4x3']);
    list.set(-1, b);
    expect(layout()).toEqual(['0.weight:6x5', '1.weight:5x4', '2.weight:3x2']);
    const part = list.slice(1);
    expect([...part]).toEqual([d, b]);
    expect(part.get(0)).toBe(d); // shared, not copied
    expect(tidy(() => Object.keys(part.stateDict()))).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
    expect([...list.slice(-2, -1)]).toEqual([d]);
    expect(list.slice(3).length).toBe(0);
    // a state dict of the renumbered list loads back into a fresh list of the same layout
    const copy = new nn.ModuleList([mk(5, 6), mk(4, 5), mk(2, 3)]);
    tidy(() => copy.loadStateDict(list.stateDict()));
    expect(Array.from(copy.get(2).weight.dataSync())).toEqual(Array.from(b.weight.dataSync()));
    expectAntlerErrorInTidy(() => list.insert(4, a), 'INVALID_ARGUMENT', /ModuleList\.insert: index must be an integer in \[0, 3\] for a list of 3; got 4/);
    expectAntlerErrorInTidy(() => list.insert(-1, a), 'INVALID_ARGUMENT', /ModuleList\.insert: index/);
    expectAntlerErrorInTidy(() => list.insert(0, 3 as never), 'INVALID_ARGUMENT', /ModuleList\.insert: expected a Module; got 3/);
    expectAntlerErrorInTidy(() => list.pop(3), 'INVALID_ARGUMENT', /ModuleList\.pop: index must be an integer in \[-3, 3\)/);
    expectAntlerErrorInTidy(() => new nn.ModuleList().pop(), 'INVALID_ARGUMENT', /for a list of 0/);
    expectAntlerErrorInTidy(() => list.set(0.5, a), 'INVALID_ARGUMENT', /ModuleList\.set: index/);
    expectAntlerErrorInTidy(() => list.slice('1' as never), 'INVALID_ARGUMENT', /ModuleList\.slice: start must be an integer/);
    expect(layout()).toEqual(['0.weight:6x5', '1.weight:5x4', '2.weight:3x2']);
    for (const m of [a, b, c, d, e]) m.dispose();
    copy.dispose();
  });
  test('registerBuffer(name, t, {persistent: false}) is a buffer left out of the state dict, as PyTorch’s; loadStateDict reports missing keys in state-dict order', () => {
    class Masked extends nn.Module {
      fc = new nn.Linear(3, 3, { dtype: 'float64' });
      mask: Tensor;
      scale: Tensor;
      constructor() {
        super();
        this.mask = this.registerBuffer('mask', tidy(() => antler.triu(antler.ones([3, 3], { dtype: 'float64' }))), { persistent: false });
        this.scale = this.registerBuffer('scale', antler.full([3], 2, { dtype: 'float64' }));
      }
      forward(x: Tensor): Tensor {
        return tidy(() => antler.mul(antler.matmul(x, antler.mul(this.fc.weight, this.mask)), this.scale));
      }
    }
    class Outer extends nn.Module {
      inner = new Masked();
      bn = new nn.BatchNorm1d(3, { dtype: 'float64' });
      forward(x: Tensor): Tensor {
        return this.bn.forward(this.inner.forward(x));
      }
    }
    const net = new Outer();
    const keys = (m: nn.Module) => tidy(() => Object.keys(m.stateDict()));
    const sdKeys = ['inner.scale', 'inner.fc.weight', 'inner.fc.bias', 'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked'];
    expect(keys(net)).toEqual(sdKeys);
    expect(net.namedBuffers().map(([k]) => k)).toEqual(['inner.mask', 'inner.scale', 'bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked']);
    // a state dict without the mask (PyTorch's, for such a module) loads strictly; one with it is refused
    const other = new Outer();
    tidy(() => antler.noGrad(() => other.inner.fc.weight.assign(antler.randn([3, 3], { dtype: 'float64' }))));
    expect(tidy(() => net.loadStateDict(other.stateDict()))).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(Array.from(net.inner.fc.weight.dataSync())).toEqual(Array.from(other.inner.fc.weight.dataSync()));
    expect(Array.from(net.inner.mask.dataSync())).toEqual([1, 1, 1, 0, 1, 1, 0, 0, 1]);
    expectAntlerErrorInTidy(() => net.loadStateDict({ ...net.stateDict(), 'inner.mask': antler.zeros([3, 3], { dtype: 'float64' }) }), 'INVALID_ARGUMENT', /unexpected: inner\.mask/);
    // missing keys in state-dict order: each module's parameters, then its buffers, then its children
    const { missingKeys } = tidy(() => net.loadStateDict({ 'inner.fc.weight': net.stateDict()['inner.fc.weight'] }, { strict: false }));
    expect(missingKeys).toEqual(sdKeys.filter((k) => k !== 'inner.fc.weight'));
    // cast moves it with the others; clone keeps it out of the copy's state dict
    net.cast('float32');
    expect(net.inner.mask.dtype).toBe('float32');
    const copy = net.clone();
    expect(keys(copy)).toEqual(sdKeys);
    expect(copy.namedBuffers().length).toBe(5);
    const bad = new Masked();
    expectAntlerErrorInTidy(() => (bad as unknown as { registerBuffer(n: string, t: Tensor, o: unknown): Tensor }).registerBuffer('b', antler.zeros([1]), { persistent: 1 }), 'INVALID_ARGUMENT', /registerBuffer: persistent must be a boolean/);
    for (const m of [net, other, copy, bad]) m.dispose();
  });
  test('Sequential append, insert, extend, pop, set, get and slice rename the layers as PyTorch 1.13’s (state-dict keys follow the list); forward runs the edited order', () => {
    const F64 = { dtype: 'float64' as const };
    const [a, b, c, d, e] = [1, 2, 3, 4, 5].map((i) => new nn.Linear(i, i + 1, F64));
    const r = new nn.ReLU();
    const seq = new nn.Sequential(a, r, b);
    const layout = () => tidy(() => Object.entries(seq.stateDict()).filter(([k]) => k.endsWith('weight')).map(([k, t]) => `${k}:${t.shape.join('x')}`));
    // Expected keys: torch 1.13's nn.Sequential after the same edits (python3, torch 1.13.0a0).
    expect(seq.append(c).insert(1, d)).toBe(seq);
    expect(layout()).toEqual(['0.weight:2x1', '1.weight:5x4', '3.weight:3x2', '4.weight:4x3']);
    seq.insert(-1, e);
    expect(layout()).toEqual(['0.weight:2x1', '1.weight:5x4', '3.weight:3x2', '4.weight:6x5', '5.weight:4x3']);
    expect(seq.pop(2)).toBe(r);
    expect(layout()).toEqual(['0.weight:2x1', '1.weight:5x4', '2.weight:3x2', '3.weight:6x5', '4.weight:4x3']);
    expect(seq.pop()).toBe(c);
    expect(layout()).toEqual(['0.weight:2x1', '1.weight:5x4', '2.weight:3x2', '3.weight:6x5']);
    seq.extend([c]);
    expect(layout()).toEqual(['0.weight:2x1', '1.weight:5x4', '2.weight:3x2', '3.weight:6x5', '4.weight:4x3']);
    seq.set(0, c);
    expect(layout()).toEqual(['0.weight:4x3', '1.weight:5x4', '2.weight:3x2', '3.weight:6x5', '4.weight:4x3']);
    expect(seq.length).toBe(5);
    expect([...seq]).toEqual([c, d, b, e, c]);
    expect(seq.get(-1)).toBe(c);
    expect(seq.layers).toEqual([c, d, b, e, c]);
    seq.set(0, a).pop(); // [a, d, b, e]: a chain 1 → 2 → … shapes do not chain; forward over a consistent one below
    const chain = new nn.Sequential(a);
    chain.extend(new nn.Sequential(b, c)).insert(1, new nn.Tanh());
    const x = randn([3, 1], F64);
    const y = chain.forward(x);
    const ref = tidy(() => c.forward(b.forward(antler.tanh(a.forward(x)))));
    expectExact(y.dataSync(), ref.dataSync());
    // A slice keeps the names (torch 1.13's seq[1:3] state dict starts at '1.'), and loads into a Sequential named so.
    const part = seq.slice(1, 3);
    expect([...part]).toEqual([d, b]);
    expect(tidy(() => Object.keys(part.stateDict()))).toEqual(['1.weight', '1.bias', '2.weight', '2.bias']);
    const fresh = new nn.Sequential([['1', new nn.Linear(4, 5, F64)], ['2', new nn.Linear(2, 3, F64)]]);
    tidy(() => fresh.loadStateDict(part.stateDict()));
    expectExact(fresh.get(1).parameters()[0].dataSync(), b.weight.dataSync());
    // A layer assigned as a property (seq['0'] = m) is renamed with the others, not registered twice.
    const s2 = new nn.Sequential(new nn.ReLU(), new nn.Tanh());
    (s2 as unknown as Record<string, nn.Module>)['0'] = e;
    s2.insert(0, d);
    expect(s2.layers.map((m) => m.constructor.name)).toEqual(['Linear', 'Linear', 'Tanh']);
    expect(tidy(() => Object.keys(s2.stateDict()))).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
    expect(s2.get(1)).toBe(e);
    expectAntlerErrorInTidy(() => seq.insert(5, a), 'INVALID_ARGUMENT', /Sequential\.insert: index must be an integer in \[-4, 4\] for a Sequential of 4; got 5/);
    expectAntlerErrorInTidy(() => seq.append(3 as never), 'INVALID_ARGUMENT', /Sequential\.append: expected a Module; got 3/);
    expectAntlerErrorInTidy(() => seq.extend([a, 'b' as never]), 'INVALID_ARGUMENT', /Sequential\.extend: item 1 must be a Module; got 'b'/);
    expectAntlerErrorInTidy(() => seq.pop(4), 'INVALID_ARGUMENT', /Sequential\.pop: index must be an integer in \[-4, 4\)/);
    expectAntlerErrorInTidy(() => seq.get(0.5), 'INVALID_ARGUMENT', /Sequential\.get: index/);
    expectAntlerErrorInTidy(() => seq.slice('1' as never), 'INVALID_ARGUMENT', /Sequential\.slice: start must be an integer/);
    expectAntlerErrorInTidy(() => new nn.Sequential(a, null as never), 'INVALID_ARGUMENT', /Sequential: layer 1 must be a Module; got null/);
    expect(seq.length).toBe(4); // the failed edits changed nothing
    for (const m of [a, b, c, d, e]) m.dispose();
    for (const t of [x, y, ref]) t.dispose();
    fresh.dispose();
  });
  test('Sequential with named layers (PyTorch’s Sequential(OrderedDict)): state-dict keys, forward order, and edits as torch 1.13’s', () => {
    const F64 = { dtype: 'float64' as const };
    const enc = new nn.Linear(3, 4, F64), act = new nn.Tanh(), dec = new nn.Linear(4, 2, F64);
    const names = (m: nn.Sequential) => m.namedChildren().map(([k]) => k);
    const keys = (m: nn.Module) => tidy(() => Object.keys(m.stateDict()));
    // The three spellings give the same registry, in the order written.
    const seq = new nn.Sequential([['enc', enc], ['act', act], ['dec', dec]]);
    expect(names(new nn.Sequential(new Map<string, nn.Module>([['enc', enc], ['act', act], ['dec', dec]])))).toEqual(['enc', 'act', 'dec']);
    expect(names(new nn.Sequential({ enc, act, dec }))).toEqual(['enc', 'act', 'dec']);
    expect(names(new nn.Sequential({ 2: dec, 0: enc }))).toEqual(['0', '2']);
    // torch 1.13: nn.Sequential(OrderedDict(enc=Linear(3,4), act=Tanh(), dec=Linear(4,2))).state_dict().keys()
    expect(keys(seq)).toEqual(['enc.weight', 'enc.bias', 'dec.weight', 'dec.bias']);
    const x = randn([5, 3], F64);
    tidy(() => expectExact(seq.forward(x).dataSync(), dec.forward(antler.tanh(enc.forward(x))).dataSync()));
    // A state dict saved from a named PyTorch Sequential (the keys above) loads by name.
    const twin = new nn.Sequential({ enc: new nn.Linear(3, 4, F64), act: new nn.Tanh(), dec: new nn.Linear(4, 2, F64) });
    tidy(() => twin.loadStateDict(seq.stateDict()));
    tidy(() => expectExact(twin.forward(x).dataSync(), seq.forward(x).dataSync()));
    // Edits, against torch 1.13 after the same ones: seq[1:] keeps the names; seq[0] = m keeps 'enc';
    // append names by length ('3' here; where that name is taken torch would overwrite that layer, antler takes the
    // next free number); pop renumbers every layer 0, 1, … (torch's __delitem__).
    expect(names(seq.slice(1))).toEqual(['act', 'dec']);
    expect(keys(seq.slice(-1))).toEqual(['dec.weight', 'dec.bias']);
    const enc2 = new nn.Linear(3, 4, F64);
    seq.set(0, enc2);
    expect(names(seq)).toEqual(['enc', 'act', 'dec']);
    expect(seq.get(0)).toBe(enc2);
    const tail = new nn.Sequential(new nn.ReLU(), new nn.Tanh(), new nn.Sigmoid()).slice(1);
    expect(names(tail)).toEqual(['1', '2']);
    tail.append(new nn.ReLU());
    expect(tail.namedChildren().map(([k, m]) => `${k}:${m.constructor.name}`)).toEqual(['1:Tanh', '2:Sigmoid', '3:ReLU']);
    seq.append(new nn.ReLU());
    expect(names(seq)).toEqual(['enc', 'act', 'dec', '3']);
    expect(seq.pop(1)).toBe(act);
    expect(names(seq)).toEqual(['0', '1', '2']);
    expect(keys(seq)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
    const named = new nn.Sequential({ a: new nn.ReLU(), b: new nn.Tanh() });
    named.insert(1, new nn.Sigmoid());
    expect(named.namedChildren().map(([k, m]) => `${k}:${m.constructor.name}`)).toEqual(['0:ReLU', '1:Sigmoid', '2:Tanh']);
    // Refusals name what was passed.
    expectAntlerErrorInTidy(() => new nn.Sequential({ a: act, 1: act }), 'INVALID_ARGUMENT', /mixing numeric names \('1'\).*pass a Map or an array of \[name, module\] pairs/);
    expectAntlerErrorInTidy(() => new nn.Sequential([act] as never), 'INVALID_ARGUMENT', /named layer 0 must be a \[name, module\] pair.*spread it: new Sequential\(\.\.\.layers\)/);
    expectAntlerErrorInTidy(() => new nn.Sequential([['a', act], ['a', dec]]), 'INVALID_ARGUMENT', /the name 'a' is given twice/);
    expectAntlerErrorInTidy(() => new nn.Sequential([['a.b', act]]), 'INVALID_ARGUMENT', /name must be a non-empty string without '\.'; got 'a\.b'/);
    expectAntlerErrorInTidy(() => new nn.Sequential({ a: 3 } as never), 'INVALID_ARGUMENT', /layer 'a' must be a Module; got 3/);
    for (const m of [enc, dec, enc2, twin]) m.dispose();
    x.dispose();
  });
  test('Module.cast takes float32 or float64 only; a cached input with requiresGrad is not a parameter', () => {
    const lin = new nn.Linear(2, 2);
    expectAntlerErrorInTidy(() => lin.cast('int32' as never), 'INVALID_ARGUMENT', /Module\.cast: dtype must be 'float32' or 'float64'.*got 'int32'/);
    expect(lin.weight.dtype).toBe('float32');
    const x = tensor([1, 2], [1, 2], { requiresGrad: true });
    (lin as unknown as { lastInput: Tensor }).lastInput = x;
    expect(lin.namedParameters().map(([n]) => n)).toEqual(['weight', 'bias']);
    lin.dispose();
    expect(x.isDisposed).toBe(false);
    x.dispose();
  });

  test('tied weights by assignment (out.weight = embed.weight): one parameter, listed once, under both names in stateDict', () => {
    const [V, D] = [rng.int(3, 8), rng.int(2, 5)];
    const embed = new nn.Embedding(V, D);
    const out = new nn.Linear(D, V, { bias: false });
    const old = out.weight;
    (out as unknown as { weight: Tensor }).weight = embed.weight;
    const m = new nn.Sequential(embed, out);
    expect(m.parameters()).toEqual([embed.weight]);
    expect(m.numParameters()).toBe(V * D);
    const dict = m.stateDict();
    expect(Object.keys(dict)).toEqual(['0.weight', '1.weight']);
    expectExact(dict['1.weight'].dataSync(), embed.weight.dataSync(), 'the tied weight under its second name');
    antler.dispose(dict);
    old.dispose();
    m.dispose();
  });

  test('a module or parameter held by two properties of one parent (this.dec = this.enc; this.w2 = this.w) is in stateDict under both names, as torch, trains once, and loads back', () => {
    const D = rng.int(2, 5);
    class Net extends nn.Module {
      enc = new nn.Linear(D, D, { dtype: 'float64' });
      dec = this.enc;
      w = nn.parameter(randn([D], { dtype: 'float64' }));
      w2 = this.w;
      forward(x: Tensor): Tensor {
        return this.dec.forward(this.enc.forward(x)).mul(this.w2);
      }
    }
    const net = new Net();
    expect(Object.keys(tidy(() => { const d = net.stateDict(); antler.dispose(d); return d; }))).toEqual(['w', 'w2', 'enc.weight', 'enc.bias', 'dec.weight', 'dec.bias']);
    expect(net.parameters()).toEqual([net.w, net.enc.weight, net.enc.bias]);
    expect(net.namedParameters().map(([n]) => n)).toEqual(['w', 'enc.weight', 'enc.bias']);
    // A state dict from a copy loads into every name; a missing second name is reported as torch's strict load does.
    const copy = new Net();
    tidy(() => copy.loadStateDict(net.stateDict()));
    expectExact(copy.enc.weight.dataSync(), net.enc.weight.dataSync(), 'enc.weight loaded');
    expectExact(copy.w.dataSync(), net.w.dataSync(), 'w loaded');
    // One name of a shared tensor is enough (safetensors' save_model keeps one); none is missing.
    tidy(() => {
      const d = net.stateDict();
      delete d['dec.bias'];
      delete d.w2;
      expect(copy.loadStateDict(d)).toEqual({ missingKeys: [], unexpectedKeys: [] });
      delete d['enc.bias'];
      expectAntlerErrorInTidy(() => copy.loadStateDict(d), 'INVALID_ARGUMENT', /missing: enc\.bias, dec\.bias$/);
    });
    tidy(() => {
      const x = randn([3, D], { dtype: 'float64' });
      net.forward(x).sum().backward();
    });
    expect(net.enc.weight.grad).not.toBeNull();
    net.dispose();
    copy.dispose();
  });

  test("a new module given to a camelCase handle replaces the snake_case entry it stands for (SRUCell's layerNorm is layer_norm)", () => {
    const cell = new nn.SRUCell(4, 4, { layerNorm: true });
    const keys = tidy(() => {
      const d = cell.stateDict();
      antler.dispose(d);
      return Object.keys(d);
    });
    const old = cell.layerNorm!;
    const fresh = new nn.LayerNorm(4);
    cell.layerNorm = fresh;
    tidy(() => {
      const d = cell.stateDict();
      expect(Object.keys(d)).toEqual(keys);
      expectExact(d['layer_norm.weight'].dataSync(), fresh.weight!.dataSync(), 'the new module under layer_norm');
    });
    expect(cell.parameters()).toContain(fresh.weight);
    expect(cell.parameters()).not.toContain(old.weight);
    old.dispose();
    cell.dispose();
  });

  test('Sequential passes on a tensor a layer hands back unchanged (an empty Sequential as the identity) instead of disposing it', () => {
    const m = new nn.Sequential(new nn.Linear(3, 4), new nn.Sequential(), new nn.Linear(4, 2));
    const tail = new nn.Sequential(new nn.Linear(3, 4), new nn.Sequential());
    tidy(() => {
      const x = ones([2, 3]);
      expect(m.forward(x).shape).toEqual([2, 2]);
      const y = tail.forward(x);
      expect(y.isDisposed).toBe(false);
      expect(y.shape).toEqual([2, 4]);
      expect(new nn.Sequential().forward(x)).toBe(x);
    });
    m.dispose();
    tail.dispose();
  });

  test('ModuleList: a numbered property assigned from JavaScript (list[0] = m, PyTorch’s __setitem__) is what get(), iteration and stateDict() see alike', () => {
    const [a, b, c] = [1, 2, 3].map((o) => new nn.Linear(1, o));
    const list = new nn.ModuleList([a, b]);
    (list as unknown as Record<string, nn.Module>)['0'] = c;
    expect(list.get(0)).toBe(c);
    expect([...list]).toEqual([c, b]);
    expect(tidy(() => list.stateDict()['0.weight'].shape)).toEqual([3, 1]);
    list.insert(0, a);
    expect([...list]).toEqual([a, c, b]);
    expect(tidy(() => Object.entries(list.stateDict()).filter(([k]) => k.endsWith('weight')).map(([k, t]) => `${k}:${t.shape.join('x')}`))).toEqual(['0.weight:1x1', '1.weight:3x1', '2.weight:2x1']);
    for (const m of [a, b, c]) m.dispose();
  });

  test('Sequential frees the previous layer’s output when the next layer throws (outside tidy), and none when a layer hands the same tensor on twice', () => {
    class Boom extends nn.Module {
      forward(): never {
        throw new Error('boom');
      }
    }
    const lin = new nn.Linear(2, 2);
    const x = ones([1, 2]);
    const before = antler.memory().numTensors;
    expect(() => new nn.Sequential(lin, new Boom()).forward(x)).toThrow('boom');
    expect(antler.memory().numTensors).toBe(before);
    expect(x.isDisposed).toBe(false);
    const id = new nn.Identity();
    const y = new nn.Sequential(lin, id, id, new nn.Tanh()).forward(x);
    y.dispose();
    expect(antler.memory().numTensors).toBe(before);
    x.dispose();
    lin.dispose();
  });

  test('a module given an input of another dtype or device names itself and both ways to convert', () => {
    const lin = new nn.Linear(3, 2), norm = new nn.LayerNorm(3, { dtype: 'float64' }), conv = new nn.Conv1d(3, 2, 2);
    tidy(() => {
      expectAntlerErrorInTidy(() => lin.forward(zeros([2, 3], { dtype: 'float64' })), 'DTYPE_MISMATCH', /^Linear: input is float64; the module is float32 \(convert the input with \.cast\('float32'\), or the module with \.cast\('float64'\)\)$/);
      expectAntlerErrorInTidy(() => lin.forward(zeros([2, 3], { dtype: 'int32' })), 'DTYPE_MISMATCH', /^Linear: input is int32; the module is float32 \(convert the input with \.cast\('float32'\)\)$/);
      expectAntlerErrorInTidy(() => norm.forward(zeros([2, 3])), 'DTYPE_MISMATCH', /^LayerNorm: input is float32; the module is float64/);
      expectAntlerErrorInTidy(() => conv.forward(zeros([1, 3, 5], { dtype: 'float64' })), 'DTYPE_MISMATCH', /^Conv1d: input is float64; the module is float32/);
      expectAntlerErrorInTidy(() => zeros([2]).assign(zeros([2], { dtype: 'float64' })), 'DTYPE_MISMATCH', /^assign: the source is float64 and the destination float32; convert the source with \.cast\('float32'\)$/);
      // PyTorch's [N, C, L] layout given to crossEntropy: the message says where the classes go.
      expectAntlerErrorInTidy(() => antler.crossEntropy(zeros([2, 5, 3]), zeros([2, 3], { dtype: 'int32' })), 'SHAPE_MISMATCH', /fits PyTorch's \[N, C, …\] layout of logits \[2, 5, 3\]; antler's classes are on the last axis \(logits \[\.\.\., C\], labels \[\.\.\.\]\): move them there with logits\.permute\(\[0, 2, 1\]\)/);
      // Labels that fit neither layout: the shape they should have.
      expectAntlerErrorInTidy(() => antler.crossEntropy(zeros([2, 5, 3]), zeros([2, 4], { dtype: 'int32' })), 'SHAPE_MISMATCH', /need labels of shape \[2, 5\] \(classes on the last axis: logits \[\.\.\., C\], labels \[\.\.\.\]\)$/);
    });
    lin.dispose();
    norm.dispose();
    conv.dispose();
  });

  test("a plain tensor assigned over a parameter (gru.weight_hh_l0 = t) throws at the assignment, as PyTorch's __setattr__, and changes nothing; nn.parameter(t) is taken", () => {
    const H = rng.int(2, 5);
    const gru = new nn.GRU(H, H, { dtype: 'float64' });
    const old = gru.weight_hh_l0;
    const plain = zeros([3 * H, H], { dtype: 'float64' });
    expectAntlerErrorInTidy(() => (gru.weight_hh_l0 = plain), 'INVALID_ARGUMENT', new RegExp(`GRU: 'weight_hh_l0' holds a parameter, so it takes a parameter or null; got a plain Tensor of shape \\[${3 * H}, ${H}\\]: wrap a tensor with nn\\.parameter`));
    expect(gru.weight_hh_l0).toBe(old);
    const x = randn([4, 1, H], { dtype: 'float64' });
    expect(tidy(() => gru.forward(x).output.shape)).toEqual([4, 1, H]);
    // As a parameter it replaces the old one.
    gru.weight_hh_l0 = nn.parameter(plain);
    expect(gru.namedParameters().find(([n]) => n === 'weight_hh_l0')![1]).toBe(plain);
    old.dispose();
    const lin = new nn.Linear(2, 2);
    const w = lin.weight, stray = ones([2, 2]);
    expectAntlerErrorInTidy(() => (lin.weight = stray), 'INVALID_ARGUMENT', /Linear: 'weight' holds a parameter/);
    expect(lin.weight).toBe(w);
    lin.dispose();
    expect(w.isDisposed).toBe(true);
    expect(stray.isDisposed).toBe(false);
    for (const t of [stray, x]) t.dispose();
    gru.dispose();
    expect(plain.isDisposed).toBe(true);
  });

  test("a custom module's parameter (this.w = nn.parameter(…)) is protected from the start, before anything registered it; other properties take anything", () => {
    class Scale extends nn.Module {
      w = nn.parameter(ones([2]));
      note: unknown = 'free';
      cache: Tensor | null = null;
      forward(x: Tensor): Tensor {
        return x.mul(this.w);
      }
    }
    const m = new Scale();
    const w = m.w, plain = zeros([2]);
    expectAntlerErrorInTidy(() => (m.w = plain), 'INVALID_ARGUMENT', /Scale: 'w' holds a parameter, so it takes a parameter or null; got a plain Tensor of shape \[2\]/);
    expectAntlerErrorInTidy(() => ((m as unknown as Record<string, unknown>).w = 3), 'INVALID_ARGUMENT', /got 3/);
    expect(m.w).toBe(w);
    expect(m.parameters()).toEqual([w]);
    m.note = 42;
    m.cache = plain; // a tensor that is no parameter, on a property that held none
    expect(m.parameters()).toEqual([w]);
    const w2 = nn.parameter(ones([2]));
    m.w = w2;
    expect(m.parameters()).toEqual([w2]);
    m.cache = null;
    antler.dispose([w, plain, m]);
    expect(w2.isDisposed).toBe(true);
  });

  test('a tensor shared by two slots of a recurrent layer or cell is used in both (as PyTorch), its gradient the sum of both uses', () => {
    const H = rng.int(2, 4), I = rng.int(1, 3), T = rng.int(2, 5), B = rng.int(1, 3);
    const x = randn([T, B, I], { dtype: 'float64' });
    // A cell with bias_hh tied to bias_ih, against one holding a copy of it.
    const tied = new nn.GRUCell(I, H, { dtype: 'float64' }), copy = new nn.GRUCell(I, H, { dtype: 'float64' });
    tidy(() => copy.loadStateDict(tied.stateDict()));
    const oldHh = tied.bias_hh!;
    tied.bias_hh = tied.bias_ih;
    tidy(() => void copy.bias_hh!.assign(tied.bias_ih!));
    const x0 = tidy(() => x.slice([0, 0, 0], [1, B, I]).reshape([B, I]));
    backprop(() => antler.sum(antler.square(tied.forward(x0))));
    backprop(() => antler.sum(antler.square(copy.forward(x0))));
    expectClose(tidy(() => tied.forward(x0).dataSync()), tidy(() => copy.forward(x0).dataSync()), 1e-15, 0, 'tied bias cell output');
    expectClose(tied.bias_ih!.grad!.dataSync(), tidy(() => antler.add(copy.bias_ih!.grad!, copy.bias_hh!.grad!).dataSync()), 1e-14, 1e-15, 'the shared bias gradient');
    // A bidirectional GRU whose reverse direction shares the forward's W_hh.
    const gru = new nn.GRU(I, H, { bidirectional: true, dtype: 'float64' }), ref = new nn.GRU(I, H, { bidirectional: true, dtype: 'float64' });
    tidy(() => ref.loadStateDict(gru.stateDict()));
    const oldRev = gru.weight_hh_l0_reverse;
    gru.weight_hh_l0_reverse = gru.weight_hh_l0;
    tidy(() => void ref.weight_hh_l0_reverse.assign(gru.weight_hh_l0));
    backprop(() => antler.sum(antler.square(gru.forward(x).output)));
    backprop(() => antler.sum(antler.square(ref.forward(x).output)));
    expectClose(tidy(() => gru.forward(x).output.dataSync()), tidy(() => ref.forward(x).output.dataSync()), 1e-14, 0, 'shared W_hh output');
    expectClose(gru.weight_hh_l0.grad!.dataSync(), tidy(() => antler.add(ref.weight_hh_l0.grad!, ref.weight_hh_l0_reverse.grad!).dataSync()), 1e-12, 1e-14, 'the shared W_hh gradient');
    antler.dispose([x, x0, oldHh, oldRev, tied, copy, gru, ref]);
  });

  test("a recurrent layer's parameter set to undefined or a number throws; set to null, a weight is named as missing and a bias counts as 0; a wrong dtype or shape names the parameter", () => {
    const H = 3;
    const gru = new nn.GRU(2, H, { dtype: 'float64' });
    const x = randn([4, 1, 2], { dtype: 'float64' });
    const keep = gru.weight_hh_l0;
    const loose = gru as unknown as Record<string, unknown>;
    expectAntlerErrorInTidy(() => (loose.weight_hh_l0 = undefined), 'INVALID_ARGUMENT', /GRU: 'weight_hh_l0' holds a parameter, so it takes a parameter or null; got undefined/);
    expectAntlerErrorInTidy(() => (loose.weight_hh_l0 = 3), 'INVALID_ARGUMENT', /'weight_hh_l0' holds a parameter.*got 3/);
    expect(gru.weight_hh_l0).toBe(keep);
    loose.weight_hh_l0 = null;
    expectAntlerErrorInTidy(() => gru.forward(x), 'INVALID_ARGUMENT', /GRU: parameter 'weight_hh_l0' is missing .*expected a parameter of shape \[9, 3\]/);
    gru.weight_hh_l0 = keep;
    // A null bias is a zero bias.
    const zeroBias = new nn.GRU(2, H, { dtype: 'float64' });
    tidy(() => zeroBias.loadStateDict(gru.stateDict()));
    tidy(() => void zeroBias.bias_hh_l0.assign(antler.zerosLike(zeroBias.bias_hh_l0)));
    const oldBias = gru.bias_hh_l0;
    (gru as unknown as Record<string, unknown>).bias_hh_l0 = null;
    expectClose(tidy(() => gru.forward(x).output.dataSync()), tidy(() => zeroBias.forward(x).output.dataSync()), 1e-15, 0, 'null bias_hh');
    // Wrong dtype and shape, named.
    const f32 = nn.parameter(antler.zeros([3 * H]));
    gru.bias_hh_l0 = f32;
    expectAntlerErrorInTidy(() => gru.forward(x), 'DTYPE_MISMATCH', /GRU: parameter 'bias_hh_l0' is float32 and the input float64/);
    gru.bias_hh_l0 = nn.parameter(antler.zeros([2 * H], { dtype: 'float64' }));
    expectAntlerErrorInTidy(() => gru.forward(x), 'SHAPE_MISMATCH', /GRU: parameter 'bias_hh_l0' has shape \[6\]; expected \[9\]/);
    const cell = new nn.LSTMCell(2, H, { dtype: 'float64' });
    const oldWhh = cell.weight_hh;
    cell.weight_hh = nn.parameter(antler.zeros([4 * H, H + 1], { dtype: 'float64' }));
    const x2 = x.reshape([4, 2]);
    expectAntlerErrorInTidy(() => cell.forward(x2), 'SHAPE_MISMATCH', /LSTMCell: parameter 'weight_hh' has shape \[12, 4\]; expected \[12, 3\]/);
    antler.dispose([x, x2, oldBias, f32, oldWhh, gru, zeroBias, cell]);
  });

  test("a camelCase property replaces the parameter of its snake_case name (SRUCell's weightC is weight_c), and forward uses it", () => {
    const [d, B] = [rng.int(2, 5), rng.int(1, 4)];
    const cell = new nn.SRUCell(d, d, { dtype: 'float64' });
    const before = cell.namedParameters().map(([n]) => n);
    const old = cell.weightC;
    const w = nn.parameter(tensor(randomArray(rng, 2 * d, -1, 1), [2 * d], { dtype: 'float64' }));
    cell.weightC = w;
    expect(cell.namedParameters().map(([n]) => n)).toEqual(before);
    expect(cell.namedParameters().find(([n]) => n === 'weight_c')![1]).toBe(w);
    // The state dict follows: a fresh cell loading it gives the same output.
    const x = tensor(randomArray(rng, 3 * B * d, -1, 1), [3, B, d], { dtype: 'float64' });
    const copy = new nn.SRUCell(d, d, { dtype: 'float64' });
    tidy(() => copy.loadStateDict(cell.stateDict()));
    const [a, b] = [cell, copy].map((m) => tidy(() => Float64Array.from(m.forward(x).output.dataSync())));
    expectExact(a, b, 'the cell with the new weight_c and one loaded from its state dict');
    old.dispose();
    for (const t of [x]) t.dispose();
    cell.dispose();
    copy.dispose();
  });

  test('a camelCase property beside a snake_case one of its own is a second parameter, not the same one', () => {
    class Both extends nn.Module {
      pos_emb = nn.parameter(antler.zeros([rng.int(1, 4)]));
      posEmb = nn.parameter(antler.ones([rng.int(5, 8)]));
      forward(): Tensor {
        return this.pos_emb;
      }
    }
    const m = new Both();
    expect(m.namedParameters().map(([n, t]) => [n, t.shape[0]])).toEqual([['pos_emb', m.pos_emb.shape[0]], ['posEmb', m.posEmb.shape[0]]]);
    m.dispose();
    expect(m.pos_emb.isDisposed && m.posEmb.isDisposed).toBe(true);
  });
});

describe(`edge values PyTorch accepts (seed ${SEED})`, () => {
  test('dropout with p = 1 zeroes everything (gradient 0) without drawing; Dropout(1) and a GRU with dropout 1 between layers run', () => {
    const xs = randomArray(rng, 6, -2, 2);
    const x = tensor(xs, [2, 3], { dtype: 'float64', requiresGrad: true });
    const before = globalDrawPosition();
    expectExact(tidy(() => antler.dropout(x, 1).dataSync()), xs.map(() => 0), 'dropout(x, 1)');
    expect(globalDrawPosition()).toBe(before);
    backprop(() => antler.dropout(x, 1).sum());
    expectExact(x.grad!.dataSync(), xs.map(() => 0), 'its gradient');
    const d = new nn.Dropout(1);
    expectExact(tidy(() => d.forward(x).dataSync()), xs.map(() => 0), 'Dropout(1)');
    const gru = new nn.GRU(3, 4, { numLayers: 2, dropout: 1 });
    const out = tidy(() => Float64Array.from(gru.forward(tensor(randomArray(rng, 2 * 1 * 3), [2, 1, 3])).output.dataSync()));
    expect(out.every(Number.isFinite)).toBe(true);
    expectAntlerErrorInTidy(() => antler.dropout(x, 1.5), 'INVALID_ARGUMENT', /p must be in \[0, 1\]; got 1\.5/);
    gru.dispose();
    x.dispose();
  });

  test('a recurrent stack drops the outputs passed between layers, in training only, never the last layer\'s (torch.nn.GRU dropout)', () => {
    const H = 4, T = 3, B = 2, F64 = { dtype: 'float64' as const };
    const gru = new nn.GRU(3, H, { numLayers: 2, dropout: 1, dtype: 'float64' });
    const twin = new nn.GRU(3, H, { numLayers: 2, dtype: 'float64' });
    const x = tensor(randomArray(rng, T * B * 3), [T, B, 3], F64);
    try {
      tidy(() => void twin.loadStateDict(gru.stateDict()));
      const p = new Map(gru.namedParameters());
      const [bih, Whh, bhh] = ['bias_ih_l1', 'weight_hh_l1', 'bias_hh_l1'].map((n) => Array.from(p.get(n)!.dataSync()));
      // p = 1: the second layer reads zeros, so its output is that of a GRU on a zero input (W_ih x + b_ih = b_ih)
      // at every step, the same for each sequence, and not zero (the last layer's output is not dropped).
      const ref: number[] = [];
      let h = new Array<number>(H).fill(0);
      for (let t = 0; t < T; t++) {
        h = cellStepRef('gru', H, bih, Whh, bhh, h);
        for (let b = 0; b < B; b++) ref.push(...h);
      }
      const trained = tidy(() => Array.from(gru.forward(x).output.dataSync()));
      expectClose(trained, ref, 1e-12, 1e-14, 'training: layer 2 on a dropped input');
      expect(ref.some((v) => Math.abs(v) > 1e-3)).toBe(true);
      // eval(): nothing dropped, as the twin without dropout (same weights) computes.
      gru.eval();
      expectExact(tidy(() => gru.forward(x).output.dataSync()), tidy(() => twin.forward(x).output.dataSync()), 'eval: no dropout');
    } finally {
      gru.dispose();
      twin.dispose();
      x.dispose();
    }
  });

  test('recurrent layers: an empty batch gives empty outputs; no time steps is refused (torch.nn.GRU: "Expected sequence length to be larger than 0")', () => {
    for (const Kind of [nn.GRU, nn.LSTM, nn.RNN] as const) {
      for (const batchFirst of [false, true]) {
        const m = new Kind(3, 4, { numLayers: 2, bidirectional: true, batchFirst });
        tidy(() => {
          const out = m.forward(antler.zeros(batchFirst ? [0, 5, 3] : [5, 0, 3]));
          expect(out.output.shape).toEqual(batchFirst ? [0, 5, 8] : [5, 0, 8]);
          expect(out.hidden.shape).toEqual([4, 0, 4]);
        });
        const axis = batchFirst ? 1 : 0;
        for (const shape of [batchFirst ? [2, 0, 3] : [0, 2, 3], [0, 3]]) {
          expectAntlerErrorInTidy(() => m.forward(antler.zeros(shape)), 'SHAPE_MISMATCH',
            new RegExp(`no time steps \\(shape \\[${shape.join(', ')}\\], length 0 on axis ${shape.length === 2 ? 0 : axis}\\)`));
        }
        m.dispose();
      }
    }
  });

  test('clamp with min > max gives max everywhere and a zero gradient (torch.clamp)', () => {
    const xs = randomArray(rng, 8, -3, 3);
    const x = tensor(xs, [8], { dtype: 'float64', requiresGrad: true });
    expectExact(tidy(() => antler.clamp(x, 1, -1).dataSync()), xs.map(() => -1), 'clamp(x, 1, −1)');
    backprop(() => antler.clamp(x, 1, -1).sum());
    expectExact(x.grad!.dataSync(), xs.map(() => 0), 'gradient');
    x.dispose();
  });

  test('max and min with NaN: the NaN elements share the gradient (torch.max), not NaN everywhere', () => {
    const x = tensor([1, NaN, 3, NaN, -2, 0.5], [2, 3], { dtype: 'float64', requiresGrad: true });
    backprop(() => antler.max(x));
    expectExact(x.grad!.dataSync(), [0, 0.5, 0, 0.5, 0, 0], 'max of everything');
    x.zeroGrad();
    backprop(() => antler.min(x, 1).sum());
    expectExact(x.grad!.dataSync(), [0, 1, 0, 0, 0, 0].map((v, i) => (i === 3 ? 1 : v)), 'min per row: row 0 and row 1 are NaN at 1 and 3');
    x.dispose();
  });
});

describe(`a module used twice (seed ${SEED})`, () => {
  test('parameters() and numParameters() list a shared parameter once (PyTorch); stateDict has every name; Adam trains it; loadStateDict fills it', () => {
    const [inF, outF] = [rng.int(2, 5), rng.int(2, 5)];
    const lin = new nn.Linear(inF, inF);
    const head = new nn.Linear(inF, outF);
    const m = new nn.Sequential(lin, new nn.Tanh(), lin, head);
    expect(m.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias', '3.weight', '3.bias']);
    expect(m.namedParameters('', false).map(([n]) => n)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias', '3.weight', '3.bias']);
    expect(m.parameters()).toEqual([lin.weight, lin.bias, head.weight, head.bias]);
    expect(m.numParameters()).toBe(inF * inF + inF + inF * outF + outF);
    const dict = m.stateDict();
    expect(Object.keys(dict)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias', '3.weight', '3.bias']);
    expectExact(dict['2.weight'].dataSync(), lin.weight.dataSync(), 'both names hold the shared weight');
    antler.dispose(dict);
    // One Adam step: the shared weight gets the sum of both uses' gradients, stepped once.
    const opt = new antler.optim.Adam(m.parameters(), { lr: 0.1 });
    const x = tensor(randomArray(rng, 3 * inF, -1, 1), [3, inF]);
    const w0 = Float64Array.from(lin.weight.dataSync());
    backprop(() => m.forward(x).square().sum());
    const g = Float64Array.from(lin.weight.grad!.dataSync());
    opt.step();
    // Adam's first step moves each entry by lr·g/(|g| + ε): lr·sign(g), short by lr·ε/|g| for a small |g|.
    expectClose(lin.weight.dataSync(), w0.map((w, i) => w - (0.1 * g[i]) / (Math.abs(g[i]) + 1e-8)), 1e-6, 1e-7, 'one step of the shared weight');
    // A state dict with both names loads (strict), into a fresh model of the same shape.
    const fresh = new nn.Linear(inF, inF);
    const m2 = new nn.Sequential(fresh, new nn.Tanh(), fresh, new nn.Linear(inF, outF));
    const d2 = m.stateDict();
    m2.loadStateDict(d2);
    antler.dispose(d2);
    expectExact(fresh.weight.dataSync(), lin.weight.dataSync(), 'loaded');
    expectExact(tidy(() => m2.forward(x).dataSync()), tidy(() => m.forward(x).dataSync()), 'same outputs');
    opt.dispose();
    x.dispose();
    m.dispose();
    m2.dispose();
  });
});

describe(`train/eval and Dropout (seed ${SEED})`, () => {
  test('train()/eval() propagate to every descendant', () => {
    const inner = new nn.Sequential(new nn.Dropout(0.2), new nn.Linear(2, 2));
    const outer = new nn.Sequential(inner, new nn.ReLU());
    const all = [outer, inner, ...inner.layers, ...outer.layers];
    expect(all.every((m) => m.training)).toBe(true);
    outer.eval();
    expect(all.some((m) => m.training)).toBe(false);
    outer.train();
    expect(all.every((m) => m.training)).toBe(true);
    outer.train(false);
    expect(all.some((m) => m.training)).toBe(false);
    outer.dispose();
  });

  test('Dropout in eval mode is the identity', () => {
    const d = new nn.Dropout(0.5).eval();
    const xs = randomArray(rng, 200, -3, 3);
    const x = tensor(xs, [10, 20], { dtype: 'float64' });
    const y = d.forward(x);
    expectExact(y.dataSync(), xs, 'eval dropout');
    antler.dispose([x, y]);
  });

  test('Dropout in training zeroes about p of the elements and scales the rest by 1/(1 − p)', () => {
    // Every p (one picked at random let a mutant keeping 1 − p instead of p pass whenever 0.5 came up).
    for (const p of [0.1, 0.3, 0.5, 0.8]) {
      const n = 40_000;
      const xs = randomArray(rng, n, 0.5, 2); // never zero, so a zero means dropped
      const x = tensor(xs, [200, 200], { dtype: 'float64' });
      const d = new nn.Dropout(p);
      const y = tidy(() => d.forward(x).dataSync());
      const { zeros, kept, want: expected } = splitDropped(y, xs, p);
      const sd = Math.sqrt((p * (1 - p)) / n);
      // 6 sd: under 2e-9 per p by the normal approximation of Binomial(40000, p).
      expect(Math.abs(zeros / n - p)).toBeLessThan(6 * sd);
      expectClose(kept, expected, 1e-15, 0, `scaled by 1/(1 − ${p})`);
      x.dispose();
    }
  });

  test('a frozen Dropout given an input of another shape draws a mask of that shape (and replays it from then on)', () => {
    const p = rng.pick([0.2, 0.5, 0.7]);
    const d = new nn.Dropout(p).freeze();
    const n = 4000;
    for (const shape of [[n], [40, n / 40], [n / 8, 8]]) {
      const x = antler.ones(shape, { dtype: 'float64' });
      const first = tidy(() => d.forward(x).dataSync());
      expect(first.length).toBe(n);
      const zeros = Array.from(first).filter((v) => v === 0).length;
      expect(Math.abs(zeros / n - p)).toBeLessThan(6 * Math.sqrt((p * (1 - p)) / n));
      expectClose(Array.from(first).filter((v) => v !== 0), new Array(n - zeros).fill(1 / (1 - p)), 1e-15, 0, `kept entries, shape [${shape}]`);
      expect(tidy(() => d.forward(x).shape)).toEqual(shape);
      expectExact(tidy(() => d.forward(x).dataSync()), first, `replayed, shape [${shape}]`);
      x.dispose();
    }
    d.dispose();
  });

  test('Dropout.freeze() replays one mask across forwards; unfreeze() draws again', () => {
    const d = new nn.Dropout(0.5).freeze();
    const x = antler.ones([1000], { dtype: 'float64' });
    const x2 = tensor(randomArray(rng, 1000, 1, 2), [1000], { dtype: 'float64' });
    const m1 = tidy(() => d.forward(x).dataSync());
    const m2 = tidy(() => d.forward(x).dataSync());
    expectExact(m2, m1, 'second forward');
    const y2 = tidy(() => d.forward(x2).dataSync());
    const xs2 = x2.dataSync();
    expectClose(y2, Array.from(m1, (m, i) => m * xs2[i]), 1e-15, 0, 'same mask on other input');
    expect(Array.from(m1).filter((v) => v === 0).length).toBeGreaterThan(350);
    // An input of another shape gets a mask of its own shape (not the old one broadcast over its rows), kept in turn.
    const wide = antler.ones([2, 1000], { dtype: 'float64' });
    const w1 = tidy(() => d.forward(wide).dataSync());
    expect(Array.from(w1.subarray(0, 1000))).not.toEqual(Array.from(w1.subarray(1000))); // equal by chance: 2^-1000
    expect(Array.from(w1).every((v) => v === 0 || v === 2)).toBe(true);
    expectExact(tidy(() => d.forward(wide).dataSync()), w1, 'the [2, 1000] mask replayed');
    wide.dispose();
    d.unfreeze();
    const m3 = tidy(() => d.forward(x).dataSync());
    expect(Array.from(m3)).not.toEqual(Array.from(m1));
    const m4 = tidy(() => d.forward(x).dataSync());
    expect(Array.from(m4)).not.toEqual(Array.from(m3));
    antler.dispose([x, x2]);
  });
});

describe(`Dropout lifetime (seed ${SEED})`, () => {
  test('disposing a frozen Dropout frees its mask', () => {
    const before = tensorCounts();
    const x = antler.ones([64], { dtype: 'float64' });
    const d = new nn.Dropout(0.25).freeze();
    tidy(() => void d.forward(x));
    x.dispose();
    d.dispose();
    try {
      expect(tensorCounts()).toEqual(before);
    } finally {
      // Report a leak here only, not again in the suite's final check.
      baseline.excuse(before);
    }
  });

  test('disposing a parent frees what its sub-modules hold: a frozen Dropout\'s mask, a GRU\'s and a NeuralODE\'s warm starts', () => {
    const before = tensorCounts();
    const f64 = { dtype: 'float64' } as const;
    const [B, H] = [rng.int(2, 5), rng.int(2, 4)];
    class Field extends nn.Module {
      lin = new nn.Linear(H, H, f64);
      forward(_t: Tensor, y: Tensor): Tensor {
        return antler.tanh(this.lin.forward(y));
      }
    }
    class Model extends nn.Module {
      drop = new nn.Dropout(0.25).freeze();
      gru = new nn.GRU(H, H, { ...f64, mode: 'deer', deer: { warmStart: true } });
      ode = new nn.NeuralODE(new Field(), { warmStart: true });
      forward(x: Tensor): Tensor {
        return this.drop.forward(x);
      }
    }
    const model = new Model();
    const x = randn([3, B, H], f64);
    tidy(() => {
      model.drop.forward(x);
      model.gru.forward(x);
      model.ode.forward(antler.zeros([B, H], f64), [0, 0.5, 1]);
    });
    // Each holds a tensor now (the mask, the GRU's solution, the ODE's solution): three beyond x and the parameters.
    const params = model.parameters().length;
    expect(tensorCounts().numTensors - before.numTensors).toBe(1 + params + 3);
    x.dispose();
    model.dispose();
    try {
      expect(tensorCounts()).toEqual(before);
    } finally {
      baseline.excuse(before);
    }
  });
});

describe(`LayerNorm (seed ${SEED})`, () => {
  function layerNormRef(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number>, rows: number, D: number, eps: number): Float64Array {
    const out = new Float64Array(rows * D);
    for (let r = 0; r < rows; r++) {
      let mean = 0;
      for (let j = 0; j < D; j++) mean += x[r * D + j];
      mean /= D;
      let variance = 0;
      for (let j = 0; j < D; j++) variance += (x[r * D + j] - mean) ** 2;
      variance /= D; // biased, as in PyTorch
      const rstd = 1 / Math.sqrt(variance + eps);
      for (let j = 0; j < D; j++) out[r * D + j] = (x[r * D + j] - mean) * rstd * w[j] + b[j];
    }
    return out;
  }

  test('default parameters are ones and zeros', () => {
    const D = rng.int(2, 12);
    const ln = new nn.LayerNorm(D);
    expect(ln.namedParameters().map(([n]) => n)).toEqual(['weight', 'bias']);
    expectExact(ln.weight!.dataSync(), new Array(D).fill(1), 'weight');
    expectExact(ln.bias!.dataSync(), new Array(D).fill(0), 'bias');
    expect(ln.eps).toBe(1e-5);
    ln.dispose();
  });

  test('forward matches the float64 reference (biased variance, eps 1e-5), float64 and float32', () => {
    for (const dtype of ['float64', 'float32'] as const) {
      const [B, T, D] = [rng.int(1, 4), rng.int(1, 5), rng.int(2, 16)];
      const ln = new nn.LayerNorm(D, { dtype });
      const w = randomArray(rng, D, 0.5, 2), b = randomArray(rng, D, -1, 1);
      tidy(() => {
        ln.weight!.assign(tensor(w, [D], { dtype }));
        ln.bias!.assign(tensor(b, [D], { dtype }));
      });
      // float64: every other row has a small spread on an offset, so eps and
      // cancellation matter; float32 (which loses those digits by itself, as
      // PyTorch's does) gets well-conditioned rows: neighbours at least 0.5
      // apart (two random values alone can nearly coincide, and with D = 2 the
      // row's rstd then multiplies float32's rounding past the tolerance).
      const wide = randomArray(rng, B * T * D, -2, 2);
      const xs = dtype === 'float64' ? wide.map((v, i) => (Math.floor(i / D) % 2 ? v * 1e-3 : v) + 3) : wide.map((v, i) => v + 4.5 * (i % D));
      const x = tensor(xs, [B, T, D], { dtype });
      const y = ln.forward(x);
      expect(y.shape).toEqual([B, T, D]);
      const ref = layerNormRef(x.dataSync(), ln.weight!.dataSync(), ln.bias!.dataSync(), B * T, D, 1e-5);
      expectClose(y.dataSync(), ref, dtype === 'float64' ? 1e-10 : 1e-5, dtype === 'float64' ? 1e-12 : 1e-5, `LayerNorm ${dtype}`);
      antler.dispose([x, y]);
      ln.dispose();
    }
  });

  test('without affine parameters it only normalises', () => {
    const D = 6;
    const ln = new nn.LayerNorm(D, { elementwiseAffine: false, dtype: 'float64', eps: 1e-3 });
    expect(ln.parameters()).toHaveLength(0);
    const xs = randomArray(rng, 3 * D, -1, 1);
    const x = tensor(xs, [3, D], { dtype: 'float64' });
    const y = ln.forward(x);
    expectClose(y.dataSync(), layerNormRef(xs, new Array(D).fill(1), new Array(D).fill(0), 3, D, 1e-3), 1e-12, 1e-14, 'plain');
    antler.dispose([x, y]);
  });

  test('normalizedShape of several dims (torch’s tuple): weight and bias of that shape, values and gradients as over the flattened block', () => {
    const dims = [rng.int(2, 4), rng.int(2, 5)];
    const D = dims[0] * dims[1];
    const lead = [rng.int(1, 3), rng.int(1, 3)];
    const ln = new nn.LayerNorm(dims, { dtype: 'float64', eps: rng.pick([0, 1e-5, 0.1]) });
    expect([ln.weight!.shape, ln.bias!.shape]).toEqual([dims, dims]);
    const w = randomArray(rng, D, 0.5, 2), b = randomArray(rng, D, -1, 1);
    tidy(() => {
      ln.weight!.assign(tensor(w, dims, { dtype: 'float64' }));
      ln.bias!.assign(tensor(b, dims, { dtype: 'float64' }));
    });
    const xs = randomArray(rng, lead[0] * lead[1] * D, -2, 2);
    const x = tensor(xs, [...lead, ...dims], { dtype: 'float64', requiresGrad: true });
    const gy = randomArray(rng, xs.length, -1, 1);
    const y = ln.forward(x);
    expect(y.shape).toEqual([...lead, ...dims]);
    expectClose(y.dataSync(), layerNormRef(xs, w, b, lead[0] * lead[1], D, ln.eps), 1e-12, 1e-14, 'several dims');
    tidy(() => y.mul(tensor(gy, y.shape, { dtype: 'float64' })).sum().backward());
    // Central differences of Σ gy·y in the input and the weight.
    const lossAt = (xv: number[], wv: number[]): number => {
      const r = layerNormRef(xv, wv, b, lead[0] * lead[1], D, ln.eps);
      return r.reduce((s, v, i) => s + v * gy[i], 0);
    };
    const h = 1e-6;
    const gx = x.grad!.dataSync(), gw = ln.weight!.grad!.dataSync();
    for (const i of [0, rng.int(0, xs.length - 1), xs.length - 1]) {
      const up = xs.slice(), dn = xs.slice();
      up[i] += h; dn[i] -= h;
      expect(Math.abs(gx[i] - (lossAt(up, w) - lossAt(dn, w)) / (2 * h))).toBeLessThan(1e-6);
    }
    for (const j of [0, D - 1]) {
      const up = w.slice(), dn = w.slice();
      up[j] += h; dn[j] -= h;
      expect(Math.abs(gw[j] - (lossAt(xs, up) - lossAt(xs, dn)) / (2 * h))).toBeLessThan(1e-6);
    }
    expect(ln.bias!.grad!.shape).toEqual(dims);
    expectAntlerErrorInTidy(() => ln.forward(zeros([2, dims[0], dims[1] + 1], { dtype: 'float64' })), 'SHAPE_MISMATCH', /expected its last 2 dims to be \[/);
    expectAntlerErrorInTidy(() => ln.forward(zeros([dims[1]], { dtype: 'float64' })), 'SHAPE_MISMATCH', /last 2 dims/);
    antler.dispose([x, y]);
    ln.dispose();
  });

  test('bias: false keeps the weight and drops the bias (torch.nn.LayerNorm(bias=False)): y = x̂ · w', () => {
    const D = rng.int(2, 9);
    const ln = new nn.LayerNorm(D, { bias: false, dtype: 'float64' });
    expect(ln.bias).toBeNull();
    expect(ln.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([['weight', [D]]]);
    const w = randomArray(rng, D, 0.5, 2);
    tidy(() => void ln.weight!.assign(tensor(w, [D], { dtype: 'float64' })));
    const xs = randomArray(rng, 3 * D, -2, 2);
    tidy(() => expectClose(ln.forward(tensor(xs, [3, D], { dtype: 'float64' })).dataSync(), layerNormRef(xs, w, new Array(D).fill(0), 3, D, 1e-5), 1e-12, 1e-14, 'no bias'));
    ln.dispose();
  });

  test('eps: 0 is taken as 0, not as the default (rows of tiny spread, where 1e-5 would dominate their variance)', () => {
    const D = rng.int(3, 9);
    const ln = new nn.LayerNorm(D, { eps: 0, dtype: 'float64' });
    expect(ln.eps).toBe(0);
    // Spread 1e-3 around 2: variance ~1e-7, a hundredth of 1e-5.
    const xs = randomArray(rng, 4 * D, -1, 1).map((v) => 2 + 1e-3 * v);
    tidy(() => expectClose(ln.forward(tensor(xs, [4, D], { dtype: 'float64' })).dataSync(), layerNormRef(xs, new Array(D).fill(1), new Array(D).fill(0), 4, D, 0), 1e-8, 1e-10, 'eps 0'));
    ln.dispose();
  });

  test('bad options throw at construction: eps, normalizedShape', () => {
    expectAntlerError(() => new nn.LayerNorm(3, { eps: -1 }), 'INVALID_ARGUMENT', /LayerNorm: eps must be >= 0; got -1/);
    expectAntlerError(() => new nn.LayerNorm(3, { eps: NaN }), 'INVALID_ARGUMENT', /LayerNorm: eps must be finite/);
    expectAntlerError(() => new nn.LayerNorm(3, { eps: 'x' as never }), 'INVALID_ARGUMENT', /eps must be a number/);
    expectAntlerError(() => new nn.LayerNorm([]), 'INVALID_ARGUMENT', /normalizedShape/);
    expectAntlerError(() => new nn.LayerNorm([2, 0]), 'INVALID_ARGUMENT', /normalizedShape\[1\]/);
    expectAntlerError(() => new nn.LayerNorm(3, { elementwiseAffine: 1 as never }), 'INVALID_ARGUMENT', /elementwiseAffine/);
  });
});

describe(`Embedding (seed ${SEED})`, () => {
  test('forward picks rows of the weight for indices of any shape', () => {
    const [num, dim] = [rng.int(3, 10), rng.int(1, 6)];
    const emb = new nn.Embedding(num, dim);
    expect(emb.weight.shape).toEqual([num, dim]);
    const W = emb.weight.dataSync();
    const idx = randomInts(rng, 6, 0, num - 1);
    const I = tensor(idx, [2, 3], { dtype: 'int32' });
    const y = emb.forward(I);
    expect(y.shape).toEqual([2, 3, dim]);
    expectExact(y.dataSync(), idx.flatMap((r) => Array.from(W.subarray(r * dim, (r + 1) * dim))), 'gathered rows');
    antler.dispose([I, y]);
    emb.dispose();
  });

  test('nn.Embedding with a negative paddingIdx counts from the end (PyTorch): paddingIdx −k is row num − k, zero and without gradient', () => {
    const [num, dim] = [rng.int(3, 8), rng.int(1, 4)];
    const back = rng.int(1, num);
    const pad = num - back;
    const emb = new nn.Embedding(num, dim, { paddingIdx: -back, dtype: 'float64' });
    expect(emb.paddingIdx).toBe(pad);
    const W = Array.from(emb.weight.dataSync());
    for (let r = 0; r < num; r++) {
      const row = W.slice(r * dim, (r + 1) * dim);
      // randn rows are nonzero with probability 1; only the padding row is all zeros.
      expect({ r, zero: row.every((v) => v === 0) }).toEqual({ r, zero: r === pad });
    }
    const idx = [pad, ...randomInts(rng, 6, 0, num - 1), pad];
    const gy = randomArray(rng, idx.length * dim);
    tidy(() => {
      const y = emb.forward(tensor(idx, [idx.length], { dtype: 'int32' }));
      y.mul(tensor(gy, y.shape, { dtype: 'float64' })).sum().backward();
    });
    const ref = new Float64Array(num * dim);
    idx.forEach((r, k) => {
      if (r !== pad) for (let j = 0; j < dim; j++) ref[r * dim + j] += gy[k * dim + j];
    });
    expectClose(emb.weight.grad!.dataSync(), ref, 1e-14, 1e-15, `paddingIdx −${back} of ${num} rows`);
    emb.dispose();
  });

  test('the table starts N(0, 1) (torch.nn.Embedding’s normal_), whatever the embedding size', () => {
    const [num, dim] = [rng.int(150, 250), rng.int(80, 120)];
    const emb = new nn.Embedding(num, dim, { dtype: 'float64' });
    const v = emb.weight.dataSync();
    const n = v.length;
    let s1 = 0, s2 = 0;
    for (let i = 0; i < n; i++) {
      s1 += v[i];
      s2 += v[i] * v[i];
    }
    // Six standard errors: of the mean 1/√n, of the mean square √(2/n) (normal: E x⁴ − 1 = 2).
    expect(Math.abs(s1 / n)).toBeLessThan(6 / Math.sqrt(n));
    expect(Math.abs(s2 / n - 1)).toBeLessThan(6 * Math.sqrt(2 / n));
    emb.dispose();
  });

  test('an out-of-range index throws INVALID_ARGUMENT', () => {
    const emb = new nn.Embedding(5, 2);
    for (const bad of [5, -1, 1000]) {
      const I = tensor([0, bad, 1], undefined, { dtype: 'int32' });
      expectAntlerErrorInTidy(() => emb.forward(I), 'INVALID_ARGUMENT', /outside \[0, 5\)/);
      I.dispose();
    }
    emb.dispose();
  });

  test('the paddingIdx row starts at zero and gets a zero gradient; others get the summed upstream rows', () => {
    const [num, dim] = [rng.int(4, 8), rng.int(2, 5)];
    const pad = rng.int(0, num - 1);
    const emb = new nn.Embedding(num, dim, { paddingIdx: pad, dtype: 'float64' });
    expect(emb.paddingIdx).toBe(pad);
    const W = emb.weight.dataSync();
    expectExact(W.subarray(pad * dim, (pad + 1) * dim), new Array(dim).fill(0), 'padding row');
    expect(Array.from(W).some((v, i) => Math.floor(i / dim) !== pad && v !== 0)).toBe(true);
    // Make sure the padding index and some repeated index both appear.
    const idx = [pad, ...randomInts(rng, 9, 0, num - 1), pad];
    idx[3] = idx[4];
    const gy = randomArray(rng, idx.length * dim);
    const I = tensor(idx, [idx.length], { dtype: 'int32' });
    const y = emb.forward(I);
    const seed = tensor(gy, [idx.length, dim], { dtype: 'float64' });
    y.backward(seed);
    const ref = new Float64Array(num * dim);
    idx.forEach((r, k) => {
      if (r === pad) return;
      for (let j = 0; j < dim; j++) ref[r * dim + j] += gy[k * dim + j];
    });
    expectClose(emb.weight.grad!.dataSync(), ref, 1e-14, 1e-15, 'scatter-added gradient');
    antler.dispose([I, y, seed]);
    emb.dispose();
  });

  test('embedding() with a negative paddingIdx counts from the end (PyTorch): that row gets no gradient, the others the summed upstream rows', () => {
    const [num, dim] = [rng.int(3, 7), rng.int(1, 4)];
    const back = rng.int(1, num);
    const pad = num - back;
    const W = tensor(randomArray(rng, num * dim), [num, dim], { dtype: 'float64', requiresGrad: true });
    const idx = [pad, ...randomInts(rng, 7, 0, num - 1), pad];
    const gy = randomArray(rng, idx.length * dim);
    const I = tensor(idx, [idx.length], { dtype: 'int32' });
    const seed = tensor(gy, [idx.length, dim], { dtype: 'float64' });
    const ref = new Float64Array(num * dim);
    idx.forEach((r, k) => {
      if (r === pad) return;
      for (let j = 0; j < dim; j++) ref[r * dim + j] += gy[k * dim + j];
    });
    for (const createGraph of [false, true]) {
      const y = antler.embedding(I, W, { paddingIdx: -back });
      y.backward(seed, { createGraph });
      expectClose(W.grad!.dataSync(), ref, 1e-14, 1e-15, `paddingIdx −${back} of ${num} rows, createGraph ${createGraph}`);
      W.zeroGrad();
      y.dispose();
    }
    antler.dispose([W, I, seed]);
  });

  test('a paddingIdx outside the table throws INVALID_ARGUMENT and leaves nothing allocated', () => {
    const before = tensorCounts();
    try {
      expectAntlerErrorInTidy(() => new nn.Embedding(4, 2, { paddingIdx: 4 }), 'INVALID_ARGUMENT', /paddingIdx/);
      expectAntlerErrorInTidy(() => new nn.Embedding(4, 2, { paddingIdx: -5 }), 'INVALID_ARGUMENT', /paddingIdx/);
      expect(tensorCounts()).toEqual(before);
    } finally {
      // Report a leak here only, not again in the suite's final check.
      baseline.excuse(before);
    }
  });

  test('maxNorm renormalises the rows a forward uses, in place (every normType); scaleGradByFreq divides by the counts — PyTorch’s max_norm, scale_grad_by_freq', () => {
    for (const p of [2, 1, 3, Infinity]) {
      const [num, dim] = [rng.int(4, 9), rng.int(1, 5)];
      const W = randomArray(rng, num * dim, -3, 3);
      const maxNorm = rng.uniform(0.5, 3);
      const byFreq = rng.next() < 0.5;
      const pad = rng.next() < 0.3 ? rng.int(0, num - 1) : undefined;
      const emb = new nn.Embedding(num, dim, { dtype: 'float64', maxNorm, normType: p, scaleGradByFreq: byFreq, paddingIdx: pad });
      tidy(() => antler.noGrad(() => emb.weight.assign(tensor(W, [num, dim], { dtype: 'float64' }))));
      const idx = randomInts(rng, rng.int(1, 10), 0, num - 1);
      const gy = randomArray(rng, idx.length * dim);
      const I = tensor(idx, [idx.length], { dtype: 'int32' });
      const y = emb.forward(I);
      tidy(() => y.mul(tensor(gy, [idx.length, dim], { dtype: 'float64' })).sum().backward());
      // The reference: rows used and over maxNorm scaled by maxNorm / (norm + 1e-7); the lookup from the scaled table.
      const norm = (r: number): number => {
        const row = W.slice(r * dim, (r + 1) * dim).map(Math.abs);
        return p === Infinity ? Math.max(...row) : row.reduce((s, v) => s + v ** p, 0) ** (1 / p);
      };
      const renormed = W.slice();
      for (const r of new Set(idx)) {
        const n = norm(r);
        if (n > maxNorm) for (let j = 0; j < dim; j++) renormed[r * dim + j] = (W[r * dim + j] * maxNorm) / (n + 1e-7);
      }
      const what = `p ${p} maxNorm ${maxNorm} byFreq ${byFreq} pad ${pad}`;
      expectClose(emb.weight.dataSync(), renormed, 1e-13, 1e-15, `weight after the forward, ${what}`);
      expectClose(y.dataSync(), idx.flatMap((r) => renormed.slice(r * dim, (r + 1) * dim)), 1e-13, 1e-15, `output, ${what}`);
      const counts = new Array(num).fill(0);
      for (const r of idx) counts[r] += 1;
      const grad = new Array(num * dim).fill(0);
      idx.forEach((r, i) => {
        for (let j = 0; j < dim; j++) grad[r * dim + j] += gy[i * dim + j] / (byFreq ? counts[r] : 1);
      });
      if (pad !== undefined) grad.fill(0, pad * dim, (pad + 1) * dim);
      expectClose(emb.weight.grad!.dataSync(), grad, 1e-13, 1e-15, `gradient, ${what}`);
      // Again: every row used is within maxNorm now, so the table stays as it is, bit for bit ...
      const now = Array.from(emb.weight.dataSync());
      tidy(() => {
        emb.forward(I);
      });
      expect(Array.from(emb.weight.dataSync())).toEqual(now);
      // ... until a used row grows past it (an optimizer step, say): the next lookup renormalises it again.
      const grown = idx[rng.int(0, idx.length - 1)];
      const bigger = now.map((v, k) => (Math.floor(k / dim) === grown ? 10 * v + (v === 0 ? 5 : 0) : v));
      tidy(() => antler.noGrad(() => emb.weight.assign(tensor(bigger, [num, dim], { dtype: 'float64' }))));
      tidy(() => {
        emb.forward(I);
      });
      const again = bigger.slice();
      for (const r of new Set(idx)) {
        const row = bigger.slice(r * dim, (r + 1) * dim).map(Math.abs);
        const n = p === Infinity ? Math.max(...row) : row.reduce((s, v) => s + v ** p, 0) ** (1 / p);
        if (n > maxNorm) for (let j = 0; j < dim; j++) again[r * dim + j] = (bigger[r * dim + j] * maxNorm) / (n + 1e-7);
      }
      expectClose(emb.weight.dataSync(), again, 1e-13, 1e-15, `a grown row renormalised again, ${what}`);
      antler.dispose([I, y, emb]);
    }
    expectAntlerError(() => new nn.Embedding(3, 2, { maxNorm: -1 }), 'INVALID_ARGUMENT', /maxNorm must be >= 0; got -1/);
    expectAntlerError(() => new nn.Embedding(3, 2, { normType: 0 }), 'INVALID_ARGUMENT', /normType must be a number > 0/);
    const e = new nn.Embedding(3, 2, { maxNorm: 1 });
    const before = Array.from(e.weight.dataSync());
    expectAntlerErrorInTidy(() => e.forward(tensor([0, 3], [2], { dtype: 'int32' })), 'INVALID_ARGUMENT', /outside \[0, 3\)/);
    expect(Array.from(e.weight.dataSync())).toEqual(before); // a bad index leaves the table as it was
    e.dispose();
    // An int32 table cannot be renormalised in place (torch 1.13: norm() rejects it): embedding's error, not an internal op's.
    const intTable = tensor([3, 4, 1, 0], [2, 2], { dtype: 'int32' });
    expectAntlerErrorInTidy(() => antler.embedding(tensor([0, 1], [2], { dtype: 'int32' }), intTable, { maxNorm: 1 }), 'DTYPE_MISMATCH', /^embedding: maxNorm .* float32 or float64; got int32/);
    expect(Array.from(intTable.dataSync())).toEqual([3, 4, 1, 0]);
    intTable.dispose();
    // A NaN row looked up is left as it is (NaN > maxNorm is false) and does not hide the rows above maxNorm (torch 1.13: [[NaN, 1], [0.6, 0.8], [0.1, 0.1]]).
    const withNaN = new nn.Embedding(3, 2, { maxNorm: 1, dtype: 'float64' });
    tidy(() => {
      withNaN.weight.assign(tensor([NaN, 1, 3, 4, 0.1, 0.1], [3, 2], { dtype: 'float64' }));
      withNaN.forward(tensor([0, 1, 2], [3], { dtype: 'int32' }));
    });
    const w = Array.from(withNaN.weight.dataSync());
    expect(w[0]).toBeNaN();
    expectClose(w.slice(1), [1, 3 / (5 + 1e-7), 4 / (5 + 1e-7), 0.1, 0.1], 1e-15, 0, "NaN row");
    withNaN.dispose();
  });

  test('maxNorm writes only the rows the lookup uses (no op over the whole table); the other rows keep their bits, the used ones are renormalised (float32, repeated and 2-D indices)', () => {
    const [num, dim] = [rng.int(300, 400), rng.int(3, 7)];
    const W = randomArray(rng, num * dim, -3, 3).map((v, k) => (k % 11 === 0 ? -0 : v)); // a few −0 entries
    const maxNorm = rng.uniform(0.5, 2);
    const idx = [...randomInts(rng, 9, 0, num - 1), 0, 0]; // row 0 twice more
    const emb = new nn.Embedding(num, dim, { maxNorm });
    tidy(() => antler.noGrad(() => emb.weight.assign(tensor(W, [num, dim]))));
    const before = Float32Array.from(emb.weight.dataSync());
    const I = tensor(idx, [1, idx.length], { dtype: 'int32' });
    const info = antler.profile(() => tidy(() => emb.forward(I)));
    // The old renormalisation built [num, 1] norms and scaled the whole [num, dim] table.
    for (const k of info.kernels)
      for (const sh of k.outputShapes) if (sh[0] === num) throw new Error(`${k.name} made a tensor of shape [${sh}], as many rows as the table (seed ${SEED})`);
    const after = emb.weight.dataSync();
    const used = new Set(idx);
    for (let r = 0; r < num; r++) {
      const row = Array.from(before.slice(r * dim, (r + 1) * dim));
      const got = Array.from(after.slice(r * dim, (r + 1) * dim));
      if (!used.has(r)) {
        for (let j = 0; j < dim; j++) if (!Object.is(got[j], row[j])) throw new Error(`unused row ${r} changed at ${j}: ${row[j]} -> ${got[j]} (seed ${SEED})`);
        continue;
      }
      const n = Math.sqrt(row.reduce((s, v) => s + v * v, 0));
      expectClose(got, n > maxNorm ? row.map((v) => (v * maxNorm) / (n + 1e-7)) : row, 2e-6, 1e-7, `used row ${r} (norm ${n}, maxNorm ${maxNorm}, seed ${SEED})`);
    }
    expectExact(info.result.dataSync(), idx.flatMap((r) => Array.from(after.slice(r * dim, (r + 1) * dim))), 'the lookup reads the renormalised rows');
    info.result.dispose();
    antler.dispose([I, emb]);
  });

  test('fromPretrained copies the vectors (frozen by default, no draw from the generator); freeze: false trains them; paddingIdx keeps its row and stops its gradient', () => {
    const [num, dim] = [rng.int(3, 8), rng.int(2, 5)];
    const vals = randomArray(rng, num * dim);
    const src = tensor(vals, [num, dim], { dtype: 'float64' });
    const before = globalDrawPosition();
    const frozen = nn.Embedding.fromPretrained(src);
    const pad = rng.int(0, num - 1);
    const live = nn.Embedding.fromPretrained(src, { freeze: false, paddingIdx: pad });
    expect(globalDrawPosition()).toBe(before);
    src.dispose(); // the modules hold copies
    expect(frozen.weight.dtype).toBe('float64');
    expectExact(frozen.weight.dataSync(), vals);
    expectExact(live.weight.dataSync(), vals);
    expect(frozen.weight.requiresGrad).toBe(false);
    expect(live.paddingIdx).toBe(pad);
    const idx = [pad, ...randomInts(rng, 5, 0, num - 1)];
    const gy = randomArray(rng, idx.length * dim);
    for (const emb of [frozen, live])
      tidy(() => {
        const y = emb.forward(tensor(idx, [idx.length], { dtype: 'int32' }));
        expectExact(y.dataSync(), idx.flatMap((r) => vals.slice(r * dim, (r + 1) * dim)));
        if (y.requiresGrad) y.mul(tensor(gy, y.shape, { dtype: 'float64' })).sum().backward();
      });
    expect(frozen.weight.grad).toBeNull();
    const ref = new Float64Array(num * dim);
    idx.forEach((r, k) => {
      if (r !== pad) for (let j = 0; j < dim; j++) ref[r * dim + j] += gy[k * dim + j];
    });
    expectClose(live.weight.grad!.dataSync(), ref, 1e-14, 1e-15, 'fromPretrained gradient');
    tidy(() => {
      expectAntlerError(() => nn.Embedding.fromPretrained(tensor([1, 2, 3])), 'SHAPE_MISMATCH', /^Embedding\.fromPretrained: embeddings must be 2-D \[numEmbeddings, embeddingDim\]; got shape \[3\]$/);
      expectAntlerError(() => nn.Embedding.fromPretrained(tensor([[1, 2]], [1, 2], { dtype: 'int32' })), 'DTYPE_MISMATCH', /must be float32 or float64; got int32/);
      expectAntlerError(() => nn.Embedding.fromPretrained(tensor([[1, 2]]), { freeze: 0 as never }), 'INVALID_ARGUMENT', /freeze/);
      expectAntlerError(() => nn.Embedding.fromPretrained(tensor([[1, 2]]), { paddingIdx: 3 }), 'INVALID_ARGUMENT', /paddingIdx 3 is outside \[-1, 1\)/);
    });
    frozen.dispose();
    live.dispose();
  });
});

describe(`Module utilities (seed ${SEED})`, () => {
  test("toString / console.log: PyTorch's tree, the class with its settings and each child as (name): …, a disposed module too", () => {
    const hidden = rng.int(2, 8);
    const seq = new nn.Sequential(new nn.Linear(3, hidden), new nn.ReLU(), new nn.GRU(hidden, 5, { numLayers: 2, batchFirst: true }));
    class Net extends nn.Module {
      enc = new nn.Linear(2, 2, { bias: false });
      lr = 0.1;
      name = 'net';
      forward(x: Tensor): Tensor {
        return this.enc.forward(x);
      }
    }
    const net = new Net();
    try {
      expect(String(seq)).toBe(
        [
          'Sequential(',
          `  (0): Linear(inFeatures: 3, outFeatures: ${hidden})`,
          '  (1): ReLU()',
          `  (2): GRU(inputSize: ${hidden}, hiddenSize: 5, projSize: 0, numLayers: 2, bias: true, batchFirst: true, dropout: 0, bidirectional: false)`,
          ')',
        ].join('\n'),
      );
      expect(require('node:util').inspect(seq)).toBe(seq.toString());
      expect(String(net)).toBe("Net(\n  lr: 0.1, name: 'net'\n  (enc): Linear(inFeatures: 2, outFeatures: 2)\n)");
      // A module held twice is listed under both names, as PyTorch's repr (its parameters once).
      const twice = new nn.Sequential(net.enc, net.enc);
      expect(String(twice)).toBe('Sequential(\n  (0): Linear(inFeatures: 2, outFeatures: 2)\n  (1): Linear(inFeatures: 2, outFeatures: 2)\n)');
      expect(twice.parameters()).toHaveLength(1);
      // A module holding its own ancestor (a cycle) prints it as Class(…) there instead of overflowing the stack (torch 1.13's repr raises RecursionError).
      class Holder extends nn.Module {
        constructor(public up: nn.Module) {
          super();
        }
        forward(x: Tensor): Tensor {
          return x;
        }
      }
      class Outer extends nn.Module {
        act = new nn.ReLU();
        holder?: Holder;
        forward(x: Tensor): Tensor {
          return x;
        }
      }
      const outer = new Outer();
      outer.holder = new Holder(outer);
      expect(String(outer)).toBe('Outer(\n  (act): ReLU()\n  (holder): Holder(\n    (up): Outer(…)\n  )\n)');
      expect(String(outer)).toBe(String(outer)); // nothing left marked from the first call
      outer.dispose();
    } finally {
      seq.dispose();
      net.dispose();
    }
    expect(String(seq)).toBe('Sequential (disposed)()');
  });

  test('forward on a disposed module throws DISPOSED naming the module, not an op inside it', () => {
    const gru = new nn.GRU(4, 8);
    gru.dispose();
    expect(gru.isDisposed).toBe(true);
    const x = antler.zeros([3, 2, 4]);
    try {
      const e = expectAntlerErrorInTidy(() => gru.forward(x), 'DISPOSED');
      expect(e.message).toBe('GRU: this GRU module has been disposed (dispose() freed its parameters); create a new one');
      const seq = new nn.Sequential(new nn.Linear(4, 3), new nn.Tanh());
      seq.dispose();
      expectAntlerErrorInTidy(() => seq.forward(x), 'DISPOSED', /^Sequential: this Sequential module has been disposed/);
      expect((seq.layers[0] as antler.nn.Linear).isDisposed).toBe(true);
      expectAntlerErrorInTidy(() => seq.layers[0].forward(x), 'DISPOSED', /^Linear: this Linear module has been disposed/);
      const sru = new nn.SRU(4, 8);
      sru.dispose();
      expectAntlerErrorInTidy(() => sru.forward(x), 'DISPOSED', /^SRU\.forward: this SRU module has been disposed/);
      // A parameter disposed on its own is named.
      const lin = new nn.Linear(4, 3);
      lin.bias!.dispose();
      expect(lin.isDisposed).toBe(false);
      expectAntlerErrorInTidy(() => lin.forward(x), 'DISPOSED', /^Linear: the Linear module's parameter 'bias' \(shape \[3\]\) has been disposed$/);
      lin.dispose();
    } finally {
      x.dispose();
    }
  });

  test("to('cpu') keeps every parameter object and its values", () => {
    const m = new nn.Sequential(new nn.Linear(3, 4), new nn.Tanh(), new nn.Linear(4, 2));
    const params = m.parameters();
    const before = values(params);
    expect(m.to('cpu')).toBe(m);
    m.parameters().forEach((p, i) => {
      expect(p).toBe(params[i]);
      expect(p.device).toBe('cpu');
      expectExact(p.dataSync(), before[i], `param ${i}`);
    });
    m.dispose();
  });

  test("cast('float64') converts in place, keeps identity and values, and converts existing grads (PyTorch's .double())", () => {
    const m = new nn.Sequential(new nn.Linear(3, 4), new nn.Tanh(), new nn.Linear(4, 2));
    const params = m.parameters();
    const before = values(params);
    const x32 = tensor(randomArray(rng, 5 * 3), [5, 3]);
    backprop(() => m.forward(x32).sum());
    expect(params.every((p) => p.grad !== null)).toBe(true);
    const grads = values(params.map((p) => p.grad!));
    expect(m.cast('float64')).toBe(m);
    m.parameters().forEach((p, i) => {
      expect(p).toBe(params[i]);
      expect(p.dtype).toBe('float64');
      expect(p.requiresGrad).toBe(true);
      expect(p.grad!.dtype).toBe('float64');
      expectExact(p.grad!.dataSync(), grads[i], `grad ${i} widened exactly`);
      expectExact(p.dataSync(), before[i], `param ${i} widened exactly`);
    });
    m.zeroGrad();
    // It now runs in float64: compare with the float64 reference.
    const xs = randomArray(rng, 5 * 3);
    const x = tensor(xs, [5, 3], { dtype: 'float64' });
    const y = m.forward(x);
    expect(y.dtype).toBe('float64');
    const [w0, b0, w2, b2] = before;
    const h = linearRef(xs, w0, b0, 5, 3, 4).map(Math.tanh);
    expectClose(y.dataSync(), linearRef(h, w2, b2, 5, 4, 2), 1e-13, 1e-13, 'float64 forward');
    antler.dispose([x32, x, y]);
    m.dispose();
  });

  test('zeroGrad() clears every gradient and frees it', () => {
    const m = new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU(), new nn.Linear(4, 2));
    const x = tensor(randomArray(rng, 2 * 3), [2, 3]);
    const before = tensorCounts();
    backprop(() => m.forward(x).square().sum());
    expect(m.parameters().every((p) => p.grad !== null)).toBe(true);
    expect(tensorCounts().numTensors).toBe(before.numTensors + 4);
    m.zeroGrad();
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
    expect(tensorCounts()).toEqual(before);
    x.dispose();
    m.dispose();
  });

  test("zeroGrad(false) keeps every gradient as zeros in place (PyTorch's set_to_none=False), in every sub-module", () => {
    const m = new nn.Sequential(new nn.Sequential(new nn.Linear(3, 4, { dtype: 'float64' }), new nn.Tanh()), new nn.Linear(4, 2, { dtype: 'float64' }));
    const x = tensor(randomArray(rng, 2 * 3), [2, 3], { dtype: 'float64' });
    backprop(() => m.forward(x).square().sum());
    const grads = m.parameters().map((p) => p.grad!);
    expect(grads.every((g) => g !== null && Array.from(g.dataSync()).some((v) => v !== 0))).toBe(true);
    m.zeroGrad(false);
    m.parameters().forEach((p, i) => {
      expect(p.grad).not.toBeNull();
      expect(p.grad!.shape).toEqual(p.shape);
      expectExact(p.grad!.dataSync(), new Array(p.size).fill(0), `grad ${i} zeroed`);
    });
    // The next backward accumulates into the zeros: the gradient of one pass, not two.
    backprop(() => m.forward(x).square().sum());
    const once = values(m.parameters().map((p) => p.grad!));
    m.zeroGrad();
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
    backprop(() => m.forward(x).square().sum());
    m.parameters().forEach((p, i) => expectClose(p.grad!.dataSync(), once[i], 1e-14, 0, `grad ${i}`));
    m.zeroGrad();
    x.dispose();
    m.dispose();
  });

  test("cast() converts floating parameters and buffers and leaves an int32 buffer as it is (PyTorch's .double() converts floating point tensors only)", () => {
    class WithCounter extends nn.Module {
      fc = new nn.Linear(2, 2);
      count: Tensor;
      avg: Tensor;
      constructor() {
        super();
        this.count = this.registerBuffer('count', tensor([5, 6], [2], { dtype: 'int32' }));
        this.avg = this.registerBuffer('avg', tensor([0.5, 0.25], [2]));
      }
      forward(x: Tensor): Tensor {
        return this.fc.forward(x);
      }
    }
    const m = new WithCounter();
    for (const dtype of ['float64', 'float32'] as const) {
      m.cast(dtype);
      expect([m.fc.weight.dtype, m.avg.dtype, m.count.dtype]).toEqual([dtype, dtype, 'int32']);
      expectExact(m.count.dataSync(), [5, 6], `count after cast('${dtype}')`);
      expectExact(m.avg.dataSync(), [0.5, 0.25], `avg after cast('${dtype}')`);
    }
    m.dispose();
  });

  test('children, namedModules, modules and apply walk the tree as PyTorch does, each module once', () => {
    class Block extends nn.Module {
      fc = new nn.Linear(3, 3);
      act = new nn.ReLU();
      forward(x: Tensor): Tensor {
        return this.act.forward(this.fc.forward(x));
      }
    }
    class Net extends nn.Module {
      enc = new nn.Sequential(new Block(), new nn.Linear(3, 2));
      head: nn.Linear;
      again: nn.Linear;
      constructor() {
        super();
        this.head = new nn.Linear(2, 2);
        this.again = this.head; // one module under two names
      }
      forward(x: Tensor): Tensor {
        return this.head.forward(this.enc.forward(x));
      }
    }
    const net = new Net();
    try {
      // PyTorch: [n for n, _ in net.named_modules()] for the same tree.
      expect(net.namedModules().map(([n, m]) => [n, m.constructor.name])).toEqual([
        ['', 'Net'], ['enc', 'Sequential'], ['enc.0', 'Block'], ['enc.0.fc', 'Linear'], ['enc.0.act', 'ReLU'], ['enc.1', 'Linear'], ['head', 'Linear'],
      ]);
      expect(net.namedModules('model')[1][0]).toBe('model.enc');
      // A prefix with its dot already: joined as namedParameters joins it (one dot).
      expect(net.namedModules('model.').map(([n]) => n).slice(1, 4)).toEqual(['model.enc', 'model.enc.0', 'model.enc.0.fc']);
      expect(net.namedParameters('model.')[0][0]).toBe('model.enc.0.fc.weight');
      expect(net.modules()).toHaveLength(7);
      expect(net.children().map((m) => m.constructor.name)).toEqual(['Sequential', 'Linear']);
      expect(net.namedChildren().map(([n]) => n)).toEqual(['enc', 'head']); // PyTorch's named_children() too
      // apply: children before their parent, each once; a custom initialisation of every Linear.
      const order: string[] = [];
      net.apply((m) => order.push(m.constructor.name));
      expect(order).toEqual(['Linear', 'ReLU', 'Block', 'Linear', 'Sequential', 'Linear', 'Net']);
      expect(net.apply((m) => {
        if (m instanceof nn.Linear) tidy(() => m.weight.assign(antler.fullLike(m.weight, 0.5)));
      })).toBe(net);
      for (const [name, p] of net.namedParameters()) if (name.endsWith('weight')) expect(Array.from(new Set(p.dataSync()))).toEqual([0.5]);
      expectAntlerErrorInTidy(() => net.apply(5 as never), 'INVALID_ARGUMENT', /^Module\.apply: expected a function of a module; got 5$/);
      expectAntlerErrorInTidy(() => net.namedModules(5 as never), 'INVALID_ARGUMENT', /^Module\.namedModules: prefix must be a string; got 5$/);
      // A module reached along two paths: PyTorch's apply calls fn once per path, named_modules lists it once.
      const shared = new nn.Linear(2, 2);
      const outer = new nn.Sequential(shared, new nn.ReLU(), new nn.Sequential(new nn.Linear(2, 2), shared));
      const seen: string[] = [];
      outer.apply((m) => seen.push(m.constructor.name));
      expect(seen).toEqual(['Linear', 'ReLU', 'Linear', 'Linear', 'Sequential', 'Sequential']); // torch 1.13's
      expect(outer.namedModules().map(([n]) => n)).toEqual(['', '0', '1', '2', '2.0']);
      outer.dispose();
    } finally {
      net.dispose();
    }
  });

  test('requiresGrad_(false) freezes a part of a model: no gradient reaches it and the optimizer leaves it unchanged', () => {
    const enc = new nn.Linear(3, 4, { dtype: 'float64' }), head = new nn.Linear(4, 2, { dtype: 'float64' });
    const model = new nn.Sequential(enc, new nn.Tanh(), head);
    const x = tensor(randomArray(rng, 5 * 3), [5, 3], { dtype: 'float64' });
    try {
      expect(enc.requiresGrad_(false)).toBe(enc);
      expect(enc.parameters().map((p) => p.requiresGrad)).toEqual([false, false]);
      const frozen = values(enc.parameters()), before = values(head.parameters());
      const opt = new antler.optim.Adam(model.parameters(), { lr: 0.1 });
      for (let i = 0; i < 3; i++) {
        opt.zeroGrad();
        backprop(() => model.forward(x).square().sum());
        expect(enc.parameters().map((p) => p.grad)).toEqual([null, null]);
        opt.step();
      }
      expect(values(enc.parameters())).toEqual(frozen);
      values(head.parameters()).forEach((v, i) => expect(maxAbsDiff(v, before[i])).toBeGreaterThan(0));
      enc.requiresGrad_();
      expect(enc.parameters().map((p) => p.requiresGrad)).toEqual([true, true]);
      opt.zeroGrad();
      opt.dispose();
      expectAntlerErrorInTidy(() => enc.requiresGrad_('no' as never), 'INVALID_ARGUMENT', /^Module\.requiresGrad_: flag must be a boolean; got 'no'$/);
      const gone = new nn.Linear(2, 2);
      gone.dispose();
      expectAntlerErrorInTidy(() => gone.requiresGrad_(false), 'DISPOSED', /Module\.requiresGrad_: this Linear module has been disposed/);
    } finally {
      x.dispose();
      model.dispose();
    }
  });

  test('parameters created inside tidy() survive it and stay usable', () => {
    let inner: Tensor[] = [];
    const m = tidy(() => {
      const made = new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU(), new nn.Linear(3, 1));
      inner = made.parameters();
      const probe = made.forward(antler.ones([1, 2])); // disposed with the scope
      expect(probe.shape).toEqual([1, 1]);
      return made;
    });
    expect(inner.some((p) => p.isDisposed)).toBe(false);
    const x = tensor([[0.5, -1]]);
    const y = m.forward(x);
    const [w0, b0, w2, b2] = values(m.parameters());
    const h = linearRef([0.5, -1], w0, b0, 1, 2, 3).map((v) => Math.max(0, v));
    expectClose(y.dataSync(), linearRef(h, w2, b2, 1, 3, 1), 1e-5, 1e-6, 'forward after tidy');
    antler.dispose([x, y]);
    m.dispose();
    expect(inner.every((p) => p.isDisposed)).toBe(true);
  });
});

describe(`Module registry follows the properties (seed ${rng.seed})`, () => {
  test('a buffer reassigned through its property (running statistics) is what stateDict() saves, kept even inside tidy(); null removes it', () => {
    class Ema extends nn.Module {
      avg: Tensor | null;
      constructor() {
        super();
        this.avg = this.registerBuffer('avg', ones([2]));
      }
      forward(x: Tensor): Tensor {
        this.avg = antler.noGrad(() => antler.add(antler.mul(this.avg!, 0.5), antler.mul(x, 0.5)));
        return antler.mul(x, 2);
      }
    }
    const m = new Ema();
    const x = tensor([3, 3], [2]);
    try {
      tidy(() => void m.forward(x));
      expect(m.avg!.isDisposed).toBe(false);
      expectExact(m.avg!.dataSync(), [2, 2]);
      tidy(() => expectExact(m.stateDict().avg.dataSync(), [2, 2]));
      tidy(() => void m.forward(x));
      tidy(() => expectExact(m.stateDict().avg.dataSync(), [2.5, 2.5]));
      m.avg = null;
      tidy(() => expect(Object.keys(m.stateDict())).toEqual([]));
    } finally {
      m.dispose();
      x.dispose();
    }
  });

  test('delete of a parameter or sub-module unregisters it, after first use too; namedParameters(prefix) joins with a dot', () => {
    const l = new nn.Linear(2, 2);
    const s = new nn.Sequential(new nn.Linear(2, 2), new nn.Linear(2, 2));
    try {
      tidy(() => void l.forward(tensor([[1, 2]], [1, 2])));
      // A deleted parameter is no longer the module's to free (it might be shared): its owner disposes it.
      const bias = l.bias!;
      delete (l as { bias?: Tensor | null }).bias;
      bias.dispose();
      expect(l.namedParameters().map(([n]) => n)).toEqual(['weight']);
      tidy(() => expect(Object.keys(l.stateDict())).toEqual(['weight']));
      expect(s.namedParameters('model').map(([n]) => n)).toEqual(['model.0.weight', 'model.0.bias', 'model.1.weight', 'model.1.bias']);
      expect(s.namedBuffers('model')).toEqual([]);
    } finally {
      l.dispose();
      s.dispose();
    }
  });

  test("replacing a Sequential's layer (seq['0'] = …) changes forward, parameters() and stateDict() together; layers is read-only", () => {
    const s = new nn.Sequential(new nn.Linear(2, 2), new nn.ReLU());
    const nl = new nn.Linear(2, 3);
    const old = s.layers[0] as nn.Linear;
    try {
      (s as unknown as Record<string, nn.Module>)['0'] = nl;
      expect(s.layers[0]).toBe(nl);
      expect(s.parameters()[0]).toBe(nl.weight);
      tidy(() => expect(s.forward(tensor([[1, 2]], [1, 2])).shape).toEqual([1, 3]));
      expect(() => ((s.layers as nn.Module[])[0] = old)).toThrow(TypeError);
      // A module held twice runs twice, as PyTorch's Sequential(l, l).
      const lin = new nn.Linear(2, 2);
      const twice = new nn.Sequential(lin, lin);
      expect(twice.layers.length).toBe(2);
      expect(twice.parameters().length).toBe(2);
      twice.dispose();
    } finally {
      old.dispose();
      s.dispose();
    }
  });
});

describe(`registration order is the order of the code (seed ${SEED})`, () => {
  test('properties and registerParameter/registerModule interleave as written, as PyTorch registers them', () => {
    class M extends nn.Module {
      constructor() {
        super();
        (this as unknown as Record<string, unknown>).a = nn.parameter(ones([1]));
        this.registerParameter('b', ones([1]));
        (this as unknown as Record<string, unknown>).fc1 = new nn.Linear(1, 1);
        this.registerModule('fc2', new nn.Linear(1, 1));
        (this as unknown as Record<string, unknown>).z = new nn.Linear(1, 1);
        (this as unknown as Record<string, unknown>)['1'] = new nn.Linear(1, 1);
      }
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    const m = new M();
    try {
      // torch 1.13 gives this order for the same module.
      expect(m.namedParameters().map(([n]) => n).join(' ')).toBe('a b fc1.weight fc1.bias fc2.weight fc2.bias z.weight z.bias 1.weight 1.bias');
    } finally {
      m.dispose();
    }
  });
});

describe('camelCase properties beside snake_case registry names', () => {
  test("a user's camelCase property is not taken for a registered snake_case module or buffer (only a class's declared alias is, as SRUCell's)", () => {
    class M extends nn.Module {
      fooBar: Tensor | null = null;
      runMean: Tensor | null = null;
      inner: nn.Linear;
      stats: Tensor;
      constructor() {
        super();
        this.inner = this.registerModule('foo_bar', new nn.Linear(2, 2));
        this.stats = this.registerBuffer('run_mean', zeros([2]));
      }
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    const m = new M();
    const cache = ones([3]);
    m.runMean = cache; // a cache of the module's own, unrelated to the buffer run_mean
    m.fooBar = null;
    expect(m.namedParameters().map(([k]) => k)).toEqual(['foo_bar.weight', 'foo_bar.bias']);
    expect(m.namedBuffers().map(([k, t]) => [k, t.shape])).toEqual([['run_mean', [2]]]);
    m.dispose();
    cache.dispose();
  });
});
