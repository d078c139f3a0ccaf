/**
 * Location-scale and related continuous distributions (torch.distributions):
 * Normal, LogNormal, Laplace, Cauchy, Uniform, Exponential, Gumbel,
 * HalfNormal, HalfCauchy, VonMises, MultivariateNormal,
 * LowRankMultivariateNormal.
 */
import { Tensor, randn } from '../tensor';
import { tidy } from '../engine';
import { add, div, erf, log, mul, square, sub } from '../ops/core';
import { erfinv } from '../ops/pointwise';
import { Distribution, type DistributionOptions, type Param, type SampleOptions } from './distribution';
import * as constraints from './constraints';
import { registerKL } from './kl';

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** The normal distribution N(loc, scale²) (torch.distributions.Normal). */
export class Normal extends Distribution {
  readonly loc: Tensor;
  readonly scale: Tensor;
  readonly hasRsample = true;

  constructor(loc: Param, scale: Param, options?: DistributionOptions) {
    super(options);
    const p = this.broadcastParams({ loc, scale });
    this.loc = p.loc;
    this.scale = p.scale;
    this.checkArgs(p);
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { loc: constraints.real, scale: constraints.positive };
  }
  get support(): constraints.Constraint {
    return constraints.real;
  }
  get mean(): Tensor {
    return this.loc.clone();
  }
  get mode(): Tensor {
    return this.loc.clone();
  }
  get stddev(): Tensor {
    return this.scale.clone();
  }
  get variance(): Tensor {
    return square(this.scale);
  }
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => add(this.loc, mul(randn(shape, { dtype: this.dtype, device: this.device, seed: options?.seed }), this.scale)));
  }
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => sub(div(square(sub(value, this.loc)), mul(square(this.scale), -2)), add(log(this.scale), LOG_SQRT_2PI)));
  }
  cdf(value: Tensor): Tensor {
    this.validateSample(value, 'cdf');
    return tidy(() => mul(add(erf(div(sub(value, this.loc), mul(this.scale, Math.SQRT2))), 1), 0.5));
  }
  icdf(p: Tensor): Tensor {
    return tidy(() => add(this.loc, mul(mul(this.scale, erfinv(sub(mul(p, 2), 1))), Math.SQRT2)));
  }
  entropy(): Tensor {
    return tidy(() => add(log(this.scale), 0.5 + LOG_SQRT_2PI));
  }
  expand(batchShape: readonly number[]): Normal {
    return this.expandWith(batchShape, (grow) => new Normal(grow(this.loc), grow(this.scale), { validateArgs: false }));
  }
}

registerKL(Normal, Normal, (p, q) =>
  tidy(() => {
    const varRatio = square(div(p.scale, q.scale));
    const t1 = square(div(sub(p.loc, q.loc), q.scale));
    return mul(sub(sub(add(varRatio, t1), 1), log(varRatio)), 0.5);
  }),
);

// ---- helper A (location-scale family): the other distributions of this file go below.
// ---- end helper A
