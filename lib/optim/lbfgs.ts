/**
 * L-BFGS with torch.optim.LBFGS's options, defaults and iteration, step for
 * step: the two-loop recursion over the last `historySize` curvature pairs,
 * a first step of min(1, 1/‖g‖₁)·lr, and either fixed steps or a line search
 * satisfying the strong Wolfe conditions (bracketing, then zooming with
 * cubic interpolation; Nocedal & Wright, Algorithms 3.5 and 3.6).
 *
 * The parameters are handled as one flat vector (all must share a dtype and
 * a device), so each dot product is one reduction read back to the host, as
 * in PyTorch. Vectors the optimizer holds (history, direction, previous
 * gradient) are freed as soon as they are dropped; dispose() frees the rest.
 */
import { noGrad } from '../autograd/graph';
import { keep, tidy } from '../engine';
import { fail } from '../errors';
import { abs, concat, matmul, max as maxOp, mul, neg, reshape, slice, sub, sum } from '../ops/core';
import { Tensor, zeros } from '../tensor';
import { checkFinite, checkInteger, describe } from '../validate';
import { axpy, checkLr, Optimizer, ParamGroup, ParamsArg } from './optimizer';

export interface LBFGSOptions {
  /** Learning rate: the step length tried first (default 1). */
  lr: number;
  /** Most iterations per step() (default 20). */
  maxIter: number;
  /**
   * Most closure evaluations per step() (default maxIter · 5/4, rounded down,
   * fixed at construction). The strong Wolfe search gets what is left of it
   * (PyTorch 2's max_ls), so maxIter 1 with the default leaves it no
   * evaluation beyond its first trial: set maxEval (e.g. 25) for a search.
   */
  maxEval: number | null;
  /** Stop when the largest |gradient| entry is at most this (default 1e-7). */
  toleranceGrad: number;
  /** Stop when a step or the change in loss is below this (default 1e-9). */
  toleranceChange: number;
  /** Curvature pairs kept (default 100). */
  historySize: number;
  /** null: fixed steps of lr; 'strong_wolfe': a line search. */
  lineSearchFn: 'strong_wolfe' | null;
}

/**
 * The line search's constants, as in PyTorch: its bracket tolerance is 1e-9
 * whatever the optimizer's toleranceChange (torch passes it no tolerance).
 */
const C1 = 1e-4, C2 = 0.9, LS_TOLERANCE_CHANGE = 1e-9;

type Vec = Tensor;

/**
 * The minimizer of the cubic through (x1, f1) and (x2, f2) with slopes g1 and
 * g2, clamped to [lo, hi] (by default the interval between x1 and x2); the
 * midpoint of [lo, hi] when the cubic has no minimum (Nocedal & Wright 3.59).
 */
export function cubicMinimizer(x1: number, f1: number, g1: number, x2: number, f2: number, g2: number, bounds?: [number, number]): number {
  const [lo, hi] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
  const d1 = g1 + g2 - (3 * (f1 - f2)) / (x1 - x2);
  const disc = d1 * d1 - g1 * g2;
  if (!(disc >= 0)) return (lo + hi) / 2;
  const d2 = Math.sqrt(disc);
  // Written from the point on the right so the division is well conditioned.
  const at = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2)) : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
  return Math.min(Math.max(at, lo), hi);
}

/** torch.optim.LBFGS. step() needs a closure; one parameter group only. */
export class LBFGS extends Optimizer<LBFGSOptions> {
  override readonly requiresClosure = true;

  /** Not supported: L-BFGS's history is flat vectors over all parameters; a fresh one rebuilds it in historySize iterations. */
  override stateDict(): never {
    fail('INVALID_ARGUMENT', 'LBFGS.stateDict: not supported (its curvature history spans all parameters); save the model, and a new LBFGS rebuilds the history in a few iterations');
  }

