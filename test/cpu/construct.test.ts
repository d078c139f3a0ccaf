/**
 * lib/ops/construct.ts (blockDiag, cartesianProd, combinations, triuIndices, trilIndices) against
 * float64 loops written from PyTorch's definitions, on fresh random inputs (sizes and values drawn
 * from the file's seed): the block-diagonal matrix filled entry by entry, the Cartesian product and
 * the combinations enumerated by nested counters (torch's order), the triangle tables by scanning
 * every (i, j) of the matrix. Gradients against the same references by central differences; the
 * op registry (test/opinfo-construct.ts) checks float32 and double backward too.
 */
import * as antler from '../../lib';
import { Tensor, tensor, tidy } from '../../lib';
import { dotW, expectAntlerError, expectClose, expectExact, expectNoLeaksInSuite, makeRng, numGrad, randomArray, tensorCounts } from '../helpers';

const rng = makeRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);
const F64 = { dtype: 'float64' as const };
const read = (t: Tensor) => Array.from(t.dataSync());
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

// ---------------------------------------------------------------- references

/** torch.block_diag's matrix: block i at (Σ rows before, Σ cols before), 0-d as 1×1, 1-D of n as 1×n. */
function blockDiagRef(values: number[][], shapes: number[][]): { out: number[]; shape: number[] } {
  const dims = shapes.map((s) => (s.length === 2 ? s : [1, s.length === 1 ? s[0] : 1]));
  const R = dims.reduce((a, d) => a + d[0], 0), C = dims.reduce((a, d) => a + d[1], 0);
  const out = new Array(R * C).fill(0);
  let r0 = 0, c0 = 0;
  dims.forEach(([r, c], k) => {
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[(r0 + i) * C + c0 + j] = values[k][i * c + j];
    r0 += r;
    c0 += c;
  });
  return { out, shape: [R, C] };
}

/** Rows of the Cartesian product, the last factor varying fastest (a mixed-radix counter). */
function cartesianRef(values: number[][]): number[] {
  const sizes = values.map((v) => v.length);
  const out: number[] = [];
  for (let n = 0; n < size(sizes); n++) {
    let r = n;
    const at = sizes.map(() => 0);
    for (let k = sizes.length - 1; k >= 0; k--) {
      at[k] = r % sizes[k];
      r = Math.floor(r / sizes[k]);
    }
    at.forEach((i, k) => out.push(values[k][i]));
  }
  return out;
}

/** Every r-tuple of positions, nondecreasing (with replacement) or increasing, in lexicographic order. */
function combinationsRef(n: number, r: number, rep: boolean): number[][] {
  const rows: number[][] = [];
  const rec = (prefix: number[], from: number) => {
    if (prefix.length === r) {
      rows.push(prefix);
      return;
    }
    for (let i = from; i < n; i++) rec([...prefix, i], rep ? i : i + 1);
  };
  rec([], 0);
  return rows;
}

/** (i, j) of a row × col matrix with j ≥ i + offset (upper) or j ≤ i + offset (lower), row-major. */
function triangleRef(row: number, col: number, offset: number, upper: boolean): [number[], number[]] {
  const is: number[] = [], js: number[] = [];
  for (let i = 0; i < row; i++)
    for (let j = 0; j < col; j++)
      if (upper ? j - i >= offset : j - i <= offset) {
        is.push(i);
        js.push(j);
      }
  return [is, js];
}

/** A random shape of rank 0–2 with dims in [0, 3] (0 sometimes: empty blocks). */
const blockShape = (): number[] => Array.from({ length: rng.int(0, 2) }, () => (rng.next() < 0.15 ? 0 : rng.int(1, 3)));

// ---------------------------------------------------------------- blockDiag

describe(`blockDiag (seed ${SEED})`, () => {
  test('0-d, 1-D and 2-D blocks (some empty) in float64 and float32: the reference matrix, exactly; array and variadic calls agree', () => {
    for (let trial = 0; trial < 20; trial++) {
      const shapes = Array.from({ length: rng.int(1, 4) }, blockShape);
      const values = shapes.map((s) => randomArray(rng, size(s), -2, 2));
      const ref = blockDiagRef(values, shapes);
      for (const dtype of ['float64', 'float32'] as const) {
        tidy(() => {
          const ts = values.map((v, i) => tensor(v, shapes[i], { dtype }));
          const y = antler.blockDiag(...ts);
          expect(y.shape).toEqual(ref.shape);
          expect(y.dtype).toBe(dtype);
          expectExact(read(y), dtype === 'float32' ? ref.out.map(Math.fround) : ref.out, `shapes ${JSON.stringify(shapes)} ${dtype}`);
          expectExact(read(antler.blockDiag(ts)), read(y), 'array form');
        });
      }
    }
  });

  test("mixed dtypes promote as torch's result_type (0-d blocks only lift integers to floating point); no tensors give float32 [1, 0]", () => {
    tidy(() => {
      const i1 = tensor([1, 2], [2], { dtype: 'int32' });
      const f1 = tensor([3.5], [1]);
      const d0 = tensor(2.5, [], F64);
      const i0 = tensor(7, [], { dtype: 'int32' });
      expect(antler.blockDiag(i1, f1).dtype).toBe('float32');
      expect(antler.blockDiag(d0, f1).dtype).toBe('float32'); // torch: float32
      expect(antler.blockDiag(d0, i1).dtype).toBe('float64'); // torch: float64
      expect(antler.blockDiag(i0, i1).dtype).toBe('int32');
      expect(antler.blockDiag(f1, tensor([[1, 2]], [1, 2], F64)).dtype).toBe('float64');
      const m = antler.blockDiag(i0, i1, f1);
      expectExact(read(m), [7, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 3.5]);
      const none = antler.blockDiag();
      expect(none.shape).toEqual([1, 0]);
      expect(none.dtype).toBe('float32');
      expect(antler.blockDiag(antler.zeros([0])).shape).toEqual([1, 0]);
      expect(antler.blockDiag(antler.zeros([2, 0]), antler.zeros([0, 3])).shape).toEqual([2, 3]);
    });
  });

  test('gradient: each block gets its slice of the upstream gradient (central differences of the reference), through a promotion too', () => {
    for (let trial = 0; trial < 4; trial++) {
      const shapes = Array.from({ length: rng.int(1, 3) }, () => Array.from({ length: rng.int(0, 2) }, () => rng.int(1, 3)));
      const values = shapes.map((s) => randomArray(rng, size(s)));
      const ref = blockDiagRef(values, shapes);
      const w = randomArray(rng, ref.out.length);
      tidy(() => {
        const leaves = values.map((v, i) => tensor(v, shapes[i], { dtype: i === 0 ? 'float32' : 'float64', requiresGrad: true }));
        antler.blockDiag(leaves).backward(tensor(w, ref.shape, F64));
        leaves.forEach((leaf, k) => {
          const num = numGrad((xk) => dotW(blockDiagRef(values.map((v, j) => (j === k ? xk : v)), shapes).out, w), values[k], 1e-6);
          expectClose(read(leaf.grad!), num, 1e-6, 1e-6, `block ${k} of ${JSON.stringify(shapes)}`);
        });
      });
    }
  });

  test('errors: a 3-D block (SHAPE_MISMATCH), a non-tensor (INVALID_ARGUMENT), a disposed block; nothing left behind', () => {
    tidy(() => {
      const a = antler.zeros([2, 2]);
      expectAntlerError(() => antler.blockDiag(a, antler.zeros([1, 2, 2])), 'SHAPE_MISMATCH', /tensors\[1\] has shape \[1, 2, 2\]; expected 0-d, 1-D or 2-D/);
      expectAntlerError(() => antler.blockDiag(a, 3 as never), 'INVALID_ARGUMENT', /tensors\[1\] must be a Tensor; got 3/);
      const gone = antler.zeros([2]);
      gone.dispose();
      expectAntlerError(() => antler.blockDiag(a, gone), 'DISPOSED');
      expectExact(read(a), [0, 0, 0, 0]);
    });
  });
});

