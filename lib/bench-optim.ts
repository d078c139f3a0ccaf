/**
 * `npm run bench -- optim`: the cost of one training step (zeroGrad, forward,
 * backward, update) of an MLP and of SRU and LSTM language models with each
 * optimizer, against Adam's step in the same run on the same device;
 * PyTorch's Adam and L-BFGS on the MLP when python3 with torch is
 * importable. AdaHessian's paper reports about
 * 1.6–2× an Adam step with exact Hessian-vector products ('exact' here: a
 * graph-building backward and one more backward per probe); differences
 * cost one more gradient per probe ('forward'), or two ('central').
 */
import { BenchRow, runTorch, timeIt } from './bench-timing';
import { backends } from './device';
import { tidy } from './engine';
import { Embedding, Linear, LSTM, ReLU, Sequential } from './nn';
import { reshape } from './ops/core';
import { crossEntropy } from './ops/nn';
import { AdaHessian, Adam, LBFGS, Optimizer, SGD } from './optim';
import { SRU } from './sru';
import { randn, rand, Tensor } from './tensor';

interface Sizes { batch: number; input: number; hidden: number; classes: number }

/** One case per size and device, so each row's ratio is against Adam on the same device. */
function caseName(s: Sizes, device: string): string {
  return `MLP ${s.input}-${s.hidden}-${s.classes} B=${s.batch} ${device === 'cpu' ? 'cpu' : 'cuda'}`;
}

/** A model to train: its parameters, a loss on fixed data, and its disposal. */
interface Workload {
  params: Tensor[];
  loss(): Tensor;
  dispose(): void;
}

function mlpWorkload(s: Sizes, device: string): Workload {
  const x = randn([s.batch, s.input], { device, seed: 1 });
  const labels = tidy(() => rand([s.batch], { dtype: 'int32', minval: 0, maxval: s.classes, device, seed: 2 }));
  const model = new Sequential(new Linear(s.input, s.hidden, { device }), new ReLU(), new Linear(s.hidden, s.classes, { device }));
  return {
    params: model.parameters(),
    loss: () => crossEntropy(model.forward(x), labels),
    dispose: () => {
      model.dispose();
      x.dispose();
      labels.dispose();
    },
  };
}

/**
 * A language model (embedding → recurrence → linear) on L × B tokens, the
 * recurrence a 2-layer SRU or a 1-layer LSTM: exact Hessian products through
 * it (SRU: vectorised recorded ops and a scan; LSTM: the sequence walked
 * again step by step).
 */
function lmWorkload(cell: 'sru' | 'lstm', L: number, B: number, d: number, vocab: number, device: string): Workload {
  const tokens = tidy(() => rand([L, B], { dtype: 'int32', minval: 0, maxval: vocab, device, seed: 4 }));
  const next = tidy(() => rand([L * B], { dtype: 'int32', minval: 0, maxval: vocab, device, seed: 5 }));
  const emb = new Embedding(vocab, d, { device });
  const rec = cell === 'sru' ? new SRU(d, d, { numLayers: 2, device }) : new LSTM(d, d, { device, mode: 'sequential' });
  const head = new Linear(d, vocab, { device });
  return {
    params: [...emb.parameters(), ...rec.parameters(), ...head.parameters()],
    loss: () => crossEntropy(head.forward(reshape(rec.forward(emb.forward(tokens)).output, [L * B, d])), next),
    dispose: () => {
      for (const m of [emb, rec, head]) m.dispose();
      tokens.dispose();
      next.dispose();
    },
  };
}