  override loadStateDict(): never {
    fail('INVALID_ARGUMENT', 'LBFGS.loadStateDict: not supported (see LBFGS.stateDict)');
  }
  private readonly params: Tensor[];
  private funcEvalsTotal = 0;
  private iterations = 0;
  private d: Vec | null = null;
  private t = 0;
  private oldDirs: Vec[] = [];
  private oldSteps: Vec[] = [];
  private ro: number[] = [];
  private hDiag = 1;
  private prevFlatGrad: Vec | null = null;
  private prevLoss = NaN;

  constructor(params: ParamsArg<LBFGSOptions>, options: Partial<LBFGSOptions> = {}) {
    super(
      params,
      { lr: 1, maxIter: 20, maxEval: null, toleranceGrad: 1e-7, toleranceChange: 1e-9, historySize: 100, lineSearchFn: null },
      options,
      'LBFGS',
    );
    if (this.paramGroups.length !== 1)
      fail('INVALID_ARGUMENT', `LBFGS: parameter groups are not supported (it treats the parameters as one vector); got ${this.paramGroups.length} groups. Pass model.parameters() and the options once`);
    this.params = this.paramGroups[0].params;
    const g = this.paramGroups[0];
    if (g.maxEval === null) g.maxEval = Math.floor((g.maxIter * 5) / 4);
    const { dtype, device } = this.params[0];
    this.params.forEach((p, i) => {
      if (p.dtype !== dtype || p.device !== device)
        fail(p.dtype !== dtype ? 'DTYPE_MISMATCH' : 'DEVICE_MISMATCH', `LBFGS: every parameter must have the same dtype and device (they form one vector); parameter 0 is ${dtype} on ${device}, parameter ${i} is ${p.dtype} on ${p.device}`);
    });
  }

  /** L-BFGS keeps one parameter group (torch's LBFGS refuses a second one too): always throws INVALID_ARGUMENT. */
  override addParamGroup(_group: { params: Tensor[] | Tensor } & Partial<LBFGSOptions>): void {
    fail('INVALID_ARGUMENT', 'LBFGS.addParamGroup: L-BFGS supports one parameter group only (it treats the parameters as one vector, with one history); make a new LBFGS over all the parameters instead');
  }

  protected validate(g: LBFGSOptions, name: string): void {
    checkLr(g.lr, name);
    checkInteger(g.maxIter, name, 'maxIter', 1);
    if (g.maxEval !== null) checkInteger(g.maxEval, name, 'maxEval', 1);
    for (const k of ['toleranceGrad', 'toleranceChange'] as const) {
      checkFinite(g[k], name, k);
      if (g[k] < 0) fail('INVALID_ARGUMENT', `${name}: ${k} must be >= 0; got ${g[k]}`);
    }
    checkInteger(g.historySize, name, 'historySize', 1);
    if (g.lineSearchFn !== null && g.lineSearchFn !== 'strong_wolfe')
      fail('INVALID_ARGUMENT', `${name}: lineSearchFn must be null or 'strong_wolfe'; got ${describe(g.lineSearchFn)}`);
  }

  protected stateKeys(): { tensors: readonly string[]; numbers: readonly string[] } {
    return { tensors: [], numbers: [] };
  }

  protected update(): void {
    // step() is overridden: L-BFGS moves all parameters along one direction.
  }

  /** Closure evaluations over all step() calls (PyTorch's state['func_evals']). */
  get funcEvals(): number {
    return this.funcEvalsTotal;
  }

  /** Iterations over all step() calls (PyTorch's state['n_iter']). */
  get nIter(): number {
    return this.iterations;
  }