// ---------------------------------------------------------------- cartesianProd

describe(`cartesianProd (seed ${SEED})`, () => {
  test('1–4 factors of sizes 0–4: the rows of the reference product (last factor fastest), float64, float32 and int32', () => {
    for (let trial = 0; trial < 16; trial++) {
      const values = Array.from({ length: rng.int(2, 4) }, () => randomArray(rng, rng.next() < 0.1 ? 0 : rng.int(1, 4), -3, 3).map((v) => Math.round(v * 8) / 8));
      const k = values.length;
      const ref = cartesianRef(values);
      for (const dtype of ['float64', 'float32', 'int32'] as const) {
        const vs = dtype === 'int32' ? values.map((v) => v.map((x) => Math.round(x * 8))) : values;
        const r = dtype === 'int32' ? cartesianRef(vs) : ref;
        tidy(() => {
          const y = antler.cartesianProd(...vs.map((v) => tensor(v, [v.length], { dtype })));
          expect(y.shape).toEqual([r.length / k, k]);
          expect(y.dtype).toBe(dtype);
          expectExact(read(y), r, `sizes ${values.map((v) => v.length)} ${dtype}`);
        });
      }
    }
  });

  test("one factor: a copy of it, 1-D (torch's special case), with its own storage and the identity gradient", () => {
    tidy(() => {
      const v = randomArray(rng, 5);
      const x = tensor(v, [5], { dtype: 'float64', requiresGrad: true });
      const y = antler.cartesianProd([x]);
      expect(y.shape).toEqual([5]);
      expect(y).not.toBe(x);
      expectExact(read(y), v);
      const w = randomArray(rng, 5);
      y.backward(tensor(w, [5], F64));
      expectExact(read(x.grad!), w);
    });
  });

  test('gradient: each factor sums the upstream gradient over the rows that use each of its elements (central differences)', () => {
    for (let trial = 0; trial < 4; trial++) {
      const values = Array.from({ length: rng.int(2, 3) }, () => randomArray(rng, rng.int(1, 3)));
      const ref = cartesianRef(values);
      const w = randomArray(rng, ref.length);
      tidy(() => {
        const leaves = values.map((v) => tensor(v, [v.length], { dtype: 'float64', requiresGrad: true }));
        antler.cartesianProd(...leaves).backward(tensor(w, [ref.length / values.length, values.length], F64));
        leaves.forEach((leaf, k) => {
          const num = numGrad((xk) => dotW(cartesianRef(values.map((v, j) => (j === k ? xk : v))), w), values[k], 1e-6);
          expectClose(read(leaf.grad!), num, 1e-6, 1e-6, `factor ${k}`);
        });
      });
    }
  });

  test('errors: no tensors, a 0-d or 2-D factor, mixed dtypes (as torch) and more than 8 factors are refused with codes', () => {
    tidy(() => {
      const a = tensor([1, 2], [2]);
      expectAntlerError(() => antler.cartesianProd(), 'INVALID_ARGUMENT', /at least one tensor/);
      expectAntlerError(() => antler.cartesianProd(tensor(1, [])), 'SHAPE_MISMATCH', /tensors\[0\] has shape \[\]; expected 1-D/);
      expectAntlerError(() => antler.cartesianProd(a, antler.zeros([2, 2])), 'SHAPE_MISMATCH', /tensors\[1\] has shape \[2, 2\]/);
      expectAntlerError(() => antler.cartesianProd(a, tensor([1], [1], F64)), 'DTYPE_MISMATCH', /tensors\[1\] is float64 and tensors\[0\] float32/);
      expectAntlerError(() => antler.cartesianProd(...Array.from({ length: 9 }, () => a)), 'INVALID_ARGUMENT', /at most 8/);
      expectExact(read(a), [1, 2]);
    });
  });
});

// ---------------------------------------------------------------- combinations

describe(`combinations (seed ${SEED})`, () => {
  test("every n in 0–6 and r in 0–7, with and without replacement: the reference rows in torch's order; r = 0 gives [0], r > n without replacement [0, r]", () => {
    for (let n = 0; n <= 6; n++) {
      const v = randomArray(rng, n, -2, 2);
      for (let r = 0; r <= 7; r++) {
        for (const withReplacement of [false, true]) {
          tidy(() => {
            const y = antler.combinations(tensor(v, [n], F64), r, { withReplacement });
            if (r === 0) {
              expect(y.shape).toEqual([0]);
              return;
            }
            const rows = combinationsRef(n, r, withReplacement);
            expect(y.shape).toEqual([rows.length, r]);
            expectExact(read(y), rows.flatMap((row) => row.map((i) => v[i])), `n ${n} r ${r} ${withReplacement}`);
          });
        }
      }
    }
  });

  test('default r = 2 without replacement; float32 and int32 inputs keep their dtype', () => {
    tidy(() => {
      const x = tensor([1, 2, 3, 4], [4], { dtype: 'int32' });
      const y = antler.combinations(x);
      expect(y.dtype).toBe('int32');
      expectExact(read(y), [1, 2, 1, 3, 1, 4, 2, 3, 2, 4, 3, 4]);
      const f = antler.combinations(tensor([0.5, -1, 2], [3]), 2, { withReplacement: true });
      expect(f.dtype).toBe('float32');
      expectExact(read(f), [0.5, 0.5, 0.5, -1, 0.5, 2, -1, -1, -1, 2, 2, 2]);
    });
  });

  test('gradient: each element collects the upstream gradient of every place it appears in (central differences), r = 0 gives zeros', () => {
    for (let trial = 0; trial < 4; trial++) {
      const n = rng.int(1, 5), r = rng.int(1, 3), rep = rng.next() < 0.5;
      const v = randomArray(rng, n);
      const rows = combinationsRef(n, r, rep);
      const w = randomArray(rng, rows.length * r);
      tidy(() => {
        const x = tensor(v, [n], { dtype: 'float64', requiresGrad: true });
        const y = antler.combinations(x, r, { withReplacement: rep });
        if (y.size === 0) return;
        y.backward(tensor(w, y.shape, F64));
        const num = numGrad((xv) => dotW(rows.flatMap((row) => row.map((i) => xv[i])), w), v, 1e-6);
        expectClose(read(x.grad!), num, 1e-6, 1e-6, `n ${n} r ${r} ${rep}`);
      });
    }
    tidy(() => {
      const x = tensor([1, 2, 3], [3], { dtype: 'float64', requiresGrad: true });
      antler.sum(antler.combinations(x, 0)).backward();
      expectExact(read(x.grad!), [0, 0, 0]);
    });
  });

  test('a huge r with no combinations (r > n, or no elements) gives [0, r] at once, without a counter of r entries (which exhausted the heap: a fatal crash)', () => {
    tidy(() => {
      expect(antler.combinations(tensor([1, 2, 3], [3]), 2 ** 31 - 1).shape).toEqual([0, 2 ** 31 - 1]);
      expect(antler.combinations(antler.zeros([0]), 2 ** 31 - 1, { withReplacement: true }).shape).toEqual([0, 2 ** 31 - 1]);
    });
  });

  test('errors: x not 1-D, r negative or fractional, an unknown option, a result past int32 positions; x unchanged', () => {
    tidy(() => {
      const x = tensor([1, 2, 3], [3]);
      expectAntlerError(() => antler.combinations(antler.zeros([2, 2])), 'SHAPE_MISMATCH', /x has shape \[2, 2\]; expected 1-D/);
      expectAntlerError(() => antler.combinations(tensor(1, [])), 'SHAPE_MISMATCH');
      expectAntlerError(() => antler.combinations(x, -1), 'INVALID_ARGUMENT', /r must be an integer >= 0; got -1/);
      expectAntlerError(() => antler.combinations(x, 1.5), 'INVALID_ARGUMENT');
      expectAntlerError(() => antler.combinations(x, 2, { replacement: true } as never), 'INVALID_ARGUMENT');
      expectAntlerError(() => antler.combinations(x, 2, { withReplacement: 1 as never }), 'INVALID_ARGUMENT');
      expectAntlerError(() => antler.combinations(antler.zeros([2000]), 4), 'INVALID_ARGUMENT', /at most 2\^31 − 1 elements/);
      expectExact(read(x), [1, 2, 3]);
    });
  });
});

