// Generic checks over every op in the registry (test/opinfo.ts):
//   - float64 gradients against central finite differences (rel. error < 1e-6)
//   - float32 results against float64 on the same inputs
//   - bad calls throw AntlerError with the registered code
import * as antler from '../../lib';
import { AntlerError, Tensor } from '../../lib';
import { makeRng } from '../helpers';
import { AuxSpec, InputSpec, OPS, FAMILY_NOT_OPS, LINALG_NOT_OPS } from '../opinfo';

const rng = makeRng();

function build(spec: InputSpec, dtype: 'float32' | 'float64', requiresGrad = false): Tensor {
  return antler.tensor(spec.values, spec.shape, { dtype, requiresGrad });
}
function buildAux(spec: AuxSpec): Tensor {
  return antler.tensor(spec.values, spec.shape, { dtype: spec.dtype });
}

// L(inputs) = Σ out ⊙ W, evaluated without recording.
function lossValue(fn: (xs: Tensor[], aux: Tensor[]) => Tensor, inputs: InputSpec[], aux: AuxSpec[], W: Float64Array): number {
  return antler.noGrad(() =>
    antler.tidy(() => {
      const out = fn(inputs.map((s) => build(s, 'float64')), aux.map(buildAux));
      const v = out.dataSync();
      let acc = 0;
      for (let i = 0; i < v.length; i++) acc += v[i] * W[i];
      return acc;
    }),
  );
}