  /**
   * Runs up to maxIter L-BFGS iterations. The closure must zero the grads,
   * compute the loss, call backward and return the loss; each call runs
   * inside tidy(). Returns the loss at the starting point.
   */
  step(closure?: () => Tensor | number): number {
    if (closure === undefined)
      fail('INVALID_ARGUMENT', 'LBFGS.step: a closure is required, as L-BFGS evaluates the loss several times per step: opt.step(() => { opt.zeroGrad(); const loss = lossOf(model); loss.backward(); return loss; })');
    this.checkParamsAlive();
    this.checkGroupOptions();
    const o = this.paramGroups[0] as ParamGroup<LBFGSOptions>;
    const maxEval = o.maxEval ?? Math.floor((o.maxIter * 5) / 4);

    const origLoss = this.lossOf(closure);
    let loss = origLoss;
    let currentEvals = 1;
    this.funcEvalsTotal += 1;
    let flatGrad: Vec = this.gatherFlatGrad();
    const owned = new Set<Vec>([flatGrad]);
    try {
      if (this.absMax(flatGrad) <= o.toleranceGrad) return origLoss;
      let nIter = 0;
      while (nIter < o.maxIter) {
        nIter += 1;
        this.iterations += 1;
        if (this.iterations === 1) {
          this.replaceDirection(vec(() => neg(flatGrad)));
          this.clearHistory();
          this.hDiag = 1;
        } else {
          this.updateHistory(flatGrad, o.historySize);
          this.replaceDirection(this.twoLoop(flatGrad));
        }
        // The gradient becomes the optimizer's previous gradient (held across steps).
        this.prevFlatGrad?.dispose();
        this.prevFlatGrad = flatGrad;
        owned.delete(flatGrad);
        this.prevLoss = loss;
        this.t = this.iterations === 1 ? Math.min(1, 1 / this.absSum(flatGrad)) * o.lr : o.lr;
        const d = this.d!;
        const gtd = dot(flatGrad, d);
        if (gtd > -o.toleranceChange) break;

        let lsEvals = 0;
        let optCond = false;
        if (o.lineSearchFn === 'strong_wolfe') {
          const x0 = vec(() => this.flatParams()); // the last accepted point
          try {
            let r: { loss: number; grad: Vec; t: number; evals: number };
            try {
              // At most the evaluations the step has left (torch 2's max_ls = max_eval − current_evals).
              r = this.strongWolfe(closure, x0, this.t, d, loss, flatGrad, gtd, maxEval - currentEvals);
            } catch (e) {
              // The closure threw at a trial point: go back to the last accepted
              // point and forget the curvature pairs, whose last step was never taken.
              this.setParams(x0);
              this.resetState();
              throw e;
            }
            loss = r.loss;
            flatGrad = r.grad;
            owned.add(flatGrad);
            this.t = r.t;
            lsEvals = r.evals;
            this.setParams(x0);
            this.addDirection(this.t, d);
          } finally {
            x0.dispose();
          }
          optCond = this.absMax(flatGrad) <= o.toleranceGrad;
        } else {
          this.addDirection(this.t, d);
          if (nIter !== o.maxIter) {
            loss = this.lossOf(closure);
            flatGrad = this.gatherFlatGrad();
            owned.add(flatGrad);
            optCond = this.absMax(flatGrad) <= o.toleranceGrad;
            lsEvals = 1;
          }
        }
        currentEvals += lsEvals;
        this.funcEvalsTotal += lsEvals;

        if (nIter === o.maxIter || currentEvals >= maxEval || optCond) break;
        if (noGrad(() => tidy(() => maxOp(abs(mul(d, this.t))).item())) <= o.toleranceChange) break;
        if (Math.abs(loss - this.prevLoss) < o.toleranceChange) break;
      }
      return origLoss;
    } finally {
      for (const v of owned) v.dispose();
    }
  }

  /** Frees the history, direction and previous gradient; the next step starts afresh. */
  dispose(): void {
    this.resetState();
    super.dispose();
  }

  private resetState(): void {
    this.clearHistory();
    this.d?.dispose();
    this.d = null;
    this.prevFlatGrad?.dispose();
    this.prevFlatGrad = null;
    this.iterations = 0;
    this.hDiag = 1;
  }

  private replaceDirection(d: Vec): void {
    this.d?.dispose();
    this.d = keep(d);
  }

  private clearHistory(): void {
    for (const v of [...this.oldDirs, ...this.oldSteps]) v.dispose();
    this.oldDirs = [];
    this.oldSteps = [];
    this.ro = [];
  }

