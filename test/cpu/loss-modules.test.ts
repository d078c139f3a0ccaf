/**
 * PyTorch's loss and shape modules (nn.CrossEntropyLoss, nn.Flatten, …) equal
 * the functional ops they wrap on fresh random inputs, keep their class
 * weights as buffers (a copy: to(), the state dict, disposal leave the
 * caller's tensor alone), and serve as fit()'s loss.
 */
import * as antler from '../../lib';
import { nn, tensor, tidy } from '../../lib';
import { expectAntlerError, expectClose, expectExact, expectNoTensorLeaks, makeRng, randomArray, randomInts } from '../helpers';

const rng = makeRng();
expectNoTensorLeaks();
const F64 = { dtype: 'float64' as const };
const read = (t: antler.Tensor): number[] => Array.from(t.dataSync());

describe(`loss and shape modules (seed ${rng.seed})`, () => {
  test('each loss module equals its functional op, with its options', () =>
    tidy(() => {
      const [N, C] = [rng.int(2, 6), rng.int(2, 5)];
      const logits = tensor(randomArray(rng, N * C, -3, 3), [N, C], F64);
      const labels = tensor(randomInts(rng, N, 0, C - 1), [N], { dtype: 'int32' });
      const weight = tensor(randomArray(rng, C, 0.2, 2), [C], F64);
      const weight2 = tensor(randomArray(rng, C, 0.2, 2), [C], F64);
      const probs = antler.sigmoid(tensor(randomArray(rng, N * C, -2, 2), [N, C], F64));
      const targets = tensor(randomInts(rng, N * C, 0, 1), [N, C], F64);
      const reduction = rng.pick(['mean', 'sum', 'none'] as const);
      const cases: [antler.nn.Loss<object>, antler.Tensor, antler.Tensor, antler.Tensor][] = [
        [new nn.CrossEntropyLoss({ weight, labelSmoothing: 0.1, reduction }), logits, labels, antler.crossEntropy(logits, labels, { weight, labelSmoothing: 0.1, reduction })],
        [new nn.NLLLoss({ weight, ignoreIndex: 1, reduction }), antler.logSoftmax(logits), labels, antler.nllLoss(antler.logSoftmax(logits), labels, { weight, ignoreIndex: 1, reduction })],
        [new nn.MSELoss({ reduction }), probs, targets, antler.mseLoss(probs, targets, { reduction })],
        [new nn.L1Loss({ reduction }), probs, targets, antler.l1Loss(probs, targets, { reduction })],
        [new nn.SmoothL1Loss({ beta: 0.3, reduction }), probs, targets, antler.smoothL1Loss(probs, targets, { beta: 0.3, reduction })],
        [new nn.HuberLoss({ delta: 0.4, reduction }), probs, targets, antler.huberLoss(probs, targets, { delta: 0.4, reduction })],
        [new nn.BCELoss({ reduction }), probs, targets, antler.binaryCrossEntropy(probs, targets, { reduction })],
        [new nn.BCEWithLogitsLoss({ posWeight: weight, reduction }), logits, targets, antler.binaryCrossEntropyWithLogits(logits, targets, { posWeight: weight, reduction })],
        [new nn.BCELoss({ weight, reduction }), probs, targets, antler.binaryCrossEntropy(probs, targets, { weight, reduction })],
        [new nn.BCEWithLogitsLoss({ weight, posWeight: weight2, reduction }), logits, targets, antler.binaryCrossEntropyWithLogits(logits, targets, { weight, posWeight: weight2, reduction })],
        [new nn.KLDivLoss({ reduction }), antler.logSoftmax(logits), antler.softmax(logits.flip([1])), antler.klDiv(antler.logSoftmax(logits), antler.softmax(logits.flip([1])), { reduction })],
        [new nn.KLDivLoss({ reduction: 'batchmean', logTarget: true }), antler.logSoftmax(logits), probs.log(), antler.klDiv(antler.logSoftmax(logits), probs.log(), { reduction: 'batchmean', logTarget: true })],
        [new nn.KLDivLoss(), antler.logSoftmax(logits), probs, antler.klDiv(antler.logSoftmax(logits), probs, { reduction: 'mean' })],
      ];
      for (const [m, a, b, want] of cases) {
        expectExact(read(m.forward(a, b)), read(want), m.constructor.name);
        m.dispose();
      }
      const lp = antler.logSoftmax(tensor(randomArray(rng, 12 * 2 * 4), [12, 2, 4], F64), -1);
      const ctc = new nn.CTCLoss({ blank: 0, reduction: 'sum' });
      expectExact(read(ctc.forward(lp, [[1, 2], [3, 0]], [12, 10], [2, 1])), read(antler.ctcLoss(lp, [[1, 2], [3, 0]], [12, 10], [2, 1], { reduction: 'sum' })), 'CTCLoss');
      expectAntlerError(() => new nn.MSELoss({ reduce: true } as never), 'INVALID_ARGUMENT', /reduce/);
      // KLDivLoss takes PyTorch's 'batchmean' (the other losses do not) and logTarget, checked when it is made.
      expectAntlerError(() => new nn.KLDivLoss({ reduction: 'avg' as never }), 'INVALID_ARGUMENT', /^KLDivLoss: reduction must be 'mean', 'batchmean', 'sum' or 'none'; got 'avg'$/);
      expectAntlerError(() => new nn.KLDivLoss({ logTarget: 'yes' as never }), 'INVALID_ARGUMENT', /^KLDivLoss: logTarget must be/);
      expectAntlerError(() => new nn.MSELoss({ reduction: 'batchmean' as never }), 'INVALID_ARGUMENT', /^MSELoss: reduction must be 'mean', 'sum' or 'none'/);
    }));

  test('a class weight is a buffer: copied, in the state dict, moved by to(), and the caller’s tensor survives dispose()', () => {
    const w = tensor([1, 2, 3], [3], F64);
    const ce = new nn.CrossEntropyLoss({ weight: w });
    const dict = ce.stateDict();
    expect(Object.keys(dict)).toEqual(['weight']);
    expectExact(read(dict.weight), [1, 2, 3]);
    antler.dispose(dict);
    ce.dispose();
    expect(w.isDisposed).toBe(false);
    w.dispose();
  });

  test("BCEWithLogitsLoss's posWeight is the buffer pos_weight, as PyTorch's, so PyTorch's state dicts load", () => {
    const m = tidy(() => new nn.BCEWithLogitsLoss({ posWeight: tensor([2, 3], [2], F64) }));
    try {
      tidy(() => expect(Object.keys(m.stateDict())).toEqual(['pos_weight']));
      tidy(() => {
        m.loadStateDict({ pos_weight: tensor([5, 6], [2], F64) });
        const x = tensor([0.3, -0.7], [1, 2], F64), y = tensor([1, 1], [1, 2], F64);
        expectExact(read(m.forward(x, y)), read(antler.binaryCrossEntropyWithLogits(x, y, { posWeight: tensor([5, 6], [2], F64) })), 'loaded pos_weight');
      });
    } finally {
      m.dispose();
    }
  });

  test("GELU's approximate: 'tanh' is PyTorch's tanh form; a bad value or unknown option says what was passed", () =>
    tidy(() => {
      const v = randomArray(rng, 40, -6, 6);
      const x = tensor(v, [40], F64);
      const want = v.map((a) => 0.5 * a * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (a + 0.044715 * a ** 3))));
      expectClose(read(antler.gelu(x, { approximate: 'tanh' })), want, 1e-14, 1e-15, 'gelu tanh');
      expectClose(read(new nn.GELU({ approximate: 'tanh' }).forward(x)), want, 1e-14, 1e-15, 'nn.GELU tanh');
      expectExact(read(new nn.GELU({ approximate: 'none' }).forward(x)), read(antler.gelu(x)), 'nn.GELU none');
      expectAntlerError(() => new nn.GELU({ approximate: 'fast' } as never), 'INVALID_ARGUMENT', /^GELU: approximate must be 'none' or 'tanh' \(PyTorch's\); got 'fast'$/);
      expectAntlerError(() => antler.gelu(x, { approx: 'tanh' } as never), 'INVALID_ARGUMENT', /^gelu: unknown option 'approx'/);
      expectAntlerError(() => new nn.ReLU({ approximate: 'tanh' } as never), 'INVALID_ARGUMENT', /^ReLU: takes no options; got 'approximate'$/);
    }));

  test('Identity, Flatten, Unflatten, Softmax, LogSoftmax', () =>
    tidy(() => {
      const x = tensor(randomArray(rng, 2 * 3 * 4), [2, 3, 4]);
      expect(new nn.Identity(5, 'ignored').forward(x)).toBe(x);
      expect(new nn.Flatten().forward(x).shape).toEqual([2, 12]);
      expect(new nn.Flatten(0, 1).forward(x).shape).toEqual([6, 4]);
      expect(new nn.Unflatten(2, [2, -1]).forward(x).shape).toEqual([2, 3, 2, 2]);
      expectExact(read(new nn.Softmax(1).forward(x)), read(antler.softmax(x, 1)));
      expectExact(read(new nn.LogSoftmax().forward(x)), read(antler.logSoftmax(x, -1)));
      const seq = new nn.Sequential(new nn.Flatten(), new nn.Linear(12, 5), new nn.LogSoftmax(-1));
      expect(seq.forward(x).shape).toEqual([2, 5]);
      seq.dispose();
      expectAntlerError(() => new nn.Unflatten(5, [2]).forward(x), 'INVALID_ARGUMENT', /dim 5 is outside/);
    }));

  test('fit() takes a loss module', async () => {
    const x = tensor(randomArray(rng, 64 * 4), [64, 4]);
    const y = tensor(Array.from({ length: 64 }, (_, i) => (i % 2)), [64], { dtype: 'int32' });
    const model = new nn.Sequential(new nn.Linear(4, 8), new nn.Tanh(), new nn.Linear(8, 2));
    const opt = new antler.optim.Adam(model.parameters(), { lr: 0.01 });
    const loss = new nn.CrossEntropyLoss();
    const h = await antler.fit(model, { data: { x, y }, loss, optimizer: opt, epochs: 2, batchSize: 16, verbose: 0 });
    expect(h.history.loss).toHaveLength(2);
    expect(Number.isFinite(h.history.loss[1])).toBe(true);
    antler.dispose([x, y, model, opt, loss]);
  });
});