// ---------------------------------------------------------------- triuIndices / trilIndices

describe(`triuIndices and trilIndices (seed ${SEED})`, () => {
  test('random sizes 0–6 and offsets from below −col to above row: the scanned (i, j), row-major, int32 [2, k]', () => {
    for (let trial = 0; trial < 60; trial++) {
      const row = rng.int(0, 6), col = rng.int(0, 6), offset = rng.int(-8, 8);
      for (const upper of [true, false]) {
        tidy(() => {
          const y = upper ? antler.triuIndices(row, col, offset) : antler.trilIndices(row, col, offset);
          const [is, js] = triangleRef(row, col, offset, upper);
          expect(y.dtype).toBe('int32');
          expect(y.shape).toEqual([2, is.length]);
          expectExact(read(y), [...is, ...js], `${upper ? 'triu' : 'tril'}(${row}, ${col}, ${offset})`);
        });
      }
    }
  });

  test('default offset 0; the indices pick the triangle that triu/tril keep (gather through them)', () => {
    tidy(() => {
      expectExact(read(antler.triuIndices(3, 4)), [0, 0, 0, 0, 1, 1, 1, 2, 2, 0, 1, 2, 3, 1, 2, 3, 2, 3]);
      expectExact(read(antler.trilIndices(3, 4)), [0, 1, 1, 2, 2, 2, 0, 0, 1, 0, 1, 2]);
      const r = rng.int(1, 5), c = rng.int(1, 5), off = rng.int(-2, 2);
      const m = tensor(randomArray(rng, r * c), [r, c], F64);
      for (const [idx, kept] of [[antler.triuIndices(r, c, off), antler.triu(m, off)], [antler.trilIndices(r, c, off), antler.tril(m, off)]] as const) {
        const [is, js] = [read(idx).slice(0, idx.shape[1]), read(idx).slice(idx.shape[1])];
        const all = read(kept);
        const picked = is.map((i, e) => all[i * c + js[e]]);
        const mv = read(m);
        expectExact(picked, is.map((i, e) => mv[i * c + js[e]]));
        // Every entry triu/tril keep nonzero is listed.
        expect(all.filter((v) => v !== 0).length).toBe(is.length);
      }
    });
  });

  test('sizes near 2^31: the count is exact in the refusal, and a small table of a huge matrix comes back without scanning every row', () => {
    // (2^31 − 1)·2^31/2 positions: past 2^53, so a float sum of the rows' counts is off.
    expectAntlerError(() => antler.triuIndices(2 ** 31 - 1, 2 ** 31 - 1), 'INVALID_ARGUMENT', /keep 2305843008139952128 positions; at most 2\^30 − 1/);
    expectAntlerError(() => antler.trilIndices(46341, 46341), 'INVALID_ARGUMENT', /keep 1073767311 positions/);
    tidy(() => {
      expectExact(read(antler.triuIndices(2 ** 31 - 1, 1)), [0, 0]);
      expectExact(read(antler.triuIndices(2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 2)), [0, 2 ** 31 - 2]);
      expectExact(read(antler.trilIndices(2 ** 31 - 1, 2, -(2 ** 31) + 4)), [2 ** 31 - 4, 2 ** 31 - 3, 2 ** 31 - 3, 2 ** 31 - 2, 2 ** 31 - 2, 0, 0, 1, 0, 1]);
      expect(antler.trilIndices(2 ** 31 - 1, 0).shape).toEqual([2, 0]);
    });
  });

  test("errors: negative or fractional sizes, a fractional offset, a non-int32 dtype, requiresGrad; {dtype: 'int32'} and {device} accepted", () => {
    expectAntlerError(() => antler.triuIndices(-1, 3), 'INVALID_ARGUMENT', /row must be an integer >= 0; got -1/);
    expectAntlerError(() => antler.trilIndices(3, 2.5), 'INVALID_ARGUMENT', /col must be an integer >= 0/);
    expectAntlerError(() => antler.triuIndices(3, 3, 0.5), 'INVALID_ARGUMENT', /offset must be an integer; got 0.5/);
    expectAntlerError(() => antler.trilIndices(3, 3, 0, { dtype: 'float32' as never }), 'DTYPE_MISMATCH', /dtype must be 'int32'/);
    expectAntlerError(() => antler.trilIndices(3, 3, 0, { requiresGrad: true } as never), 'DTYPE_MISMATCH');
    expectAntlerError(() => antler.triuIndices(3, 3, 0, { size: 2 } as never), 'INVALID_ARGUMENT');
    tidy(() => {
      const y = antler.triuIndices(2, 2, 0, { dtype: 'int32', device: 'cpu' });
      expect(y.device).toBe('cpu');
      expectExact(read(y), [0, 0, 1, 0, 1, 1]);
    });
  });
});

// ---------------------------------------------------------------- atleast*, stacks, flips, diagflat

/** torch.atleast_{k}d's shape, from its documentation's table. */
function atLeastShape(s: number[], k: 1 | 2 | 3): number[] {
  if (s.length >= k) return s;
  if (k === 1) return [1];
  if (k === 2) return s.length === 0 ? [1, 1] : [1, s[0]];
  return s.length === 0 ? [1, 1, 1] : s.length === 1 ? [1, s[0], 1] : [s[0], s[1], 1];
}

/** Row-major concatenation along axis (the shapes agree elsewhere), element by element. */
function catRef(values: number[][], shapes: number[][], axis: number): { out: number[]; shape: number[] } {
  const shape = shapes[0].slice();
  shape[axis] = shapes.reduce((a, s) => a + s[axis], 0);
  const out = new Array(size(shape)).fill(NaN);
  const outer = size(shape.slice(0, axis)), inner = size(shape.slice(axis + 1));
  let at = 0;
  shapes.forEach((s, k) => {
    for (let o = 0; o < outer; o++)
      for (let a = 0; a < s[axis]; a++)
        for (let i = 0; i < inner; i++) out[(o * shape[axis] + at + a) * inner + i] = values[k][(o * s[axis] + a) * inner + i];
    at += s[axis];
  });
  return { out, shape };
}