  /** Adds the pair (s, y) from the last iteration when its curvature yᵀs is positive. */
  private updateHistory(flatGrad: Vec, historySize: number): void {
    const y = vec(() => sub(flatGrad, this.prevFlatGrad!));
    const s = vec(() => mul(this.d!, this.t));
    const ys = dot(y, s);
    if (ys > 1e-10) {
      if (this.oldDirs.length === historySize) {
        this.oldDirs.shift()!.dispose();
        this.oldSteps.shift()!.dispose();
        this.ro.shift();
      }
      this.oldDirs.push(y);
      this.oldSteps.push(s);
      this.ro.push(1 / ys);
      this.hDiag = ys / dot(y, y);
    } else {
      y.dispose();
      s.dispose();
    }
  }

  /** d = −H g by the two-loop recursion, with H₀ = hDiag·I; q and r are updated in place. */
  private twoLoop(flatGrad: Vec): Vec {
    const m = this.oldDirs.length;
    const al = new Array<number>(m);
    const q = vec(() => neg(flatGrad));
    for (let i = m - 1; i >= 0; i--) {
      al[i] = dot(this.oldSteps[i], q) * this.ro[i];
      axpy(q, this.oldDirs[i], -al[i]);
    }
    const r = vec(() => mul(q, this.hDiag));
    q.dispose();
    for (let i = 0; i < m; i++) {
      const be = dot(this.oldDirs[i], r) * this.ro[i];
      axpy(r, this.oldSteps[i], al[i] - be);
    }
    return r;
  }

  /**
   * A step length t along d satisfying the strong Wolfe conditions from x0
   * (loss f, gradient g, slope gtd): f(x0 + t d) ≤ f + c1·t·gtd and
   * |∇f(x0 + t d)ᵀd| ≤ c2·|gtd|. Returns the loss and gradient at that
   * point (a new vector) and the evaluations used. The parameters are left
   * wherever the last evaluation put them.
   */
  private strongWolfe(closure: () => Tensor | number, x0: Vec, t0: number, d: Vec, f: number, g: Vec, gtd: number, maxLs: number): { loss: number; grad: Vec; t: number; evals: number } {
    const live = new Set<Vec>();
    try {
      return this.strongWolfeSearch(closure, x0, t0, d, f, g, gtd, maxLs, live);
    } finally {
      // Everything but the gradient handed back (removed from live) is freed, also when the closure throws.
      for (const v of live) v.dispose();
    }
  }

