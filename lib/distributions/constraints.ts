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
