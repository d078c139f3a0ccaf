/**
 * Tensor.registerHook and Tensor.retainGrad (PyTorch's register_hook /
 * retain_grad): the gradients hooks see and retained .grad values against
 * float64 references (closed forms, and central differences of a tanh RNN
 * re-run from a perturbed hidden state), replacement, order, removal,
 * autograd.grad, errors that leave every .grad as it was, no leaks.
 */
import * as antler from '../../lib';
import { Tensor, tensor, tidy } from '../../lib';
import { expectAntlerError, expectClose, expectNoLeaksInSuite, makeSeededRng, randomArray, tensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const F64 = { dtype: 'float64' as const };
const read = (t: Tensor) => Array.from(t.dataSync());
const leaf = (v: number[], shape = [v.length]) => tensor(v, shape, { dtype: 'float64', requiresGrad: true });

describe(`registerHook and retainGrad (seed ${SEED})`, () => {
  test('a hook on a result sees ∂L/∂y; its replacement flows on to the leaves; hooks run in order; remove()', () =>
    tidy(() => {
      const n = rng.int(2, 6);
      const xv = randomArray(rng, n), wv = randomArray(rng, n);
      const x = leaf(xv);
      const w = tensor(wv, [n], F64);
      const seen: string[] = [];
      let first: number[] = [];
      const y = antler.mul(x, x); // ∂L/∂y = w for L = Σ w·y
      const h1 = y.registerHook((g) => {
        seen.push('h1');
        first = read(g);
        return antler.mul(g, 3);
      });
      y.registerHook((g) => {
        seen.push('h2');
        expectClose(read(g), wv.map((v) => 3 * v), 1e-15, 0, 'the second hook sees the first one’s result');
      });
      const L = antler.sum(antler.mul(y, w));
      L.backward();
      expect(seen).toEqual(['h1', 'h2']);
      expectClose(first, wv, 1e-15, 0, '∂L/∂y');
      expectClose(read(x.grad!), xv.map((v, i) => 3 * wv[i] * 2 * v), 1e-14, 1e-15, 'x.grad with the tripled gradient');
      // Removed: the next pass is plain.
      h1.remove();
      x.grad = null;
      const y2 = antler.mul(x, x);
      const h = y2.registerHook((g) => antler.neg(g));
      h.remove();
      const L2 = antler.sum(antler.mul(y2, w));
      L2.backward();
      expectClose(read(x.grad!), xv.map((v, i) => wv[i] * 2 * v), 1e-14, 1e-15, 'after remove()');
      antler.dispose([x, w, y, L, y2, L2]);
    }));

  test('a hook on a leaf sees its summed gradient once per backward (the leaf used twice), and its result reaches .grad', () =>
    tidy(() => {
      const n = rng.int(1, 5);
      const xv = randomArray(rng, n);
      const x = leaf(xv);
      const calls: number[][] = [];
      x.registerHook((g) => {
        calls.push(read(g));
        return antler.clamp(g, -0.5, 0.5);
      });
      const L = tidy(() => antler.add(antler.sum(antler.mul(x, 2)), antler.sum(antler.mul(x, x)))); // ∂L/∂x = 2 + 2x
      L.backward();
      expect(calls).toHaveLength(1);
      expectClose(calls[0], xv.map((v) => 2 + 2 * v), 1e-15, 0, 'summed');
      expectClose(read(x.grad!), xv.map((v) => Math.min(0.5, Math.max(-0.5, 2 + 2 * v))), 0, 0, 'clamped into .grad');
      antler.dispose([x, L]);
    }));

  test('retainGrad keeps a non-leaf’s gradient, summed over backward passes; hidden states of a tanh RNN against central differences', () =>
    tidy(() => {
      const H = rng.int(2, 4), T = rng.int(3, 6);
      const Wv = randomArray(rng, H * H, -0.8, 0.8), Uv = randomArray(rng, H, -1, 1), xs = randomArray(rng, T, -1, 1), cv = randomArray(rng, H);
      const W = leaf(Wv, [H, H]);
      // h_t = tanh(W h_{t−1} + U x_t), L = Σ_t c·h_t (float64 reference below).
      const stepRef = (h: number[], t: number) => h.map((_, i) => Math.tanh(h.reduce((a, hj, j) => a + Wv[i * H + j] * hj, 0) + Uv[i] * xs[t]));
      const lossFrom = (h: number[], t0: number, acc: number) => {
        let s = acc;
        let cur = h;
        for (let t = t0; t < T; t++) {
          cur = stepRef(cur, t);
          s += cur.reduce((a, v, i) => a + cv[i] * v, 0);
        }
        return s;
      };
      const hs: Tensor[] = [];
      const U = tensor(Uv, [H, 1], F64), c = tensor(cv, [1, H], F64);
      let h = tensor(new Array(H).fill(0), [H, 1], F64);
      let L = tensor(0, [], F64);
      for (let t = 0; t < T; t++) {
        const prev = h;
        h = antler.tanh(antler.add(antler.matmul(W, prev), antler.mul(U, xs[t])));
        h.retainGrad();
        hs.push(h);
        const prevL = L;
        L = antler.add(L, antler.sum(antler.matmul(c, h)));
        if (t === 0) prev.dispose();
        prevL.dispose();
      }
      expect(hs.every((t) => t.retainsGrad)).toBe(true);
      expect(W.retainsGrad).toBe(false);
      W.retainGrad(); // a leaf: nothing changes
      L.backward(undefined, { retainGraph: true });
      // ∂L/∂h_t by central differences: perturb h_t, re-run the steps after it.
      const hVals: number[][] = [];
      let cur = new Array(H).fill(0);
      for (let t = 0; t < T; t++) hVals.push((cur = stepRef(cur, t)));
      const upTo = (t: number) => hVals.slice(0, t).reduce((a, hv) => a + hv.reduce((b, v, i) => b + cv[i] * v, 0), 0);
      const eps = 1e-6;
      for (let t = 0; t < T; t++) {
        const want = hVals[t].map((_, i) => {
          const up = [...hVals[t]], dn = [...hVals[t]];
          up[i] += eps;
          dn[i] -= eps;
          const f = (hv: number[]) => lossFrom(hv, t + 1, upTo(t) + hv.reduce((a, v, k) => a + cv[k] * v, 0));
          return (f(up) - f(dn)) / (2 * eps);
        });
        expectClose(read(hs[t].grad!), want, 1e-7, 1e-9, `∂L/∂h_${t}`);
      }
      // A second backward sums into the retained .grad, as into a leaf's.
      const once = hs.map((t) => read(t.grad!));
      L.backward();
      hs.forEach((t, k) => expectClose(read(t.grad!), once[k].map((v) => 2 * v), 1e-15, 0, `h_${k} after two passes`));
      antler.dispose([W, U, c, L, ...hs]);
    }));

  test('autograd.grad: hooks of intermediate results run and a retained .grad is kept (as PyTorch’s), an input’s hooks see (and may replace) its gradient; a leaf’s .grad is left alone', () =>
    tidy(() => {
      const xv = randomArray(rng, 3);
      const x = leaf(xv);
      const y = antler.mul(x, 2);
      y.retainGrad();
      let seenY: number[] = [];
      y.registerHook((g) => {
        seenY = read(g);
      });
      x.registerHook((g) => antler.mul(g, -1));
      const L = antler.sum(antler.square(y)); // ∂L/∂y = 2y, ∂L/∂x = 4y
      const [gx] = antler.autograd.grad(L, [x]);
      expectClose(seenY, xv.map((v) => 4 * v), 1e-15, 0, 'the intermediate hook');
      expectClose(read(gx!), xv.map((v) => -8 * v), 1e-15, 0, 'the input’s hook applied');
      expectClose(read(y.grad!), xv.map((v) => 4 * v), 1e-15, 0, 'y.grad retained');
      expect(x.grad).toBeNull();
      antler.dispose([x, y, L, gx!]);
    }));

  test('errors: a hook returning another shape or dtype or a non-tensor fails the backward and leaves every .grad as it was; hooks only on tensors that require grad', () =>
    tidy(() => {
      const a = leaf([1, 2]), b = leaf([3, 4]);
      a.grad = tensor([10, 20], [2], F64);
      const y = antler.mul(a, b);
      y.registerHook(() => tensor([1, 2, 3], [3], F64));
      const L = antler.sum(y);
      expectAntlerError(() => L.backward(undefined, { retainGraph: true }), 'INVALID_ARGUMENT', /^backward: a hook on the result of 'mul' returned a float64 Tensor of shape \[3\] on cpu; expected undefined or a Tensor like the gradient \(float64, shape \[2\], on cpu\)$/);
      expect(read(a.grad!)).toEqual([10, 20]);
      expect(b.grad).toBeNull();
      const z = antler.add(a, b);
      z.registerHook(() => 'x' as never);
      const L2 = antler.sum(z);
      expectAntlerError(() => L2.backward(), 'INVALID_ARGUMENT', /returned 'x'; expected undefined or a Tensor/);
      const w = antler.mul(a, 1);
      w.registerHook((g) => g.cast('float32'));
      const L3 = antler.sum(w);
      expectAntlerError(() => L3.backward(), 'INVALID_ARGUMENT', /returned a float32 Tensor of shape \[2\]/);
      expect(read(a.grad!)).toEqual([10, 20]);
      const plain = tensor([1], [1], F64);
      expectAntlerError(() => plain.registerHook(() => undefined), 'INVALID_ARGUMENT', /does not require grad/);
      expectAntlerError(() => plain.retainGrad(), 'INVALID_ARGUMENT', /does not require grad/);
      expectAntlerError(() => a.registerHook(3 as never), 'INVALID_ARGUMENT', /expected a function of the gradient; got 3/);
      antler.dispose([a, b, y, L, z, L2, w, L3, plain]);
    }));

  test('backward() of a leaf runs its hooks on the seed (as PyTorch 1.13’s); retainGrad survives assign() (PyTorch’s retains_grad after copy_)', () =>
    tidy(() => {
      const n = rng.int(1, 5);
      const xv = randomArray(rng, n), sv = randomArray(rng, n);
      const x = leaf(xv);
      const calls: number[][] = [];
      x.registerHook((g) => {
        calls.push(read(g));
        return antler.mul(g, 10);
      });
      x.backward(tensor(sv, [n], F64));
      expect(calls).toHaveLength(1);
      expectClose(calls[0], sv, 0, 0, 'the hook sees the seed');
      expectClose(read(x.grad!), sv.map((v) => 10 * v), 1e-15, 0, 'x.grad is the hook’s result');
      // retainGrad, then y is overwritten in place with x·x: y.grad is ∂L/∂(new y) = 3 (torch 1.13: retains_grad True, grad 3).
      const z = leaf(xv);
      const y = antler.mul(z, 1).retainGrad();
      y.assign(antler.mul(z, z));
      expect(y.retainsGrad).toBe(true);
      const L = antler.sum(antler.mul(y, 3));
      L.backward();
      expectClose(read(y.grad!), xv.map(() => 3), 0, 0, 'y.grad after assign');
      expectClose(read(z.grad!), xv.map((v) => 6 * v), 1e-15, 0, 'z.grad');
      antler.dispose([x, z, y, L]);
    }));

  test('retainGrad after assign(): the old value, still used in the graph, does not add its gradient to .grad (torch 1.13: y.grad 3, z.grad 2 + 6z)', () =>
    tidy(() => {
      const n = rng.int(1, 5);
      const zv = randomArray(rng, n);
      const z = leaf(zv);
      const y = antler.mul(z, 1).retainGrad();
      const u = antler.mul(y, 2); // uses y's old value: ∂L/∂(old y) = 2
      y.assign(antler.mul(z, z));
      const L = antler.add(antler.sum(u), antler.sum(antler.mul(y, 3)));
      L.backward();
      expectClose(read(y.grad!), zv.map(() => 3), 0, 0, 'y.grad: the new value’s gradient only');
      expectClose(read(z.grad!), zv.map((v) => 2 + 6 * v), 1e-15, 0, 'z.grad');
    }));

  test('a hook that disposes the gradient it was given fails the pass with an error that names the hook, leaving .grad as it was', () =>
    tidy(() => {
      const x = leaf([1, 2]);
      x.grad = tensor([5, 6], [2], F64);
      const y = antler.mul(x, x);
      y.registerHook((g) => {
        g.dispose();
      });
      const L = antler.sum(y);
      expectAntlerError(() => L.backward(), 'DISPOSED', /^backward: a hook on the result of 'mul' disposed the gradient it was given/);
      expect(read(x.grad!)).toEqual([5, 6]);
      const w = leaf([3, 4]);
      w.registerHook((g) => {
        g.dispose();
      });
      const L2 = antler.sum(antler.mul(w, w));
      expectAntlerError(() => L2.backward(), 'DISPOSED', /^backward: a hook on a leaf of shape \[2\] disposed the gradient/);
      expect(w.grad).toBeNull();
      antler.dispose([x, y, L, w, L2]);
    }));

  test.each([['GRU', 'sequential'], ['GRU', 'deer'], ['RNN', 'sequential'], ['LSTM', 'sequential']] as const)(
    '%s (%s): a hook or retained .grad on output sees the output’s gradient only, not hidden’s (PyTorch’s output and h_n are separate results)',
    (kind, mode) =>
      tidy(() => {
        const T = rng.int(2, 5), B = rng.int(1, 3);
        const m = new antler.nn[kind](2, 3, { dtype: 'float64', mode });
        const x = tensor(randomArray(rng, T * B * 2), [T, B, 2], F64);
        // L = Σ output + Σ hidden, the hook zeroing output's part: the weights get Σ hidden's gradient alone.
        const o = m.forward(x);
        o.output.retainGrad();
        let seen: number[] = [];
        o.output.registerHook((g) => {
          seen = read(g);
          return antler.mul(g, 0);
        });
        antler.add(antler.sum(o.output), antler.sum(o.hidden)).backward();
        expect(seen).toEqual(new Array(T * B * 3).fill(1));
        expect(read(o.output.grad!)).toEqual(new Array(T * B * 3).fill(0));
        const hooked = read(m.weight_hh_l0.grad!);
        m.zeroGrad();
        antler.sum(m.forward(x).hidden).backward();
        expectClose(hooked, read(m.weight_hh_l0.grad!), 1e-12, 1e-14, 'weight_hh_l0.grad: hidden’s part only');
        m.dispose();
      }),
  );
});
