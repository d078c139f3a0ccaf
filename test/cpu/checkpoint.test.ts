/**
 * checkpoint(fn, ...args) and checkpointSequential (torch.utils.checkpoint):
 * gradients to the arguments, to the parameters and to earlier results fn
 * reaches from outside equal the plain graph's (bit for bit: the second run
 * is the same computation) and central differences of the loss computed
 * without any graph (float64); dropout masks replayed; what stays live after
 * the forward; several outputs; errors.
 */
import * as antler from '../../lib';
import { nn, Tensor, tensor, tidy } from '../../lib';
import { expectAntlerError, expectClose, expectNoLeaksInSuite, makeSeededRng, randomArray, tensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const F64 = { dtype: 'float64' as const };

/** A random float64 tensor of `shape`. */
const rand = (shape: number[], lo = -1, hi = 1) => tensor(randomArray(rng, shape.reduce((a, b) => a * b, 1), lo, hi), shape, F64);

/** The grads of ts as arrays (null where none), in order. */
const gradsOf = (ts: Tensor[]) => ts.map((t) => (t.grad ? Array.from(t.grad.dataSync()) : null));

/** Clears the .grad of ts. */
const clear = (ts: Tensor[]) => ts.forEach((t) => (t.grad = null));

describe(`checkpoint (seed ${SEED})`, () => {
  test('gradients to the arguments, the parameters and an earlier result fn captures equal the plain graph and central differences (float64)', () => {
    const B = rng.int(1, 4), H = rng.int(2, 6), K = rng.int(2, 4);
    const l1 = new nn.Linear(H, H, F64), l2 = new nn.Linear(H, H, F64);
    const x = rand([B, H]).requiresGrad_(true), u = rand([B, H]).requiresGrad_(true);
    const wv = randomArray(rng, B * H);
    const params = [...l1.parameters(), ...l2.parameters()];
    const scale = rng.uniform(0.5, 1.5);
    try {
      // z is an earlier result (a node made before the checkpoint) that fn reaches from outside; it
      // must live until backward (the caller's tidy() around both).
      const loss = (ck: boolean) => {
        const z = antler.sin(u);
        const seg = (h: Tensor, s: number) => antler.tanh(antler.add(l2.forward(antler.tanh(l1.forward(h))), antler.mul(z, s)));
        let h = x;
        for (let k = 0; k < K; k++) h = ck ? antler.checkpoint(seg, h, scale) : seg(h, scale);
        return antler.sum(antler.mul(h, tensor(wv, [B, H], F64)));
      };
      const all = [x, u, ...params];
      const grads = (ck: boolean) => {
        clear(all);
        const value = tidy(() => {
          const l = loss(ck);
          l.backward();
          return l.item();
        });
        return { value, g: gradsOf(all) };
      };
      const plain = grads(false), ck = grads(true);
      expect(ck.value).toBe(plain.value);
      // z's gradient sums K contributions, in another order than the plain graph's: equal to rounding.
      ck.g.forEach((g, k) => expectClose(g!, plain.g[k]!, 1e-13, 1e-14, `tensor ${k}, seed ${SEED}`));
      // Central differences of the loss computed without any graph.
      const h = 1e-6;
      const at = (t: Tensor, i: number, d: number) =>
        antler.noGrad(() => {
          const v = t.dataSync().slice();
          const old = v[i];
          v[i] = old + d;
          tidy(() => t.assign(tensor(v, t.shape, F64)));
          const out = tidy(() => loss(true).item());
          v[i] = old;
          tidy(() => t.assign(tensor(v, t.shape, F64)));
          return out;
        });
      all.forEach((t, k) => {
        const i = rng.int(0, t.size - 1);
        const fd = (at(t, i, h) - at(t, i, -h)) / (2 * h);
        expectClose([ck.g[k]![i]], [fd], 1e-6, 1e-7, `tensor ${k} element ${i}, seed ${SEED}`);
      });
    } finally {
      clear([x, u, ...params]);
      for (const t of [x, u]) t.dispose();
      l1.dispose();
      l2.dispose();
    }
  });

  test('autograd.grad through checkpoints: the same gradients as the plain graph, no .grad touched', () => {
    const H = rng.int(2, 5);
    const cell = new nn.GRUCell(H, H, F64);
    const x = rand([3, H]).requiresGrad_(true);
    try {
      const run = (ck: boolean) =>
        tidy(() => {
          const step = (h: Tensor) => cell.forward(antler.tanh(h), h);
          let h = x;
          for (let t = 0; t < 3; t++) h = ck ? antler.checkpoint(step, h) : step(h);
          const gs = antler.autograd.grad(antler.sum(antler.square(h)), [x, cell.weight_hh]);
          return gs.map((g) => Array.from(g!.dataSync()));
        });
      expect(run(true)).toEqual(run(false));
      expect(x.grad).toBeNull();
      expect(cell.weight_hh.grad).toBeNull();
    } finally {
      x.dispose();
      cell.dispose();
    }
  });

  test("dropout inside replays its masks in the second run (also after setSeed in between); the generator is left where the plain run leaves it", () => {
    const H = rng.int(8, 12);
    const lin = new nn.Linear(H, H, F64), drop = new nn.Dropout(0.5);
    const x = rand([4, H]).requiresGrad_(true);
    const seed = rng.int(1, 2 ** 30);
    try {
      const run = (ck: boolean) => {
        clear([x]);
        antler.setSeed(seed);
        return tidy(() => {
          const f = (h: Tensor) => drop.forward(antler.tanh(lin.forward(h)));
          const y = ck ? antler.checkpoint(f, x) : f(x);
          // A draw between forward and backward, and a new seed: the second run must not see either.
          const between = Array.from(antler.rand([3]).dataSync());
          antler.setSeed(seed + 1);
          antler.sum(antler.mul(y, y)).backward();
          return { y: Array.from(y.dataSync()), g: Array.from(x.grad!.dataSync()), between, after: Array.from(antler.rand([3]).dataSync()) };
        });
      };
      const plain = run(false), ck = run(true);
      expect(ck.y).toEqual(plain.y);
      expect(ck.y.some((v) => v === 0)).toBe(true); // units dropped (p = 0.5 over ≥ 32: all kept with probability 2⁻³²)
      expect(ck.g).toEqual(plain.g);
      expect(ck.between).toEqual(plain.between);
      expect(ck.after).toEqual(plain.after);
    } finally {
      clear([x]);
      x.dispose();
      lin.dispose();
    }
  });

  test("after the forward only the segments' outputs stay live (the plain graph keeps every intermediate); backward frees everything", () => {
    const B = rng.int(2, 5), H = rng.int(4, 9), K = rng.int(2, 5), depth = 4;
    const layers = Array.from({ length: depth }, () => new nn.Linear(H, H, F64));
    const x = rand([B, H]).requiresGrad_(true);
    const seg = (h: Tensor) => layers.reduce((a, l) => antler.tanh(l.forward(a)), h);
    try {
      const liveAfterForward = (ck: boolean) => {
        const before = antler.memory().numBytes;
        let live = 0;
        tidy(() => {
          let h = x;
          for (let k = 0; k < K; k++) h = ck ? antler.checkpoint(seg, h) : seg(h);
          live = antler.memory().numBytes - before;
          antler.sum(h).backward();
        });
        clear([x, ...layers.flatMap((l) => l.parameters())]);
        expect(antler.memory().numBytes).toBe(before);
        return live;
      };
      const ck = liveAfterForward(true), plain = liveAfterForward(false);
      // Each checkpointed segment keeps its output (the next one's saved input is a view of it).
      expect(ck).toBe(K * B * H * 8);
      // The plain graph keeps, per layer, at least the linear's output and the tanh's.
      expect(plain).toBeGreaterThanOrEqual(K * depth * B * H * 8);
    } finally {
      x.dispose();
      layers.forEach((l) => l.dispose());
    }
  });

  test('several outputs, an argument given back, an int32 argument and a number; outputs needing no gradient pass as they are', () => {
    const V = rng.int(3, 6), H = rng.int(2, 5), N = rng.int(2, 5);
    const emb = new nn.Embedding(V, H, F64);
    const c = rand([N, H]).requiresGrad_(true);
    const ids = tensor(Array.from({ length: N }, () => rng.int(0, V - 1)), [N], { dtype: 'int32' });
    const k = rng.uniform(0.5, 2);
    const f = (cc: Tensor, idx: Tensor, s: number): Tensor[] => {
      const e = emb.forward(idx);
      const hNew = antler.tanh(antler.add(e, cc));
      const cNew = antler.mul(antler.sigmoid(e), cc);
      return [hNew, antler.mul(cNew, s), cc, antler.argmax(e, 1)];
    };
    try {
      const run = (ck: boolean) =>
        tidy(() => {
          clear([c, emb.weight]);
          const [h, c2, same, arg] = ck ? antler.checkpoint(f, c, ids, k) : f(c, ids, k);
          expect(same).toBe(c);
          expect(arg.dtype).toBe('int32');
          expect(arg.requiresGrad).toBe(false);
          expect([h.shape, c2.shape]).toEqual([[N, H], [N, H]]);
          antler.sum(antler.add(antler.mul(h, c2), antler.square(same))).backward();
          return [Array.from(h.dataSync()), Array.from(c2.dataSync()), Array.from(arg.dataSync()), ...gradsOf([c, emb.weight])];
        });
      // c's gradient sums three paths, in another order than the plain graph's: equal to rounding.
      const ck = run(true), plain = run(false);
      ck.forEach((v, i) => expectClose(v!, plain[i]!, 1e-13, 1e-14, `output ${i}, seed ${SEED}`));
    } finally {
      clear([c, emb.weight]);
      for (const t of [c, ids]) t.dispose();
      emb.dispose();
    }
  });

  test('an output given twice, and a tensor from outside that needs a gradient given back: the second run picks the same outputs as the first', () => {
    // The second run once kept every output needing a gradient (each repeat, and tensors from outside):
    // INVALID_ARGUMENT "shapes [B, H], [B, H]; the first run gave [B, H]" at backward.
    const B = rng.int(1, 4), H = rng.int(2, 5);
    const lin = new nn.Linear(H, H, F64);
    const x = rand([B, H]).requiresGrad_(true), u = rand([B, H]).requiresGrad_(true);
    const all = [x, u, ...lin.parameters()];
    try {
      const run = (ck: boolean) =>
        tidy(() => {
          clear(all);
          const z = antler.sin(u);
          const f = (h: Tensor): Tensor[] => {
            const t = antler.tanh(lin.forward(h));
            return [t, z, t, h];
          };
          const [p, zz, q, same] = ck ? antler.checkpoint(f, x) : f(x);
          expect(zz).toBe(z);
          expect(same).toBe(x);
          if (ck) expect(q).toBe(p);
          antler.sum(antler.add(antler.add(antler.mul(p, zz), antler.square(q)), antler.mul(same, p))).backward();
          return gradsOf(all);
        });
      const ck = run(true), plain = run(false);
      ck.forEach((g, i) => expectClose(g!, plain[i]!, 1e-13, 1e-14, `tensor ${i}, seed ${SEED}`));
    } finally {
      clear(all);
      for (const t of [x, u]) t.dispose();
      lin.dispose();
    }
  });

  test('float32 and float64 outputs together (as PyTorch allows): each in its own dtype, the plain gradients', () => {
    // Once NOT_SUPPORTED "the outputs that need a gradient must share one dtype and device".
    const B = rng.int(1, 4), H = rng.int(2, 5);
    const lin = new nn.Linear(H, H, F64);
    const x = rand([B, H]).requiresGrad_(true);
    const all = [x, ...lin.parameters()];
    try {
      const f = (h: Tensor): Tensor[] => [antler.tanh(lin.forward(h)), antler.sin(h).cast('float32'), antler.exp(h)];
      const run = (ck: boolean) =>
        tidy(() => {
          clear(all);
          const [p, q, r] = ck ? antler.checkpoint(f, x) : f(x);
          expect([p.dtype, q.dtype, r.dtype]).toEqual(['float64', 'float32', 'float64']);
          expect(q.shape).toEqual([B, H]);
          const loss = antler.add(antler.sum(antler.mul(p, r)), antler.sum(antler.square(q)).cast('float64'));
          loss.backward();
          return [Array.from(p.dataSync()), Array.from(q.dataSync()), Array.from(r.dataSync()), ...gradsOf(all)];
        });
      const ck = run(true), plain = run(false);
      expect(ck[1]).toEqual(plain[1]);
      ck.forEach((v, i) => expectClose(v!, plain[i]!, 1e-13, 1e-14, `value ${i}, seed ${SEED}`));
    } finally {
      clear(all);
      x.dispose();
      lin.dispose();
    }
  });

  test('under noGrad it is fn itself: no node, fn run once', () => {
    const x = rand([2, 3]).requiresGrad_(true);
    let calls = 0;
    try {
      tidy(() => {
        const y = antler.noGrad(() => antler.checkpoint((h: Tensor) => (calls++, antler.exp(h)), x));
        expect(y.requiresGrad).toBe(false);
        expect(calls).toBe(1);
        expectClose(y.dataSync(), Array.from(x.dataSync()).map(Math.exp), 1e-15, 0);
      });
    } finally {
      x.dispose();
    }
  });

  test('checkpointSequential splits as PyTorch (segments − 1 runs of ⌊n / segments⌋ checkpointed, the rest plain) and gives the plain gradients', () => {
    const n = rng.int(2, 7), segments = rng.int(1, n), H = rng.int(2, 5);
    const calls = new Array<number>(n).fill(0);
    const layers = Array.from({ length: n }, () => new nn.Linear(H, H, F64));
    const stages = layers.map((l, i) => (h: Tensor) => (calls[i]++, antler.tanh(l.forward(h))));
    const seq = new nn.Sequential(...layers);
    const x = rand([3, H]).requiresGrad_(true);
    const params = [x, ...seq.parameters()];
    try {
      const grads = (run: () => Tensor) => {
        clear(params);
        tidy(() => antler.sum(antler.square(run())).backward());
        return gradsOf(params);
      };
      const plain = grads(() => stages.reduce((a, s) => s(a), x));
      calls.fill(0);
      expect(grads(() => antler.checkpointSequential(stages, segments, x))).toEqual(plain);
      const size = Math.floor(n / segments);
      expect(calls).toEqual(calls.map((_, i) => (i < size * (segments - 1) ? 2 : 1)));
      // An nn.Sequential's layers (no tanh between): its own forward's gradients.
      const seqPlain = grads(() => seq.forward(x));
      expect(grads(() => antler.checkpointSequential(seq, segments, x))).toEqual(seqPlain);
    } finally {
      clear(params);
      x.dispose();
      seq.dispose();
    }
  });

  test('errors: not a function, a bad return, a disposed argument, an argument written before backward, a second run of another shape, a second derivative, a captured tensor disposed before backward, bad segments', () => {
    const x = rand([2, 3]).requiresGrad_(true);
    try {
      expectAntlerError(() => antler.checkpoint(3 as never, x), 'INVALID_ARGUMENT', /checkpoint: expected the function to run first; got 3/);
      expectAntlerError(() => antler.checkpoint((() => 5) as never, x), 'INVALID_ARGUMENT', /must return a Tensor or a non-empty array of Tensors; got 5/);
      expectAntlerError(() => antler.checkpoint((() => []) as never, x), 'INVALID_ARGUMENT', /non-empty array/);
      // An element that is not a Tensor is named; a module's result object names its tensors.
      expectAntlerError(() => tidy(() => antler.checkpoint(((h: Tensor) => [antler.exp(h), undefined]) as never, x)), 'INVALID_ARGUMENT', /got an array whose element 1 is undefined/);
      const gru = new nn.GRU(3, 2, F64);
      try {
        expectAntlerError(() => tidy(() => antler.checkpoint(((h: Tensor) => gru.forward(antler.reshape(h, [2, 1, 3]))) as never, x)), 'INVALID_ARGUMENT', /got an object with Tensors output, hidden \(a module's result\?\): return them as an array, e\.g\. \[r\.output, r\.hidden\]/);
      } finally {
        gru.dispose();
      }
      const gone = rand([2]);
      gone.dispose();
      expectAntlerError(() => antler.checkpoint((h: Tensor) => antler.exp(h), gone), 'DISPOSED', /argument 0/);
      // Written in place between forward and backward: PyTorch's "modified by an inplace operation".
      const w = rand([2, 3]).requiresGrad_(true);
      const data = rand([2, 3]);
      try {
        tidy(() => {
          const y = antler.checkpoint((a: Tensor, b: Tensor) => antler.mul(antler.exp(a), b), x, data);
          data.assign(antler.zeros([2, 3], F64));
          expectAntlerError(() => antler.sum(y).backward(), 'MODIFIED_IN_PLACE', /'checkpoint' saved/);
        });
        // A function whose second run differs.
        let first = true;
        tidy(() => {
          const y = antler.checkpoint((a: Tensor) => {
            const r = first ? antler.exp(a) : antler.exp(antler.reshape(a, [3, 2]));
            first = false;
            return r;
          }, w);
          expectAntlerError(() => antler.sum(y).backward(), 'INVALID_ARGUMENT', /run again for the gradient, the function gave outputs needing a gradient of shapes \[3, 2\]; the first run gave \[2, 3\]/);
        });
        tidy(() => {
          const y = antler.checkpoint((a: Tensor) => antler.exp(a), w);
          expectAntlerError(() => antler.autograd.grad(antler.sum(y), [w], { createGraph: true }), 'NOT_SUPPORTED', /checkpoint/);
        });
        // A tensor fn reaches from outside, disposed before backward: named as such.
        tidy(() => {
          const z = antler.exp(x);
          const y = antler.checkpoint((a: Tensor) => antler.mul(a, z), w);
          z.dispose();
          expectAntlerError(() => antler.sum(y).backward(), 'DISPOSED', /checkpoint: run again for the gradient, the function read a tensor that has been disposed since its first run \(mul: .*\); keep what it reaches from outside alive/);
        });
      } finally {
        w.dispose();
        data.dispose();
      }
      expectAntlerError(() => antler.checkpointSequential([(h: Tensor) => h], 2, x), 'INVALID_ARGUMENT', /segments must be an integer from 1 to the number of stages \(1\); got 2/);
      expectAntlerError(() => antler.checkpointSequential([3 as never], 1, x), 'INVALID_ARGUMENT', /stage 0 must be a module/);
      expectAntlerError(() => antler.checkpointSequential({} as never, 1, x), 'INVALID_ARGUMENT', /expected an nn.Sequential/);
    } finally {
      x.grad = null;
      x.dispose();
    }
  });

  test('several outputs outside tidy(): disposing them frees everything checkpoint made (the slices that hand them back leaked)', () => {
    const x = tensor(randomArray(rng, 3), [3], { dtype: 'float64', requiresGrad: true });
    const before = antler.memory().numTensors;
    const [p, q] = antler.checkpoint((a: Tensor) => [antler.mul(a, 2), antler.sum(a)], x);
    antler.dispose([p, q]);
    expect(antler.memory().numTensors).toBe(before);
    x.dispose();
  });
});