type StackName = 'hstack' | 'vstack' | 'rowStack' | 'dstack' | 'columnStack';
/** What torch's stack functions make of the inputs (shapes reshaped, then one axis). */
function stackRef(name: StackName, values: number[][], shapes: number[][]): { out: number[]; shape: number[] } {
  if (name === 'hstack') {
    const s1 = shapes.map((s) => atLeastShape(s, 1));
    return catRef(values, s1, s1[0].length === 1 ? 0 : 1);
  }
  if (name === 'vstack' || name === 'rowStack') return catRef(values, shapes.map((s) => atLeastShape(s, 2)), 0);
  if (name === 'dstack') return catRef(values, shapes.map((s) => atLeastShape(s, 3)), 2);
  return catRef(values, shapes.map((s) => (s.length <= 1 ? [size(s), 1] : s)), 1);
}

/** Random shapes that the stack joins: `free` is the joined axis of the reshaped inputs. */
function stackShapes(name: StackName): number[][] {
  const k = rng.int(1, 3);
  const n = rng.int(1, 3), m = rng.int(1, 3);
  const pick = <T>(xs: T[]) => xs[rng.int(0, xs.length - 1)];
  switch (name) {
    case 'hstack':
      return pick([() => Array.from({ length: k }, () => (rng.next() < 0.3 ? [] : [rng.int(0, 3)])), () => Array.from({ length: k }, () => [n, rng.int(0, 3), m])])();
    case 'vstack':
    case 'rowStack':
      return pick([() => Array.from({ length: k }, () => [n]), () => Array.from({ length: k }, () => [rng.int(1, 3), n]), () => Array.from({ length: k }, () => [])])();
    case 'dstack':
      return pick([() => Array.from({ length: k }, () => [n]), () => Array.from({ length: k }, () => [n, m]), () => Array.from({ length: k }, () => [n, m, rng.int(1, 2)])])();
    default:
      return Array.from({ length: k }, () => pick([[n], [n, rng.int(1, 3)], ...(n === 1 ? [[]] : [])]));
  }
}

describe(`atleast1d/2d/3d, hstack/vstack/rowStack/dstack/columnStack, flipud/fliplr, diagflat (seed ${SEED})`, () => {
  test("atleast1d/2d/3d: torch's table of shapes for ranks 0–4, values unchanged; one tensor gives a tensor, several or an array an array", () => {
    tidy(() => {
      for (const k of [1, 2, 3] as const) {
        const f = [antler.atleast1d, antler.atleast2d, antler.atleast3d][k - 1];
        const shapes = [0, 1, 2, 3, 4].map((r) => Array.from({ length: r }, () => rng.int(1, 3)));
        const vs = shapes.map((s) => randomArray(rng, size(s)));
        const ts = vs.map((v, i) => tensor(v, shapes[i], F64));
        for (let i = 0; i < ts.length; i++) {
          const y = f(ts[i]);
          expect(y).toBeInstanceOf(Tensor);
          expect(y).not.toBe(ts[i]);
          expect(y.shape).toEqual(atLeastShape(shapes[i], k));
          expectExact(read(y), vs[i]);
        }
        const many = f(ts[0], ts[1]) as Tensor[];
        const arr = f(ts) as Tensor[];
        expect(many.map((t) => t.shape)).toEqual([0, 1].map((i) => atLeastShape(shapes[i], k)));
        expect(arr.map((t) => t.shape)).toEqual(shapes.map((s) => atLeastShape(s, k)));
      }
      expect(antler.atleast2d(tensor(3, [])).shape).toEqual([1, 1]);
      expect(antler.atleast3d(tensor([1, 2], [2])).shape).toEqual([1, 2, 1]);
      expect(antler.atleast3d(antler.zeros([2, 3])).shape).toEqual([2, 3, 1]);
    });
  });

  test('the stacks: random shapes each joins, against the element-by-element concatenation of the reshaped inputs; float32, float64, int32 and mixed (promoted)', () => {
    for (const name of ['hstack', 'vstack', 'rowStack', 'dstack', 'columnStack'] as const) {
      for (let trial = 0; trial < 8; trial++) {
        const shapes = stackShapes(name);
        const values = shapes.map((s) => randomArray(rng, size(s), -4, 4).map(Math.round));
        const ref = stackRef(name, values, shapes);
        const dtypes = shapes.map(() => rng.pick(['float32', 'float64', 'int32'] as const));
        tidy(() => {
          const y = antler[name](values.map((v, i) => tensor(v, shapes[i], { dtype: dtypes[i] })));
          expect(y.shape).toEqual(ref.shape);
          expect(y.dtype).toBe(dtypes.includes('float64') ? 'float64' : dtypes.includes('float32') ? 'float32' : 'int32');
          expectExact(read(y), ref.out, `${name} ${JSON.stringify(shapes)}`);
        });
      }
    }
  });

  test('the stacks, flips and diagflat: gradients against central differences of the references', () => {
    for (const name of ['hstack', 'vstack', 'dstack', 'columnStack'] as const) {
      const shapes = stackShapes(name);
      const values = shapes.map((s) => randomArray(rng, size(s)));
      const ref = stackRef(name, values, shapes);
      const w = randomArray(rng, ref.out.length);
      tidy(() => {
        const leaves = values.map((v, i) => tensor(v, shapes[i], { dtype: 'float64', requiresGrad: true }));
        antler[name](leaves).backward(tensor(w, ref.shape, F64));
        leaves.forEach((leaf, k) => {
          const num = numGrad((xk) => dotW(stackRef(name, values.map((v, j) => (j === k ? xk : v)), shapes).out, w), values[k], 1e-6);
          expectClose(read(leaf.grad!), num, 1e-6, 1e-6, `${name} input ${k} of ${JSON.stringify(shapes)}`);
        });
      });
    }
    // At least 2 × 2, so that neither flip is the identity.
    const r = rng.int(2, 4), c = rng.int(2, 4), off = rng.int(-2, 2);
    const v = randomArray(rng, r * c);
    const flipRef = (xv: number[], ud: boolean) => xv.map((_, e) => {
      const i = Math.floor(e / c), j = e % c;
      return ud ? xv[(r - 1 - i) * c + j] : xv[i * c + (c - 1 - j)];
    });
    const n = r * c + Math.abs(off);
    const diagRef = (xv: number[]) => {
      const out = new Array(n * n).fill(0);
      xv.forEach((x, k) => (out[(off >= 0 ? k : k - off) * n + (off >= 0 ? k + off : k)] = x));
      return out;
    };
    const w = randomArray(rng, n * n);
    tidy(() => {
      for (const [f, ref] of [[(x: Tensor) => x.flipud(), (xv: number[]) => flipRef(xv, true)], [(x: Tensor) => x.fliplr(), (xv: number[]) => flipRef(xv, false)], [(x: Tensor) => x.diagflat(off), diagRef]] as const) {
        const x = tensor(v, [r, c], { dtype: 'float64', requiresGrad: true });
        const y = f(x);
        expectExact(read(y), ref(v));
        const wy = w.slice(0, y.size);
        y.backward(tensor(wy, y.shape, F64));
        expectClose(read(x.grad!), numGrad((xv) => dotW(ref(xv), wy), v, 1e-6), 1e-6, 1e-6, `shape [${r}, ${c}] offset ${off}`);
      }
      expect(antler.diagflat(tensor(2, [])).shape).toEqual([1, 1]);
      expectExact(read(antler.diagflat(tensor([1, 2], [2]), -1)), [0, 0, 0, 1, 0, 0, 0, 2, 0]);
      expectExact(read(antler.flipud(tensor([1, 2, 3], [3]))), [3, 2, 1]);
      const x3 = antler.arange(12, undefined, 1, F64).reshape([2, 3, 2]);
      expectExact(read(antler.fliplr(x3)), [4, 5, 2, 3, 0, 1, 10, 11, 8, 9, 6, 7]);
      expectExact(read(antler.flipud(x3)), [6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 4, 5]);
    });
  });

  test('errors: empty or non-array stacks, shapes that do not join, flips of too few dims, a fractional diagflat offset; inputs unchanged', () => {
    tidy(() => {
      const a = tensor([1, 2], [2]);
      for (const name of ['hstack', 'vstack', 'rowStack', 'dstack', 'columnStack'] as const) {
        expectAntlerError(() => antler[name]([]), 'INVALID_ARGUMENT', /expected a non-empty array of tensors/);
        expectAntlerError(() => antler[name](a as never), 'INVALID_ARGUMENT');
      }
      expectAntlerError(() => antler.vstack([a, tensor([1, 2, 3], [3])]), 'SHAPE_MISMATCH');
      expectAntlerError(() => antler.hstack([antler.zeros([2, 2]), antler.zeros([3, 2])]), 'SHAPE_MISMATCH');
      expectAntlerError(() => antler.atleast2d(a, 3 as never), 'INVALID_ARGUMENT', /tensors\[1\] must be a Tensor/);
      expectAntlerError(() => antler.flipud(tensor(1, [])), 'SHAPE_MISMATCH', /expected at least 1 dim/);
      expectAntlerError(() => antler.fliplr(a), 'SHAPE_MISMATCH', /x has shape \[2\]; expected at least 2 dims/);
      expectAntlerError(() => antler.diagflat(a, 0.5), 'INVALID_ARGUMENT', /offset must be an integer; got 0.5/);
      expectExact(read(a), [1, 2]);
    });
  });
});

