/**
 * Specs (reference formulas, float64) of the transforms family of antler.distributions,
 * for test/distributions-harness.ts. Not a test file.
 */
import * as antler from '../lib';
import type { Tensor } from '../lib';
import type { Spec } from './distributions-harness';

const D = antler.distributions;
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * A minimal duck-typed mixing distribution (what MixtureSameFamily needs of a
 * Categorical): `logits` [..., K] (normalised), `probs`, and `sample` by
 * inverse cdf of one uniform draw per event. The specs use the real
 * Categorical; the family's test uses this one to check the duck typing.
 */
export class StandInCategorical extends D.Distribution {
  readonly logits: Tensor;
  constructor(logits: Tensor, options?: { validateArgs?: boolean }, normalized = false) {
    super(options);
    // expand() passes normalised logits: normalising again would move them by an ulp (expand must not change logProb)
    this.logits = normalized ? logits : this.own(antler.tidy(() => logits.sub(logits.logSumExp(-1, true))));
    this.setShapes(logits.shape.slice(0, -1));
    this.paramDtype = logits.dtype as 'float32' | 'float64';
    this.paramDevice = logits.device;
  }
  get probs(): Tensor {
    return antler.tidy(() => this.logits.exp());
  }
  get support(): antler.distributions.Constraint {
    return D.constraints.nonnegativeInteger;
  }
  sample(sampleShape: readonly number[] = [], options?: { seed?: number }): Tensor {
    return antler.tidy(() => {
      const K = this.logits.shape[this.logits.rank - 1];
      const u = antler.rand([...sampleShape, ...this.batchShape, 1], { dtype: this.dtype, device: this.device, seed: options?.seed });
      const c = antler.cumsum(this.probs, -1);
      return antler.less(c, u).cast('float32').sum(-1).clamp(0, K - 1).cast('int32');
    });
  }
  expand(batchShape: readonly number[]): StandInCategorical {
    return this.expandWith(batchShape, (grow) => new StandInCategorical(grow(this.logits, 1), { validateArgs: false }, true));
  }
}

/** TransformedDistribution(Normal(loc, scale), [ExpTransform]): the log-normal density. */
export const expNormalSpec: Spec = {
  name: 'TransformedDistribution',
  kind: 'continuous',
  params: (rng) => ({ loc: rng.uniform(-1, 1), scale: rng.uniform(0.2, 1) }),
  build: (p, o) => new D.TransformedDistribution(new D.Normal(p.loc, p.scale, o), [new D.ExpTransform()], o),
  logPdf: ({ loc, scale }, x) => (x <= 0 ? -Infinity : -0.5 * ((Math.log(x) - loc) / scale) ** 2 - Math.log(scale) - LOG_SQRT_2PI - Math.log(x)),
  support: () => [0, Infinity],
  bad: [{ scale: 0 }, { scale: -1 }],
  // icdf exists, but the harness probes the log-normal's left tail down to density e^−30, where the base's
  // icdf (erfinv(2p − 1), as torch's) has lost p's digits: icdf is checked at moderate p in the family's test
  lacks: ['mean', 'variance', 'entropy', 'mode', 'icdf'],
  rsampleGrad: 'quantile',
};

/** A decreasing composition: y = exp(x)^−1 (cdf monotonised as torch's): log-normal with −loc. */
export const decreasingSpec: Spec = {
  name: 'TransformedDistribution',
  kind: 'continuous',
  params: (rng) => ({ loc: rng.uniform(-1, 1), scale: rng.uniform(0.2, 1) }),
  build: (p, o) => new D.TransformedDistribution(new D.Normal(p.loc, p.scale, o), [new D.ExpTransform(), new D.PowerTransform(-1)], o),
  logPdf: ({ loc, scale }, x) => (x <= 0 ? -Infinity : -0.5 * ((Math.log(x) + loc) / scale) ** 2 - Math.log(scale) - LOG_SQRT_2PI - Math.log(x)),
  support: () => [0, Infinity],
  bad: [{ scale: 0 }],
  // icdf exists, but icdf∘cdf loses digits in the far tails (torch's 1 − F, the base's erfinv(2p − 1)): checked at moderate p in the family's test
  lacks: ['mean', 'variance', 'entropy', 'mode', 'icdf'],
  rsampleGrad: 'quantile',
};

/** MixtureSameFamily(Categorical({ logits: log [w, 1 − w] }), Normal([loc1, loc2], [scale1, scale2])): the mixture density. */
export const mixtureSpec: Spec = {
  name: 'MixtureSameFamily',
  kind: 'continuous',
  params: (rng) => ({ w: rng.uniform(0.15, 0.85), loc1: rng.uniform(-2, 2), scale1: rng.uniform(0.3, 1.5), loc2: rng.uniform(-2, 2), scale2: rng.uniform(0.3, 1.5) }),
  build: (p, o) => {
    // the stacked parameters are the test's intermediates: the mixture's dispose() frees them too
    const [logits, loc, scale] = antler.tidy(() => [antler.stack([p.w.log(), antler.log1p(p.w.neg())], -1), antler.stack([p.loc1, p.loc2], -1), antler.stack([p.scale1, p.scale2], -1)]);
    const made = [logits, loc, scale];
    try {
      const d = new D.MixtureSameFamily(new D.Categorical({ logits }, o), new D.Normal(loc, scale, o), o);
      const dispose = d.dispose.bind(d);
      d.dispose = () => {
        dispose();
        antler.dispose(made.filter((t) => !t.isDisposed));
      };
      return d;
    } catch (e) {
      antler.dispose(made);
      throw e;
    }
  },
  logPdf: ({ w, loc1, scale1, loc2, scale2 }, x) => {
    const n = (m: number, s: number): number => Math.exp(-0.5 * ((x - m) / s) ** 2) / (s * Math.sqrt(2 * Math.PI));
    return Math.log(w * n(loc1, scale1) + (1 - w) * n(loc2, scale2));
  },
  support: () => [-Infinity, Infinity],
  bad: [{ scale1: 0 }, { scale2: -1 }],
  lacks: ['entropy', 'icdf', 'rsample', 'mode'],
  rsampleGrad: 'none',
};

/** Every univariate spec of this family. */
export const SPECS: Spec[] = [
  expNormalSpec,
  decreasingSpec,
  mixtureSpec,
];

/** Pairs with a closed-form KL registered, checked against the reference integral. */
export const KL_PAIRS: [Spec, Spec][] = [
  [expNormalSpec, expNormalSpec],
];

/** Classes of this family checked by their own tests instead of a spec, with the test that checks them. */
export const OWN_TESTS: Record<string, string> = {
  Independent: 'test/cpu/distributions-transforms.test.ts',
  LogisticNormal: 'test/cpu/distributions-transforms.test.ts',
  LKJCholesky: 'test/cpu/distributions-transforms.test.ts',
  Wishart: 'test/cpu/distributions-transforms.test.ts',
};
