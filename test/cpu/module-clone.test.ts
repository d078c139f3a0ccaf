/**
 * Module.clone() (PyTorch's copy.deepcopy(module)): the copy computes what
 * the original computes (outputs and gradients equal, values bit for bit),
 * owns its tensors (writes to either leave the other alone), keeps sharing
 * (tied weights, a sub-module used twice, a cycle), keeps requiresGrad and
 * the training mode and gets no .grad; other fields copied, functions
 * shared; forward hooks and weight norm carried over with handles of their
 * own; a transformer stack's copied layers belong to the copy; AveragedModel
 * copies the model with it; errors; no leaks.
 */
import * as antler from '../../lib';
import { nn, optim, Tensor, tensor, tidy } from '../../lib';
import { expectAntlerError, expectNoLeaksInSuite, makeSeededRng, randomArray, tensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const F64 = { dtype: 'float64' as const };
const read = (t: Tensor) => Array.from(t.dataSync());
const input = (shape: number[]) => tensor(randomArray(rng, shape.reduce((a, b) => a * b, 1)), shape, F64);
/** Name → values of a module's state dict (its tensors are new ones: freed here). */
const valuesOf = (m: nn.Module) => tidy(() => Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, read(t)])));

/** A model with a bit of everything: a GRU, a batch norm with running statistics, a frozen layer, other fields. */
class Net extends nn.Module {
  rnn = new nn.GRU(3, 4, { numLayers: 2, bidirectional: true, dtype: 'float64' });
  norm = new nn.BatchNorm1d(8, F64);
  head = new nn.Linear(8, 2, F64);
  frozen = new nn.Linear(2, 2, F64);
  scale = nn.parameter(tensor([1.5], [1], F64));
  settings = { widths: [3, 4], name: 'net', table: new Float64Array([1, 2, 3]) };
  seen = new Map<string, number>([['calls', 0]]);
  activation = (x: Tensor) => antler.tanh(x);
  constructor() {
    super();
    this.frozen.requiresGrad_(false);
  }
  forward(x: Tensor): Tensor {
    this.seen.set('calls', this.seen.get('calls')! + 1);
    const h = this.rnn.forward(x).output; // [T, B, 8]
    const last = antler.reshape(antler.slice(h, [h.shape[0] - 1, 0, 0], [1, h.shape[1], 8]), [h.shape[1], 8]);
    return this.frozen.forward(antler.mul(this.activation(this.head.forward(this.norm.forward(last))), this.scale));
  }
}

