/**
 * torch.nn.utils.rnn's packed sequences: PackedSequence, packPaddedSequence,
 * padPackedSequence, packSequence, unpackSequence, unpadSequence; the layout
 * against a plain JavaScript transcription of PyTorch's (the sequences sorted
 * longest first, stably, interleaved time-major), round trips, gradients
 * (closed form through the mask and central differences), nn.GRU/LSTM/RNN and
 * nn.SRU on a PackedSequence against each sequence run alone, errors, and the
 * tensors' lifetimes under tidy/keep/dispose.
 */
import * as antler from '../../lib';
import { nn, PackedSequence, Tensor, tensor, tidy } from '../../lib';
import { expectAntlerError, expectClose, expectExact, expectNoLeaksInSuite, makeRng, prod, randomArray, Rng, tensorCounts } from '../helpers';

const rng = makeRng();
const SEED = rng.seed;
antler.setSeed(rng.u32());
expectNoLeaksInSuite(tensorCounts);

const F64 = { dtype: 'float64' as const };
const f64 = (values: ArrayLike<number>, shape: number[], requiresGrad = false) => tensor(Float64Array.from(values), shape, { dtype: 'float64', requiresGrad });
const read = (t: Tensor) => Array.from(t.dataSync());

/** Random lengths in [1, T], at least one equal to `longest` (≤ T); sorted longest first when asked. */
function drawLengths(r: Rng, B: number, longest: number, sorted: boolean): number[] {
  const lens = Array.from({ length: B }, () => r.int(1, longest));
  // Ties on purpose now and then: the stable order must hold.
  if (B > 2 && r.next() < 0.5) lens[1] = lens[0];
  lens[r.int(0, B - 1)] = longest;
  return sorted ? lens.sort((a, b) => b - a) : lens;
}

/**
 * PyTorch's layout, transcribed: torch.sort(lengths, descending) (stable here),
 * then for each step t the sorted sequences still running, their row t.
 * x is [T, B, F] time-major (flat). Returns data [N·F], batchSizes, sorted.
 */
function packRef(x: ArrayLike<number>, T: number, B: number, F: number, lens: number[], sort: boolean) {
  const sorted = Array.from({ length: B }, (_, b) => b);
  if (sort) sorted.sort((a, b) => lens[b] - lens[a] || a - b);
  const longest = Math.max(...lens);
  const data: number[] = [], batchSizes: number[] = [];
  for (let t = 0; t < longest; t++) {
    let k = 0;
    for (const b of sorted)
      if (lens[b] > t) {
        k++;
        for (let f = 0; f < F; f++) data.push(x[(t * B + b) * F + f]);
      }
    batchSizes.push(k);
  }
  const unsorted = new Array<number>(B);
  sorted.forEach((b, p) => (unsorted[b] = p));
  return { data, batchSizes, sorted, unsorted };
}

/** [T, B, F] (flat) → [B, T, F]. */
function toBatchFirst(x: ArrayLike<number>, T: number, B: number, F: number): number[] {
  const out = new Array<number>(T * B * F);
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) for (let f = 0; f < F; f++) out[(b * T + t) * F + f] = x[(t * B + b) * F + f];
  return out;
}