// ---------------------------------------------------------------- trapezoid, cumulativeTrapezoid

/**
 * The trapezoid rule along `axis` of y (row-major, shape ys), positions from pos(line, i) (the i-th
 * sample's position on that line): the running areas (cumulative) or their sum, by the definition
 * Σ (y[i] + y[i+1])/2 · (x[i+1] − x[i]).
 */
function trapezoidRef(y: number[], ys: number[], axis: number, pos: (outer: number, inner: number, i: number) => number, cumulative: boolean): { out: number[]; shape: number[] } {
  const n = ys[axis];
  const outer = size(ys.slice(0, axis)), inner = size(ys.slice(axis + 1));
  const m = Math.max(n - 1, 0);
  const shape = cumulative ? ys.map((s, k) => (k === axis ? m : s)) : ys.filter((_, k) => k !== axis);
  const out = new Array(size(shape)).fill(0);
  for (let o = 0; o < outer; o++)
    for (let q = 0; q < inner; q++) {
      let acc = 0;
      for (let i = 0; i + 1 < n; i++) {
        const at = (j: number) => y[(o * n + j) * inner + q];
        acc += ((at(i) + at(i + 1)) / 2) * (pos(o, q, i + 1) - pos(o, q, i));
        if (cumulative) out[(o * m + i) * inner + q] = acc;
      }
      if (!cumulative) out[o * inner + q] = acc;
    }
  return { out, shape };
}

describe(`concat and hstack skip 1-D tensors of shape [0], as torch.cat 1.13 (seed ${SEED})`, () => {
  test('empty 1-D tensors anywhere in the list, any rank and axis of the others: the reference concatenation of the others; the dtype promoted over all (the skipped too)', () => {
    const dts = ['float32', 'float64', 'int32'] as const;
    for (let trial = 0; trial < 12; trial++) {
      const rank = rng.int(1, 3);
      const axis = rng.int(0, rank - 1);
      const base = Array.from({ length: rank }, () => rng.int(1, 3));
      const shapes = Array.from({ length: rng.int(1, 3) }, () => base.map((d, i) => (i === axis ? rng.int(0, 3) : d)));
      const values = shapes.map((sh) => randomArray(rng, size(sh), -4, 4).map(Math.round));
      const ref = catRef(values, shapes, axis);
      const dtypes = shapes.map(() => rng.pick(dts));
      const empties = Array.from({ length: rng.int(1, 3) }, () => ({ at: rng.int(0, shapes.length), dtype: rng.pick(dts) }));
      const all = [...dtypes, ...empties.map((e) => e.dtype)];
      tidy(() => {
        const list: Tensor[] = values.map((v, i) => tensor(v, shapes[i], { dtype: dtypes[i] }));
        for (const e of empties) list.splice(e.at, 0, antler.zeros([0], { dtype: e.dtype }));
        const what = `${list.map((t) => `[${t.shape}] ${t.dtype}`).join(', ')} along ${axis}`;
        const y = antler.concat(list, rng.pick([axis, axis - rank]));
        expect(y.shape).toEqual(ref.shape);
        expect(y.dtype).toBe(all.includes('float64') ? 'float64' : all.includes('float32') ? 'float32' : 'int32');
        expectExact(read(y), ref.out, what);
      });
    }
  });

  test("torch's cases: all skipped give [0] (promoted, any axis); the axis is checked against the others' rank; hstack skips them, vstack (a [1, 0] row) does not; errors leave the inputs unchanged", () => {
    tidy(() => {
      const e32 = antler.zeros([0]), e64 = antler.zeros([0], F64);
      const x = tensor(randomArray(rng, 6), [2, 3]);
      // torch.cat([torch.empty(0), torch.randn(2, 3)], 1) and at either end: x.
      for (const list of [[e32, x], [x, e32], [e32, x, e64]]) {
        const y = antler.concat(list, 1);
        expect(y.shape).toEqual([2, 3]);
        expectClose(read(y), read(x), 0, 0);
      }
      expect(antler.concat([e32, x], 1).dtype).toBe('float32');
      expect(antler.concat([e64, x]).dtype).toBe('float64');
      expect(antler.concat([antler.zeros([0], { dtype: 'int32' }), x]).dtype).toBe('float32');
      const allEmpty = antler.concat([e32, e64], 5);
      expect([allEmpty.shape, allEmpty.dtype]).toEqual([[0], 'float64']);
      expect(antler.concat([e32], -3).shape).toEqual([0]);
      // torch: IndexError "Dimension out of range (expected to be in range of [-2, 1], but got 2)".
      expectAntlerError(() => antler.concat([x, e32], 2), 'INVALID_ARGUMENT', /concat: axis 2 is out of range for tensors of rank 2.*expected -2 to 1/);
      expectAntlerError(() => antler.concat([e32, x], -3), 'INVALID_ARGUMENT', /axis -3 is out of range/);
      expectAntlerError(() => antler.concat([antler.zeros([3]), e32, x]), 'SHAPE_MISMATCH', /concat: tensors\[2\] has shape \[2, 3\] and tensors\[0\] \[3\]/);
      expectAntlerError(() => antler.concat([e32, antler.zeros([0, 3]), antler.zeros([2, 4])]), 'SHAPE_MISMATCH', /tensors\[2\] has shape \[2, 4\] and tensors\[1\] \[0, 3\]/);
      expectAntlerError(() => antler.concat([e32, tensor(1, [])]), 'INVALID_ARGUMENT', /tensors\[1\] is 0-d/);
      expectAntlerError(() => antler.concat([e32, x], 0.5), 'INVALID_ARGUMENT', /axis must be an integer/);
      expect(antler.hstack([e32, x]).shape).toEqual([2, 3]);
      expect(antler.hstack([x, e32]).shape).toEqual([2, 3]);
      expect(antler.hstack([e32, tensor([1, 2], [2])]).shape).toEqual([2]);
      expectAntlerError(() => antler.vstack([e32, x]), 'SHAPE_MISMATCH');
      expect(x.shape).toEqual([2, 3]);
      expect([e32.shape, e64.shape]).toEqual([[0], [0]]);
    });
  });

  test('gradients: the others get their slices of the upstream gradient; a skipped tensor gets zeros of shape [0] in its own dtype (torch: tensor([]))', () => {
    tidy(() => {
      const r = rng.int(1, 3), c1 = rng.int(1, 3), c2 = rng.int(1, 3);
      const a = tensor(randomArray(rng, r * c1), [r, c1], { dtype: 'float64', requiresGrad: true });
      const b = tensor(randomArray(rng, r * c2), [r, c2], { dtype: 'float32', requiresGrad: true });
      const e64 = antler.zeros([0], { dtype: 'float64', requiresGrad: true });
      const e32 = antler.zeros([0], { requiresGrad: true });
      const y = antler.concat([e32, a, e64, b], 1);
      expect(y.dtype).toBe('float64');
      const w = randomArray(rng, r * (c1 + c2));
      y.backward(tensor(w, y.shape, F64));
      const wRows = Array.from({ length: r }, (_, i) => w.slice(i * (c1 + c2), (i + 1) * (c1 + c2)));
      expectExact(read(a.grad!), wRows.flatMap((row) => row.slice(0, c1)));
      expectClose(read(b.grad!), wRows.flatMap((row) => row.slice(c1)), 1e-6, 1e-7);
      for (const [e, dt] of [[e32, 'float32'], [e64, 'float64']] as const) {
        expect(e.grad).not.toBeNull();
        expect([e.grad!.shape, e.grad!.dtype]).toEqual([[0], dt]);
      }
      // All skipped: each gets its zeros [0].
      const f = antler.zeros([0], { dtype: 'float64', requiresGrad: true });
      antler.concat([f, f], 1).sum().backward();
      expect([f.grad!.shape, f.grad!.dtype]).toEqual([[0], 'float64']);
    });
  });
});

