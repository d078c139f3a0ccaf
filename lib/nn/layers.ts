/** Basic layers, with PyTorch's parameter names, layouts and default initialisation. */
import { dispose, isolated } from '../engine';
import { fail } from '../errors';
import { gelu, relu, sigmoid, tanh } from '../ops/core';
import { dropout, dropoutMask, embedding, layerNorm, linear } from '../ops/nn';
import { checkTensor, full, rand, randn, tensor, Tensor } from '../tensor';
import { checkFinite, checkInteger, checkOptions, describe, DType } from '../validate';
import { Module } from './module';

interface Placement {
  dtype?: 'float32' | 'float64';
  device?: string;
}

/** Checks the placement options of a layer made of parameters: float32 or float64 (they take gradients). */
function placement<T extends Placement>(o: Partial<T>, op: string): Partial<T> {
  if (o.dtype !== undefined && o.dtype !== 'float32' && o.dtype !== 'float64')
    fail('DTYPE_MISMATCH', `${op}: dtype must be 'float32' or 'float64' (parameters take gradients); got ${describe(o.dtype)}`);
  return o;
}

function uniform(shape: number[], bound: number, p: Placement): Tensor {
  return isolated(() => rand(shape, { minval: -bound, maxval: bound, dtype: p.dtype, device: p.device }));
}

/** y = x Wᵀ + b; weight [out, in], bias [out]; both U(±1/√in) as in PyTorch. */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Tensor;
  bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, options?: { bias?: boolean } & Placement) {
    super();
    const o = placement(checkOptions<{ bias: boolean } & Placement>(options, 'Linear', ['bias', 'dtype', 'device']), 'Linear');
    this.inFeatures = checkInteger(inFeatures, 'Linear', 'inFeatures', 1);
    this.outFeatures = checkInteger(outFeatures, 'Linear', 'outFeatures', 1);
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.registerParameter('weight', uniform([outFeatures, inFeatures], bound, o))!;
    this.bias = this.registerParameter('bias', o.bias === false ? null : uniform([outFeatures], bound, o));
  }

  forward(x: Tensor): Tensor {
    this.checkUsable('Linear');
    checkTensor(x, 'Linear', 'input');
    if (x.rank === 0) fail('SHAPE_MISMATCH', `Linear: input is a scalar (shape []); expected [..., ${this.inFeatures}]`);
    if (x.shape[x.rank - 1] !== this.inFeatures)
      fail('SHAPE_MISMATCH', `Linear: input has ${x.shape[x.rank - 1]} features (shape [${x.shape.join(', ')}]); expected ${this.inFeatures}`);
    return linear(x, this.weight, this.bias);
  }
}

/** Lookup table [num, dim] ~ N(0, 1); paddingIdx's row starts at zero (and its gradient is dropped by the caller). */
export class Embedding extends Module {
  weight: Tensor;
  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, options?: { paddingIdx?: number } & Placement) {
    super();
    const o = placement(checkOptions<{ paddingIdx: number } & Placement>(options, 'Embedding', ['paddingIdx', 'dtype', 'device']), 'Embedding');
    checkInteger(numEmbeddings, 'Embedding', 'numEmbeddings', 1);
    checkInteger(embeddingDim, 'Embedding', 'embeddingDim', 1);
    const pi = o.paddingIdx === undefined ? undefined : o.paddingIdx < 0 ? o.paddingIdx + numEmbeddings : o.paddingIdx;
    if (pi !== undefined && (!Number.isInteger(pi) || pi < 0 || pi >= numEmbeddings))
      fail('INVALID_ARGUMENT', `Embedding: paddingIdx ${describe(o.paddingIdx)} is outside [-${numEmbeddings}, ${numEmbeddings})`);
    let w = isolated(() => randn([numEmbeddings, embeddingDim], { dtype: o.dtype, device: o.device }));
    if (pi !== undefined) {
      this.paddingIdx = pi;
      const values = w.dataSync();
      values.fill(0, pi * embeddingDim, (pi + 1) * embeddingDim);
      const zeroed = isolated(() => tensor(values, [numEmbeddings, embeddingDim], { dtype: w.dtype, device: w.device }));
      w.dispose();
      w = zeroed;
    }
    this.weight = this.registerParameter('weight', w)!;
  }

  readonly paddingIdx: number | undefined;

  forward(indices: Tensor): Tensor {
    this.checkUsable('Embedding');
    return embedding(indices, this.weight, { paddingIdx: this.paddingIdx });
  }
}

