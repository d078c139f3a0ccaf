/**
 * A neural ODE learns the two-body problem (an experiment of DEER, Lim et
 * al., ICLR 2024, smaller): 8 states (the two bodies' positions and velocities in
 * the plane), trajectories from random near-circular orbits computed here by
 * RK4 on a fine grid, and an MLP vector field trained with Adam on the
 * squared error of whole trajectories. The solve is DEER (Newton over the
 * whole grid, gradients by implicit differentiation) or, with --method rk4,
 * RK4 on the same grid with backprop through the steps, so the two can be
 * timed against each other on one machine. Prints train and held-out loss
 * and the wall time as it goes.
 *
 *   npm run build:ts && npx tsc -p examples/tsconfig.json
 *   node dist-examples/two-body-ode.js [--steps 150] [--every 10] [--points 100] [--span 3]
 *     [--batch 16] [--hidden 64] [--lr 0.003] [--method deer|rk4] [--dtype float64|float32]
 *     [--device cpu|cuda] [--seed 1]
 */
import { Command, InvalidArgumentError } from 'commander';
import * as antler from '../dist/index';
import { nn, optim, Tensor } from '../dist/index';

const number = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`expected a number; got '${v}'`);
  return n;
};
const args = new Command()
  .option('--steps <n>', 'Adam steps', number, 150)
  .option('--every <n>', 'print every n steps', number, 10)
  .option('--points <n>', 'grid steps per trajectory (T)', number, 100)
  .option('--span <t>', 'time span of a trajectory', number, 3)
  .option('--batch <n>', 'trajectories per step (and held out)', number, 16)
  .option('--hidden <n>', 'hidden units of the field', number, 64)
  .option('--lr <x>', 'learning rate', number, 3e-3)
  .option('--method <m>', "'deer' or 'rk4'", 'deer')
  .option('--dtype <d>', "'float64' or 'float32'", 'float64')
  .option('--device <d>', "'cpu' or 'cuda'", 'cpu')
  .option('--seed <n>', 'random seed', number, 1)
  .parse()
  .opts<{ steps: number; every: number; points: number; span: number; batch: number; hidden: number; lr: number; method: 'deer' | 'rk4'; dtype: 'float64' | 'float32'; device: string; seed: number }>();

antler.setSeed(args.seed);

// ---------------------------------------------------------------- data: two bodies, G = 1, masses 1 and 0.5

const MASS = [1, 0.5];
function accel(s: number[]): number[] {
  const dx = s[2] - s[0], dy = s[3] - s[1];
  const r3 = Math.pow(dx * dx + dy * dy + 1e-3, 1.5); // softened
  return [(MASS[1] * dx) / r3, (MASS[1] * dy) / r3, (-MASS[0] * dx) / r3, (-MASS[0] * dy) / r3];
}
const deriv = (s: number[]) => [...s.slice(4), ...accel(s)];

/** The state at every grid point, by RK4 with 20 substeps per grid step. */
function trajectory(s0: number[], grid: number[]): number[][] {
  const out = [s0];
  let s = s0;
  for (let i = 0; i + 1 < grid.length; i++) {
    const h = (grid[i + 1] - grid[i]) / 20;
    for (let k = 0; k < 20; k++) {
      const k1 = deriv(s), k2 = deriv(s.map((v, j) => v + (h / 2) * k1[j]));
      const k3 = deriv(s.map((v, j) => v + (h / 2) * k2[j])), k4 = deriv(s.map((v, j) => v + h * k3[j]));
      s = s.map((v, j) => v + (h / 6) * (k1[j] + 2 * k2[j] + 2 * k3[j] + k4[j]));
    }
    out.push(s);
  }
  return out;
}

/** A random near-circular orbit about the centre of mass. */
function initialState(rand: () => number): number[] {
  const r = 0.8 + 0.4 * rand(), phase = 2 * Math.PI * rand();
  const total = MASS[0] + MASS[1];
  const v = Math.sqrt(total / r) * (0.85 + 0.3 * rand());
  const [c, s] = [Math.cos(phase), Math.sin(phase)];
  const p1 = (-MASS[1] / total) * r, p2 = (MASS[0] / total) * r;
  const v1 = (-MASS[1] / total) * v, v2 = (MASS[0] / total) * v;
  return [p1 * c, p1 * s, p2 * c, p2 * s, -v1 * s, v1 * c, -v2 * s, v2 * c];
}

let state = args.seed >>> 0;
const rand = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const T = args.points, B = args.batch, n = 8;
const grid = Array.from({ length: T + 1 }, (_, i) => (args.span * i) / T);
/** y0 [B, 8] and the trajectories [T + 1, B, 8] of B random orbits. */
function dataset(): { y0: Tensor; target: Tensor } {
  const orbits = Array.from({ length: B }, () => trajectory(initialState(rand), grid));
  const target = new Float64Array((T + 1) * B * n);
  orbits.forEach((o, b) => o.forEach((s, i) => target.set(s, (i * B + b) * n)));
  const opts = { dtype: args.dtype, device: args.device };
  return {
    y0: antler.tensor(orbits.flatMap((o) => o[0]), [B, n], opts),
    target: antler.tensor(args.dtype === 'float64' ? target : Float32Array.from(target), [T + 1, B, n], opts),
  };
}
const train = dataset(), held = dataset();

// ---------------------------------------------------------------- model

class Field extends nn.Module {
  net: nn.Sequential;
  constructor() {
    super();
    const opts = { dtype: args.dtype, device: args.device };
    this.net = this.registerModule('net', new nn.Sequential(new nn.Linear(n, args.hidden, opts), new nn.Tanh(), new nn.Linear(args.hidden, args.hidden, opts), new nn.Tanh(), new nn.Linear(args.hidden, n, opts)));
  }
  forward(_t: Tensor, y: Tensor): Tensor {
    return this.net.forward(y);
  }
}

const ode = new nn.NeuralODE(new Field(), { method: args.method, warmStart: true });
const opt = new optim.Adam(ode.parameters(), { lr: args.lr });
console.log(`two bodies, 8 states; ${B} orbits of ${T} steps over t ∈ [0, ${args.span}]; field 8-${args.hidden}-${args.hidden}-8; method ${args.method}, ${args.dtype} on ${args.device}`);

const start = Date.now();
let iterations = 0, fallbacks = 0;
for (let step = 0; step <= args.steps; step++) {
  opt.zeroGrad();
  const loss = antler.tidy(() => {
    const { y, stats } = ode.forward(train.y0, grid);
    iterations += stats.iterations;
    if (stats.fallback) fallbacks += 1;
    const l = antler.mseLoss(y, train.target);
    l.backward();
    return l.item();
  });
  opt.step();
  if (step % args.every === 0 || step === args.steps) {
    const val = antler.tidy(() => antler.noGrad(() => antler.mseLoss(ode.forward(held.y0, grid, undefined, { warmStart: false }).y, held.target).item()));
    const its = args.method === 'deer' ? `, ${(iterations / Math.max(1, step + 1)).toFixed(1)} Newton iterations per solve${fallbacks ? `, ${fallbacks} fallbacks` : ''}` : '';
    console.log(`step ${String(step).padStart(4)}  train ${loss.toExponential(3)}  held-out ${val.toExponential(3)}  ${((Date.now() - start) / 1000).toFixed(1)} s${its}`);
  }
}
opt.dispose();
ode.dispose();
for (const t of [train.y0, train.target, held.y0, held.target]) t.dispose();