describe(`trapezoid and cumulativeTrapezoid (seed ${SEED})`, () => {
  const randomCase = () => {
    const rank = rng.int(1, 3);
    const ys = Array.from({ length: rank }, () => rng.int(1, 4));
    const axis = rng.int(-rank, rank - 1);
    return { ys, axis, ax: axis < 0 ? axis + rank : axis, y: randomArray(rng, size(ys), -2, 2) };
  };

  test('evenly spaced ({dx}, default 1), 1-D x, and x broadcasting along the axis: the definition on random shapes and axes, float64 and float32', () => {
    for (let trial = 0; trial < 30; trial++) {
      const { ys, axis, ax, y } = randomCase();
      const n = ys[ax];
      const dx = rng.pick([1, 0.5, -1.25]);
      const x1 = randomArray(rng, n, -3, 3);
      // An x of y's rank with size 1 on some other axes (broadcast), full on the sampled one.
      const xs = ys.map((s, k) => (k === ax || rng.next() < 0.5 ? s : 1));
      const xn = randomArray(rng, size(xs), -3, 3);
      const xnStrides = xs.map((_, k) => size(xs.slice(k + 1)));
      const posN = (o: number, q: number, i: number) => {
        // y's index (o, i, q) -> its coordinates -> x's flat index (size-1 axes at 0).
        const coords = [...unflat(o, ys.slice(0, ax)), i, ...unflat(q, ys.slice(ax + 1))];
        return xn[coords.reduce((a, c, k) => a + (xs[k] === 1 ? 0 : c) * xnStrides[k], 0)];
      };
      for (const cumulative of [false, true]) {
        const f = cumulative ? antler.cumulativeTrapezoid : antler.trapezoid;
        const refs = [
          trapezoidRef(y, ys, ax, (_o, _q, i) => i * dx, cumulative),
          trapezoidRef(y, ys, ax, (_o, _q, i) => x1[i], cumulative),
          trapezoidRef(y, ys, ax, posN, cumulative),
        ];
        for (const dtype of ['float64', 'float32'] as const) {
          tidy(() => {
            const yt = tensor(y, ys, { dtype });
            const outs = [
              dx === 1 && rng.next() < 0.5 ? f(yt, { axis }) : f(yt, { dx, axis }),
              f(yt, tensor(x1, [n], { dtype }), { axis }),
              f(yt, tensor(xn, xs, { dtype }), { axis }),
            ];
            outs.forEach((out, k) => {
              expect(out.shape).toEqual(refs[k].shape);
              expect(out.dtype).toBe(dtype);
              const tol = dtype === 'float64' ? 1e-12 : 2e-6;
              expectClose(read(out), refs[k].out, tol, tol * 10, `${cumulative ? 'cumulative ' : ''}case ${k} y ${JSON.stringify(ys)} axis ${axis}`);
            });
          });
        }
      }
    }
  });

  test("fewer than two samples: 0 (trapezoid) or an empty axis (cumulative); int32 integrates in float32, no samples keep y's dtype (torch's)", () => {
    tidy(() => {
      expectExact(read(antler.trapezoid(tensor([[5], [7]], [2, 1]))), [0, 0]);
      expect(antler.cumulativeTrapezoid(tensor([5], [1])).shape).toEqual([0]);
      const e = antler.trapezoid(antler.zeros([2, 0], { dtype: 'int32' }), { axis: 1 });
      expect(e.shape).toEqual([2]);
      expect(e.dtype).toBe('int32');
      const i = antler.trapezoid(tensor([1, 2, 4], [3], { dtype: 'int32' }), { dx: 2 });
      expect(i.dtype).toBe('float32');
      expectExact(read(i), [9]);
      const c = antler.cumulativeTrapezoid(tensor([1, 2, 4], [3], { dtype: 'int32' }), { dx: 2 });
      expect(c.dtype).toBe('float32');
      expectExact(read(c), [3, 9]);
      expectExact(read(antler.trapezoid(tensor([1, 2, 3], [3]), tensor([0, 1, 3], [3]))), [6.5]);
      expect(antler.trapezoid(tensor([1, 2], [2]), tensor([0, 1], [2], F64)).dtype).toBe('float64');
    });
  });

  test("x with fewer dims than y (not 1-D): leading 1s up to y's rank, the axis counted on y's rank, positive or negative (torch's); a larger x that torch refuses is refused", () => {
    for (let trial = 0; trial < 12; trial++) {
      const rank = rng.int(3, 4);
      const ys = Array.from({ length: rank }, () => rng.int(2, 4));
      const xr = rng.int(2, rank - 1);
      // x's dims are y's last xr ones, each kept or 1 (broadcast), the sampled axis among them.
      const ax = rng.int(rank - xr, rank - 1);
      const xs = ys.slice(rank - xr).map((s, k) => (k + rank - xr === ax || rng.next() < 0.5 ? s : 1));
      const y = randomArray(rng, size(ys), -2, 2);
      const xv = randomArray(rng, size(xs), -3, 3);
      const xStrides = xs.map((_, k) => size(xs.slice(k + 1)));
      const pos = (o: number, q: number, i: number) => {
        const coords = [...unflat(o, ys.slice(0, ax)), i, ...unflat(q, ys.slice(ax + 1))].slice(rank - xr);
        return xv[coords.reduce((a, c, k) => a + (xs[k] === 1 ? 0 : c) * xStrides[k], 0)];
      };
      for (const cumulative of [false, true]) {
        const ref = trapezoidRef(y, ys, ax, pos, cumulative);
        for (const axis of [ax, ax - rank]) {
          tidy(() => {
            const out = (cumulative ? antler.cumulativeTrapezoid : antler.trapezoid)(tensor(y, ys, F64), tensor(xv, xs, F64), { axis });
            expect(out.shape).toEqual(ref.shape);
            expectClose(read(out), ref.out, 1e-12, 1e-12, `${cumulative ? 'cumulative ' : ''}y ${JSON.stringify(ys)} x ${JSON.stringify(xs)} axis ${axis}`);
          });
        }
      }
    }
    tidy(() => {
      // torch.trapezoid(torch.ones(2, 3), torch.ones(2, 3, 3)) fails: dim -1 is x's axis 1, whose widths [2, 2, 3] do not broadcast with [2, 2].
      for (const f of [antler.trapezoid, antler.cumulativeTrapezoid]) expectAntlerError(() => f(antler.ones([2, 3]), antler.ones([2, 3, 3])), 'SHAPE_MISMATCH', /do not broadcast/);
    });
  });

  test('gradients to y and x against central differences of the definition', () => {
    for (let trial = 0; trial < 6; trial++) {
      const { ys, axis, ax, y } = randomCase();
      const n = ys[ax];
      const x1 = randomArray(rng, n, -3, 3);
      for (const cumulative of [false, true]) {
        const ref = (yv: number[], xv: number[]) => trapezoidRef(yv, ys, ax, (_o, _q, i) => xv[i], cumulative);
        const r0 = ref(y, x1);
        const w = randomArray(rng, r0.out.length);
        tidy(() => {
          const yt = tensor(y, ys, { dtype: 'float64', requiresGrad: true });
          const xt = tensor(x1, [n], { dtype: 'float64', requiresGrad: true });
          const out = (cumulative ? antler.cumulativeTrapezoid : antler.trapezoid)(yt, xt, { axis });
          if (out.size === 0) return;
          out.backward(tensor(w, out.shape, F64));
          expectClose(read(yt.grad!), numGrad((yv) => dotW(ref(yv, x1).out, w), y, 1e-6), 1e-6, 1e-6, `y of ${JSON.stringify(ys)} axis ${axis}`);
          expectClose(read(xt.grad!), numGrad((xv) => dotW(ref(y, xv).out, w), x1, 1e-6), 1e-6, 1e-6, `x of ${JSON.stringify(ys)} axis ${axis}`);
        });
      }
    }
  });

  test("errors: 0-d y, an axis out of range, x's positions not one per sample or not broadcasting, x with dx, a non-finite dx, unknown options; inputs unchanged", () => {
    tidy(() => {
      const y = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
      for (const f of [antler.trapezoid, antler.cumulativeTrapezoid]) {
        expectAntlerError(() => f(tensor(1, [])), 'SHAPE_MISMATCH', /y is 0-d/);
        expectAntlerError(() => f(y, { axis: 2 }), 'INVALID_ARGUMENT', /axis must be an integer in \[-2, 2\)/);
        expectAntlerError(() => f(y, tensor([0, 1], [2])), 'SHAPE_MISMATCH', /x has 2 positions and y 3 samples along axis -1; expected one x value for each sample point/);
        expectAntlerError(() => f(y, antler.zeros([3, 3])), 'SHAPE_MISMATCH', /do not broadcast/);
        expectAntlerError(() => f(y, tensor([0, 1, 2], [3]), { dx: 2 }), 'INVALID_ARGUMENT', /x and dx were both given/);
        expectAntlerError(() => f(y, { dx: Infinity }), 'INVALID_ARGUMENT');
        expectAntlerError(() => f(y, { dim: 0 } as never), 'INVALID_ARGUMENT');
        expectAntlerError(() => f(y, { dx: 1 }, { axis: 0 }), 'INVALID_ARGUMENT', /the second argument is x/);
      }
      expectExact(read(y), [1, 2, 3, 4, 5, 6]);
    });
  });
});

