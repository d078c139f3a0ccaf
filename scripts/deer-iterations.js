// Newton iterations, fallbacks and the error against the sequential walk of nn.GRU / nn.LSTM in modes
// deer and quasi (the iteration by launches) at T = 10,000, B = 16, n in {1, 8, 32}, float32 and
// float64, default tolerances: what a change to the convergence test costs. node scripts/deer-iterations.js
const a = require('../dist');
a.setSeed(7);
for (const [kind, Ctor] of [['gru', a.nn.GRU], ['lstm', a.nn.LSTM]]) for (const n of [1, 8, 32]) for (const dtype of ['float32', 'float64']) {
  const m = new Ctor(n, n, { dtype });
  const x = a.randn([10000, 16, n], { seed: 3, dtype });
  const seq = m.forward(x, null, { mode: 'sequential' }).output;
  const row = [kind, n, dtype];
  for (const mode of ['deer', 'quasi']) {
    if (mode === 'deer' && n > 8 && kind === 'lstm') continue;
    const t0 = Date.now();
    const r = m.forward(x, null, { mode });
    const st = r.stats[0];
    const err = a.max(a.abs(a.sub(r.output, seq))).item();
    row.push(`${mode}: it ${st.iterations} fb ${st.fallbackSequences.length} err ${err.toExponential(1)} ${Date.now() - t0}ms`);
    r.output.dispose();
  }
  console.log(row.join(' | '));
  m.dispose(); x.dispose(); seq.dispose();
}