/**
 * Inverted dropout, active in training mode. freeze() makes the next forward
 * draw a mask and every later forward replay it (same mask across Hessian
 * probes or repeated evaluations) until unfreeze().
 */
export class Dropout extends Module {
  private frozen = false;
  private mask: Tensor | null = null;
  constructor(readonly p = 0.5) {
    super();
    checkFinite(p, 'Dropout', 'p');
    if (p < 0 || p > 1) fail('INVALID_ARGUMENT', `Dropout: p must be in [0, 1]; got ${p}`);
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return dropout(x, 0, { training: false });
    if (!this.frozen) return dropout(x, this.p);
    if (!this.mask || this.mask.shape.join() !== x.shape.join() || this.mask.device !== x.device || this.mask.dtype !== x.dtype) {
      this.mask?.dispose();
      this.mask = isolated(() => dropoutMask(x.shape, this.p, { dtype: x.dtype as 'float32' | 'float64', device: x.device }));
    }
    return dropout(x, this.p, { mask: this.mask });
  }

  freeze(): this {
    this.frozen = true;
    return this;
  }

  unfreeze(): this {
    this.frozen = false;
    this.mask?.dispose();
    this.mask = null;
    return this;
  }

  dispose(): void {
    this.unfreeze();
    super.dispose();
  }
}

/** Layer normalisation over the last dim; weight ones, bias zeros. */
export class LayerNorm extends Module {
  weight: Tensor | null;
  bias: Tensor | null;
  constructor(readonly normalizedShape: number, options?: { eps?: number; elementwiseAffine?: boolean; bias?: boolean } & Placement) {
    super();
    const o = checkOptions<{ eps: number; elementwiseAffine: boolean; bias: boolean } & Placement>(options, 'LayerNorm', [
      'eps', 'elementwiseAffine', 'bias', 'dtype', 'device',
    ]);
    placement(o, 'LayerNorm');
    checkInteger(normalizedShape, 'LayerNorm', 'normalizedShape', 1);
    this.eps = o.eps ?? 1e-5;
    const affine = o.elementwiseAffine !== false;
    const mk = (v: number) => isolated(() => full([normalizedShape], v, { dtype: o.dtype, device: o.device }));
    this.weight = this.registerParameter('weight', affine ? mk(1) : null);
    this.bias = this.registerParameter('bias', affine && o.bias !== false ? mk(0) : null);
  }
  readonly eps: number;

  forward(x: Tensor): Tensor {
    this.checkUsable('LayerNorm');
    checkTensor(x, 'LayerNorm', 'input');
    if (x.shape[x.rank - 1] !== this.normalizedShape)
      fail('SHAPE_MISMATCH', `LayerNorm: input's last dim is ${x.shape[x.rank - 1]}; expected ${this.normalizedShape}`);
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}

/** Modules applied in order; children are named 0, 1, 2, ... as in PyTorch. */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    layers.forEach((m, i) => this.registerModule(String(i), m));
    this.layers = layers;
  }

  forward(x: Tensor): Tensor {
    this.checkUsable('Sequential');
    let h = x;
    this.layers.forEach((m, i) => {
      const next: unknown = m.forward(h);
      if (h !== x) h.dispose();
      if (!(next instanceof Tensor) && i + 1 < this.layers.length) {
        const keys = next !== null && typeof next === 'object' ? ` with keys ${Object.keys(next).join(', ')}` : '';
        const what = describe(next);
        dispose(next);
        fail(
          'INVALID_ARGUMENT',
          `Sequential: layer ${i} (${m.constructor.name}) returned ${what}${keys}, not a Tensor for layer ${i + 1} (${this.layers[i + 1].constructor.name}); ` +
            'a recurrent module returns {output, …}: put it in a Module of your own whose forward passes rnn.forward(x).output on',
        );
      }
      h = next as Tensor;
    });
    return h;
  }
}

abstract class Activation extends Module {
  protected abstract fn(x: Tensor): Tensor;
  forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}
export class ReLU extends Activation {
  protected fn = relu;
}
export class Tanh extends Activation {
  protected fn = tanh;
}
export class Sigmoid extends Activation {
  protected fn = sigmoid;
}
export class GELU extends Activation {
  protected fn = gelu;
}

export type { DType };