/** The coordinates of flat index f in a row-major shape. */
function unflat(f: number, shape: number[]): number[] {
  const out = new Array(shape.length).fill(0);
  for (let k = shape.length - 1; k >= 0; k--) {
    out[k] = f % shape[k];
    f = Math.floor(f / shape[k]);
  }
  return out;
}

// ---------------------------------------------------------------- hsplit / vsplit / dsplit, unbind, moveaxis

/** The piece of x (row-major, shape s) from `from` to `to` along axis, element by element. */
function pieceRef(x: number[], s: number[], axis: number, from: number, to: number): number[] {
  const outer = size(s.slice(0, axis)), inner = size(s.slice(axis + 1));
  const out: number[] = [];
  for (let o = 0; o < outer; o++) for (let a = from; a < to; a++) for (let i = 0; i < inner; i++) out.push(x[(o * s[axis] + a) * inner + i]);
  return out;
}

describe(`hsplit, vsplit, dsplit, unbind, moveaxis (seed ${SEED})`, () => {
  test("equal sections and index cuts along torch's axes (hsplit of a 1-D x along 0): the reference pieces; Tensor methods agree", () => {
    for (let trial = 0; trial < 12; trial++) {
      for (const [name, rank, axis] of [['hsplit', 1, 1], ['vsplit', 2, 0], ['dsplit', 3, 2]] as const) {
        const s = Array.from({ length: rng.int(rank, 3) }, () => rng.int(1, 3));
        const ax = s.length === 1 ? 0 : axis;
        const sections = rng.int(1, 3);
        s[ax] = sections * rng.int(0, 2);
        const x = randomArray(rng, size(s));
        const cuts = [rng.int(-2, 4), rng.int(0, 5)];
        tidy(() => {
          const xt = tensor(x, s, F64);
          const even = antler[name](xt, sections);
          expect(even.length).toBe(sections);
          const len = s[ax] / sections;
          even.forEach((p, i) => expectExact(read(p), pieceRef(x, s, ax, i * len, (i + 1) * len), `${name} ${JSON.stringify(s)} section ${i}`));
          const byIdx = xt[name](cuts);
          const L = s[ax];
          const at = (v: number) => (v < 0 ? Math.max(0, v + L) : Math.min(v, L));
          const bounds = [0, at(cuts[0]), at(cuts[1]), L];
          expect(byIdx.length).toBe(3);
          byIdx.forEach((p, i) => expectExact(read(p), pieceRef(x, s, ax, bounds[i], Math.max(bounds[i], bounds[i + 1])), `${name} cuts ${cuts} piece ${i}`));
        });
      }
    }
  });

  test('gradients land in place (hsplit); unbind and moveaxis are unstack and movedim under torch\'s names, methods too', () => {
    tidy(() => {
      const v = randomArray(rng, 12);
      const x = tensor(v, [3, 4], { dtype: 'float64', requiresGrad: true });
      const [a, b] = antler.hsplit(x, 2);
      antler.add(antler.sum(antler.mul(a, 2)), antler.sum(antler.mul(b, 3))).backward();
      expectExact(read(x.grad!), [2, 2, 3, 3, 2, 2, 3, 3, 2, 2, 3, 3]);
      const y = tensor(randomArray(rng, 24), [2, 3, 4], F64);
      const u = antler.unbind(y, 1), w = y.unbind(-2), ref = antler.unstack(y, 1);
      expect(u.length).toBe(3);
      u.forEach((p, i) => {
        expect(p.shape).toEqual([2, 4]);
        expectExact(read(p), read(ref[i]));
        expectExact(read(w[i]), read(ref[i]));
      });
      const m = antler.moveaxis(y, 0, -1);
      expect(m.shape).toEqual([3, 4, 2]);
      expectExact(read(m), read(antler.movedim(y, 0, -1)));
      expectExact(read(y.moveaxis([0, 1], [2, 0])), read(antler.movedim(y, [0, 1], [2, 0])));
    });
  });

  test('errors: too few dims, sections that do not divide the axis or are not positive integers, indices not integers; x unchanged', () => {
    tidy(() => {
      const x = antler.zeros([2, 4]);
      expectAntlerError(() => antler.hsplit(tensor(1, []), 1), 'SHAPE_MISMATCH', /expected at least 1 dim$/);
      expectAntlerError(() => antler.vsplit(tensor([1, 2], [2]), 2), 'SHAPE_MISMATCH', /expected at least 2 dims/);
      expectAntlerError(() => antler.dsplit(x, 2), 'SHAPE_MISMATCH', /x has shape \[2, 4\]; expected at least 3 dims/);
      expectAntlerError(() => antler.hsplit(x, 3), 'INVALID_ARGUMENT', /axis 1 of size 4 \(shape \[2, 4\]\) does not divide into 3 equal sections/);
      expectAntlerError(() => antler.hsplit(x, 0), 'INVALID_ARGUMENT', /sections must be an integer >= 1/);
      expectAntlerError(() => antler.vsplit(x, [0.5]), 'INVALID_ARGUMENT');
      expectAntlerError(() => antler.unbind(tensor(1, [])), 'INVALID_ARGUMENT');
      expectExact(read(x), new Array(8).fill(0));
    });
  });
});

