/**
 * Lifetime and accounting: memory() returns to its baseline after mass
 * create/dispose, tidy()/keep()/dispose() semantics, views sharing storage,
 * and the garbage-collection finalizer path (in a child process).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as antler from '../../lib';
import * as vm from 'node:vm';
import {
  add,
  AntlerError,
  arange,
  dispose,
  full,
  keep,
  matmul,
  memory,
  ones,
  rand,
  Tensor,
  tensor,
  tidy,
  zeros,
} from '../../lib';
import { addonPath, expectAntlerError, expectExact, expectNoLeaksInSuite, makeRng, randomArray, storageCounts, StorageCounts } from '../helpers';

const rng = makeRng();
const SEED = rng.seed;

function delta(from: StorageCounts): StorageCounts {
  const now = storageCounts();
  return {
    numTensors: now.numTensors - from.numTensors,
    numDataBuffers: now.numDataBuffers - from.numDataBuffers,
    numBytes: now.numBytes - from.numBytes,
  };
}

expectNoLeaksInSuite(storageCounts);

describe(`accounting (seed ${SEED})`, () => {
  test('memory() reports per-device and total counts with exact byte sizes', () => {
    const before = storageCounts();
    const a = zeros([3, 5]);
    const b = ones([7], { dtype: 'float64' });
    const c = full([2, 2], 3, { dtype: 'int32' });
    expect(delta(before)).toEqual({ numTensors: 3, numDataBuffers: 3, numBytes: 15 * 4 + 7 * 8 + 4 * 4 });
    const m = memory();
    expect(m.devices.cpu.numTensors).toBe(m.numTensors - Object.entries(m.devices).filter(([k]) => k !== 'cpu').reduce((s, [, d]) => s + d!.numTensors, 0));
    expect(m.devices.cpu.peakBytes).toBeGreaterThanOrEqual(m.devices.cpu.numBytes);
    dispose([a, b, c]);
    expect(delta(before)).toEqual({ numTensors: 0, numDataBuffers: 0, numBytes: 0 });
  });

  test('100,000 tensors (sizes and op results) created and disposed bring every count back', () => {
    const before = storageCounts();
    let live: Tensor[] = [];
    let made = 0;
    const push = (...ts: Tensor[]): void => {
      live.push(...ts);
      made += ts.length;
    };
    for (let i = 0; made < 100_000; i++) {
      switch (i % 10) {
        case 0: case 1: case 2: push(zeros([i % 17])); break;
        case 3: case 4: push(full([2, (i % 5) + 1], i, { dtype: 'float64' })); break;
        case 5: push(rand([i % 33], { dtype: 'int32', maxval: 100, seed: i })); break;
        case 6: push(tensor([i, i + 1, i + 2], undefined, { dtype: 'int32' })); break;
        case 7: push(arange(i % 9)); break;
        case 8: {
          // An op chain without tidy: every intermediate is a tensor of its own.
          const src = live.length ? live[live.length - 1] : arange(5, undefined, 1, { dtype: 'int32' });
          if (!live.length) push(src);
          const c = src.cast('float32');
          const r = c.reshape([-1]);
          const sum = r.sum();
          push(c, r, sum, add(sum, 1));
          break;
        }
        default: {
          const a = ones([3, 4]);
          const b = ones([4, 2], { dtype: 'float32' });
          push(a, b, matmul(a, b), a.reshape([2, 6]));
        }
      }
      if (live.length >= 1000) {
        // Every tensor made so far and not yet disposed is counted, no more.
        expect(storageCounts().numTensors - before.numTensors).toBe(live.length);
        dispose(live);
        live = [];
      }
    }
    dispose(live);
    expect(made).toBeGreaterThanOrEqual(100_000);
    expect(delta(before)).toEqual({ numTensors: 0, numDataBuffers: 0, numBytes: 0 });
  });
});

describe(`tidy / keep / dispose (seed ${SEED})`, () => {
  test('tidy disposes everything not returned', () => {
    const before = storageCounts();
    const made: Tensor[] = [];
    const out = tidy(() => {
      const a = zeros([4]);
      const b = ones([4]);
      const c = add(a, b);
      made.push(a, b, c);
      return add(c, 1);
    });
    expect(made.every((t) => t.isDisposed)).toBe(true);
    expect(out.isDisposed).toBe(false);
    expectExact(out.dataSync(), [2, 2, 2, 2], 'tidy result');
    expect(delta(before)).toEqual({ numTensors: 1, numDataBuffers: 1, numBytes: 16 });
    out.dispose();
    expect(delta(before)).toEqual({ numTensors: 0, numDataBuffers: 0, numBytes: 0 });
  });

  test('returned tensors survive: single, arrays, objects, Maps, nested', () => {
    const before = storageCounts();
    let inner: Tensor[] = [];
    const out = tidy('named scope', () => {
      const ts = Array.from({ length: 7 }, (_, i) => full([1], i));
      inner = ts;
      return { a: ts[0], list: [ts[1], [ts[2], { deep: ts[3] }]], map: new Map([['k', ts[4]]]), n: 5 };
    });
    expect(inner.slice(0, 5).every((t) => !t.isDisposed)).toBe(true);
    expect(inner.slice(5).every((t) => t.isDisposed)).toBe(true);
    expect(out.a.item()).toBe(0);
    expect(((out.list[1] as unknown[])[1] as { deep: Tensor }).deep.item()).toBe(3);
    expect(out.map.get('k')!.item()).toBe(4);
    expect(delta(before).numTensors).toBe(5);
    dispose(out);
    expect(out.map.get('k')!.isDisposed).toBe(true);
    expect(delta(before)).toEqual({ numTensors: 0, numDataBuffers: 0, numBytes: 0 });
  });

  test('nested tidy moves returned tensors to the parent scope', () => {
    const before = storageCounts();
    let fromInner: Tensor | undefined;
    let innerTemp: Tensor | undefined;
    const out = tidy(() => {
      fromInner = tidy(() => {
        innerTemp = zeros([2]);
        return ones([2]);
      });
      expect(innerTemp!.isDisposed).toBe(true);
      expect(fromInner.isDisposed).toBe(false);
      return zeros([3]);
    });
    // The inner result was not returned by the outer function: the outer scope disposes it.
    expect(fromInner!.isDisposed).toBe(true);
    expect(out.isDisposed).toBe(false);
    out.dispose();
    expect(delta(before)).toEqual({ numTensors: 0, numDataBuffers: 0, numBytes: 0 });
  });

  test('returning an outer tensor from a nested tidy does not hand it to the middle scope', () => {
    // As in TensorFlow.js, only tensors made inside a scope move to its parent.
    const outside = zeros([2]);
    tidy(() => {
      tidy(() => outside);
      return undefined;
    });
    let grand: Tensor | undefined;
    const returned = tidy(() => {
      grand = ones([2]);
      tidy(() => tidy(() => grand));
      return grand;
    });
    const alive = { outside: !outside.isDisposed, grandparentResult: !returned.isDisposed };
    dispose([outside, grand]);
    expect(alive).toEqual({ outside: true, grandparentResult: true });
  });

  test('keep() survives tidy', () => {
    const before = storageCounts();
    let kept: Tensor | undefined;
    let temp: Tensor | undefined;
    tidy(() => {
      kept = keep(ones([3]));
      temp = ones([3]);
      tidy(() => {
        keep(kept!);
      });
    });
    expect(kept!.isDisposed).toBe(false);
    expect(temp!.isDisposed).toBe(true);
    expectExact(kept!.dataSync(), [1, 1, 1], 'kept');
    kept!.dispose();
    expect(delta(before)).toEqual({ numTensors: 0, numDataBuffers: 0, numBytes: 0 });
  });

  test('keep() or a .grad assignment in a nested tidy protects a tensor from every enclosing scope', () => {
    const before = storageCounts();
    const w = zeros([2], { requiresGrad: true });
    let kept: Tensor | undefined;
    let g: Tensor | undefined;
    tidy(() => {
      // Made in the outer scope, protected inside a nested one: the outer scope must not free them.
      kept = ones([3]);
      g = full([2], 3);
      tidy(() => {
        keep(kept!);
        w.grad = g!;
        zeros([1]);
      });
      zeros([1]);
    });
    expect([kept!.isDisposed, g!.isDisposed, w.grad === g]).toEqual([false, false, true]);
    expectExact(w.grad!.dataSync(), [3, 3], 'the assigned .grad');
    expectExact(kept!.dataSync(), [1, 1, 1], 'kept');
    // The tensor owns its .grad: disposing it frees both (3 buffers made here: w, kept, g).
    expect(delta(before)).toEqual({ numTensors: 3, numDataBuffers: 3, numBytes: (2 + 3 + 2) * 4 });
    dispose([w, kept]);
    expect(g!.isDisposed).toBe(true);
    expect(delta(before)).toEqual({ numTensors: 0, numDataBuffers: 0, numBytes: 0 });
  });

  test('a throwing fn frees its scope but not what it passed to keep()', () => {
    const before = storageCounts();
    const boom = new Error('boom');
    let kept: Tensor | undefined;
    let temp: Tensor | undefined;
    expect(() =>
      tidy(() => {
        kept = keep(full([2], 7));
        temp = zeros([3]);
        tidy(() => {
          throw boom;
        });
      }),
    ).toThrow(boom);
    expect([kept!.isDisposed, temp!.isDisposed]).toEqual([false, true]);
    expectExact(kept!.dataSync(), [7, 7], 'kept through the error');
    expect(delta(before)).toEqual({ numTensors: 1, numDataBuffers: 1, numBytes: 8 });
    kept!.dispose();
    expect(delta(before)).toEqual({ numTensors: 0, numDataBuffers: 0, numBytes: 0 });
  });

  test('a throwing fn still disposes its tensors and rethrows', () => {
    const before = storageCounts();
    const made: Tensor[] = [];
    const boom = new Error('boom');
    expect(() =>
      tidy(() => {
        made.push(zeros([5]), ones([5]));
        throw boom;
      }),
    ).toThrow(boom);
    expect(made.every((t) => t.isDisposed)).toBe(true);
    // A library error inside tidy is rethrown as is.
    expect(() => tidy(() => matmul(zeros([2, 3]), zeros([2, 3])))).toThrow(AntlerError);
    expect(delta(before)).toEqual({ numTensors: 0, numDataBuffers: 0, numBytes: 0 });
    // The scope stack is intact: a later tidy still disposes.
    let t: Tensor | undefined;
    tidy(() => {
      t = zeros([1]);
    });
    expect(t!.isDisposed).toBe(true);
  });

  test('a fn returning a Promise throws INVALID_ARGUMENT and leaks nothing', async () => {
    const before = storageCounts();
    const made: Tensor[] = [];
    let err: unknown;
    let promise: Promise<unknown> | undefined;
    try {
      // The types refuse an async function (NotPromise); this checks the run-time refusal behind them.
      tidy((() => {
        made.push(zeros([3]));
        promise = (async () => {
          const t = ones([3]);
          made.push(t);
          return t;
        })();
        return promise;
      }) as () => never);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AntlerError);
    expect((err as AntlerError).code).toBe('INVALID_ARGUMENT');
    await promise;
    expect(made.every((t) => t.isDisposed)).toBe(true);
    expect(delta(before)).toEqual({ numTensors: 0, numDataBuffers: 0, numBytes: 0 });
  });

  test('dispose() twice is fine; dispose([a, {b}]) disposes both', () => {
    const before = storageCounts();
    const t = zeros([2]);
    t.dispose();
    expect(() => t.dispose()).not.toThrow();
    expect(() => dispose(t)).not.toThrow();
    const a = zeros([2]);
    const b = ones([2]);
    dispose([a, { b }]);
    expect([a.isDisposed, b.isDisposed]).toEqual([true, true]);
    dispose([a, { b }, 3, null, undefined, 'x']);
    expect(delta(before)).toEqual({ numTensors: 0, numDataBuffers: 0, numBytes: 0 });
  });

  test('tidy returning a .grad keeps it alive though its tensor is disposed (as torch and tf.grad inside tidy)', () => {
    const before = storageCounts();
    let w: Tensor | undefined;
    const vals = randomArray(rng, 3);
    const g = tidy(() => {
      w = tensor(vals, undefined, { requiresGrad: true });
      w.mul(w).sum().backward();
      return w.grad!;
    });
    expect(w!.isDisposed).toBe(true);
    expect(g.isDisposed).toBe(false);
    expectExact(g.dataSync(), vals.map((v) => Math.fround(2 * Math.fround(v))));
    // Returned in a container too; a gradient not returned goes with its tensor.
    const r = tidy(() => {
      const a = tensor(vals, undefined, { requiresGrad: true });
      const b = tensor(vals, undefined, { requiresGrad: true });
      a.mul(b).sum().backward();
      return { grads: [a.grad!], other: b.grad! }; // b.grad is returned too, under another key
    });
    expect([r.grads[0].isDisposed, r.other.isDisposed]).toEqual([false, false]);
    dispose(r);
    // From a nested tidy the gradient belongs to the enclosing scope, which frees it unless it returns it too.
    let inner: Tensor | undefined;
    tidy(() => {
      inner = tidy(() => {
        const w = tensor(vals, undefined, { requiresGrad: true });
        w.mul(w).sum().backward();
        return w.grad!;
      });
      expect(inner.isDisposed).toBe(false);
    });
    expect(inner!.isDisposed).toBe(true);
    g.dispose();
    expect(delta(before)).toEqual({ numTensors: 0, numDataBuffers: 0, numBytes: 0 });
  });

  test('tidy returns tensors in null-prototype objects and Sets; dispose() walks Sets and Maps', () => {
    const before = storageCounts();
    const o = tidy(() => {
      const r = Object.create(null) as { t: Tensor };
      r.t = ones([2]);
      return r;
    });
    const set = tidy(() => new Set([zeros([2]), ones([3])]));
    expect(o.t.isDisposed).toBe(false);
    expect([...set].some((t) => t.isDisposed)).toBe(false);
    const map = new Map([['a', full([1], 2)]]);
    dispose([o, set, map]);
    expect(o.t.isDisposed).toBe(true);
    expect([...set].every((t) => t.isDisposed)).toBe(true);
    expect(map.get('a')!.isDisposed).toBe(true);
    expect(delta(before)).toEqual({ numTensors: 0, numDataBuffers: 0, numBytes: 0 });
  });

  test("tidy and dispose find tensors in another realm's objects, Maps and Sets (vm contexts)", () => {
    const before = storageCounts();
    const ctx = vm.createContext({ antler });
    const kept = vm.runInContext('antler.tidy(() => ({ w: antler.ones([2]), m: new Map([[1, antler.zeros([1])]]), s: new Set([antler.ones([1])]) }))', ctx) as { w: Tensor; m: Map<number, Tensor>; s: Set<Tensor> };
    expect([kept.w.isDisposed, kept.m.get(1)!.isDisposed, [...kept.s][0].isDisposed]).toEqual([false, false, false]);
    vm.runInContext('(k) => antler.dispose(k)', ctx)(kept);
    expect([kept.w.isDisposed, kept.m.get(1)!.isDisposed, [...kept.s][0].isDisposed]).toEqual([true, true, true]);
    expect(delta(before)).toEqual({ numTensors: 0, numDataBuffers: 0, numBytes: 0 });
  });

  test('tidy frees its scope when reading the result throws, and reads deep results without a stack limit', () => {
    const before = storageCounts();
    const made: Tensor[] = [];
    expect(() =>
      tidy(() => {
        made.push(zeros([4]));
        return {
          get x(): Tensor {
            throw new Error('getter');
          },
        };
      }),
    ).toThrow('getter');
    expect(made[0].isDisposed).toBe(true);
    let deep: unknown = [];
    const kept = tidy(() => {
      const t = ones([1]);
      deep = [t];
      for (let i = 0; i < 50000; i++) deep = [deep];
      zeros([3]); // freed
      return deep;
    });
    let inner: unknown = kept;
    while (Array.isArray(inner)) inner = inner[0];
    expect((inner as Tensor).isDisposed).toBe(false);
    (inner as Tensor).dispose();
    expect(delta(before)).toEqual({ numTensors: 0, numDataBuffers: 0, numBytes: 0 });
  });

  test('tidy and dispose walk a cyclic result once', () => {
    const before = storageCounts();
    let temp: Tensor | undefined;
    const out = tidy(() => {
      const o: { t: Tensor; self?: unknown; list: unknown[] } = { t: ones([2]), list: [] };
      o.self = o;
      o.list.push(o, new Map([['o', o]]), new Set([o.list]));
      temp = zeros([1]);
      return o;
    });
    expect([out.t.isDisposed, temp!.isDisposed]).toEqual([false, true]);
    dispose(out);
    expect(out.t.isDisposed).toBe(true);
    expect(delta(before)).toEqual({ numTensors: 0, numDataBuffers: 0, numBytes: 0 });
  });

  test('tidy checks its arguments: tidy(fn) or tidy(name, fn)', () => {
    const fn = (): number => 1;
    for (const [call, msg] of [
      [() => tidy(123 as never, fn), /tidy\(fn\) or tidy\(name, fn\); got 123 as the first argument/],
      [() => tidy(fn as never, fn as never), /got a function and then a function/],
      [() => tidy('name' as never), /after the name 'name'; got undefined/],
      [() => tidy(undefined as never), /got undefined as the first argument/],
    ] as [() => unknown, RegExp][]) {
      let err: unknown;
      try {
        call();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AntlerError);
      expect((err as AntlerError).code).toBe('INVALID_ARGUMENT');
      expect((err as AntlerError).message).toMatch(msg);
    }
    expect(tidy('named', fn)).toBe(1);
  });

  test('dispose([model, optimizer, {x}]) disposes the module (its parameters), the optimizer (its state) and the tensor', () => {
    const before = storageCounts();
    const model = new antler.nn.Linear(3, 2);
    const opt = new antler.optim.Adam(model.parameters(), { lr: 0.1 });
    const x = ones([4, 3]);
    tidy(() => model.forward(x).sum().backward());
    opt.step();
    dispose([model, opt, { x }]);
    expect([model.isDisposed, x.isDisposed]).toEqual([true, true]);
    expect(delta(before)).toEqual({ numTensors: 0, numDataBuffers: 0, numBytes: 0 });
  });
});

describe(`ops outside tidy() leave only their result (seed ${SEED})`, () => {
  // TensorFlow.js semantics: an op's own intermediates are freed by the op; the caller owns the result.
  // Before: mean() (and so mseLoss's default reduction) left its sum behind on every call.
  let labels: Tensor;
  beforeAll(() => (labels = tensor([0, 1, 3], [3], { dtype: 'int32' })));
  afterAll(() => labels.dispose());
  const ops: [string, (x: Tensor, y: Tensor) => Tensor][] = [
    ['add', (x, y) => antler.add(x, y)], ['div', (x, y) => antler.div(x, y)], ['pow', (x, y) => antler.pow(x, y)],
    ['exp', (x) => antler.exp(x)], ['gelu', (x) => antler.gelu(x)], ['clamp', (x) => antler.clamp(x, 1.2, 1.5)],
    ['sum', (x) => antler.sum(x)], ['mean', (x) => antler.mean(x)], ['mean axis', (x) => antler.mean(x, 1)], ['max axis', (x) => antler.max(x, 1)],
    ['slice', (x) => antler.slice(x, [1, 0], [2, 4])], ['concat', (x, y) => antler.concat([x, y], 0)], ['stack', (x, y) => antler.stack([x, y], 0)],
    ['matmul', (x, y) => antler.matmul(x, y, { transposeB: true })], ['softmax', (x) => antler.softmax(x, 1)],
    ['crossEntropy', (x) => antler.crossEntropy(x, labels)], ['mseLoss', (x, y) => antler.mseLoss(x, y)],
    ['mseLoss sum', (x, y) => antler.mseLoss(x, y, { reduction: 'sum' })], ['layerNorm', (x) => antler.layerNorm(x)],
    ['linear', (x, y) => antler.linear(x, y)], ['dropout', (x) => antler.dropout(x, 0.5)],
  ];
  test.each(ops)('%s: with and without a graph, after backward or not', (_name, op) => {
    for (const mode of ['noGrad', 'graph, backward', 'graph, output disposed'] as const) {
      // Inputs in [1, 2] (log, pow and div stay finite).
      const inputs = () => [0, 1].map(() => tidy(() => antler.add(rand([3, 4]), 1)));
      const run = () => {
        const [x, y] = inputs();
        x.requiresGrad = y.requiresGrad = mode !== 'noGrad';
        const before = memory().numTensors;
        const out = op(x, y);
        if (mode === 'noGrad') expect(memory().numTensors - before).toBe(1);
        if (mode === 'graph, backward') {
          const s = antler.sum(out);
          s.backward();
          s.dispose();
        }
        dispose([out, x, y, x.grad, y.grad]);
      };
      run();
      const start = memory().numTensors;
      for (let i = 0; i < 3; i++) run();
      expect(`${mode}: ${memory().numTensors - start}`).toBe(`${mode}: 0`);
    }
  });
});

describe(`views keep storage alive (seed ${SEED})`, () => {
  test('dispose the original, the view still reads; the buffer goes when both are gone', () => {
    const before = storageCounts();
    const vals = randomArray(rng, 24);
    const t = tensor(vals, [4, 6], { dtype: 'float64' });
    const v = t.reshape([2, -1, 3]);
    expect(delta(before)).toEqual({ numTensors: 2, numDataBuffers: 1, numBytes: 24 * 8 });
    t.dispose();
    expect(delta(before)).toEqual({ numTensors: 1, numDataBuffers: 1, numBytes: 24 * 8 });
    expectExact(v.dataSync(), vals, `view after original disposed seed=${SEED}`);
    const vv = v.reshape([24]);
    v.dispose();
    expectExact(vv.dataSync(), vals, 'view of a view');
    expect(delta(before)).toEqual({ numTensors: 1, numDataBuffers: 1, numBytes: 24 * 8 });
    vv.dispose();
    expect(delta(before)).toEqual({ numTensors: 0, numDataBuffers: 0, numBytes: 0 });
  });

  test('a view returned from tidy keeps its storage after the original is disposed', () => {
    const before = storageCounts();
    const vals = randomArray(rng, 6);
    const v = tidy(() => tensor(vals, [6], { dtype: 'float64' }).reshape([2, 3]));
    expectExact(v.dataSync(), vals, 'tidy view');
    expect(delta(before)).toEqual({ numTensors: 1, numDataBuffers: 1, numBytes: 48 });
    v.dispose();
    expect(delta(before)).toEqual({ numTensors: 0, numDataBuffers: 0, numBytes: 0 });
  });

  test('disposing a tensor twice while autograd saved it leaves the saved storage to backward', () => {
    const before = storageCounts();
    const xs = randomArray(rng, 5), cs = randomArray(rng, 5);
    const x = tensor(xs, undefined, { dtype: 'float64', requiresGrad: true });
    const c = tensor(cs, undefined, { dtype: 'float64' });
    const y = tidy(() => x.mul(c).sum()); // mul saves c (d/dx Σ x·c = c)
    c.dispose();
    c.dispose(); // idempotent: it must not give up the graph's share of the storage a second time
    expect(c.isDisposed).toBe(true);
    // The graph still holds c's buffer: x, c (5 float64 each) and y (1 float64) are live.
    expect(delta(before)).toEqual({ numTensors: 3, numDataBuffers: 3, numBytes: (5 + 5 + 1) * 8 });
    const filler = tensor(randomArray(rng, 5), undefined, { dtype: 'float64' }); // may reuse a freed block
    y.backward();
    expectExact(x.grad!.dataSync(), cs, 'gradient = c, read from the saved storage');
    dispose([x, y, filler]);
    expect(delta(before)).toEqual({ numTensors: 0, numDataBuffers: 0, numBytes: 0 });
  });

  test('peakBytes keeps the high-water mark after the memory is freed; resetPeakMemory() lowers it to numBytes', () => {
    const bytes = 1 << 20; // 2^17 float64
    antler.resetPeakMemory();
    const m0 = memory().devices.cpu;
    expect(m0.peakBytes).toBeGreaterThanOrEqual(m0.numBytes);
    const big = zeros([bytes / 8], { dtype: 'float64' });
    const m1 = memory().devices.cpu;
    expect(m1.numBytes - m0.numBytes).toBe(bytes);
    expect(m1.peakBytes).toBeGreaterThanOrEqual(m0.numBytes + bytes);
    big.dispose();
    const m2 = memory().devices.cpu;
    expect(m2.numBytes).toBe(m0.numBytes);
    expect(m2.peakBytes).toBeGreaterThanOrEqual(m0.numBytes + bytes);
    antler.resetPeakMemory();
    const m3 = memory().devices.cpu;
    expect(m3.peakBytes).toBeGreaterThanOrEqual(m3.numBytes);
    expect(m3.peakBytes).toBeLessThan(m0.numBytes + bytes);
    expect(memory().numBytes).toBe(Object.values(memory().devices).reduce((s, d) => s + d!.numBytes, 0));
  });
});

// In child processes: a large tensor leaked by another test file in the same
// worker could be released by its finalizer mid-test and change cachedBytes.
describe('the CPU buffer cache (child processes)', () => {
  const run = (script: string, limit?: string): { out: unknown[]; stderr: string } => {
    const env: NodeJS.ProcessEnv = { ...process.env, CHILD_ADDON: addonPath() };
    if (limit === undefined) delete env.ANTLER_CPU_CACHE_MB;
    else env.ANTLER_CPU_CACHE_MB = limit;
    const r = spawnSync(process.execPath, ['-e', `
      const addon = require(process.env.CHILD_ADDON);
      const cached = () => addon.memory().cpu.cachedBytes;
      const make = (mib) => addon.full([Math.round(mib * (1 << 18))], 'float32', 'cpu', 0.5);  // mib MiB of float32
      const out = [];
      ${script}
      process.stdout.write(JSON.stringify(out));`], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
    return { out: JSON.parse(r.stdout) as unknown[], stderr: r.stderr };
  };
  const MiB = 1 << 20;

  test('a disposed large buffer is cached, served again to the same size with fresh contents, not pinned by a much smaller one, and released by emptyCache()', () => {
    const mib = 4 + Math.floor(rng.next() * 8);
    const { out } = run(`
      out.push(cached());
      addon.dispose(make(${mib}));
      out.push(cached());                            // the block, rounded up to 2 MiB
      const b = addon.full([${mib} << 18], 'float32', 'cpu', 2);
      out.push(cached());                            // taken again
      const d = addon.dataSync(b);
      out.push(d.every((v) => v === 2));             // the new op's values
      addon.dispose(b);
      addon.dispose(addon.full([16], 'float32', 'cpu', 1));
      out.push(cached());                            // small buffers bypass the cache
      const c = make(${mib} / 4);                     // a much smaller request does not take it
      out.push(cached());
      addon.dispose(c);
      addon.emptyCache();
      out.push(cached());
    `);
    const block = Math.ceil(mib / 2) * 2 * MiB;
    expect(out).toEqual([0, block, 0, true, block, block, 0]);
  });

  test('ANTLER_CPU_CACHE_MB bounds the cache, releasing the blocks that waited longest first; 0 turns it off; a bad value warns and keeps the default', () => {
    const script = `
      for (const mib of [4, 8, 16]) addon.dispose(make(mib));
      out.push(cached());
      addon.dispose(make(2));
      out.push(cached());
      const again = make(16);                        // the cached 16 MiB block serves it
      out.push(cached());
      addon.dispose(make(12));                       // 12 more fits: 2 + 12
      out.push(cached());
      addon.dispose(again);                          // 16 more: 2, then 12 (the oldest) go
      out.push(cached());
    `;
    // Limit 20 MiB: 4 + 8 fit; 16 more needs room, so 4 and then 8 (the oldest) go: 16. Then 2 fits: 18.
    // (Releasing the largest first would have kept 4 + 16 = 20, and at the end 2 + 16 = 18.)
    expect(run(script, '20').out).toEqual([16 * MiB, 18 * MiB, 2 * MiB, 14 * MiB, 16 * MiB]);
    expect(run(script, '0').out).toEqual([0, 0, 0, 0, 0]);
    const bad = run(script, 'lots');
    expect(bad.out).toEqual([28 * MiB, 30 * MiB, 14 * MiB, 26 * MiB, 42 * MiB]);
    expect(bad.stderr).toMatch(/ANTLER_CPU_CACHE_MB must be a whole number of MiB.*'lots', using 1024/);
    expect(run(script).out).toEqual([28 * MiB, 30 * MiB, 14 * MiB, 26 * MiB, 42 * MiB]);
  });
});

describe('garbage collection', () => {
  test('handles lost without dispose() are released after GC (child process)', () => {
    const script = `
      const addon = require(process.env.CHILD_ADDON);
      const snap = () => addon.memory().cpu || { numTensors: 0, numDataBuffers: 0, numBytes: 0 };
      (async () => {
        const start = snap();
        (() => { for (let i = 0; i < 10000; i++) addon.full([(i % 7) + 1], 'float32', 'cpu', i); })();
        const made = snap();
        for (let i = 0; i < 10; i++) {
          global.gc();
          await new Promise((r) => setImmediate(r));
        }
        const end = snap();
        process.stdout.write(JSON.stringify({ start, made, end }));
      })();
    `;
    const out = execFileSync(process.execPath, ['--expose-gc', '-e', script], {
      env: { ...process.env, CHILD_ADDON: addonPath() },
      encoding: 'utf8',
    });
    const { start: s, made, end } = JSON.parse(out) as Record<string, StorageCounts>;
    let bytes = 0;
    for (let i = 0; i < 10000; i++) bytes += ((i % 7) + 1) * 4;
    expect(made.numTensors - s.numTensors).toBe(10000);
    expect(made.numBytes - s.numBytes).toBe(bytes);
    expect({ numTensors: end.numTensors, numDataBuffers: end.numDataBuffers, numBytes: end.numBytes }).toEqual({
      numTensors: 0,
      numDataBuffers: 0,
      numBytes: 0,
    });
  });
});

// A shape the machine cannot hold must be an error, not a malloc that overcommit lets succeed and the
// first touch of its pages turns into the OOM killer ending the process.
describe(`allocations larger than the memory there is (seed ${SEED})`, () => {
  const huge = /^cpu: out of memory: a buffer would take (\d+) bytes \([\d.]+ TiB\), more than the (\d+) bytes \([\d.]+ [GMT]iB\) of memory there is .*; nothing was allocated/;

  test('zeros, full, an adaptive pool output, broadcastTo, expand and a matmul result of TiBs throw OUT_OF_MEMORY naming the bytes, the tensor and the memory; nothing is allocated and other tensors are intact', () => {
    const n = 4 + Math.floor(rng.next() * 8);
    const values = randomArray(rng, n);
    const keepMe = antler.tensor(values, [n]);
    const before = antler.memory().devices.cpu;
    const side = 2 ** 20; // [2^20, 2^20] float32: 4 TiB, within the 2^40-element shape limit
    const cases: [string, () => unknown, number, string][] = [
      ['zeros', () => antler.zeros([1e6, 1e6]), 4e12, 'float32 tensor of shape [1000000, 1000000]'],
      ['full float64', () => antler.full([side, side], 1, { dtype: 'float64' }), 8 * side * side, `float64 tensor of shape [${side}, ${side}]`],
      ['adaptiveAvgPool2d', () => antler.adaptiveAvgPool2d(antler.ones([1, 1, 4, 4]), [side, side]), 4 * side * side, `float32 tensor of shape [1, 1, ${side}, ${side}]`],
      // broadcastTo and expand copy (antler has no strided views of a broadcast).
      ['broadcastTo', () => antler.broadcastTo(antler.ones([1, 1]), [side, side]), 4 * side * side, `float32 tensor of shape [${side}, ${side}]`],
      ['expand', () => antler.ones([1, 1], { dtype: 'float64' }).expand(side, -1, side), 8 * side * side, `float64 tensor of shape [${side}, 1, ${side}]`],
      ['matmul', () => antler.matmul(antler.ones([side, 1]), antler.ones([1, side])), 4 * side * side, `float32 tensor of shape [${side}, ${side}]`],
    ];
    for (const [name, make, bytes, what] of cases) {
      const e = expectAntlerError(() => antler.tidy(make), 'OUT_OF_MEMORY', huge);
      const m = huge.exec(e.message)!;
      expect([name, Number(m[1])]).toEqual([name, bytes]);
      expect(Number(m[2])).toBeGreaterThan(0);
      expect(Number(m[2])).toBeLessThan(bytes);
      expect(e.message).toContain(`(for a ${what} on cpu)`);
      const after = antler.memory().devices.cpu;
      expect([name, after.numBytes, after.numDataBuffers, after.numTensors]).toEqual([name, before.numBytes, before.numDataBuffers, before.numTensors]);
    }
    expectExact(keepMe.dataSync(), Float32Array.from(values), 'a tensor made before');
    keepMe.dispose();
  });

  test('an element count past 2^40 (products past 2^63 or 2^53 included) is INVALID_ARGUMENT before any allocation', () => {
    const d = 2 ** 31;
    expectAntlerError(() => antler.zeros([d, d, d]), 'INVALID_ARGUMENT', /^zeros: shape \[2147483648, 2147483648, 2147483648\] has more than 2\^40 elements/);
    expectAntlerError(() => antler.zeros([2 ** 53, 2]), 'INVALID_ARGUMENT', /more than 2\^40 elements/);
    expectAntlerError(() => antler.zeros([2 ** 20, 2 ** 20, 2]), 'INVALID_ARGUMENT', /more than 2\^40 elements/);
    expectAntlerError(() => antler.tidy(() => antler.broadcastTo(antler.ones([1, 1]), [2 ** 30, 2 ** 30])), 'INVALID_ARGUMENT', /more than 2\^40 elements/);
  });

  // In a child: ANTLER_CPU_MEMORY_MB is read once per process.
  test('ANTLER_CPU_MEMORY_MB lowers the limit: a tensor past it is refused, one under it made; a pool whose output fits but whose window tables do not is refused with its output freed; a bad value warns and is ignored', () => {
    const run = (limit: string, script: string) => {
      const r = spawnSync(process.execPath, ['-e', `
        const addon = require(process.env.CHILD_ADDON);
        const out = [];
        const attempt = (f) => { try { const t = f(); out.push('made'); addon.dispose(t); } catch (e) { out.push(e.code + ': ' + e.message); } };
        ${script}
        out.push(addon.memory().cpu.numBytes);
        process.stdout.write(JSON.stringify(out));`], { env: { ...process.env, CHILD_ADDON: addonPath(), ANTLER_CPU_MEMORY_MB: limit }, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
      return { out: JSON.parse(r.stdout) as (string | number)[], stderr: r.stderr };
    };
    const mib = 8 + Math.floor(rng.next() * 4); // 8 to 11 MiB
    const w = 2 ** 19; // output [1, 1, 1, w] float32: 2 MiB; the window tables 24 bytes per output position of each axis, 12 MiB
    const { out } = run(String(mib), `
      attempt(() => addon.full([(${mib} << 18) + 2], 'float32', 'cpu', 0));
      attempt(() => addon.full([(${mib} - 1) << 18], 'float32', 'cpu', 0));
      const x = addon.full([1, 1, 4, 4], 'float32', 'cpu', 1);
      attempt(() => addon.adaptiveAvgPool(x, [1, ${w}]));
      attempt(() => addon.adaptiveMaxPool(x, [1, ${w}])[0]);
      addon.dispose(x);`);
    const refused = (what: string, bytes: number) => new RegExp(`^OUT_OF_MEMORY: cpu: out of memory: ${what} would take ${bytes} bytes \\([\\d.]+ MiB\\), more than the ${mib * 2 ** 20} bytes \\(${mib}\\.0 MiB\\) of memory there is`);
    expect(out[0]).toMatch(refused('a buffer', (mib << 20) + 8));
    expect(out[1]).toBe('made');
    expect(out[2]).toMatch(refused("avgPool's window tables", 24 * (2 + w) + 4 * w));
    expect(out[3]).toMatch(refused("maxPool's window tables", 24 * (2 + w)));
    expect(out[4]).toBe(0);
    const bad = run('lots', `attempt(() => addon.full([4], 'float32', 'cpu', 0));`);
    expect(bad.out).toEqual(['made', 0]);
    expect(bad.stderr).toMatch(/ANTLER_CPU_MEMORY_MB must be a whole number of MiB > 0; got 'lots', ignored/);
  });
});

// The limit a child process reads: from a cgroup tree laid out under a directory standing for "/"
// (ANTLER_TEST_SYSROOT), with ANTLER_CPU_MEMORY_MB and a virtual-memory ulimit where given.
describe(`the memory limit's sources (seed ${SEED})`, () => {
  const fs = require('node:fs') as typeof import('node:fs');
  const os = require('node:os') as typeof import('node:os');
  const path = require('node:path') as typeof import('node:path');
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  const sysroot = (files: Record<string, string>) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'antler-cgroup-'));
    dirs.push(root);
    for (const [f, text] of Object.entries(files)) {
      fs.mkdirSync(path.join(root, path.dirname(f)), { recursive: true });
      fs.writeFileSync(path.join(root, f), text);
    }
    return root;
  };
  // What a child says of a float32 buffer of each size: 'made', or the error.
  const child = (env: Record<string, string>, sizes: number[], ulimitKiB?: number) => {
    const script = `
      const addon = require(process.env.CHILD_ADDON);
      const out = [];
      for (const n of ${JSON.stringify(sizes)}) {
        try { addon.dispose(addon.full([n], 'float32', 'cpu', 0)); out.push('made'); } catch (e) { out.push(e.code + ': ' + e.message); }
      }
      process.stdout.write(JSON.stringify(out));`;
    const base = { ...process.env, CHILD_ADDON: addonPath(), ...env };
    delete (base as Record<string, string | undefined>).ANTLER_CPU_MEMORY_MB;
    Object.assign(base, env);
    const r = ulimitKiB
      ? spawnSync('/bin/sh', ['-c', `ulimit -v ${ulimitKiB} && exec "$0" -e "$1"`, process.execPath, script], { env: base, encoding: 'utf8' })
      : spawnSync(process.execPath, ['-e', script], { env: base, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
    return JSON.parse(r.stdout) as string[];
  };
  const refusedAt = (limit: number) => new RegExp(`^OUT_OF_MEMORY: cpu: out of memory: a buffer would take \\d+ bytes .*more than the ${limit} bytes `);

  test("a limit on the process's own cgroup or an ancestor below the mount's root is the limit (v2 and v1), the lowest of them; a missing file or 'max' is none", () => {
    const mib = 8 + Math.floor(rng.next() * 8);
    const lim = mib * 2 ** 20;
    // v2, outside a cgroup namespace: the process in /job/step, the limit on /job; the root's file says nothing.
    const v2 = sysroot({
      'proc/self/cgroup': '0::/job/step\n',
      'sys/fs/cgroup/job/memory.max': `${lim}\n`,
      'sys/fs/cgroup/job/step/memory.max': 'max\n',
    });
    expect(child({ ANTLER_TEST_SYSROOT: v2 }, [(lim >> 2) + 1, (lim >> 2) - 1])).toEqual([expect.stringMatching(refusedAt(lim)), 'made']);
    // v1 (a memory line among others), the limit on the process's own cgroup, a higher one above, the root's unlimited sentinel.
    const v1 = sysroot({
      'proc/self/cgroup': `9:name=systemd:/\n4:memory:/slurm/uid_1/job_2\n3:cpuset:/\n`,
      'sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n',
      'sys/fs/cgroup/memory/slurm/memory.limit_in_bytes': `${2 * lim}\n`,
      'sys/fs/cgroup/memory/slurm/uid_1/job_2/memory.limit_in_bytes': `${lim}\n`,
    });
    expect(child({ ANTLER_TEST_SYSROOT: v1 }, [(lim >> 2) + 1, (lim >> 2) - 1])).toEqual([expect.stringMatching(refusedAt(lim)), 'made']);
    // A v1 container whose mount shows its own cgroup as the root: /proc/self/cgroup names a path not there.
    const container = sysroot({ 'proc/self/cgroup': '4:memory:/docker/abc\n', 'sys/fs/cgroup/memory/memory.limit_in_bytes': `${lim}\n` });
    expect(child({ ANTLER_TEST_SYSROOT: container }, [(lim >> 2) + 1])).toEqual([expect.stringMatching(refusedAt(lim))]);
    // No limit anywhere (and no /proc/self/cgroup): physical memory.
    const none = sysroot({ 'sys/fs/cgroup/memory.max': 'max\n' });
    expect(child({ ANTLER_TEST_SYSROOT: none }, [2 ** 40 / 4, (lim >> 2) + 1])).toEqual([expect.stringMatching(refusedAt(os.totalmem())), 'made']);
  });

  test('ANTLER_CPU_MEMORY_MB replaces the limit, higher too (a buffer that fits with swap): one past physical memory then goes to malloc', () => {
    const phys = os.totalmem();
    const mib = Math.ceil((2 * phys) / 2 ** 20);
    const elements = Math.floor((phys + 2 ** 20) / 4); // past physical memory, under the set limit
    // Under a virtual-memory ulimit below that buffer, so that the malloc fails whatever the overcommit policy.
    const kib = Math.max(Math.floor(phys / 2 / 1024), 4 * 2 ** 20);
    const [r] = child({ ANTLER_CPU_MEMORY_MB: String(mib) }, [elements], kib);
    expect(r).toMatch(/^OUT_OF_MEMORY: cpu: out of memory: cannot allocate \d+ bytes/);
    const [r2] = child({ ANTLER_TEST_SYSROOT: sysroot({}) }, [elements], kib); // no cgroup limit: physical memory
    expect(r2).toMatch(refusedAt(phys));
  });
});

// avgPool's adjoint lists, per input position of axes 0 and 1, the outputs whose windows hold it: with overlapping
// windows that is in·k entries, far more than the output positions the forward's tables take.
test(`avgPoolBackward counts its per-input source lists against the limit: overlapping windows refused past it, its result made under it (seed ${SEED})`, () => {
  const k = 1024 + Math.floor(rng.next() * 1024);
  const n = 2 * k; // input [1, 1, n, 1], a k window at stride 1: n - k + 1 outputs, (n - k + 1)·k ≈ 2^20 to 2^22 sources, 8 to 32 MiB
  const outs = n - k + 1;
  const run = (limit: string) => {
    const r = spawnSync(process.execPath, ['-e', `
      const addon = require(process.env.CHILD_ADDON);
      const gy = addon.full([1, 1, ${outs}, 1], 'float64', 'cpu', 1);
      let out;
      try { const gx = addon.avgPoolBackward(gy, [1, 1, ${n}, 1], [${k}, 1], [1, 1], [0, 0], true, 0); out = 'made'; addon.dispose(gx); } catch (e) { out = e.code + ': ' + e.message; }
      addon.dispose(gy);
      process.stdout.write(JSON.stringify([out, addon.memory().cpu.numBytes]));`], { env: { ...process.env, CHILD_ADDON: addonPath(), ANTLER_CPU_MEMORY_MB: limit }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
    return JSON.parse(r.stdout) as [string, number];
  };
  // The sources of axis 0: n + 1 offsets and outs·k entries; axis 1: 2 offsets and 1 entry; axis 2's taps; the divisors.
  const bytes = 8 * (n + 1 + outs * k) + 8 * 3 + 24 + 8 * outs;
  expect(bytes).toBeGreaterThan(4 * 2 ** 20);
  expect(run('4')).toEqual([expect.stringMatching(new RegExp(`^OUT_OF_MEMORY: cpu: out of memory: avgPoolBackward's window tables would take ${bytes} bytes .* more than the ${4 * 2 ** 20} bytes`)), 0]);
  expect(run('64')).toEqual(['made', 0]);
});
