/**
 * `antler.distributions.constraints`: PyTorch's torch.distributions.constraints.
 * A constraint says which values a parameter or a sample may take;
 * `check(value)` gives 1 where an element (an event, for `eventDim` > 0)
 * satisfies it and 0 where not, as a float32 tensor of the batch shape.
 */
import { Tensor } from '../tensor';
import { tidy } from '../engine';
import { all } from '../ops/reductions';
import { equal, floor, greater, greaterEqual, less, lessEqual, mul, abs, sub, sum, transpose } from '../ops/core';
import { isNaN } from '../ops/extra';

export abstract class Constraint {
  /** Values are integers (or one-hot): the support is countable. */
  readonly isDiscrete: boolean = false;
  /** How many rightmost dimensions form one event (checked together). */
  readonly eventDim: number = 0;
  /** @internal What made it and with which bounds (for bijectTo/transformTo's dispatch). */
  kind?: string;
  /** @internal The factory's arguments (bounds, base constraint, reinterpreted dims). */
  args?: readonly unknown[];
  /** 1 where the value satisfies the constraint, else 0 (float32, the value's shape less eventDim dims). */
  abstract check(value: Tensor): Tensor;
  abstract toString(): string;
}

/** Reduces a per-element check over the last n dimensions (all must hold). */
function overEvent(ok: Tensor, n: number): Tensor {
  if (n === 0) return ok;
  const axes = Array.from({ length: n }, (_, i) => ok.rank - 1 - i);
  return all(ok, axes).cast('float32');
}

class Simple extends Constraint {
  constructor(private readonly name: string, private readonly test: (v: Tensor) => Tensor, discrete = false, eventDim = 0) {
    super();
    (this as { isDiscrete: boolean }).isDiscrete = discrete;
    (this as { eventDim: number }).eventDim = eventDim;
  }
  check(value: Tensor): Tensor {
    return tidy(() => this.test(value).cast('float32'));
  }
  toString(): string {
    return this.name;
  }
}

type Bound = number | Tensor;
/** Records a constraint's factory and arguments on it. */
function tagged(c: Constraint, kind: string, args: readonly unknown[]): Constraint {
  c.kind = kind;
  c.args = args;
  return c;
}
const bound = (b: Bound): string => (typeof b === 'number' ? String(b) : `a tensor of shape [${b.shape.join(', ')}]`);

/** Any real number (not NaN; ±Infinity allowed, as torch's). */
export const real: Constraint = new Simple('Real()', (v) => sub(1, isNaN(v)));
/** 0 or 1. */
export const boolean: Constraint = new Simple('Boolean()', (v) => mul(greaterEqual(v, 0), lessEqual(v, 1)).cast('float32').mul(equal(v, floor(v))), true);
/** Greater than lowerBound. */
export function greaterThan(lowerBound: Bound): Constraint {
  return tagged(new Simple(`GreaterThan(lower_bound=${bound(lowerBound)})`, (v) => greater(v, lowerBound)), 'greaterThan', [lowerBound]);
}
/** At least lowerBound. */
export function greaterThanEq(lowerBound: Bound): Constraint {
  return tagged(new Simple(`GreaterThanEq(lower_bound=${bound(lowerBound)})`, (v) => greaterEqual(v, lowerBound)), 'greaterThanEq', [lowerBound]);
}
/** Less than upperBound. */
export function lessThan(upperBound: Bound): Constraint {
  return tagged(new Simple(`LessThan(upper_bound=${bound(upperBound)})`, (v) => less(v, upperBound)), 'lessThan', [upperBound]);
}
/** In the closed interval [lowerBound, upperBound]. */
export function interval(lowerBound: Bound, upperBound: Bound): Constraint {
  return tagged(new Simple(`Interval(lower_bound=${bound(lowerBound)}, upper_bound=${bound(upperBound)})`, (v) => mul(greaterEqual(v, lowerBound), lessEqual(v, upperBound))), 'interval', [lowerBound, upperBound]);
}
/** In [lowerBound, upperBound). */
export function halfOpenInterval(lowerBound: Bound, upperBound: Bound): Constraint {
  return tagged(new Simple(`HalfOpenInterval(lower_bound=${bound(lowerBound)}, upper_bound=${bound(upperBound)})`, (v) => mul(greaterEqual(v, lowerBound), less(v, upperBound))), 'halfOpenInterval', [lowerBound, upperBound]);
}
/** Integers in [lowerBound, upperBound]. */
export function integerInterval(lowerBound: Bound, upperBound: Bound): Constraint {
  return new Simple(`IntegerInterval(lower_bound=${bound(lowerBound)}, upper_bound=${bound(upperBound)})`,
    (v) => mul(mul(greaterEqual(v, lowerBound), lessEqual(v, upperBound)), equal(v, floor(v))), true);
}
/** Integers at least lowerBound. */
export function integerGreaterThan(lowerBound: Bound): Constraint {
  return new Simple(`IntegerGreaterThan(lower_bound=${bound(lowerBound)})`, (v) => mul(greaterEqual(v, lowerBound), equal(v, floor(v))), true);
}
export const positive: Constraint = greaterThan(0);
export const nonnegative: Constraint = greaterThanEq(0);
export const unitInterval: Constraint = interval(0, 1);
export const nonnegativeInteger: Constraint = integerGreaterThan(0);
export const positiveInteger: Constraint = integerGreaterThan(1);

