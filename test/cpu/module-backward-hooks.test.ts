/**
 * Module full backward hooks (registerFullBackwardHook / registerFullBackwardPreHook,
 * PyTorch's register_full_backward_hook / register_full_backward_pre_hook):
 * gradInput and gradOutput against float64 gradients written out here for a
 * two-input, two-output module on fresh random inputs; the firing order of
 * nested modules, which modules fire under autograd.grad, and the all-null
 * gradInput of a module whose inputs need no gradient, as torch 1.13 gives them
 * (python3, torch 1.13.0a0); replacements; errors; leaks.
 */
import * as antler from '../../lib';
import { autograd, memory, nn, Tensor, tensor, tidy } from '../../lib';
import { expectAntlerError, expectClose, expectNoLeaksInSuite, makeSeededRng, randomArray, tensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const F64 = { dtype: 'float64' as const };
const read = (t: Tensor | null) => (t === null ? null : Array.from(t.dataSync()));

/** forward(a, b, k) = [a·b, a + s·b·k] with a parameter s (one element). */
class Pair extends nn.Module {
  s = nn.parameter(tensor([rng.uniform(0.5, 2)], undefined, F64));
  forward(a: Tensor, b: Tensor, k: number): Tensor[] {
    return [antler.mul(a, b), antler.add(a, antler.mul(antler.mul(this.s, b), k))];
  }
}

describe(`full backward hooks (seed ${SEED})`, () => {
  test('gradInput and gradOutput of a two-input, two-output module equal the float64 gradients; the hook fires once per backward; replacements reach the inputs', () => {
    const n = rng.int(2, 6);
    const [av, bv, c0, c1] = [0, 1, 2, 3].map(() => randomArray(rng, n, -2, 2));
    const k = rng.uniform(-3, 3);
    const m = new Pair();
    const s = m.s.dataSync()[0];
    const seen: { gin: (number[] | null)[]; gout: (number[] | null)[] }[] = [];
    const handle = m.registerFullBackwardHook((mod, gin, gout) => {
      expect(mod).toBe(m);
      seen.push({ gin: gin.map(read), gout: gout.map(read) });
    });
    const a = tensor(av, undefined, F64).requiresGrad_(), b = tensor(bv, undefined, F64).requiresGrad_();
    const lossOf = (x: Tensor, y: Tensor) => ({
      backward: () => tidy(() => {
        const [o0, o1] = m.forward(x, y, k);
        antler.sum(antler.add(antler.mul(o0, tensor(c0, undefined, F64)), antler.mul(o1, tensor(c1, undefined, F64)))).backward();
      }),
    });
    lossOf(a, b).backward();
    // d/da = c0·b + c1, d/db = c0·a + c1·s·k; gradOutput = [c0, c1]; k is not a Tensor: null.
    const ga = av.map((_, i) => c0[i] * bv[i] + c1[i]), gb = av.map((_, i) => c0[i] * av[i] + c1[i] * s * k);
    expect(seen.length).toBe(1);
    expectClose(seen[0].gin[0]!, ga, 1e-12, 1e-12);
    expectClose(seen[0].gin[1]!, gb, 1e-12, 1e-12);
    expect(seen[0].gin[2]).toBeNull();
    expectClose(seen[0].gout[0]!, c0, 0, 0);
    expectClose(seen[0].gout[1]!, c1, 0, 0);
    expectClose(read(a.grad!)!, ga, 1e-12, 1e-12);
    expectClose(read(b.grad!)!, gb, 1e-12, 1e-12);
    // A replacement goes on to the input; null keeps a gradient.
    handle.remove();
    const h2 = m.registerFullBackwardHook((_m, gin) => [antler.mul(gin[0]!, 3), null, null]);
    a.zeroGrad(); b.zeroGrad();
    lossOf(a, b).backward();
    expectClose(read(a.grad!)!, ga.map((g) => 3 * g), 1e-12, 1e-12);
    expectClose(read(b.grad!)!, gb, 1e-12, 1e-12);
    expect(seen.length).toBe(1); // the removed hook no longer fires
    h2.remove();
    // A Tensor argument that needs no gradient while another does gets zeros of its shape and dtype, as torch 1.13
    // (python3: gin (tensor([1., 1.]), tensor([0., 0.])) for x + z with z plain; int64 zeros for an integer z); a
    // replacement there goes nowhere (torch drops it).
    const got: (number[] | null)[][] = [];
    const dtypes: (string | null)[][] = [];
    m.registerFullBackwardHook((_m, gin) => {
      got.push(gin.map(read));
      dtypes.push(gin.map((g) => (g === null ? null : g.dtype)));
      return [null, antler.add(gin[1]!, 5), null];
    });
    a.zeroGrad();
    const bNo = tensor(bv, undefined, F64);
    lossOf(a, bNo).backward();
    expect(got.length).toBe(1);
    expectClose(got[0][0]!, ga, 1e-12, 1e-12);
    expect(got[0][1]).toEqual(bv.map(() => 0));
    expect(got[0][2]).toBeNull();
    expect(dtypes[0]).toEqual(['float64', 'float64', null]);
    expectClose(read(a.grad!)!, ga, 1e-12, 1e-12);
    expect(bNo.grad).toBeNull();
    class WithMask extends nn.Module {
      forward(x: Tensor, mask: Tensor): Tensor {
        return antler.mul(x, 2);
      }
    }
    const wm = new WithMask();
    const masks: (string | number[] | null)[][] = [];
    wm.registerFullBackwardHook((_m, gin) => void masks.push(gin.map((g) => (g === null ? null : g.dtype)), gin.map(read)));
    const mask = tensor([1, 0, 1], [3], { dtype: 'int32' });
    const xm = tensor([1, 2, 3], [3], F64).requiresGrad_();
    tidy(() => antler.sum(wm.forward(xm, mask)).backward());
    expect(masks).toEqual([['float64', 'int32'], [[2, 2, 2], [0, 0, 0]]]);
    for (const t of [mask, xm]) t.dispose();
    for (const t of [a, b, bNo]) t.dispose();
    m.dispose();
  });

  test('a module none of whose inputs requires grad gets an all-null gradInput (the hook fires from its output), and may not replace it', () => {
    const m = new Pair();
    const gouts: (number[] | null)[][] = [];
    const gins: unknown[][] = [];
    m.registerFullBackwardHook((_m, gin, gout) => {
      gins.push(gin);
      gouts.push(gout.map(read));
    });
    const a = tensor(randomArray(rng, 3, -1, 1), undefined, F64), b = tensor(randomArray(rng, 3, -1, 1), undefined, F64);
    tidy(() => antler.sum(m.forward(a, b, 2)[1]).backward());
    expect(gins).toEqual([[null, null, null]]);
    expectClose(gouts[0][1]!, [1, 1, 1], 0, 0);
    expect(m.s.grad).not.toBeNull();
    m.registerFullBackwardHook(() => [tensor([1, 2, 3], undefined, F64), null, null]);
    const before = read(m.s.grad);
    expectAntlerError(() => tidy(() => antler.sum(m.forward(a, b, 2)[1]).backward()), 'INVALID_ARGUMENT', /Pair: a full backward hook of a module none of whose inputs requires grad must return undefined or nulls/);
    expect(read(m.s.grad)).toEqual(before); // a failed backward writes no .grad
    for (const t of [a, b]) t.dispose();
    m.dispose();
  });

  test('nested modules fire inner first (torch 1.13’s order); autograd.grad fires the modules on the way to its inputs only', () => {
    const lin = new nn.Linear(2, 2, F64), act = new nn.Tanh();
    const seq = new nn.Sequential(lin, act);
    const order: string[] = [];
    for (const [name, mod] of [['outer', seq], ['lin', lin], ['tanh', act]] as const)
      mod.registerFullBackwardHook((_m, gin) => void order.push(`${name}:${gin[0] === null ? 'null' : gin[0].shape.join('x')}`));
    const x = tensor(randomArray(rng, 6, -1, 1), [3, 2], F64).requiresGrad_();
    tidy(() => antler.sum(seq.forward(x)).backward());
    expect(order.splice(0)).toEqual(['tanh:3x2', 'lin:3x2', 'outer:3x2']);
    const xNo = x.detach();
    tidy(() => antler.sum(seq.forward(xNo)).backward());
    expect(order.splice(0)).toEqual(['outer:null', 'tanh:3x2', 'lin:null']);
    const gx = tidy(() => autograd.grad(antler.sum(seq.forward(x)), [x]));
    expect(order.splice(0)).toEqual(['tanh:3x2', 'lin:3x2', 'outer:3x2']);
    // The gradient itself is the tanh chain's: (1 − tanh²(x Wᵀ + b)) W summed over outputs.
    const y = tidy(() => seq.forward(x.detach()));
    const W = read(lin.weight)!, yv = read(y)!;
    const ref = [0, 1, 2].flatMap((r) => [0, 1].map((j) => [0, 1].reduce((acc, o) => acc + (1 - yv[r * 2 + o] ** 2) * W[o * 2 + j], 0)));
    expectClose(read(gx[0])!, ref, 1e-12, 1e-12);
    const gw = tidy(() => autograd.grad(antler.sum(seq.forward(x)), [lin.weight]));
    expect(order.splice(0)).toEqual(['tanh:3x2']);
    for (const t of [x, xNo, y, gx[0]!, gw[0]!]) t.dispose();
    seq.dispose();
  });

  test('a pre-hook replaces gradOutput before the module’s backward and the full hooks; wrong replacements throw and write no .grad', () => {
    const lin = new nn.Linear(3, 2, F64);
    const x = tensor(randomArray(rng, 6, -1, 1), [2, 3], F64).requiresGrad_();
    const seenOut: number[][] = [];
    const pre = lin.registerFullBackwardPreHook((_m, gout) => [antler.mul(gout[0]!, -2)]);
    lin.registerFullBackwardHook((_m, _gin, gout) => void seenOut.push(read(gout[0])!));
    tidy(() => antler.sum(lin.forward(x)).backward());
    expect(seenOut).toEqual([[-2, -2, -2, -2]]);
    // d sum(−2·(x Wᵀ + b)) / dx = −2 · column sums of W.
    const W = read(lin.weight)!;
    expectClose(read(x.grad!)!, [0, 1].flatMap(() => [0, 1, 2].map((j) => -2 * (W[j] + W[3 + j]))), 1e-12, 1e-12);
    pre.remove();
    const xg = read(x.grad);
    const bad = lin.registerFullBackwardHook(() => [tensor([1, 2, 3], undefined, F64)]);
    expectAntlerError(() => tidy(() => antler.sum(lin.forward(x)).backward()), 'SHAPE_MISMATCH', /Linear: a registerFullBackwardHook hook's gradInput\[0\] is float64 \[3\] on cpu; expected the gradient's float64 \[2, 3\]/);
    expect(read(x.grad)).toEqual(xg);
    bad.remove();
    const short = lin.registerFullBackwardPreHook(() => []);
    expectAntlerError(() => tidy(() => antler.sum(lin.forward(x)).backward()), 'INVALID_ARGUMENT', /registerFullBackwardPreHook hook returned an array of 0; expected undefined or an array of 1/);
    short.remove();
    expectAntlerError(() => lin.registerFullBackwardHook(3 as never), 'INVALID_ARGUMENT', /registerFullBackwardHook: expected a function; got 3/);
    x.dispose();
    lin.dispose();
  });

  test('a recurrent layer’s {output, hidden, stats}: gradOutput per field (null for stats), gradInput the input’s gradient, the same as without the hook', () => {
    const gru = new nn.GRU(3, 4, F64);
    const x = tensor(randomArray(rng, 5 * 2 * 3, -1, 1), [5, 2, 3], F64).requiresGrad_();
    const lossOf = () => tidy(() => {
      const r = gru.forward(x) as unknown as { output: Tensor; hidden: Tensor };
      antler.add(antler.sum(r.output), antler.mul(antler.sum(r.hidden), 2)).backward();
    });
    lossOf();
    const plain = read(x.grad!)!;
    x.zeroGrad();
    gru.zeroGrad();
    const seen: { gin: (number[] | null)[]; gout: (number[] | null)[] }[] = [];
    gru.registerFullBackwardHook((_m, gin, gout) => void seen.push({ gin: gin.map(read), gout: gout.map(read) }));
    lossOf();
    expect(seen.length).toBe(1);
    expect(seen[0].gout.length).toBe(3);
    expectClose(seen[0].gout[0]!, new Array(5 * 2 * 4).fill(1), 0, 0);
    expectClose(seen[0].gout[1]!, new Array(2 * 4).fill(2), 0, 0);
    expect(seen[0].gout[2]).toBeNull();
    expectClose(seen[0].gin[0]!, plain, 1e-12, 1e-12);
    expectClose(read(x.grad!)!, plain, 1e-12, 1e-12);
    x.dispose();
    gru.dispose();
  });

  test('writing an input in place inside forward is refused (as PyTorch); forward, hooks and backward leak nothing; no hook, no copies', () => {
    class Doubler extends nn.Module {
      forward(x: Tensor): Tensor {
        x.assign(antler.mul(x, 2));
        return antler.mul(x, 1);
      }
    }
    const d = new Doubler();
    d.registerFullBackwardHook(() => undefined);
    const x = tensor([1, 2], undefined, F64).requiresGrad_();
    const x2 = tidy(() => antler.mul(x, 1));
    expectAntlerError(() => tidy(() => d.forward(x2)), 'INVALID_ARGUMENT', /Doubler: its forward modified argument 0 in place \(assign\)/);
    expect(read(x2)).toEqual([1, 2]);
    const lin = new nn.Linear(4, 4, F64);
    const act = new nn.Tanh();
    const seq = new nn.Sequential(lin, act);
    for (const mod of [seq, lin, act]) mod.registerFullBackwardHook((_m, gin) => [gin[0] === null ? null : antler.mul(gin[0], 1)]);
    const xs = tensor(randomArray(rng, 8, -1, 1), [2, 4], F64).requiresGrad_();
    const before = memory().numTensors;
    for (let i = 0; i < 2; i++) {
      const y = seq.forward(xs);
      const l = antler.sum(y);
      l.backward();
      l.dispose();
      y.dispose();
    }
    xs.zeroGrad();
    lin.zeroGrad();
    expect(memory().numTensors).toBe(before);
    // Under noGrad the forward is not wrapped: the output is the layer's own.
    const out = antler.noGrad(() => act.forward(xs));
    expect(out.requiresGrad).toBe(false);
    for (const t of [x, x2, xs, out]) t.dispose();
    seq.dispose();
    d.dispose();
  });
  test('the hooks are those registered when the forward ran (torch 1.13 takes its list there): one removed before backward fires, one added after does not; a gradient that reaches the inputs around the outputs fires none', () => {
    const n = rng.int(2, 6);
    const xv = randomArray(rng, n, -2, 2);
    const m = new nn.Tanh();
    const fired: string[] = [];
    const keep = m.registerForwardHook(() => undefined);
    const removed = m.registerFullBackwardHook(() => void fired.push('removed'));
    const removedPre = m.registerFullBackwardPreHook(() => void fired.push('removedPre'));
    const x = tensor(xv, undefined, F64).requiresGrad_();
    tidy(() => {
      const y = m.forward(x);
      removed.remove();
      removedPre.remove();
      const late = m.registerFullBackwardHook(() => void fired.push('late'));
      antler.sum(y).backward();
      late.remove();
    });
    expect(fired).toEqual(['removedPre', 'removed']);
    expectClose(read(x.grad!)!, xv.map((v) => 1 - Math.tanh(v) ** 2), 1e-12, 1e-12);
    keep.remove();
    x.zeroGrad();
    // A tensor nested in the result is not wrapped (torch 1.13 wraps the top level only): a loss of it alone reaches x
    // without passing the output side, where torch's hook returns early; the gradient is the plain one.
    class Nested extends nn.Module {
      forward(a: Tensor): unknown[] {
        return [antler.mul(a, 2), [antler.mul(a, 3)]];
      }
    }
    const q = new Nested();
    const calls: number[] = [];
    q.registerFullBackwardHook((_m, _gin, gout) => void calls.push(gout.length));
    tidy(() => {
      const [, [h]] = q.forward(x) as [Tensor, Tensor[]];
      antler.sum(h).backward();
    });
    expect(calls).toEqual([]);
    expect(read(x.grad!)).toEqual(xv.map(() => 3));
    x.dispose();
  });
  test('a refused in-place write outside tidy frees the input copies and the forward\'s result (none left behind)', () => {
    const n = rng.int(1, 5);
    const fill = tensor(randomArray(rng, n, -1, 1), undefined, F64);
    class Writer extends nn.Module {
      forward(x: Tensor, y: Tensor): Tensor[] {
        x.assign(fill);
        return [antler.mul(x, y), antler.add(x, y)];
      }
    }
    const w = new Writer();
    w.registerFullBackwardHook(() => undefined);
    const x = tensor(randomArray(rng, n, -1, 1), undefined, F64).requiresGrad_();
    const y = tensor(randomArray(rng, n, -1, 1), undefined, F64).requiresGrad_();
    const [x2, y2] = tidy(() => [antler.mul(x, 1), antler.mul(y, 1)]);
    const before = memory().numTensors;
    expectAntlerError(() => w.forward(x2, y2), 'INVALID_ARGUMENT', /Writer: its forward modified argument 0 in place/);
    expect(memory().numTensors).toBe(before);
    for (const t of [fill, x, y, x2, y2]) t.dispose();
  });
  test('autograd.grad of a parameter only (the input side never runs) holds no gradOutput once it returns, so a synchronous loop does not pile them up; a hooked module around a checkpoint still gets its gradOutput', () => {
    const n = rng.int(2, 5);
    const lin = new nn.Linear(n, n, F64);
    let fired = 0;
    lin.registerFullBackwardHook(() => void fired++);
    const x = tensor(randomArray(rng, 2 * n, -1, 1), [2, n], F64).requiresGrad_();
    const before = memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const gs = tidy(() => autograd.grad(antler.sum(antler.tanh(lin.forward(x))), [lin.weight]));
      gs.forEach((g) => g!.dispose());
      expect(memory().numTensors).toBe(before);
    }
    expect(fired).toBe(0); // torch 1.13: the input side's node does not run, nor the hook
    class Ckpt extends nn.Module {
      inner = lin;
      forward(t: Tensor): Tensor {
        return antler.checkpoint((u: Tensor) => antler.tanh(this.inner.forward(u)), t);
      }
    }
    const c = new Ckpt();
    const gouts: number[][] = [];
    c.registerFullBackwardHook((_m, _gin, gout) => void gouts.push(read(gout[0])!));
    tidy(() => antler.sum(antler.mul(c.forward(x), 3)).backward());
    expect(gouts).toEqual([new Array(2 * n).fill(3)]);
    expect(fired).toBe(1);
    x.dispose();
    lin.zeroGrad();
    c.dispose();
  });
});