  private strongWolfeSearch(closure: () => Tensor | number, x0: Vec, t0: number, d: Vec, f: number, g: Vec, gtd: number, maxLs: number, live: Set<Vec>): { loss: number; grad: Vec; t: number; evals: number } {
    const dNorm = this.absMax(d);
    const at = (t: number): { f: number; g: Vec; gtd: number } => {
      this.setParams(x0);
      this.addDirection(t, d);
      const fv = this.lossOf(closure);
      const gv = this.gatherFlatGrad();
      live.add(gv);
      return { f: fv, g: gv, gtd: dot(gv, d) };
    };
    let t = t0;
    let cur = at(t);
    let evals = 1;
    let prev = { t: 0, f, g, gtd };
    // The bracket: two points (or one when the conditions already hold).
    let br: { t: number; f: number; g: Vec; gtd: number }[] = [];
    let done = false;
    let lsIter = 0;
    const drop = () => {
      const held = new Set<Vec>([cur.g, prev.g, ...br.map((b) => b.g)]);
      for (const v of live)
        if (!held.has(v)) {
          v.dispose();
          live.delete(v);
        }
    };
    while (lsIter < maxLs) {
      if (cur.f > f + C1 * t * gtd || (lsIter > 1 && cur.f >= prev.f)) {
        br = [prev, { t, ...cur }];
        break;
      }
      if (Math.abs(cur.gtd) <= -C2 * gtd) {
        br = [{ t, ...cur }];
        done = true;
        break;
      }
      if (cur.gtd >= 0) {
        br = [prev, { t, ...cur }];
        break;
      }
      // Extrapolate: the cubic's minimizer, at least 1% past t and at most 10 t.
      const next = cubicMinimizer(prev.t, prev.f, prev.gtd, t, cur.f, cur.gtd, [t + 0.01 * (t - prev.t), t * 10]);
      prev = { t, ...cur };
      t = next;
      cur = at(t);
      evals += 1;
      lsIter += 1;
      drop();
    }
    if (lsIter === maxLs) br = [{ t: 0, f, g, gtd }, { t, ...cur }];
    drop();

    // Zoom: shrink the bracket around a point with sufficient decrease.
    let insufficientProgress = false;
    let [low, high] = br.length > 1 && br[0].f > br[1].f ? [1, 0] : [0, 1];
    while (!done && lsIter < maxLs && br.length > 1) {
      const lo = Math.min(br[0].t, br[1].t), hi = Math.max(br[0].t, br[1].t);
      if ((hi - lo) * dNorm < LS_TOLERANCE_CHANGE) break;
      t = cubicMinimizer(br[0].t, br[0].f, br[0].gtd, br[1].t, br[1].f, br[1].gtd);
      // Keep t at least 10% of the bracket away from its ends, unless the
      // last step made enough progress.
      const eps = 0.1 * (hi - lo);
      if (Math.min(hi - t, t - lo) < eps) {
        if (insufficientProgress || t >= hi || t <= lo) {
          t = Math.abs(t - hi) < Math.abs(t - lo) ? hi - eps : lo + eps;
          insufficientProgress = false;
        } else insufficientProgress = true;
      } else insufficientProgress = false;
      cur = at(t);
      evals += 1;
      lsIter += 1;
      const point = { t, ...cur };
      if (cur.f > f + C1 * t * gtd || cur.f >= br[low].f) {
        br[high] = point;
        [low, high] = br[0].f <= br[1].f ? [0, 1] : [1, 0];
      } else {
        if (Math.abs(cur.gtd) <= -C2 * gtd) done = true;
        else if (cur.gtd * (br[high].t - br[low].t) >= 0) br[high] = br[low];
        br[low] = point;
      }
      drop();
    }
    const best = br[br.length > 1 ? low : 0];
    // Hand the chosen gradient to the caller (a fresh vector it owns) and free the rest.
    const grad = best.g === g ? vec(() => g.clone()) : best.g;
    live.delete(grad);
    return { loss: best.f, grad, t: best.t, evals };
  }

  /** The gradients as one vector (zeros for parameters without one). Kept. */
  private gatherFlatGrad(): Vec {
    return vec(() =>
      concat(this.params.map((p) => (p.grad && !p.grad.isDisposed ? reshape(p.grad, [p.size]) : zeros([p.size], { dtype: p.dtype, device: p.device })))),
    );
  }

  private flatParams(): Vec {
    return concat(this.params.map((p) => reshape(p, [p.size])));
  }

  /** Parameters += t·d, entry by entry. */
  private addDirection(t: number, d: Vec): void {
    this.eachSegment(d, (p, seg) => axpy(p, seg, t));
  }

  private setParams(x: Vec): void {
    this.eachSegment(x, (p, seg) => p.assign(seg));
  }

  /** fn(p, the entries of the flat vector v that belong to p, shaped as p), outside autograd. */
  private eachSegment(v: Vec, fn: (p: Tensor, segment: Tensor) => void): void {
    noGrad(() =>
      tidy(() => {
        let offset = 0;
        for (const p of this.params) {
          fn(p, reshape(this.params.length === 1 ? v : slice(v, [offset], [p.size]), p.shape));
          offset += p.size;
        }
      }),
    );
  }

  private absMax(v: Vec): number {
    return noGrad(() => tidy(() => maxOp(abs(v)).item()));
  }

  private absSum(v: Vec): number {
    return noGrad(() => tidy(() => sum(abs(v)).item()));
  }
}

/** A new vector computed outside autograd and outside the caller's tidy scopes (kept). */
function vec(fn: () => Tensor): Tensor {
  return keep(noGrad(() => tidy(fn)));
}

/** aᵀb, read back: matmul of two vectors, one fused pass accumulated in double. */
function dot(a: Vec, b: Vec): number {
  return noGrad(() => tidy(() => matmul(a, b).item()));
}