/** `base` over the rightmost `reinterpretedBatchNdims` dims taken as one event (torch's constraints.independent). */
export function independent(base: Constraint, reinterpretedBatchNdims: number): Constraint {
  const n = base.eventDim + reinterpretedBatchNdims;
  const c = new (class extends Constraint {
    readonly isDiscrete = base.isDiscrete;
    readonly eventDim = n;
    check(value: Tensor): Tensor {
      return tidy(() => overEvent(base.check(value), reinterpretedBatchNdims));
    }
    toString(): string {
      return `IndependentConstraint(${base}, ${reinterpretedBatchNdims})`;
    }
  })();
  return tagged(c, 'independent', [base, reinterpretedBatchNdims]);
}

export const realVector: Constraint = independent(real, 1);
export const positiveVector: Constraint = independent(positive, 1);

/** Nonnegative vectors summing to 1 along the last dimension (to 1e-6). */
export const simplex: Constraint = new (class extends Constraint {
  readonly eventDim = 1;
  check(value: Tensor): Tensor {
    return tidy(() => mul(all(greaterEqual(value, 0), -1).cast('float32'), less(abs(sub(sum(value, -1), 1)), 1e-6)));
  }
  toString(): string {
    return 'Simplex()';
  }
})();

/** Lower-triangular matrices (zero above the diagonal). */
export const lowerTriangular: Constraint = new (class extends Constraint {
  readonly eventDim = 2;
  check(value: Tensor): Tensor {
    return tidy(() => overEvent(equal(value, value.tril()), 2));
  }
  toString(): string {
    return 'LowerTriangular()';
  }
})();

/** Lower-triangular with a positive diagonal. */
export const lowerCholesky: Constraint = new (class extends Constraint {
  readonly eventDim = 2;
  check(value: Tensor): Tensor {
    return tidy(() => mul(overEvent(equal(value, value.tril()), 2), all(greater(value.diagonal({ axis1: -2, axis2: -1 }), 0), -1).cast('float32')));
  }
  toString(): string {
    return 'LowerCholesky()';
  }
})();

/** Symmetric (to 1e-6) positive-definite matrices: every eigenvalue positive. */
export const positiveDefinite: Constraint = new (class extends Constraint {
  readonly eventDim = 2;
  check(value: Tensor): Tensor {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { eigvalsh } = require('../ops/linalg') as typeof import('../ops/linalg');
    return tidy(() => {
      const sym = overEvent(lessEqual(abs(sub(value, transpose(value, -1, -2))), 1e-6), 2);
      return mul(sym, all(greater(eigvalsh(value), 0), -1).cast('float32'));
    });
  }
  toString(): string {
    return 'PositiveDefinite()';
  }
})();

/** A parameter whose constraint depends on others (not checked), as torch's constraints.dependent. */
export const dependent: Constraint = new (class extends Constraint {
  check(value: Tensor): Tensor {
    return tidy(() => greaterEqual(value, -Infinity).cast('float32').add(isNaN(value).cast('float32')).clamp(0, 1));
  }
  toString(): string {
    return 'Dependent()';
  }
})();