describe(`op registry (seed ${rng.seed})`, () => {
  test('covers the ops of the autograd issue', () => {
    const names = OPS.map((o) => o.name.split('(')[0]);
    for (const op of ['matmul', 'linear', 'add', 'sub', 'mul', 'div', 'neg', 'pow', 'exp', 'log', 'tanh', 'sigmoid', 'relu', 'softplus', 'gelu',
      'sum', 'mean', 'max', 'softmax', 'logSoftmax', 'crossEntropy', 'mseLoss', 'embedding', 'dropout', 'concat', 'stack', 'slice',
      'transpose', 'permute', 'clamp', 'where', 'layerNorm'])
      expect(names).toContain(op);
  });

  test('covers every differentiable op exported (a new op needs an entry)', () => {
    const names = new Set(OPS.map((o) => o.name.split('(')[0]));
    // Exported functions that are not differentiable ops of their own: factories, integer-valued
    // ops, comparisons, autograd and I/O helpers, and ops covered under another entry's name.
    const notOps = new Set([
      'AntlerError', 'Tensor', 'tensor', 'zeros', 'ones', 'full', 'zerosLike', 'onesLike', 'fullLike', 'arange', 'rand', 'randn', 'randint', 'randperm',
      'equal', 'notEqual', 'less', 'lessEqual', 'greater', 'greaterEqual', 'argmax', 'argmin', 'argsort', 'oneHot', 'multinomial',
      'floorDivide', 'any', 'all',
      'noGrad', 'isGradEnabled', 'valueAndGrad', 'grad', 'hvp', 'tidy', 'keep', 'dispose', 'memory', 'resetPeakMemory', 'profile', 'time', 'checkpoint', 'checkpointSequential', 'customGrad',
      'backends', 'getDefaultDevice', 'setDefaultDevice', 'synchronize', 'setNumThreads', 'emptyCache', 'preferredLinalgLibrary', 'setSeed', 'buildInfo',
      'fit', 'evaluate', 'save', 'saveAsync', 'load', 'loadAsync', 'parseSafetensors', 'serializeSafetensors',
      'sruRecurrence', 'sruRecurrenceReference',
      'PackedSequence', // a class; its functions (packPaddedSequence, …) have entries
      'isNaN', 'isInf', 'isFinite', 'isClose', 'allClose', 'logicalAnd', 'logicalOr', 'logicalXor', 'logicalNot', 'linspace', 'eye',
      ...FAMILY_NOT_OPS,
    ]);
    const exported = Object.entries(antler).filter(([k, v]) => typeof v === 'function' && !notOps.has(k)).map(([k]) => k);
    expect(exported.filter((k) => !names.has(k))).toEqual([]);
  });

  test('covers every differentiable function of antler.linalg (entries named linalg.<function>)', () => {
    const names = new Set(OPS.map((o) => o.name.split('(')[0]));
    const notOps = new Set(LINALG_NOT_OPS);
    const exported = Object.entries(antler.linalg).filter(([k, v]) => typeof v === 'function' && !notOps.has(k)).map(([k]) => `linalg.${k}`);
    expect(exported.filter((k) => !names.has(k))).toEqual([]);
  });

  for (const op of OPS) {
    describe(op.name, () => {
      const samples = op.samples(rng);
      samples.forEach((sample, si) => {
        const label = `sample ${si}${sample.note ? ` (${sample.note})` : ''}`;
        const aux = sample.aux ?? [];

        test(`float64 gradient matches central differences: ${label}`, () => {
          antler.tidy(() => {
            const leaves = sample.inputs.map((s) => build(s, 'float64', true));
            const out = op.fn(leaves, aux.map(buildAux));
            const W = Float64Array.from({ length: out.size }, () => rng.uniform(-1, 1));
            out.backward(antler.tensor(W, out.shape.slice(), { dtype: 'float64' }));
            sample.inputs.forEach((spec, i) => {
              const analytic = leaves[i].grad ? Array.from(leaves[i].grad!.dataSync()) : new Array(spec.values.length).fill(0);
              const h = 1e-6;
              const numeric = spec.values.map((_, j) => {
                const plus = sample.inputs.map((s, k) => (k === i ? { ...s, values: s.values.map((v, q) => (q === j ? v + h : v)) } : s));
                const minus = sample.inputs.map((s, k) => (k === i ? { ...s, values: s.values.map((v, q) => (q === j ? v - h : v)) } : s));
                return (lossValue(op.fn, plus, aux, W) - lossValue(op.fn, minus, aux, W)) / (2 * h);
              });
              const scale = Math.max(1e-3, ...numeric.map(Math.abs));
              const err = Math.max(0, ...numeric.map((v, j) => Math.abs(v - analytic[j]))) / scale;
              if (!(err < 1e-6))
                throw new Error(`${op.name} input ${i}: relative gradient error ${err} (seed ${rng.seed})\nanalytic ${analytic}\nnumeric  ${numeric}`);
            });
          });
        });

        // Backward functions skip the gradients of inputs that need none (the `needs`
        // flags); each input alone requiring a gradient must get the same one, and
        // nothing may be left behind.
        test(`one input at a time requiring grad gives the same gradient: ${label}`, () => {
          const before = antler.memory().numTensors;
          antler.tidy(() => {
            const W = Float64Array.from({ length: 4096 }, () => rng.uniform(-1, 1));
            const gradsWith = (needs: boolean[]): (Float64Array | null)[] => {
              const leaves = sample.inputs.map((s, i) => build(s, 'float64', needs[i]));
              const out = op.fn(leaves, aux.map(buildAux));
              if (!out.requiresGrad) return leaves.map(() => null);
              out.backward(antler.tensor(Float64Array.from({ length: out.size }, (_, j) => W[j % W.length]), out.shape.slice(), { dtype: 'float64' }));
              return leaves.map((l) => (l.grad ? (l.grad.dataSync() as Float64Array) : null));
            };
            const all = gradsWith(sample.inputs.map(() => true));
            sample.inputs.forEach((_, i) => {
              const alone = gradsWith(sample.inputs.map((__, k) => k === i));
              alone.forEach((g, k) => {
                if (k !== i) expect(g).toBeNull();
              });
              if (all[i] === null) expect(alone[i]).toBeNull();
              else expect(Array.from(alone[i]!)).toEqual(Array.from(all[i]!));
            });
          });
          expect(antler.memory().numTensors).toBe(before);
        });

        test(`float32 agrees with float64: ${label}`, () => {
          antler.tidy(() => {
            // The reference sees the same (float32-rounded) inputs, so only the op's own
            // float32 arithmetic is measured, not the rounding of its inputs.
            const rounded = sample.inputs.map((s) => ({ ...s, values: s.values.map(Math.fround) }));
            const ref = op.fn(rounded.map((s) => build(s, 'float64')), aux.map(buildAux)).dataSync();
            const out32 = op.fn(rounded.map((s) => build(s, 'float32')), aux.map(buildAux));
            expect(out32.dtype).toBe('float32');
            const got = out32.dataSync();
            expect(got.length).toBe(ref.length);
            const scale = Math.max(1e-6, ...Array.from(ref, Math.abs));
            let err = 0;
            for (let i = 0; i < ref.length; i++) err = Math.max(err, Math.abs(got[i] - ref[i]) / scale);
            if (!(err <= (op.f32rtol ?? 1e-5))) throw new Error(`${op.name}: float32 relative error ${err} (seed ${rng.seed})`);
          });
        });
      });

      for (const [code, call] of op.bad ?? [])
        test(`bad input throws ${code}`, () => {
          const before = antler.memory().numTensors;
          let thrown: unknown;
          try {
            antler.tidy(() => {
              call();
            });
          } catch (e) {
            thrown = e;
          }
          expect(thrown).toBeInstanceOf(AntlerError);
          expect((thrown as AntlerError).code).toBe(code);
          expect(antler.memory().numTensors).toBe(before);
        });
    });
  }
});
