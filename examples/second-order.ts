/**
 * Second-order optimizers beside first-order ones: the same MLP (2-h-h-3,
 * tanh) from the same initial weights learns three interleaved spirals with
 * SGD (momentum), Adam, AdaHessian (Hutchinson's Hessian diagonal from exact
 * Hessian-vector products: the closure's backward() builds a graph and each
 * probe is one more backward pass through it) and L-BFGS (strong Wolfe line
 * search), each for the same number of steps on the same full batch.
 *
 * Every `--every` steps it prints each optimizer's training loss; at the end,
 * held-out accuracy, the wall time per step and, for AdaHessian, how its
 * Hessian-vector products were taken (`lastHvpMethod`). Then one exact
 * Hessian-vector product of the trained loss with `hvp`, checked against
 * central differences of gradients.
 *
 *   npm run build:ts && npx tsc -p examples/tsconfig.json
 *   node dist-examples/second-order.js [--steps 200] [--every 25] [--points 300] [--hidden 32]
 *     [--only sgd,adam,adahessian,lbfgs] [--dtype float64|float32] [--device cpu|cuda] [--seed 1]
 */
import { Command, InvalidArgumentError } from 'commander';
import * as antler from '../dist/index';
import { nn, optim, Tensor } from '../dist/index';

const number = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`expected a number; got '${v}'`);
  return n;
};
const NAMES = ['sgd', 'adam', 'adahessian', 'lbfgs'] as const;
type Name = (typeof NAMES)[number];
const args = new Command()
  .option('--steps <n>', 'optimizer steps', number, 200)
  .option('--every <n>', 'print every n steps', number, 25)
  .option('--points <n>', 'points per spiral (and as many held out)', number, 300)
  .option('--hidden <n>', 'hidden units per layer', number, 32)
  .option('--only <list>', 'optimizers to run, comma-separated', NAMES.join(','))
  .option('--dtype <d>', "'float64' or 'float32'", 'float64')
  .option('--device <d>', "'cpu' or 'cuda'", 'cpu')
  .option('--seed <n>', 'random seed', number, 1)
  .parse()
  .opts<{ steps: number; every: number; points: number; hidden: number; only: string; dtype: 'float32' | 'float64'; device: string; seed: number }>();

const names = args.only.split(',').map((s) => s.trim()) as Name[];
for (const n of names) if (!NAMES.includes(n)) throw new Error(`--only: unknown optimizer '${n}'; expected some of ${NAMES.join(', ')}`);
const opts = { dtype: args.dtype, device: args.device };

let state = args.seed >>> 0;
const rand = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

/** Three spirals of `n` noisy points each: x [3n, 2], labels [3n]. */
function spirals(n: number): { x: Tensor; y: Tensor } {
  const xs: number[] = [], ys: number[] = [];
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < n; i++) {
      const r = (i + 1) / n, a = (c * 2 * Math.PI) / 3 + 4 * r + 0.15 * (rand() - 0.5);
      xs.push(r * Math.cos(a), r * Math.sin(a));
      ys.push(c);
    }
  return { x: antler.tensor(xs, [3 * n, 2], opts), y: antler.tensor(ys, [3 * n], { dtype: 'int32', device: args.device }) };
}

const train = spirals(args.points), held = spirals(args.points);
const makeModel = () => {
  antler.setSeed(args.seed); // the same initial weights for every optimizer
  return new nn.Sequential(new nn.Linear(2, args.hidden, opts), new nn.Tanh(), new nn.Linear(args.hidden, args.hidden, opts), new nn.Tanh(), new nn.Linear(args.hidden, 3, opts));
};
const makeOptimizer = (name: Name, params: Tensor[]): optim.Optimizer<{ lr: number }> => {
  switch (name) {
    case 'sgd':
      return new optim.SGD(params, { lr: 0.1, momentum: 0.9 });
    case 'adam':
      return new optim.Adam(params, { lr: 0.01 });
    case 'adahessian':
      return new optim.AdaHessian(params, { lr: 0.1, seed: args.seed }) as unknown as optim.Optimizer<{ lr: number }>;
    case 'lbfgs':
      return new optim.LBFGS(params, { maxIter: 1, maxEval: 25, lineSearchFn: 'strong_wolfe' }) as unknown as optim.Optimizer<{ lr: number }>;
  }
};

console.log(`three spirals, ${3 * args.points} points (as many held out); MLP 2-${args.hidden}-${args.hidden}-3, ${args.dtype} on ${args.device}`);
const runs = names.map((name) => {
  const model = makeModel();
  return { name, model, opt: makeOptimizer(name, model.parameters()), loss: NaN, ms: 0 };
});
const closureOf = (r: (typeof runs)[number]) => () => {
  r.opt.zeroGrad();
  const loss = antler.crossEntropy(r.model.forward(train.x), train.y);
  loss.backward();
  return loss;
};
for (let step = 1; step <= args.steps; step++) {
  for (const r of runs) {
    const start = process.hrtime.bigint();
    const closure = closureOf(r);
    if (r.opt.requiresClosure) r.loss = r.opt.step(closure) as number;
    else {
      r.loss = antler.tidy(() => closure().item());
      r.opt.step();
    }
    r.ms += Number(process.hrtime.bigint() - start) / 1e6;
  }
  if (step % args.every === 0 || step === args.steps)
    console.log(`step ${String(step).padStart(4)}  ` + runs.map((r) => `${r.name} ${r.loss.toFixed(4)}`).join('  '));
}

for (const r of runs) {
  const accuracy = antler.tidy(() => antler.noGrad(() => antler.equal(antler.argmax(r.model.forward(held.x), -1), held.y).cast('float64').mean().item()));
  const how = r.opt instanceof optim.AdaHessian ? ` (Hessian-vector products: ${r.opt.lastHvpMethod})` : '';
  console.log(`${r.name.padEnd(10)} held-out accuracy ${(100 * accuracy).toFixed(1)}%, ${(r.ms / args.steps).toFixed(2)} ms per step${how}`);
}

// One exact Hessian-vector product of the first model's loss over its first layer's weight,
// against central differences of gradients along the same v.
const first = runs[0].model;
const W = first.parameters()[0];
antler.tidy(() => {
  const lossAt = (w: Tensor) => {
    const h = antler.tanh(antler.linear(train.x, w, first.parameters()[1]));
    const rest = antler.noGrad(() => first.parameters().slice(2));
    return antler.crossEntropy(antler.linear(antler.tanh(antler.linear(h, rest[0], rest[1])), rest[2], rest[3]), train.y);
  };
  const v = antler.randn(W.shape, opts);
  const exact = antler.hvp(lossAt, W.detach(), v);
  const central = antler.hvp(lossAt, W.detach(), v, { method: 'central' });
  const gap = antler.max(antler.abs(antler.sub(exact.hvp, central.hvp))).item() / antler.max(antler.abs(exact.hvp)).item();
  console.log(`H·v of the trained ${runs[0].name} loss over its first weight: ${exact.method}; against central differences, max relative difference ${gap.toExponential(1)}`);
});

for (const r of runs) {
  r.opt.dispose();
  r.model.dispose();
}
antler.dispose([train.x, train.y, held.x, held.y]);
