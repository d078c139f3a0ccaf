/**
 * nn.NeuralODE: a module around deer.solveIVP (torchdiffeq's odeint as a
 * module). Its vector field is a Module (registered as the child 'func', so
 * its parameters are the NeuralODE's) or a plain function.
 */
import { ODE_OPTION_KEYS, OdeFunc, OdeOptions, OdeStats, checkOdeOptions, solveIVPAs } from '../deer/ode';
import { WarmStart } from '../deer/solver';
import { fail } from '../errors';
import { Tensor } from '../tensor';
import { checkBoolean, describe } from '../validate';
import { Module } from './module';

export interface NeuralODEOptions extends Omit<OdeOptions, 'x' | 'initialGuess'> {
  /**
   * Start Newton from the last solution when the batch, grid length and state
   * size are the same (training loops). Sequences that fail from it are solved
   * again from y0 (stats.retriedSequences); a solve that still falls back
   * drops the kept solution.
   */
  warmStart?: boolean;
}

export interface NeuralODEOutput {
  /** The solution at every grid point [T + 1, B, n] (y[0] = y0). */
  y: Tensor;
  stats: OdeStats;
}

const MODULE_KEYS = [...ODE_OPTION_KEYS.filter((k) => k !== 'x' && k !== 'initialGuess'), 'warmStart'];

export class NeuralODE extends Module {
  readonly func: Module | OdeFunc;
  readonly options: Omit<NeuralODEOptions, 'warmStart'>;
  readonly warmStart: boolean;
  private readonly warm = new WarmStart();

  /**
   * func: dy/dt as a Module whose forward(t [R, 1], y [R, n], x? [R, m])
   * returns [R, n], or such a function; each row on its own. options: the
   * solver's (method, atol, rtol, maxIters, strict) and warmStart.
   */
  constructor(func: Module | OdeFunc, options?: NeuralODEOptions) {
    super();
    if (func instanceof Module) this.registerModule('func', func);
    else if (typeof func !== 'function') fail('INVALID_ARGUMENT', `NeuralODE: func must be a Module or a function (t, y, x?) => dy/dt; got ${describe(func)}`);
    this.func = func;
    const o = checkOdeOptions(options, 'NeuralODE', '', MODULE_KEYS) as NeuralODEOptions;
    this.warmStart = o.warmStart === undefined ? false : checkBoolean(o.warmStart, 'NeuralODE', 'warmStart');
    const { warmStart: _w, ...rest } = o;
    this.options = rest;
  }

  /**
   * Solves dy/dt = func(t, y, x) from y0 [B, n] over the grid t (T + 1 times,
   * increasing or decreasing), with inputs x [T + 1, B, m] at the grid points
   * when func takes them. Per-call options override the module's:
   * `warmStart: false` keeps this call out of the warm start (it neither
   * starts from nor replaces the kept solution), `warmStart: true` uses and
   * keeps it on a module made without it.
   */
  forward(y0: Tensor, t: readonly number[] | Float64Array | Float32Array | Tensor, x?: Tensor, options?: Omit<OdeOptions, 'x'> & { warmStart?: boolean }): NeuralODEOutput {
    this.checkUsable('NeuralODE');
    const f: OdeFunc = this.func instanceof Module ? (tt, y, xx) => (this.func as Module).forward(tt, y, ...(xx ? [xx] : [])) as Tensor : this.func;
    const { warmStart: warmCall, ...call } = checkOdeOptions(options, 'NeuralODE', '', [...ODE_OPTION_KEYS.filter((k) => k !== 'x'), 'warmStart']) as OdeOptions & { warmStart?: boolean };
    // A call's warmStart: false neither uses nor replaces the kept solution (an evaluation batch between training steps).
    const warm = warmCall === undefined ? this.warmStart : checkBoolean(warmCall, 'NeuralODE', 'warmStart');
    const merged: OdeOptions = { ...this.options, ...call, ...(x !== undefined ? { x } : {}) };
    if (warm && merged.initialGuess === undefined && y0 instanceof Tensor && !y0.isDisposed) {
      const T1 = t instanceof Tensor ? t.shape[0] : (t as ArrayLike<number>)?.length;
      const guess = Number.isInteger(T1) && y0.rank === 2 ? this.warm.get([T1, ...y0.shape], y0.dtype, y0.device) : null;
      if (guess) merged.initialGuess = guess;
    }
    const out = solveIVPAs('NeuralODE', f, y0, t, merged);
    if (warm && (merged.method ?? 'deer') === 'deer') {
      // A solution with RK4 columns is no Newton start; one that failed is not kept to fail again.
      if (out.stats.fallback) this.warm.dispose();
      else this.warm.set(out.y);
    }
    return out;
  }

  /** The warm-start solution, freed with the module (also when a parent module is disposed). */
  protected releaseHeld(): void {
    this.warm.dispose();
  }
}
