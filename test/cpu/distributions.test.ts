// antler.distributions' base: coverage of every class by a spec or a test of its own,
// KL dispatch, argument validation switches, tensor ownership (dispose, tidy).
import * as antler from '../../lib';
import { expectAntlerError, expectClose, expectNoLeaksInSuite, tensorCounts } from '../helpers';
import * as ls from '../dist-specs-location-scale';
import * as gamma from '../dist-specs-gamma';
import * as discrete from '../dist-specs-discrete';
import * as transforms from '../dist-specs-transforms';

const D = antler.distributions;
expectNoLeaksInSuite(tensorCounts);

describe('antler.distributions', () => {
  test('every distribution class has a spec run by the harness or a test of its own', () => {
    const families = [ls, gamma, discrete, transforms];
    const covered = new Set<string>();
    for (const f of families) {
      for (const s of f.SPECS) covered.add(s.name);
      for (const k of Object.keys(f.OWN_TESTS)) covered.add(k);
    }
    const classes = Object.entries(D)
      .filter(([, v]) => typeof v === 'function' && (v as { prototype?: unknown }).prototype instanceof D.Distribution)
      .map(([k]) => k);
    expect(classes.length).toBeGreaterThan(0);
    expect(classes.filter((k) => !covered.has(k))).toEqual([]);
  });

  test('klDivergence picks the most specific registered pair and refuses unknown pairs', () => {
    class Narrow extends D.Normal {}
    const seen: string[] = [];
    D.registerKL(Narrow, D.Normal, (p, q) => {
      seen.push('narrow');
      return antler.zerosLike(p.loc.add(q.loc));
    });
    antler.tidy(() => {
      const a = new Narrow(0, 1), b = new D.Normal(1, 2);
      expect(D.klDivergence(a, b).item()).toBe(0);
      expect(seen).toEqual(['narrow']);
      // (Normal, Narrow): only (Normal, Normal) matches
      expectClose([D.klDivergence(b, a).item()], [Math.log(1 / 2) + (4 + 1) / 2 - 0.5], 1e-6, 1e-6, 'KL(N(1,2) ‖ N(0,1))');
    });
    class Other extends D.Distribution {
      get support(): antler.distributions.Constraint {
        return D.constraints.real;
      }
    }
    antler.tidy(() => {
      expectAntlerError(() => D.klDivergence(new Other(), new D.Normal(0, 1)), 'NOT_SUPPORTED', /no closed form is registered for \(Other, Normal\)/);
    });
    expectAntlerError(() => D.klDivergence({} as never, {} as never), 'INVALID_ARGUMENT');
    // Batch shapes that do not broadcast: one clear error naming both, from the built-in closed forms and a registered one.
    antler.tidy(() => {
      const pairs: [antler.distributions.Distribution, antler.distributions.Distribution, string][] = [
        [new D.Uniform(antler.zeros([3]), antler.ones([3])), new D.Normal(antler.zeros([3, 4]), antler.ones([4])), 'Uniform, Normal'],
        [new D.Exponential(antler.ones([2, 3])), new D.Gumbel(antler.zeros([3, 1]), antler.ones([4])), 'Exponential, Gumbel'],
        [new D.Normal(antler.zeros([2]), 1), new D.Normal(antler.zeros([5]), 1), 'Normal, Normal'],
        [new Narrow(antler.zeros([2]), 1), new D.Normal(antler.zeros([3]), 1), 'Narrow, Normal'],
      ];
      for (const [p, q, names] of pairs) {
        const re = new RegExp(`klDivergence\\(${names}\\): p's batch shape \\[${p.batchShape.join(', ')}\\] and q's \\[${q.batchShape.join(', ')}\\] do not broadcast`);
        expectAntlerError(() => D.klDivergence(p, q), 'SHAPE_MISMATCH', re);
      }
      // Shapes that broadcast still give the broadcast batch shape.
      expect(D.klDivergence(new D.Normal(antler.zeros([3, 1]), 1), new D.Normal(antler.zeros([4]), 2)).shape).toEqual([3, 4]);
    });
    expectAntlerError(() => D.registerKL(Object as never, D.Normal, () => antler.zeros([])), 'INVALID_ARGUMENT');
  });

  test('validateArgs: per distribution, and the default switch', () => {
    expectAntlerError(() => antler.tidy(() => new D.Normal(0, -1)), 'INVALID_ARGUMENT', /scale .* GreaterThan\(lower_bound=0\)/);
    antler.tidy(() => {
      const d = new D.Normal(0, -1, { validateArgs: false });
      expect(Number.isNaN(d.logProb(antler.tensor([0])).item())).toBe(true);
    });
    D.setDefaultValidateArgs(false);
    try {
      antler.tidy(() => new D.Normal(0, -1)).dispose();
    } finally {
      D.setDefaultValidateArgs(true);
    }
    expectAntlerError(() => D.setDefaultValidateArgs(1 as never), 'INVALID_ARGUMENT');
    expectAntlerError(() => new D.Normal(0, 1, { validateArgs: 'yes' as never }), 'INVALID_ARGUMENT');
    expectAntlerError(() => new D.Normal('a' as never, 1), 'INVALID_ARGUMENT', /loc must be a Tensor or a number/);
    expectAntlerError(() => antler.tidy(() => new D.Normal(antler.zeros([2]), antler.ones([3]))), 'SHAPE_MISMATCH', /do not broadcast/);
    expectAntlerError(() => antler.tidy(() => new D.Normal(0, 1).sample([-1])), 'INVALID_ARGUMENT', /sampleShape/);
    expectAntlerError(() => antler.tidy(() => new D.Normal(0, 1).logProb([1] as never)), 'INVALID_ARGUMENT', /value must be a Tensor/);
  });

  test('parameters: numbers and int32 become float tensors the distribution owns; float64 wins; the caller keeps its tensors', () => {
    const before = antler.memory().numTensors;
    const loc = antler.tensor([1, 2], [2], { dtype: 'float64' });
    const d = new D.Normal(loc, 1);
    expect(d.dtype).toBe('float64');
    expect(d.loc).toBe(loc); // kept as given: the batch shape already
    expect(d.scale.shape).toEqual([2]);
    const ints = antler.tensor([1, 2], [2], { dtype: 'int32' });
    const i = new D.Normal(ints, 1);
    expect(i.dtype).toBe('float32');
    expect(i.loc.dtype).toBe('float32');
    d.dispose();
    expect(loc.isDisposed).toBe(false);
    i.dispose();
    expect(ints.isDisposed).toBe(false);
    antler.dispose([loc, ints]);
    expect(antler.memory().numTensors).toBe(before);
  });

  test('tidy() returning a distribution keeps its parameters alive; sample gradients reach them', () => {
    const mu = antler.tensor([0.5, -0.5], [2], { requiresGrad: true });
    const d = antler.tidy(() => new D.Normal(mu.mul(2), 1));
    antler.tidy(() => {
      const x = d.rsample([3], { seed: 3 });
      x.sum().backward();
    });
    expect(Array.from(mu.grad!.dataSync())).toEqual([6, 6]);
    d.dispose();
    antler.dispose(d.loc);
    antler.dispose(mu);
  });
});

describe('second reading', () => {
  test('a constructor refusing its arguments outside tidy() frees the tensors it made (numbers, broadcasts)', () => {
    const before = antler.memory().numTensors;
    const scale = antler.tensor([1, -1, 2], [3]);
    const conc = antler.tensor([-1], [1]), rate = antler.ones([2, 1]);
    expectAntlerError(() => new D.Normal(0, scale), 'INVALID_ARGUMENT');
    expectAntlerError(() => new D.Gamma(conc, rate), 'INVALID_ARGUMENT');
    expectAntlerError(() => new D.Chi2(-1), 'INVALID_ARGUMENT');
    expect(antler.memory().numTensors - before).toBe(3);
    antler.dispose([scale, conc, rate]);
  });
});