describe(`Module.clone (seed ${SEED})`, () => {
  test('the copy computes what the original computes, and the two own their tensors', () => {
    const net = new Net();
    const copy = tidy(() => {
      // Running statistics away from their initial values, then the copy (inside tidy: its tensors are kept).
      net.forward(input([5, 6, 3]));
      return net.clone();
    });
    try {
      expect(copy).toBeInstanceOf(Net);
      expect(copy).not.toBe(net);
      const want = valuesOf(net);
      expect(Object.keys(valuesOf(copy))).toEqual(Object.keys(want));
      expect(valuesOf(copy)).toEqual(want);
      expect(want['norm.num_batches_tracked']).toEqual([1]);
      // Every tensor is a new one; requiresGrad as in the original (the frozen layer stays frozen); no .grad.
      const [pa, pb] = [net.parameters(), copy.parameters()];
      expect(pb.length).toBe(pa.length);
      pa.forEach((p, i) => {
        expect(pb[i]).not.toBe(p);
        expect(pb[i].requiresGrad).toBe(p.requiresGrad);
        expect(pb[i].grad).toBeNull();
      });
      expect(copy.frozen.weight.requiresGrad).toBe(false);
      expect(copy.scale.requiresGrad).toBe(true);
      // Outputs and gradients equal, bit for bit, in training mode (batch statistics) and in eval mode.
      for (const mode of ['train', 'eval'] as const) {
        net[mode]();
        copy[mode]();
        expect(copy.training).toBe(mode === 'train');
        const x = input([4, 3, 3]), w = input([3, 2]);
        try {
          for (const m of [net, copy]) m.zeroGrad();
          const outs = [net, copy].map((m) =>
            tidy(() => {
              const y = m.forward(x);
              antler.sum(antler.mul(y, w)).backward();
              return read(y);
            }),
          );
          expect(outs[1]).toEqual(outs[0]);
          pa.forEach((p, i) => expect(pb[i].grad === null ? null : read(pb[i].grad!)).toEqual(p.grad === null ? null : read(p.grad!)));
        } finally {
          x.dispose();
          w.dispose();
        }
      }
      // Other fields: copies (not shared), functions shared.
      expect(copy.settings).toEqual(net.settings);
      expect(copy.settings).not.toBe(net.settings);
      expect(copy.settings.table).not.toBe(net.settings.table);
      expect(copy.seen).not.toBe(net.seen);
      expect(copy.activation).toBe(net.activation);
      copy.settings.widths.push(9);
      expect(net.settings.widths).toEqual([3, 4]);
      // Training the copy leaves the original as it was; writing the original leaves the copy.
      const before = valuesOf(net);
      const opt = new optim.SGD(copy.parameters(), { lr: 0.1 });
      try {
        tidy(() => {
          copy.train();
          opt.zeroGrad();
          antler.sum(antler.square(copy.forward(input([3, 5, 3])))).backward();
          opt.step();
        });
      } finally {
        opt.dispose();
      }
      expect(valuesOf(net)).toEqual(before);
      expect(valuesOf(copy)['head.weight']).not.toEqual(before['head.weight']);
      const copied = valuesOf(copy);
      tidy(() => net.head.weight.assign(antler.zerosLike(net.head.weight)));
      expect(valuesOf(copy)).toEqual(copied);
    } finally {
      net.dispose();
      copy.dispose();
    }
    expect(copy.isDisposed).toBe(true);
  });

  test('sharing is kept: tied weights, a sub-module used twice, a module holding its parent', () => {
    class Tied extends nn.Module {
      embed = new nn.Embedding(6, 3, F64);
      out = new nn.Linear(3, 6, F64);
      block = new nn.Linear(3, 3, F64);
      twice = new nn.Sequential(this.block, new nn.Tanh(), this.block);
      constructor() {
        super();
        const own = this.out.weight;
        this.out.weight = this.embed.weight;
        own.dispose(); // replaced: the module frees only what it holds
      }
      forward(i: Tensor): Tensor {
        return this.out.forward(this.twice.forward(this.embed.forward(i)));
      }
    }
    const m = new Tied();
    (m.block as unknown as { owner: nn.Module }).owner = m;
    const c = m.clone();
    try {
      expect(c.out.weight).toBe(c.embed.weight);
      expect(c.out.weight).not.toBe(m.out.weight);
      expect(c.twice.layers[0]).toBe(c.block);
      expect(c.twice.layers[2]).toBe(c.block);
      expect((c.block as unknown as { owner: nn.Module }).owner).toBe(c);
      expect(c.parameters().length).toBe(m.parameters().length);
      expect(tidy(() => Object.keys(c.stateDict()))).toEqual(tidy(() => Object.keys(m.stateDict())));
      const i = tensor([0, 5, 2, 2], [4], { dtype: 'int32' });
      try {
        expect(tidy(() => read(c.forward(i)))).toEqual(tidy(() => read(m.forward(i))));
      } finally {
        i.dispose();
      }
      // Still tied after a step on the copy.
      const opt = new optim.Adam(c.parameters(), { lr: 0.01 });
      try {
        tidy(() => {
          antler.sum(c.forward(tensor([1, 3], [2], { dtype: 'int32' }))).backward();
          opt.step();
        });
      } finally {
        opt.dispose();
      }
      expect(read(c.out.weight)).toEqual(read(c.embed.weight));
      expect(read(c.embed.weight)).not.toEqual(read(m.embed.weight));
    } finally {
      m.dispose();
      c.dispose();
    }
  });

  test('forward hooks and weight norm come along, each with handles of its own', () => {
    const calls: string[] = [];
    const lin = nn.utils.weightNorm(new nn.Linear(3, 2, F64), 'weight', 0) as nn.Linear & { weight_g: Tensor; weight_v: Tensor };
    const pre = lin.registerForwardPreHook((mod) => {
      calls.push(mod === lin ? 'pre original' : 'pre copy');
    });
    lin.registerForwardHook((_mod, _args, out) => antler.mul(out as Tensor, 2));
    const c = lin.clone();
    const x = input([5, 3]);
    try {
      const g = read(c.weight_g), v = read(c.weight_v);
      expect(g).toEqual(read(lin.weight_g));
      // The copy's output is 2 · (x (g·v/‖v‖)ᵀ + b), from its own g and v: double g and its rows double.
      tidy(() => c.weight_g.assign(antler.mul(c.weight_g, 2)));
      const y = tidy(() => read(c.forward(x))), yOrig = tidy(() => read(lin.forward(x)));
      expect(calls).toEqual(['pre copy', 'pre original']);
      const xs = read(x), b = read(c.bias!);
      for (let r = 0; r < 5; r++)
        for (let o = 0; o < 2; o++) {
          let n = 0, dot = 0;
          for (let k = 0; k < 3; k++) {
            n += v[o * 3 + k] ** 2;
            dot += xs[r * 3 + k] * v[o * 3 + k];
          }
          expect(y[r * 2 + o]).toBeCloseTo(2 * ((2 * g[o] * dot) / Math.sqrt(n) + b[o]), 12);
          expect(yOrig[r * 2 + o]).toBeCloseTo(2 * ((g[o] * dot) / Math.sqrt(n) + b[o]), 12);
        }
      // Removing the original's hook leaves the copy's; removeWeightNorm works on the copy alone.
      pre.remove();
      tidy(() => {
        c.forward(x);
      });
      expect(calls).toEqual(['pre copy', 'pre original', 'pre copy']);
      nn.utils.removeWeightNorm(c);
      expect(tidy(() => Object.keys(c.stateDict())).sort()).toEqual(['bias', 'weight']);
      expect(tidy(() => Object.keys(lin.stateDict())).sort()).toEqual(['bias', 'weight_g', 'weight_v']);
      tidy(() => {
        lin.forward(x);
      });
    } finally {
      x.dispose();
      lin.dispose();
      c.dispose();
    }
  });

  test("a transformer stack's copy owns its layers; SRU and AveragedModel copy through clone()", () => {
    const enc = new nn.TransformerEncoder(new nn.TransformerEncoderLayer(4, 2, { dtype: 'float64', dropout: 0 }), 2);
    const c = enc.clone();
    const sru = new nn.SRU(3, 4, { numLayers: 2, bidirectional: true, dtype: 'float64' });
    const sc = sru.clone();
    const avg = new optim.AveragedModel(sru);
    // A layer of the copied stack belongs to that stack: a new stack given it makes copies, as for the original's.
    const other = new nn.TransformerEncoder(c.layers.get(0), 2);
    try {
      expect(other.layers.get(0)).not.toBe(c.layers.get(0));
      expect(c.layers.get(0)).not.toBe(enc.layers.get(0));
      const z = input([3, 2, 4]), xs = input([6, 2, 3]);
      try {
        expect(tidy(() => read(c.forward(z)))).toEqual(tidy(() => read(enc.forward(z))));
        expect(tidy(() => read(sc.forward(xs).output))).toEqual(tidy(() => read(sru.forward(xs).output)));
        expect(avg.module).toBeInstanceOf(nn.SRU);
        expect(avg.module).not.toBe(sru);
        expect(tidy(() => read(avg.forward(xs).output))).toEqual(tidy(() => read(sru.forward(xs).output)));
      } finally {
        z.dispose();
        xs.dispose();
      }
    } finally {
      for (const m of [enc, c, sru, sc, avg, other]) m.dispose();
    }
  });

  // A copy whose fields only looked right (a cached view of a parameter copied apart from it) would drift from
  // its original once both are trained: the same steps on the same data must keep them equal, bit for bit.
  test.each([
    ['LSTM (projSize, 2 layers, bidirectional)', () => new nn.LSTM(3, 5, { numLayers: 2, bidirectional: true, projSize: 2, dtype: 'float64' }), [6, 2, 3]],
    ['GRU in deer mode', () => new nn.GRU(3, 4, { mode: 'deer', dtype: 'float64' }), [6, 2, 3]],
    ['SRU (projection, layer norm)', () => new nn.SRU(3, 4, { numLayers: 2, projectionSize: 2, layerNorm: true, dtype: 'float64' }), [6, 2, 3]],
    ['Conv1d + BatchNorm1d', () => new nn.Sequential(new nn.Conv1d(3, 4, 3, { padding: 1, dtype: 'float64' }), new nn.BatchNorm1d(4, F64)), [2, 3, 7]],
    ['TransformerEncoder', () => new nn.TransformerEncoder(new nn.TransformerEncoderLayer(4, 2, { dtype: 'float64', dropout: 0, dimFeedforward: 8 }), 2), [3, 2, 4]],
  ] as const)('trained alike, the copy and its original stay equal: %s', (_name, make, shape) => {
    const m = make() as nn.Module;
    const c = m.clone();
    const opts = [m, c].map((x) => new optim.Adam(x.parameters(), { lr: 0.05 }));
    const outOf = (y: unknown): Tensor => (y instanceof Tensor ? y : (y as { output: Tensor }).output);
    try {
      for (let step = 0; step < 3; step++) {
        const x = input([...shape]);
        try {
          const outs = [m, c].map((mod, k) =>
            tidy(() => {
              opts[k].zeroGrad();
              const y = outOf(mod.forward(x));
              antler.sum(antler.square(y)).backward();
              opts[k].step();
              return read(y);
            }),
          );
          expect(outs[1]).toEqual(outs[0]);
        } finally {
          x.dispose();
        }
      }
      expect(valuesOf(c)).toEqual(valuesOf(m));
    } finally {
      opts.forEach((o) => o.dispose());
      m.dispose();
      c.dispose();
    }
  });

  test("tensors on plain fields (not parameters or buffers) are the copy's own: disposing it frees them", () => {
    class Held extends nn.Module {
      lin = new nn.Linear(3, 3, F64);
      pe = input([3]); // a constant kept on a plain field (not a buffer)
      cache = { scale: input([1]), list: [input([2])] };
      forward(x: Tensor): Tensor {
        return antler.mul(this.lin.forward(antler.add(x, this.pe)), this.cache.scale);
      }
    }
    const m = new Held();
    const x = input([2, 3]);
    try {
      const want = [read(m.pe), read(m.cache.scale), read(m.cache.list[0])];
      const before = antler.memory().numTensors;
      for (let i = 0; i < 5; i++) {
        const c = m.clone();
        expect([read(c.pe), read(c.cache.scale), read(c.cache.list[0])]).toEqual(want);
        expect(tidy(() => read(c.forward(x)))).toEqual(tidy(() => read(m.forward(x))));
        c.dispose();
        expect([c.pe.isDisposed, c.cache.scale.isDisposed, c.cache.list[0].isDisposed]).toEqual([true, true, true]);
      }
      // Five copies made and disposed: nothing left behind, the original's fields untouched.
      expect(antler.memory().numTensors).toBe(before);
      expect([read(m.pe), read(m.cache.scale), read(m.cache.list[0])]).toEqual(want);
      // A copy of the copy owns its own (its original, the first copy, still holds its).
      const c1 = m.clone();
      const c2 = c1.clone();
      c2.dispose();
      expect(c1.pe.isDisposed).toBe(false);
      c1.dispose();
      expect(antler.memory().numTensors).toBe(before);
    } finally {
      x.dispose();
      m.dispose();
      for (const t of [m.pe, m.cache.scale, m.cache.list[0]]) t.dispose();
    }
  });

  test('a Map, Set or Array subclass on a field keeps its class and its own fields in the copy', () => {
    class Counts extends Map<string, number> {
      bump(k: string): this {
        return this.set(k, (this.get(k) ?? 0) + 1);
      }
    }
    class Tags extends Set<string> {
      has2(a: string, b: string): boolean {
        return this.has(a) && this.has(b);
      }
    }
    class History extends Array<number> {
      last(): number {
        return this[this.length - 1];
      }
    }
    class Kept extends nn.Module {
      lin = new nn.Linear(2, 2, F64);
      counts = new Counts([['calls', 2]]);
      tags = new Tags(['a', 'b']);
      history = History.from([1, 2, 3]) as History;
      noted = Object.assign([4, 5], { note: 'kept', nested: { w: [6] } });
      forward(x: Tensor): Tensor {
        this.counts.bump('calls');
        return this.lin.forward(x);
      }
    }
    const m = new Kept();
    const c = m.clone();
    try {
      expect(c.counts).toBeInstanceOf(Counts);
      expect(c.counts).not.toBe(m.counts);
      c.counts.bump('calls');
      expect([c.counts.get('calls'), m.counts.get('calls')]).toEqual([3, 2]);
      expect(c.tags).toBeInstanceOf(Tags);
      expect(c.tags.has2('a', 'b')).toBe(true);
      expect(c.history).toBeInstanceOf(History);
      expect([c.history.last(), c.history.length, [...c.history]]).toEqual([3, 3, [1, 2, 3]]);
      expect([...c.noted, c.noted.note, c.noted.nested.w]).toEqual([4, 5, 'kept', [6]]);
      expect(c.noted.nested).not.toBe(m.noted.nested);
    } finally {
      m.dispose();
      c.dispose();
    }
  });

  test('errors: a disposed module; nothing is left behind', () => {
    const m = new nn.Linear(2, 2, F64);
    m.dispose();
    expectAntlerError(() => m.clone(), 'DISPOSED', /Module.clone: this Linear module has been disposed/);
    const n = new nn.Linear(2, 2, F64);
    n.bias!.dispose();
    expectAntlerError(() => n.clone(), 'DISPOSED', /Module.clone: the Linear module's parameter 'bias'/);
    n.dispose();
    // #private fields cannot be copied field by field: refused at clone(), not a TypeError at the copy's first call.
    class Hidden extends nn.Module {
      #gain = 2;
      lin = new nn.Linear(2, 2, F64);
      forward(x: Tensor): Tensor {
        return antler.mul(this.lin.forward(x), this.#gain);
      }
    }
    const h = new Hidden();
    expectAntlerError(() => h.clone(), 'NOT_SUPPORTED', /Module.clone: Hidden declares #private fields \(#gain\).*give Hidden a clone\(\) of its own/);
    class Box {
      #v = 1;
      get v(): number {
        return this.#v;
      }
    }
    const holder = new (class Holder extends nn.Module {
      box = new Box();
      forward(x: Tensor): Tensor {
        return x;
      }
    })();
    expectAntlerError(() => holder.clone(), 'NOT_SUPPORTED', /a field holds a Box, whose #private fields \(#v\)/);
    // A class with a clone() of its own is copied by it, also as a part of a model being copied.
    class Own extends nn.Module {
      #gain: number;
      lin = new nn.Linear(2, 2, F64);
      constructor(gain: number) {
        super();
        this.#gain = gain;
      }
      clone(): this {
        const c = new Own(this.#gain) as this;
        tidy(() => {
          c.loadStateDict(this.stateDict());
        });
        return c;
      }
      forward(x: Tensor): Tensor {
        return antler.mul(this.lin.forward(x), this.#gain);
      }
    }
    const outer = new nn.Sequential(new Own(3), new nn.Tanh());
    const oc = outer.clone();
    const x = input([4, 2]);
    try {
      expect(oc.layers[0]).toBeInstanceOf(Own);
      expect(oc.layers[0]).not.toBe(outer.layers[0]);
      expect(tidy(() => read(oc.forward(x)))).toEqual(tidy(() => read(outer.forward(x))));
    } finally {
      x.dispose();
      for (const m of [h, holder, outer, oc]) m.dispose();
    }
  });

  test('a PackedSequence on a field is copied whole (its tensors the copy\'s own)', () => {
    class Cached extends nn.Module {
      lin = new nn.Linear(2, 2, F64);
      last: antler.PackedSequence | null = null;
      forward(x: Tensor): Tensor {
        return this.lin.forward(x);
      }
    }
    const m = new Cached();
    m.last = tidy(() => antler.packSequence([input([3, 2]), input([1, 2])]));
    const c = m.clone();
    try {
      expect(c.last).toBeInstanceOf(antler.PackedSequence);
      expect(c.last).not.toBe(m.last);
      expect(read(c.last!.data)).toEqual(read(m.last.data));
      expect(read(c.last!.batchSizes)).toEqual([2, 1, 1]);
      c.dispose();
      expect(c.last!.data.isDisposed).toBe(true);
      expect(m.last.data.isDisposed).toBe(false);
    } finally {
      m.last.dispose();
      m.dispose();
    }
  });
});