function antlerRows(name: string, w: Workload, device: string, repeats: number): BenchRow[] {
  const makers: [string, () => Optimizer<{ lr: number }>][] = [
    ['adam', () => new Adam(w.params, { lr: 1e-3 })],
    ['sgd (momentum 0.9)', () => new SGD(w.params, { lr: 1e-2, momentum: 0.9 })],
    ['adahessian exact', () => new AdaHessian(w.params, { lr: 1e-3, seed: 3, hvp: 'exact' }) as unknown as Optimizer<{ lr: number }>],
    ['adahessian forward', () => new AdaHessian(w.params, { lr: 1e-3, seed: 3, hvp: 'forward' }) as unknown as Optimizer<{ lr: number }>],
    ['adahessian central', () => new AdaHessian(w.params, { lr: 1e-3, seed: 3, hvp: 'central' }) as unknown as Optimizer<{ lr: number }>],
    ['lbfgs 1 iteration', () => new LBFGS(w.params, { lr: 1e-2, maxIter: 1, toleranceGrad: 0, toleranceChange: 0 }) as unknown as Optimizer<{ lr: number }>],
  ];
  const rows: BenchRow[] = [];
  try {
    for (const [impl, make] of makers) {
      const opt = make();
      const closure = () => {
        opt.zeroGrad();
        const loss = w.loss();
        loss.backward();
        return loss;
      };
      const step = () => {
        if (opt.requiresClosure) opt.step(closure);
        else {
          tidy(() => void closure());
          opt.step();
        }
      };
      const ms = timeIt(step, device, repeats);
      rows.push({ suite: 'optim', case: name, device, impl, ms });
      opt.dispose();
      for (const p of w.params) p.grad = null;
    }
  } finally {
    w.dispose();
  }
  return rows;
}

function torchRows(s: Sizes, devices: string[], repeats: number): BenchRow[] | string {
  const r = runTorch<[string, string, number][]>(`
rows = []
for dev in [${devices.map((d) => `'${d === 'cpu' ? 'cpu' : 'cuda'}'`).join(', ')}]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(${s.input}, ${s.hidden}), torch.nn.ReLU(), torch.nn.Linear(${s.hidden}, ${s.classes})).to(dev)
    x = torch.randn(${s.batch}, ${s.input}, device=dev)
    y = torch.randint(0, ${s.classes}, (${s.batch},), device=dev)
    for name, opt in [('pytorch adam', torch.optim.Adam(model.parameters(), lr=1e-3)),
                      ('pytorch lbfgs 1 iteration', torch.optim.LBFGS(model.parameters(), lr=1e-2, max_iter=1, tolerance_grad=0, tolerance_change=0))]:
        def closure():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            return loss
        def step():
            if name.startswith('pytorch lbfgs'):
                opt.step(closure)
            else:
                closure(); opt.step()
        rows.append([dev, name, timed(step, dev, ${repeats})])
print(json.dumps(rows))
`, 300_000);
  if ('note' in r) return r.note;
  return r.result.map(([dev, impl, ms]) => ({ suite: 'optim', case: caseName(s, dev), device: dev === 'cpu' ? 'cpu' : 'cuda:0', impl, ms }));
}

export function benchOptim(quick: boolean): BenchRow[] {
  const sizes: Sizes[] = quick ? [{ batch: 128, input: 32, hidden: 128, classes: 10 }] : [{ batch: 128, input: 32, hidden: 128, classes: 10 }, { batch: 512, input: 256, hidden: 1024, classes: 10 }];
  const repeats = quick ? 10 : 30;
  const devices = ['cpu', ...(backends().cuda.available ? ['cuda:0'] : [])];
  const rows: BenchRow[] = [];
  for (const s of sizes) {
    const torch = torchRows(s, devices, repeats);
    if (typeof torch === 'string') console.log(`  (${torch})`);
    for (const device of devices) {
      rows.push(...antlerRows(caseName(s, device), mlpWorkload(s, device), device, repeats));
      if (typeof torch !== 'string') rows.push(...torch.filter((r) => r.device === device));
    }
  }
  // Second derivatives through a recurrence (no PyTorch peer: the sru package is not assumed, and
  // cuDNN's LSTM has no double backward).
  const lm = quick ? { L: 16, B: 8, d: 64, vocab: 50 } : { L: 32, B: 16, d: 128, vocab: 64 };
  const lstm = quick ? { L: 16, B: 8, d: 32, vocab: 50 } : { L: 64, B: 16, d: 64, vocab: 64 };
  for (const device of devices) {
    const dev = device === 'cpu' ? 'cpu' : 'cuda';
    rows.push(...antlerRows(`SRU LM 2×${lm.d} L=${lm.L} B=${lm.B} V=${lm.vocab} ${dev}`, lmWorkload('sru', lm.L, lm.B, lm.d, lm.vocab, device), device, repeats));
    rows.push(...antlerRows(`LSTM LM ${lstm.d} L=${lstm.L} B=${lstm.B} V=${lstm.vocab} ${dev}`, lmWorkload('lstm', lstm.L, lstm.B, lstm.d, lstm.vocab, device), device, Math.min(repeats, 10)));
  }
  return rows;
}