import { concat, stack as stackTensors } from '../ops/core';
import { narrow, select } from '../ops/shape';
import { norm as vecNorm } from '../ops/extra';
import { fail } from '../errors';
import { describe } from '../validate';

function checkParts(cseq: unknown, op: string): Constraint[] {
  if (!Array.isArray(cseq) || cseq.length === 0 || !cseq.every((c) => c instanceof Constraint))
    fail('INVALID_ARGUMENT', `${op}: cseq must be a nonempty array of Constraints; got ${describe(cseq)}`);
  return [...(cseq as Constraint[])];
}

/**
 * The constraints cseq applied to consecutive slices of `lengths[i]` entries
 * along `axis`, in torch.cat's way (torch's constraints.cat; lengths default to
 * 1 each). eventDim: the largest of the parts'.
 */
export function cat(cseq: readonly Constraint[], axis = 0, lengths?: readonly number[]): Constraint {
  const parts = checkParts(cseq, 'constraints.cat');
  if (!Number.isInteger(axis)) fail('INVALID_ARGUMENT', `constraints.cat: axis must be an integer; got ${describe(axis)}`);
  const lens = lengths === undefined ? parts.map(() => 1) : [...lengths];
  if (lens.length !== parts.length || !lens.every((n) => Number.isInteger(n) && n >= 0))
    fail('INVALID_ARGUMENT', `constraints.cat: lengths must hold one nonnegative integer per constraint (${parts.length}); got [${lens.join(', ')}]`);
  const c = new (class extends Constraint {
    readonly isDiscrete = parts.some((p) => p.isDiscrete);
    readonly eventDim = Math.max(...parts.map((p) => p.eventDim));
    check(value: Tensor): Tensor {
      return tidy(() => {
        let start = 0;
        const checks = parts.map((p, i) => {
          const v = narrow(value, axis, start, lens[i]);
          start += lens[i];
          return p.check(v);
        });
        return concat(checks, axis);
      });
    }
    toString(): string {
      return `Cat([${parts.join(', ')}], dim=${axis}, lengths=[${lens.join(', ')}])`;
    }
  })();
  return tagged(c, 'cat', [parts, axis, lens]);
}

/**
 * The constraint cseq[i] applied to the i-th entry along `axis`, in
 * torch.stack's way (torch's constraints.stack). eventDim: the largest of the
 * parts', plus 1 when axis falls inside the event dims (as torch).
 */
export function stack(cseq: readonly Constraint[], axis = 0): Constraint {
  const parts = checkParts(cseq, 'constraints.stack');
  if (!Number.isInteger(axis)) fail('INVALID_ARGUMENT', `constraints.stack: axis must be an integer; got ${describe(axis)}`);
  const m = Math.max(...parts.map((p) => p.eventDim));
  const c = new (class extends Constraint {
    readonly isDiscrete = parts.some((p) => p.isDiscrete);
    readonly eventDim = axis + m < 0 ? m + 1 : m;
    check(value: Tensor): Tensor {
      return tidy(() => stackTensors(parts.map((p, i) => p.check(select(value, axis, i))), axis));
    }
    toString(): string {
      return `Stack([${parts.join(', ')}], dim=${axis})`;
    }
  })();
  return tagged(c, 'stack', [parts, axis]);
}

/**
 * Cholesky factors of correlation matrices (torch's constraints.corr_cholesky):
 * lower-triangular, positive diagonal, every row of unit Euclidean norm
 * (to eps·n·10, as torch).
 */
export const corrCholesky: Constraint = new (class extends Constraint {
  readonly eventDim = 2;
  check(value: Tensor): Tensor {
    return tidy(() => {
      const n = value.shape[value.rank - 1];
      const eps = value.dtype === 'float64' ? 2.220446049250313e-16 : 1.1920928955078125e-7;
      const rowNorm = vecNorm(value.detach(), 2, -1);
      const unit = all(lessEqual(abs(sub(rowNorm, 1)), eps * n * 10), -1).cast('float32');
      return mul(lowerCholesky.check(value), unit);
    });
  }
  toString(): string {
    return 'CorrCholesky()';
  }
})();