// ---------------------------------------------------------------- logspace

describe(`logspace (seed ${SEED})`, () => {
  test('base^e for exponents evenly spaced from start to end: the definition in float64 (1e-14) and float32 (2e-6), random ends, steps and bases; int32 powers exact', () => {
    for (let trial = 0; trial < 40; trial++) {
      const start = rng.uniform(-4, 4), end = rng.uniform(-4, 4), steps = rng.int(0, 40), base = rng.pick([10, 2, 0.5, rng.uniform(0.2, 5)]);
      const ref = Array.from({ length: steps }, (_, i) => base ** (steps === 1 ? start : start + ((end - start) * i) / (steps - 1)));
      tidy(() => {
        const d = antler.logspace(start, end, steps, { base, dtype: 'float64' });
        expect(d.shape).toEqual([steps]);
        expectClose(read(d), ref, 1e-14, 0, `logspace(${start}, ${end}, ${steps}, base ${base}) float64`);
        const f = antler.logspace(start, end, steps, { base });
        expect(f.dtype).toBe('float32');
        expectClose(read(f), ref, 2e-6, 0, `float32`);
      });
    }
    tidy(() => {
      const i = antler.logspace(0, 4, 5, { base: 3, dtype: 'int32' });
      expect(i.dtype).toBe('int32');
      expectExact(read(i), [1, 3, 9, 27, 81]);
      expectExact(read(antler.logspace(0, 3, 4)), [1, 10, 100, 1000]);
      expectExact(read(antler.logspace(2, 5, 1, { base: 2 })), [4]);
      expect(antler.logspace(0, 1, 0).shape).toEqual([0]);
      const g = antler.logspace(0, 1, 3, { dtype: 'float64', requiresGrad: true });
      expect(g.requiresGrad).toBe(true);
    });
  });

  test("float32 as torch's CPU loop, to the bit (ends in float32, step and exponents in double); one step is base^start unrounded, int32 truncating the power", () => {
    tidy(() => {
      // torch.logspace(26.789, -26.08, 14).tolist() and torch.logspace(-4.688, -3.669, 23)[12] in torch 1.13; exponents
      // rounded to float32 first are off by up to 4.7e-6 relative here.
      expectExact(read(antler.logspace(26.789, -26.08, 14)), [
        6.15176262256491e26, 5.274161920733886e22, 4.5217580619032166e18, 387669116846080.0, 33236486144.0, 2849502.25, 244.29966735839844,
        0.020944826304912567, 1.7956870124180568e-6, 1.5395171248933082e-10, 1.3198920546743289e-14, 1.131598380813874e-18, 9.70166321680895e-23,
        8.31763922145753e-27,
      ]);
      expect(read(antler.logspace(-4.688, -3.669, 23))[12]).toBe(7.375953282462433e-5);
      // torch fills pow(base, start as a double): 10^1.7 = 50.1 → 50 (not 10^1), 2^-0.5 → 0, 3^2.9 rounded once to float32.
      expectExact(read(antler.logspace(1.7, 5, 1, { dtype: 'int32' })), [50]);
      expectExact(read(antler.logspace(-0.5, 3, 1, { base: 2, dtype: 'int32' })), [0]);
      expectExact(read(antler.logspace(2.9, 0, 1, { base: 3 })), [24.19087791442871]);
    });
  });

  test('errors: non-finite ends or base, negative or fractional steps, int32 values past its range, unknown options', () => {
    expectAntlerError(() => antler.logspace(0, Infinity, 3), 'INVALID_ARGUMENT');
    expectAntlerError(() => antler.logspace(0, 1, -1), 'INVALID_ARGUMENT', /steps must be an integer >= 0/);
    expectAntlerError(() => antler.logspace(0, 1, 2.5), 'INVALID_ARGUMENT');
    expectAntlerError(() => antler.logspace(0, 1, 3, { base: NaN }), 'INVALID_ARGUMENT');
    expectAntlerError(() => antler.logspace(0, 10, 3, { dtype: 'int32' }), 'INVALID_ARGUMENT', /outside int32's range/);
    expectAntlerError(() => antler.logspace(0, 1, 3, { bass: 2 } as never), 'INVALID_ARGUMENT');
    expectAntlerError(() => antler.logspace(0, 1, 3, { dtype: 'int32', requiresGrad: true }), 'DTYPE_MISMATCH');
  });
});