describe(`packed sequences (seed ${SEED})`, () => {
  test("packPaddedSequence's data, batchSizes and indices follow PyTorch's layout; padPackedSequence restores the batch (sorted or not, batchFirst, trailing dims, totalLength)", () => {
    for (let trial = 0; trial < 24; trial++) {
      tidy(() => {
        const B = rng.int(1, 5), T = rng.int(1, 6);
        const longest = rng.next() < 0.3 ? rng.int(1, T) : T;
        const tail = rng.pick([[], [3], [2, 2]]);
        const F = prod(tail);
        const sorted = trial % 2 === 0;
        const batchFirst = trial % 4 >= 2;
        const lens = drawLengths(rng, B, longest, sorted);
        const x = randomArray(rng, T * B * F);
        const input = f64(batchFirst ? toBatchFirst(x, T, B, F) : x, batchFirst ? [B, T, ...tail] : [T, B, ...tail]);
        const asTensor = trial % 3 === 0;
        const ps = antler.packPaddedSequence(input, asTensor ? tensor(lens, [B], { dtype: 'int32' }) : lens, { batchFirst, enforceSorted: sorted });
        const ref = packRef(x, T, B, F, lens, !sorted);
        const what = `B ${B} T ${T} lengths [${lens}] tail [${tail}] batchFirst ${batchFirst} enforceSorted ${sorted}`;
        expect(ps).toBeInstanceOf(PackedSequence);
        expect(ps.data.shape).toEqual([lens.reduce((a, n) => a + n, 0), ...tail]);
        expectExact(read(ps.data), ref.data, `data, ${what}`);
        expect(ps.batchSizes.dtype).toBe('int32');
        expect(ps.batchSizes.device).toBe('cpu');
        expect(read(ps.batchSizes)).toEqual(ref.batchSizes);
        if (sorted) {
          expect(ps.sortedIndices).toBeNull();
          expect(ps.unsortedIndices).toBeNull();
        } else {
          expect(ps.sortedIndices!.dtype).toBe('int32');
          expect(read(ps.sortedIndices!)).toEqual(ref.sorted);
          expect(read(ps.unsortedIndices!)).toEqual(ref.unsorted);
        }
        expect(ps.dtype).toBe('float64');
        expect(ps.device).toBe('cpu');
        expect(ps.isCuda).toBe(false);
        // Back: to the longest length, or to T with totalLength, padded with paddingValue.
        const total = rng.next() < 0.5 ? T : undefined;
        const value = rng.pick([0, -7.5]);
        const { output, lengths } = antler.padPackedSequence(ps, { batchFirst, totalLength: total, paddingValue: value });
        const Tp = total ?? longest;
        expect(output.shape).toEqual(batchFirst ? [B, Tp, ...tail] : [Tp, B, ...tail]);
        expect(lengths.dtype).toBe('int32');
        expect(lengths.device).toBe('cpu');
        expect(read(lengths)).toEqual(lens);
        const want = new Array<number>(Tp * B * F);
        for (let t = 0; t < Tp; t++)
          for (let b = 0; b < B; b++)
            for (let f = 0; f < F; f++) want[(t * B + b) * F + f] = t < lens[b] ? x[(t * B + b) * F + f] : value;
        expectExact(read(output), batchFirst ? toBatchFirst(want, Tp, B, F) : want, `padded, ${what}`);
      });
    }
  });

  test('packSequence, unpackSequence and unpadSequence (PyTorch ≥ 1.13) round-trip; padSequence stays', () => {
    for (let trial = 0; trial < 12; trial++) {
      tidy(() => {
        const B = rng.int(1, 5), T = rng.int(1, 6);
        const sorted = trial % 2 === 0;
        const lens = drawLengths(rng, B, T, sorted);
        const tail = rng.pick([[], [2], [1, 3]]);
        const F = prod(tail);
        const values = lens.map((n) => randomArray(rng, n * F));
        const seqs = values.map((v, b) => f64(v, [lens[b], ...tail]));
        const ps = antler.packSequence(seqs, { enforceSorted: sorted });
        // As PyTorch: pack_padded_sequence(pad_sequence(sequences), lengths).
        const padded = antler.padSequence(seqs);
        const x = read(padded);
        const ref = packRef(x, T, B, F, lens, !sorted);
        expectExact(read(ps.data), ref.data, `packSequence data, lengths [${lens}]`);
        expect(read(ps.batchSizes)).toEqual(ref.batchSizes);
        const back = antler.unpackSequence(ps);
        expect(back.length).toBe(B);
        back.forEach((s, b) => {
          expect(s.shape).toEqual([lens[b], ...tail]);
          expectExact(read(s), values[b], `unpackSequence[${b}]`);
        });
        const batchFirst = trial % 4 >= 2;
        const unpadded = antler.unpadSequence(batchFirst ? antler.padSequence(seqs, { batchFirst: true }) : padded, lens, { batchFirst });
        unpadded.forEach((s, b) => {
          expect(s.shape).toEqual([lens[b], ...tail]);
          expectExact(read(s), values[b], `unpadSequence[${b}]`);
        });
        // nn.utils.rnn is torch.nn.utils.rnn's path to the same functions.
        expect(nn.utils.rnn.packPaddedSequence).toBe(antler.packPaddedSequence);
        expect(nn.utils.rnn.PackedSequence).toBe(PackedSequence);
        expect(nn.utils.rnn.padSequence).toBe(antler.padSequence);
      });
    }
  });

  test('PackedSequence(data, batchSizes, sortedIndices) built by hand: unsortedIndices computed, layout checked', () => {
    tidy(() => {
      const data = f64([1, 2, 3, 4, 5], [5]);
      const ps = new PackedSequence(data, [3, 2], tensor([2, 0, 1], [3], { dtype: 'int32' }));
      expect(read(ps.unsortedIndices!)).toEqual([1, 2, 0]);
      const { output, lengths } = antler.padPackedSequence(ps, { batchFirst: true });
      // Sorted position p is original sequence sortedIndices[p]: 2 ← [1, 4], 0 ← [2, 5], 1 ← [3].
      expect(read(output)).toEqual([2, 5, 3, 0, 1, 4]);
      expect(read(lengths)).toEqual([2, 1, 2]);
      // int32 data (token ids, packed before an embedding) packs and pads too; paddingValue must be an int32.
      const ids = antler.packPaddedSequence(tensor([1, 2, 3, 4, 5, 6], [3, 2], { dtype: 'int32' }), [3, 1]);
      expect(ids.dtype).toBe('int32');
      expect(read(ids.data)).toEqual([1, 2, 3, 5]);
      expect(read(antler.padPackedSequence(ids, { paddingValue: -1, totalLength: 4 }).output)).toEqual([1, 2, 3, -1, 5, -1, -1, -1]);
      expectAntlerError(() => antler.padPackedSequence(ids, { paddingValue: 0.5 }), 'DTYPE_MISMATCH', /^padPackedSequence: paddingValue 0\.5 is not an int32/);
      expect(String(ps)).toMatch(/^PackedSequence\(data \[5\] float64 on cpu, batchSizes \[3, 2\], sortedIndices \[2, 0, 1\]\)$/);
    });
  });

  test('gradients: the padded input gets the output gradient at the real steps and 0 at the padding (closed form and central differences, float64)', () => {
    for (let trial = 0; trial < 6; trial++) {
      tidy(() => {
        const B = rng.int(1, 4), T = rng.int(1, 5);
        const tail = rng.pick([[], [2]]);
        const F = prod(tail);
        const batchFirst = trial % 2 === 1;
        const lens = drawLengths(rng, B, rng.int(1, T), false);
        const x0 = randomArray(rng, T * B * F);
        const W = randomArray(rng, T * B * F);
        const shape = batchFirst ? [B, T, ...tail] : [T, B, ...tail];
        const real = (i: number) => {
          // i indexes `shape`; its step and batch entry:
          const row = Math.floor(i / F);
          const [b, t] = batchFirst ? [Math.floor(row / T), row % T] : [row % B, Math.floor(row / B)];
          return t < lens[b];
        };
        // L = Σ W ⊙ y², y = padPacked(pack(x)) (to T): ∂L/∂x = 2 W x at the real steps, 0 elsewhere.
        const loss = (xv: number[], grad: boolean) => {
          const x = f64(xv, shape, grad);
          const ps = antler.packPaddedSequence(x, lens, { batchFirst, enforceSorted: false });
          const y = antler.padPackedSequence(ps, { batchFirst, totalLength: T, paddingValue: 0.25 }).output;
          return { x, l: antler.sum(antler.mul(f64(W, shape), antler.square(y))) };
        };
        const { x, l } = loss(x0, true);
        l.backward();
        const g = read(x.grad!);
        expectClose(g, x0.map((v, i) => (real(i) ? 2 * W[i] * v : 0)), 1e-14, 1e-15, `closed form, lengths [${lens}] batchFirst ${batchFirst}`);
        const h = 1e-6;
        const numeric = x0.map((_, i) => {
          const plus = x0.slice(), minus = x0.slice();
          plus[i] += h;
          minus[i] -= h;
          return (loss(plus, false).l.item() - loss(minus, false).l.item()) / (2 * h);
        });
        expectClose(g, numeric, 1e-7, 1e-8, 'central differences');
        // unpackSequence and packSequence are differentiable too: each sequence gets its own rows' gradient.
        const seqs = lens.map((n) => f64(randomArray(rng, n * F), [n, ...tail], true));
        const ws = lens.map((n) => randomArray(rng, n * F));
        const parts = antler.unpackSequence(antler.packSequence(seqs, { enforceSorted: false }));
        antler.sum(antler.stack(parts.map((p, b) => antler.sum(antler.mul(p, f64(ws[b], p.shape.slice())))))).backward();
        seqs.forEach((s, b) => expectExact(read(s.grad!), ws[b], `packSequence → unpackSequence gradient of sequence ${b}`));
      });
    }
  });

  // ---------------------------------------------------------------- recurrent layers

  /** Random values in every parameter, so that nothing passes by accident. */
  function randomize(m: antler.nn.Module, r: Rng): void {
    for (const [, p] of m.namedParameters()) tidy(() => void p.assign(f64(randomArray(r, p.size, -0.6, 0.6), p.shape.slice())));
  }

  const RNN_KINDS = ['GRU', 'LSTM', 'RNN'] as const;

  test.each(RNN_KINDS)('nn.%s on a PackedSequence equals each sequence run alone (bidirectional, 2 layers, unsorted; h0 and hidden in the original order); weight gradients are the per-sequence ones summed', (kind) => {
    const I = rng.int(1, 3), H = rng.int(1, 4), B = rng.int(2, 5), T = rng.int(2, 6);
    const batchFirst = rng.next() < 0.5;
    const net = new nn[kind](I, H, { numLayers: 2, bidirectional: true, batchFirst, dtype: 'float64', mode: 'sequential' }) as nn.GRU;
    randomize(net, rng);
    const isLstm = kind === 'LSTM';
    const LD = 4;
    try {
      const lens = drawLengths(rng, B, T, false);
      const xs = lens.map((n) => randomArray(rng, n * I));
      const h0v = randomArray(rng, LD * B * H), c0v = randomArray(rng, LD * B * H);
      const wOut = lens.map((n) => randomArray(rng, n * 2 * H));
      const wH = randomArray(rng, LD * B * H), wC = randomArray(rng, LD * B * H);
      const forward = (m: nn.GRU, x: Tensor | PackedSequence, h0: Tensor, c0: Tensor) =>
        isLstm ? (m as unknown as nn.LSTM).forward(x as Tensor, [h0, c0]) : m.forward(x as Tensor, h0);
      // [LD, B, H] (flat) at batch entry b, as [LD, H].
      const column = (v: number[], b: number) => Array.from({ length: LD * H }, (_, i) => v[(Math.floor(i / H) * B + b) * H + (i % H)]);

      // Packed: one call.
      const packed = tidy(() => {
        const ps = antler.packSequence(xs.map((v, b) => f64(v, [lens[b], I])), { enforceSorted: false });
        const r = isLstm ? (net as unknown as nn.LSTM).forward(ps, [f64(h0v, [LD, B, H]), f64(c0v, [LD, B, H])]) : net.forward(ps, f64(h0v, [LD, B, H]));
        expect(r.output).toBeInstanceOf(PackedSequence);
        expect(read(r.output.batchSizes)).toEqual(read(ps.batchSizes));
        expect(read(r.output.sortedIndices!)).toEqual(read(ps.sortedIndices!));
        expect(r.hidden.shape).toEqual([LD, B, H]);
        const outs = antler.unpackSequence(r.output);
        let L = antler.sum(antler.mul(r.hidden, f64(wH, [LD, B, H])));
        outs.forEach((o, b) => (L = antler.add(L, antler.sum(antler.mul(o, f64(wOut[b], [lens[b], 2 * H]))))));
        if (isLstm) L = antler.add(L, antler.sum(antler.mul((r as unknown as nn.LSTMOutput).cell, f64(wC, [LD, B, H]))));
        L.backward();
        const grads = net.parameters().map((p) => read(p.grad!));
        net.zeroGrad();
        return { outs: outs.map(read), hidden: read(r.hidden), cell: isLstm ? read((r as unknown as nn.LSTMOutput).cell) : null, grads };
      });
      // Alone: each sequence unbatched, its h0 column; the losses summed.
      const alone = tidy(() => {
        const outs: number[][] = [], hid: number[][] = [], cel: number[][] = [];
        for (let b = 0; b < B; b++) {
          const r = forward(net, f64(xs[b], [lens[b], I]), f64(column(h0v, b), [LD, H]), f64(column(c0v, b), [LD, H]));
          outs.push(read(r.output));
          hid.push(read(r.hidden));
          let L = antler.add(antler.sum(antler.mul(r.output, f64(wOut[b], [lens[b], 2 * H]))), antler.sum(antler.mul(r.hidden, f64(column(wH, b), [LD, H]))));
          if (isLstm) {
            cel.push(read((r as unknown as nn.LSTMOutput).cell));
            L = antler.add(L, antler.sum(antler.mul((r as unknown as nn.LSTMOutput).cell, f64(column(wC, b), [LD, H]))));
          }
          L.backward();
        }
        const grads = net.parameters().map((p) => read(p.grad!));
        net.zeroGrad();
        return { outs, hid, cel, grads };
      });
      const what = `${kind} lengths [${lens}] I ${I} H ${H} batchFirst ${batchFirst}`;
      for (let b = 0; b < B; b++) {
        expectClose(packed.outs[b], alone.outs[b], 1e-12, 1e-12, `${what}: output of sequence ${b}`);
        expectClose(column(packed.hidden, b), alone.hid[b], 1e-12, 1e-12, `${what}: hidden of sequence ${b}`);
        if (isLstm) expectClose(column(packed.cell!, b), alone.cel[b], 1e-12, 1e-12, `${what}: cell of sequence ${b}`);
      }
      packed.grads.forEach((g, i) => expectClose(g, alone.grads[i], 1e-12, 1e-12, `${what}: gradient of ${net.namedParameters()[i][0]}`));
    } finally {
      net.dispose();
    }
  });

  test("nn.GRU on a PackedSequence: sorted input (no indices), the deer modes (as with lengths), options beside it, and the padded batch with lengths agree", () => {
    const I = 2, H = 3, B = 4, T = 5;
    const gru = new nn.GRU(I, H, { numLayers: 2, dtype: 'float64' });
    randomize(gru, rng);
    try {
      tidy(() => {
        const lens = drawLengths(rng, B, T, true);
        const x = f64(randomArray(rng, T * B * I), [T, B, I]);
        const ps = antler.packPaddedSequence(x, lens);
        const ref = gru.forward(x, null, { lengths: lens, mode: 'sequential' });
        for (const mode of ['sequential', 'deer', 'quasi', 'elk'] as const) {
          const r = gru.forward(ps, null, { mode, maxIters: 200 });
          expect(r.output.sortedIndices).toBeNull();
          const tol = mode === 'sequential' ? 1e-14 : 1e-7;
          expectClose(read(antler.padPackedSequence(r.output, { totalLength: T }).output), read(ref.output), tol, tol, `${mode}: output`);
          expectClose(read(r.hidden), read(ref.hidden), tol, tol, `${mode}: hidden`);
          expect(r.stats.length).toBe(2);
        }
        expectAntlerError(() => gru.forward(ps, null, { lengths: lens } as never), 'INVALID_ARGUMENT', /^GRU: lengths is for a padded input; a PackedSequence carries its own/);
        expectAntlerError(() => gru.forward(ps, antler.zeros([2, B + 1, H], F64)), 'SHAPE_MISMATCH', /^GRU: h0 has shape \[2, 5, 3\]; expected/);
        expectAntlerError(() => gru.forward(antler.packPaddedSequence(antler.zeros([T, B, I + 1], F64), lens)), 'SHAPE_MISMATCH', /^GRU: a PackedSequence input's data must be \[Σ lengths, inputSize\] = \[\d+, 2\]; got data of shape \[\d+, 3\]/);
      });
    } finally {
      gru.dispose();
    }
  });

  test('nn.LSTM with projSize on a PackedSequence equals the padded batch with lengths (output, hidden, cell)', () => {
    const lstm = new nn.LSTM(2, 4, { projSize: 2, numLayers: 2, bidirectional: true, dtype: 'float64', mode: 'sequential' });
    randomize(lstm, rng);
    try {
      tidy(() => {
        const B = 3, T = 4;
        const lens = drawLengths(rng, B, T, false);
        const x = f64(randomArray(rng, T * B * 2), [T, B, 2]);
        const h0 = f64(randomArray(rng, 4 * B * 2), [4, B, 2]), c0 = f64(randomArray(rng, 4 * B * 4), [4, B, 4]);
        const r = lstm.forward(antler.packPaddedSequence(x, lens, { enforceSorted: false }), [h0, c0]);
        const ref = lstm.forward(x, [h0, c0], { lengths: lens });
        expect(r.output.data.shape).toEqual([lens.reduce((a, n) => a + n, 0), 4]);
        expectClose(read(antler.padPackedSequence(r.output, { totalLength: T }).output), read(ref.output), 1e-14, 1e-14, `output, lengths [${lens}]`);
        expectClose(read(r.hidden), read(ref.hidden), 1e-14, 1e-14, 'hidden');
        expectClose(read(r.cell), read(ref.cell), 1e-14, 1e-14, 'cell');
      });
    } finally {
      lstm.dispose();
    }
  });

  test.each([false, true])('nn.SRU (bidirectional %s) on a PackedSequence equals each sequence run alone (output and c, original order)', (bidirectional) => {
    const I = rng.int(1, 3), H = rng.int(1, 4), B = rng.int(2, 4), T = rng.int(2, 5);
    const sru = new nn.SRU(I, H, { numLayers: 2, bidirectional, dtype: 'float64' });
    randomize(sru, rng);
    const n = (bidirectional ? 2 : 1) * H;
    try {
      tidy(() => {
        const lens = drawLengths(rng, B, T, false);
        const xs = lens.map((k) => randomArray(rng, k * I));
        const c0v = randomArray(rng, 2 * B * n);
        const ps = antler.packSequence(xs.map((v, b) => f64(v, [lens[b], I])), { enforceSorted: false });
        const r = sru.forward(ps, { c0: f64(c0v, [2, B, n]) });
        expect(r.output).toBeInstanceOf(PackedSequence);
        const outs = antler.unpackSequence(r.output);
        const c = read(r.c);
        for (let b = 0; b < B; b++) {
          const c0b = Array.from({ length: 2 * n }, (_, i) => c0v[(Math.floor(i / n) * B + b) * n + (i % n)]);
          const one = sru.forward(f64(xs[b], [lens[b], 1, I]), { c0: f64(c0b, [2, 1, n]) });
          expectClose(read(outs[b]), read(one.output), 1e-12, 1e-12, `SRU output of sequence ${b}, lengths [${lens}]`);
          expectClose(Array.from({ length: 2 * n }, (_, i) => c[(Math.floor(i / n) * B + b) * n + (i % n)]), read(one.c), 1e-12, 1e-12, `SRU c of sequence ${b}`);
        }
        expectAntlerError(() => sru.forward(ps, { lengths: lens } as never), 'INVALID_ARGUMENT', /^SRU\.forward: maskPad and lengths are for a padded input/);
      });
    } finally {
      sru.dispose();
    }
  });

  // ---------------------------------------------------------------- errors

  test("errors name what was passed and what was expected (PyTorch's rules)", () => {
    tidy(() => {
      const x = antler.zeros([4, 3, 2], F64);
      expectAntlerError(() => antler.packPaddedSequence(x, [2, 4, 1]), 'INVALID_ARGUMENT',
        /^packPaddedSequence: lengths must be sorted in decreasing order when enforceSorted is true \(lengths\[0\] = 2 < lengths\[1\] = 4\); pass enforceSorted: false/);
      expectAntlerError(() => antler.packPaddedSequence(x, [4, 0, 1], { enforceSorted: false }), 'INVALID_ARGUMENT', /^packPaddedSequence: lengths\[1\] is 0; each length must be an integer in \[1, 4\]/);
      expectAntlerError(() => antler.packPaddedSequence(x, [5, 1, 1]), 'INVALID_ARGUMENT', /lengths\[0\] is 5; each length must be an integer in \[1, 4\] \(the input has 4 steps\)/);
      expectAntlerError(() => antler.packPaddedSequence(x, [4, 1]), 'SHAPE_MISMATCH', /^packPaddedSequence: lengths has 2 entries; the batch has 3$/);
      expectAntlerError(() => antler.packPaddedSequence(x, [4, 3, 3, 3], { batchFirst: true }), 'INVALID_ARGUMENT', /lengths\[0\] is 4; each length must be an integer in \[1, 3\]/);
      expectAntlerError(() => antler.packPaddedSequence(x, tensor([3, 2, 1], [3], F64)), 'DTYPE_MISMATCH', /lengths must be an int32 tensor; got float64/);
      expectAntlerError(() => antler.packPaddedSequence(antler.zeros([4], F64), [1]), 'SHAPE_MISMATCH', /^packPaddedSequence: input must be \[T, B, …\], at least 2-D; got shape \[4\]/);
      expectAntlerError(() => antler.packPaddedSequence(x, [3, 2, 1], { enforce_sorted: false } as never), 'INVALID_ARGUMENT', /unknown option 'enforce_sorted'/);
      const ps = antler.packPaddedSequence(x, [3, 2, 1]);
      expectAntlerError(() => antler.padPackedSequence(ps, { totalLength: 2 }), 'INVALID_ARGUMENT',
        /^padPackedSequence: totalLength must be at least the length of the longest sequence; got totalLength 2 and a longest sequence of 3$/);
      expectAntlerError(() => antler.padPackedSequence(x as never), 'INVALID_ARGUMENT', /^padPackedSequence: sequence must be a PackedSequence \(from packPaddedSequence or packSequence\); got/);
      expectAntlerError(() => antler.packSequence([antler.zeros([2, 2]), antler.zeros([3, 2])]), 'INVALID_ARGUMENT', /^packSequence: the sequences must be sorted by length, longest first, when enforceSorted is true/);
      expectAntlerError(() => antler.packSequence([antler.zeros([2, 2]), antler.zeros([0, 2])]), 'INVALID_ARGUMENT', /^packSequence: sequences\[1\] has length 0/);
      expectAntlerError(() => antler.packSequence([antler.zeros([2, 2]), antler.zeros([1, 3])]), 'SHAPE_MISMATCH', /^packSequence: sequences\[1\] has shape \[1, 3\]; every sequence must be \[Tᵢ, 2\] like sequences\[0\] \(\[2, 2\]\)$/);
      expectAntlerError(() => antler.packSequence([antler.zeros([2, 2], F64), antler.zeros([1, 2])]), 'DTYPE_MISMATCH', /^packSequence: sequences\[1\] is float32; sequences\[0\] is float64$/);
      expectAntlerError(() => antler.packSequence([]), 'INVALID_ARGUMENT', /^packSequence: expected a non-empty array/);
      expectAntlerError(() => antler.unpadSequence(x, [4, 5, 1]), 'INVALID_ARGUMENT', /^unpadSequence: lengths\[1\] is 5/);
      expectAntlerError(() => new PackedSequence(antler.zeros([5]), [2, 3]), 'INVALID_ARGUMENT', /^PackedSequence: batchSizes\[1\] is 3; batch sizes must be positive integers, non-increasing \(batchSizes\[0\] is 2\)/);
      expectAntlerError(() => new PackedSequence(antler.zeros([4]), [3, 2]), 'SHAPE_MISMATCH', /^PackedSequence: data has 4 rows \(shape \[4\]\); batchSizes sum to 5$/);
      expectAntlerError(() => new PackedSequence(antler.zeros([5]), [3, 2], tensor([0, 0, 1], [3], { dtype: 'int32' })), 'INVALID_ARGUMENT', /sortedIndices must be a permutation of \[0, 3\); got \[0, 0, 1\]/);
      const gone = antler.packPaddedSequence(x, [3, 2, 1]);
      gone.dispose();
      expect(gone.isDisposed).toBe(true);
      expectAntlerError(() => antler.padPackedSequence(gone), 'DISPOSED', /^padPackedSequence: the PackedSequence\(data \[6, 2\] float64 on cpu, batchSizes \[3, 2, 1\]\) has been disposed \(dispose\(\) freed its tensors\)$/);
      const half = antler.packPaddedSequence(x, [3, 2, 1]);
      half.data.dispose();
      expectAntlerError(() => antler.unpackSequence(half), 'DISPOSED', /^unpackSequence: the PackedSequence\(data \[6, 2\] .*\) has been disposed \(its data was disposed\)$/);
      half.dispose();
      gone.dispose(); // idempotent
    });
  });

  test("a recurrent layer checks a PackedSequence's data itself ([Σ lengths, inputSize], as PyTorch), not the padded batch made from it; an empty batch does not pack", () => {
    const gru = new nn.GRU(3, 4, F64), sru = new nn.SRU(3, 4, F64), lstm = new nn.LSTM(3, 4, F64);
    tidy(() => {
      // data [4] (from a [T, B] batch): PyTorch "input must have 2 dimensions, got 1"; B = 3 = inputSize once made the padded [3, 3] looked unbatched.
      const flat = antler.packPaddedSequence(antler.zeros([3, 3], F64), [3, 3, 3]);
      expectAntlerError(() => gru.forward(flat), 'SHAPE_MISMATCH', /^GRU: a PackedSequence input's data must be \[Σ lengths, inputSize\] = \[9, 3\]; got data of shape \[9\]/);
      const deep = antler.packPaddedSequence(antler.zeros([3, 2, 3, 1], F64), [3, 1]);
      expectAntlerError(() => lstm.forward(deep), 'SHAPE_MISMATCH', /^LSTM: a PackedSequence input's data must be .* got data of shape \[4, 3, 1\]/);
      const wide = antler.packPaddedSequence(antler.zeros([3, 2, 5], F64), [3, 1]);
      expectAntlerError(() => gru.forward(wide), 'SHAPE_MISMATCH', /^GRU: a PackedSequence input's data must be \[Σ lengths, inputSize\] = \[4, 3\]; got data of shape \[4, 5\]/);
      expectAntlerError(() => sru.forward(wide), 'SHAPE_MISMATCH', /^SRU.forward: a PackedSequence input's data must be .* got data of shape \[4, 5\]/);
      expectAntlerError(() => antler.packPaddedSequence(antler.zeros([3, 0, 2], F64), [], { enforceSorted: false }), 'SHAPE_MISMATCH', /^packPaddedSequence: cannot pack an empty batch/);
    });
    antler.dispose([gru, sru, lstm]);
  });

  test('forward is callable on a union of the recurrent modules (no cast), typed by its input: Tensor → a Tensor output, PackedSequence → a PackedSequence', () => {
    const made: { dispose(): void }[] = [];
    tidy(() => {
      const lens = [3, 1, 2];
      const x = antler.randn([3, 3, 2], F64);
      for (const kind of ['GRU', 'LSTM', 'RNN'] as const) {
        // A union of the three classes: each forward's overloads made it uncallable (TS2349); ts-jest type-checks this file.
        const m = new nn[kind](2, 4, F64);
        made.push(m);
        const packed: PackedSequence = m.forward(antler.packPaddedSequence(x, lens, { enforceSorted: false })).output;
        const padded: Tensor = m.forward(x, null, { lengths: lens }).output;
        expectClose(read(antler.padPackedSequence(packed).output), read(padded), 1e-12, 1e-12, `${kind} packed vs lengths`);
      }
      const either: nn.SRU | nn.LSTM = rng.next() < 0.5 ? new nn.SRU(2, 4, F64) : new nn.LSTM(2, 4, F64);
      made.push(either);
      const out: Tensor = either.forward(x).output;
      expect(out.shape[0]).toBe(3);
      // Through a type parameter bounded by Tensor (as the overloads allowed), and an `any` input (a Tensor's output, as before packed inputs).
      const viaGeneric = <X extends Tensor>(m: nn.GRU, input: X): Tensor => m.forward(input).output;
      const gru = new nn.GRU(2, 4, F64);
      made.push(gru);
      expect(viaGeneric(gru, x).shape).toEqual([3, 3, 4]);
      const loose: any = x;
      const fromAny: Tensor = gru.forward(loose).output;
      expect(fromAny.shape).toEqual([3, 3, 4]);
      // AveragedModel's forward is typed by its arguments as the module's is.
      const avg = new antler.optim.AveragedModel(gru);
      made.push(avg);
      const avgPacked: PackedSequence = avg.forward(antler.packPaddedSequence(x, lens, { enforceSorted: false })).output;
      const avgOut: Tensor = avg.forward(x, null, { lengths: lens }).output;
      expectClose(read(antler.padPackedSequence(avgPacked).output), read(avgOut), 1e-12, 1e-12, 'AveragedModel packed vs lengths');
    });
    antler.dispose(made);
  });

  // ---------------------------------------------------------------- lifetimes

  test('a PackedSequence owns its tensors: tidy keeps them when it is returned (alone or in an object) and frees them otherwise; keep() and dispose() take it', () => {
    const count = () => antler.memory().numTensors;
    const x = f64(randomArray(rng, 4 * 3 * 2), [4, 3, 2]);
    try {
      const base = count();
      // Made and dropped: nothing left.
      tidy(() => {
        antler.packPaddedSequence(x, [1, 4, 2], { enforceSorted: false });
      });
      expect(count()).toBe(base);
      // Returned: its four tensors (data, batchSizes, both indices) live on.
      const ps = tidy(() => antler.packPaddedSequence(x, [1, 4, 2], { enforceSorted: false }));
      expect(count()).toBe(base + 4);
      expect(ps.isDisposed).toBe(false);
      ps.dispose();
      expect(count()).toBe(base);
      // In an object, inside a nested tidy: handed to the outer scope, freed with it.
      tidy(() => {
        const inner = tidy(() => ({ seq: antler.packPaddedSequence(x, [4, 2, 1]) }));
        expect(count()).toBe(base + 2); // sorted: no indices
        expect(read(inner.seq.batchSizes)).toEqual([3, 2, 1, 1]);
      });
      expect(count()).toBe(base);
      // keep(): survives the scope; dispose() (the engine's) frees it.
      const kept = tidy(() => {
        const k = antler.keep(antler.packPaddedSequence(x, [1, 4, 2], { enforceSorted: false }));
        return read(k.data).length > 0 ? k : null;
      })!;
      tidy(() => {
        antler.keep(kept);
      });
      expect(count()).toBe(base + 4);
      antler.dispose(kept);
      expect(kept.isDisposed).toBe(true);
      expect(count()).toBe(base);
      // Only data returned: the rest is freed.
      const data = tidy(() => antler.packPaddedSequence(x, [1, 4, 2], { enforceSorted: false }).data);
      expect(count()).toBe(base + 1);
      data.dispose();
      // A recurrent layer's output in a tidy: what is returned lives, nothing else (under noGrad: no graph
      // holding intermediates for backward).
      const gru = new nn.GRU(2, 3, F64);
      const params = count();
      const out = antler.noGrad(() => tidy(() => gru.forward(antler.packPaddedSequence(x, [1, 4, 2], { enforceSorted: false }))));
      expect(count()).toBe(params + 4 + 1); // the packed output and hidden
      antler.dispose(out);
      expect(count()).toBe(params);
      // to(): a copy (batchSizes on the CPU), freed on its own.
      tidy(() => {
        const a = antler.packPaddedSequence(x, [1, 4, 2], { enforceSorted: false });
        const b = a.to('cpu');
        expect(b).not.toBe(a);
        expect(b.batchSizes.device).toBe('cpu');
        expectExact(read(b.data), read(a.data));
        expect(read(b.sortedIndices!)).toEqual(read(a.sortedIndices!));
        a.dispose();
        expect(b.isDisposed).toBe(false);
      });
      gru.dispose();
      expect(count()).toBe(base);
    } finally {
      x.dispose();
    }
  });
});
