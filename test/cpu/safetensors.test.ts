/**
 * safetensors checkpoints: round trips of random tensors compared byte for
 * byte, the written layout checked by a reader written here, hand-built
 * BF16/F16/I64 files against values computed here, a corpus of malformed
 * files that must each give BAD_FILE, and atomic saves under injected
 * failures.
 */
// helpers first: it gives jest's context Symbol.dispose before the library defines Tensor.
import { expectExact, expectNoLeaksInSuite, makeRng, prod, randomArray, Rng, tensorCounts } from '../helpers';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AntlerError, dispose, DType, ErrorCode, memory, Tensor, tensor, tidy } from '../../lib';
import { load, loadAsync, parseSafetensors, save, saveAsync, serializeSafetensors } from '../../lib/io';

const rng = makeRng();
const SEED = rng.seed;
const DTYPES: DType[] = ['float32', 'float64', 'int32'];
const WIRE: Record<DType, { name: string; size: number }> = {
  float32: { name: 'F32', size: 4 },
  float64: { name: 'F64', size: 8 },
  int32: { name: 'I32', size: 4 },
};

let dir = '';
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'antler-safetensors-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});
expectNoLeaksInSuite(tensorCounts);
afterEach(() => jest.restoreAllMocks());

let fileCounter = 0;
/** A fresh empty subfolder, so each test can check exactly which files it leaves. */
function freshDir(): string {
  const d = path.join(dir, `case-${fileCounter++}`);
  fs.mkdirSync(d);
  return d;
}

/** The bytes of a typed array (any realm), copied. */
function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
}

function expectBytesEqual(actual: Uint8Array, expected: Uint8Array, msg: string): void {
  if (actual.length !== expected.length) throw new Error(`${msg}: ${actual.length} bytes, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++)
    if (actual[i] !== expected[i]) throw new Error(`${msg}: byte ${i} is ${actual[i]}, expected ${expected[i]}`);
}

function expectAntlerError(call: () => unknown, code: ErrorCode, what: string): AntlerError {
  let thrown: unknown;
  try {
    call();
  } catch (e) {
    thrown = e;
  }
  if (thrown === undefined) throw new Error(`${what}: did not throw (expected ${code})`);
  if (!(thrown instanceof AntlerError))
    throw new Error(`${what}: threw ${(thrown as Error)?.constructor?.name} ${(thrown as Error)?.message}, not an AntlerError (expected ${code})`);
  if (thrown.code !== code) throw new Error(`${what}: code ${thrown.code} (${thrown.message}), expected ${code}`);
  return thrown;
}

async function expectAntlerRejection(call: () => Promise<unknown>, code: ErrorCode, what: string): Promise<AntlerError> {
  let thrown: unknown;
  try {
    await call();
  } catch (e) {
    thrown = e;
  }
  if (!(thrown instanceof AntlerError) || thrown.code !== code)
    throw new Error(`${what}: rejected with ${String(thrown)}, expected AntlerError ${code}`);
  return thrown;
}

/** Random raw bits for every element, so NaN payloads, -0 and subnormals all occur. */
function randomTensorData(r: Rng, dtype: DType, n: number): Float32Array | Float64Array | Int32Array {
  const words = new Uint32Array(n * (dtype === 'float64' ? 2 : 1));
  for (let i = 0; i < words.length; i++) words[i] = r.u32();
  if (dtype === 'float64') return new Float64Array(words.buffer);
  if (dtype === 'int32') return new Int32Array(words.buffer);
  return new Float32Array(words.buffer);
}

function randomShapes(r: Rng): number[][] {
  return [
    [],
    [0],
    [r.int(1, 40)],
    [r.int(1, 6), r.int(1, 6)],
    [r.int(1, 4), 0, r.int(1, 4)],
    [r.int(1, 4), r.int(1, 4), r.int(1, 4)],
    [1, 1, 1, 1, 1, 1, 1, r.int(1, 3)],
  ];
}

/** Tensor names with sort traps: upper before lower, an astral character after U+FF5A in code-point order. */
const NAMES = ['b', 'a.weight', 'Z', 'é', '\u{1F600}', '\uFF5A', 'layer.10', 'layer.2', '__proto__', '0', '10', '9'];

interface Fixture {
  tensors: Record<string, Tensor>;
  // Null-prototype records, so the name '__proto__' is an ordinary key.
  bytes: Record<string, Uint8Array>;
  dtypes: Record<string, DType>;
  shapes: Record<string, number[]>;
}

/** Random tensors of every dtype and shape kind; must be called inside tidy(). */
function randomFixture(r: Rng): Fixture {
  const f: Fixture = { tensors: {}, bytes: Object.create(null), dtypes: Object.create(null), shapes: Object.create(null) };
  let k = 0;
  for (const dtype of DTYPES)
    for (const shape of randomShapes(r)) {
      const name = k < NAMES.length ? NAMES[k] : `t${k}.${dtype}`;
      k++;
      const data = randomTensorData(r, dtype, prod(shape));
      // defineProperty keeps '__proto__' an ordinary own key.
      Object.defineProperty(f.tensors, name, { value: tensor(data, shape), enumerable: true, writable: true, configurable: true });
      f.bytes[name] = bytesOf(data);
      f.dtypes[name] = dtype;
      f.shapes[name] = shape;
    }
  return f;
}

function codePointCompare(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

function checkLoaded(loaded: Record<string, Tensor>, f: Fixture, msg: string): void {
  expect(Object.keys(loaded).sort()).toEqual(Object.keys(f.tensors).sort());
  for (const name of Object.keys(f.tensors)) {
    const t = loaded[name];
    expect(Object.prototype.hasOwnProperty.call(loaded, name)).toBe(true);
    expect(t).toBeInstanceOf(Tensor);
    expect(t.dtype).toBe(f.dtypes[name]);
    expect(t.shape).toEqual(f.shapes[name]);
    expect(t.device).toBe('cpu');
    expectBytesEqual(bytesOf(t.dataSync()), f.bytes[name], `${msg} tensor '${name}'`);
  }
}

// ---------------------------------------------------------------- round trips

describe(`round trip (seed ${SEED})`, () => {
  test('save then load gives every tensor back bit for bit, with the metadata', () =>
    tidy(() => {
      const f = randomFixture(rng);
      const metadata = { format: 'pt', seed: String(SEED), note: 'ünïcødé \u{1F600} "quoted"', '': 'empty key' };
      const file = path.join(freshDir(), 'model.safetensors');
      save(file, f.tensors, metadata);
      checkLoaded(load(file), f, `seed=${SEED}`);
      checkLoaded(load(file, { device: 'cpu' }), f, `seed=${SEED} device cpu`);
      const parsed = parseSafetensors(fs.readFileSync(file));
      expect(parsed.metadata).toEqual(metadata);
      checkLoaded(parsed.tensors, f, `seed=${SEED} parse`);
      // serialize and save produce the same bytes.
      expectBytesEqual(serializeSafetensors(f.tensors, metadata), fs.readFileSync(file), 'serialize vs save');
    }));

  test('saveAsync and loadAsync round trip the same way', async () => {
    const r = makeRng(rng.u32());
    const f = tidy(() => randomFixture(r));
    const file = path.join(freshDir(), 'async.safetensors');
    await saveAsync(file, f.tensors, { k: 'v' });
    expectBytesEqual(fs.readFileSync(file), serializeSafetensors(f.tensors, { k: 'v' }), 'saveAsync vs serialize');
    const loaded = await loadAsync(file);
    checkLoaded(loaded, f, `seed=${r.seed} async`);
    for (const t of [...Object.values(loaded), ...Object.values(f.tensors)]) t.dispose();
  });

  test('no metadata and no tensors are both valid', () =>
    tidy(() => {
      const bytes = serializeSafetensors({});
      const parsed = parseSafetensors(bytes);
      expect(Object.keys(parsed.tensors)).toEqual([]);
      expect(parsed.metadata).toEqual({});
      expect(Buffer.from(bytes.subarray(8)).toString('utf8').trimEnd()).toBe('{}');
      // "__metadata__": null is how serde (the Rust safetensors) writes no metadata.
      const withNull = parseSafetensors(buildFile({ __metadata__: null, a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, Uint8Array.from([0, 0, 128, 63])));
      expect(withNull.metadata).toEqual({});
      expect(Array.from(withNull.tensors.a.dataSync())).toEqual([1]);
    }));

  test('saving over an existing file replaces it', () =>
    tidy(() => {
      const d = freshDir();
      const file = path.join(d, 'm.safetensors');
      save(file, { a: tensor([1, 2, 3]) });
      const vals = randomArray(rng, 5).map(Math.fround);
      save(file, { b: tensor(vals) });
      const loaded = load(file);
      expect(Object.keys(loaded)).toEqual(['b']);
      expect(Array.from(loaded.b.dataSync())).toEqual(vals);
      expect(fs.readdirSync(d)).toEqual(['m.safetensors']);
    }));
});

// ---------------------------------------------------------------- layout, read by hand

describe(`written layout (seed ${SEED})`, () => {
  test('header length, space padding to 8 bytes, sorted names, contiguous offsets, raw little-endian data', () =>
    tidy(() => {
      const f = randomFixture(rng);
      const metadata = { a: 'b'.repeat(rng.int(0, 20)) };
      const file = path.join(freshDir(), 'layout.safetensors');
      save(file, f.tensors, metadata);
      const buf = fs.readFileSync(file);
      const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      const n = Number(dv.getBigUint64(0, true));
      expect(n % 8).toBe(0);
      expect(8 + n).toBeLessThanOrEqual(buf.length);
      const text = Buffer.from(buf.subarray(8, 8 + n)).toString('utf8');
      const json = text.trimEnd();
      expect(json.endsWith('}')).toBe(true);
      expect(text.slice(json.length)).toMatch(/^ {0,7}$/);
      const header = JSON.parse(json) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> & { __metadata__: Record<string, string> };
      expect(header.__metadata__).toEqual(metadata);
      expect(json.startsWith('{"__metadata__":')).toBe(true);

      const names = Object.keys(f.tensors).sort(codePointCompare);
      expect(names.indexOf('\uFF5A')).toBeLessThan(names.indexOf('\u{1F600}'));
      // Order in the header text (JSON.parse would reorder integer-like keys).
      const positions = names.map((name) => text.indexOf(`${JSON.stringify(name)}:{`));
      positions.forEach((p, i) => {
        expect(p).toBeGreaterThan(0);
        if (i > 0) expect(p).toBeGreaterThan(positions[i - 1]);
      });
      // The data: the widest dtypes first, by name within a width, back to back, each aligned to its element size.
      let offset = 0;
      const dataStart = 8 + n;
      const dataOrder = names.slice().sort((a, b) => WIRE[f.dtypes[b]].size - WIRE[f.dtypes[a]].size || codePointCompare(a, b));
      for (const name of dataOrder) {
        const e = Object.getOwnPropertyDescriptor(header, name)!.value as { dtype: string; shape: number[]; data_offsets: [number, number] };
        const wire = WIRE[f.dtypes[name]];
        expect(e.data_offsets[0] % wire.size).toBe(0);
        expect(e.dtype).toBe(wire.name);
        expect(e.shape).toEqual(f.shapes[name]);
        expect(e.data_offsets).toEqual([offset, offset + prod(f.shapes[name]) * wire.size]);
        // Values decoded little-endian here must match the tensor's values.
        const count = prod(f.shapes[name]);
        const src = new DataView(buf.buffer, buf.byteOffset + dataStart + offset, count * wire.size);
        const want = new DataView(f.bytes[name].buffer);
        for (let i = 0; i < count * wire.size; i += 4) expect(src.getUint32(i, true)).toBe(want.getUint32(i, true));
        offset += count * wire.size;
      }
      expect(dataStart + offset).toBe(buf.length);
    }));
});

// ---------------------------------------------------------------- hand-built files

/** A safetensors file from a header (object or raw text) and data bytes, padded as writers do. */
function buildFile(header: unknown, data: Uint8Array = new Uint8Array(0), pad = true): Uint8Array {
  const raw = typeof header === 'string' ? Buffer.from(header, 'utf8') : Buffer.from(JSON.stringify(header), 'utf8');
  const n = pad ? Math.ceil(raw.length / 8) * 8 : raw.length;
  const out = new Uint8Array(8 + n + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(raw, 8);
  out.fill(0x20, 8 + raw.length, 8 + n);
  out.set(data, 8 + n);
  return out;
}

function u16le(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => dv.setUint16(2 * i, v, true));
  return out;
}

/** binary16 value from its fields, by arithmetic. */
function halfValue(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return m ? NaN : s * Infinity;
  if (e === 0) return s * m * 2 ** -24;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** bfloat16 value from its fields, by arithmetic. */
function bf16Value(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 7) & 0xff;
  const m = h & 0x7f;
  if (e === 0xff) return m ? NaN : s * Infinity;
  if (e === 0) return s * m * 2 ** -133;
  return s * (1 + m / 128) * 2 ** (e - 127);
}

function expectSameValues(actual: ArrayLike<number>, expected: number[], msg: string): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++)
    if (!Object.is(actual[i], expected[i])) throw new Error(`${msg}: index ${i}: got ${Object.is(actual[i], -0) ? '-0' : actual[i]}, expected ${Object.is(expected[i], -0) ? '-0' : expected[i]}`);
}

describe('hand-built files', () => {
  test('F16 loads as exact float32: known values, subnormals, inf, -0, NaN', () =>
    tidy(() => {
      const cases: [number, number][] = [
        [0x3c00, 1],
        [0xc000, -2],
        [0x0000, 0],
        [0x8000, -0],
        [0x0001, 2 ** -24],
        [0x8001, -(2 ** -24)],
        [0x03ff, 1023 * 2 ** -24],
        [0x0400, 2 ** -14],
        [0x7bff, 65504],
        [0x3555, 0.333251953125],
        [0x7c00, Infinity],
        [0xfc00, -Infinity],
        [0x7e00, NaN],
        [0xfe01, NaN],
      ];
      const file = buildFile({ h: { dtype: 'F16', shape: [cases.length], data_offsets: [0, 2 * cases.length] } }, u16le(cases.map((c) => c[0])));
      const t = parseSafetensors(file).tensors.h;
      expect(t.dtype).toBe('float32');
      expectSameValues(t.dataSync(), cases.map((c) => c[1]), 'F16 known');
    }));

  test('every F16 and every BF16 bit pattern converts exactly', () =>
    tidy(() => {
      const all = Array.from({ length: 65536 }, (_, i) => i);
      const data = u16le(all);
      const both = buildFile(
        {
          f16: { dtype: 'F16', shape: [256, 256], data_offsets: [0, 131072] },
          bf16: { dtype: 'BF16', shape: [65536], data_offsets: [131072, 262144] },
        },
        Uint8Array.from([...data, ...data]),
      );
      const { f16, bf16 } = parseSafetensors(both).tensors;
      expect(f16.shape).toEqual([256, 256]);
      expectSameValues(f16.dataSync(), all.map(halfValue), 'F16 all');
      expectSameValues(bf16.dataSync(), all.map(bf16Value), 'BF16 all');
    }));

  test('BF16 loads as exact float32: known values, subnormal, inf, -0, NaN', () =>
    tidy(() => {
      const cases: [number, number][] = [
        [0x3f80, 1],
        [0xc000, -2],
        [0x8000, -0],
        [0x0001, 2 ** -133],
        [0x3eab, 0.333984375],
        [0x4049, 3.140625],
        [0x7f7f, 255 * 2 ** 120],
        [0x7f80, Infinity],
        [0xff80, -Infinity],
        [0x7fc0, NaN],
      ];
      // Stored at an odd offset behind one U8 byte: the reader must not need alignment.
      const data = Uint8Array.from([7, ...u16le(cases.map((c) => c[0]))]);
      const file = buildFile(
        { pad: { dtype: 'U8', shape: [1], data_offsets: [0, 1] }, b: { dtype: 'BF16', shape: [cases.length], data_offsets: [1, 1 + 2 * cases.length] } },
        data,
      );
      const { pad, b } = parseSafetensors(file).tensors;
      expect(Array.from(pad.dataSync())).toEqual([7]);
      expectSameValues(b.dataSync(), cases.map((c) => c[1]), 'BF16 known');
    }));

  test('I64 loads as int32; a value outside int32 is BAD_FILE naming the tensor, and nothing leaks', () =>
    tidy(() => {
      const values = [0n, 1n, -1n, 2147483647n, -2147483648n, 123456789n, -987654321n];
      const data = new Uint8Array(8 * values.length);
      const dv = new DataView(data.buffer);
      values.forEach((v, i) => dv.setBigInt64(8 * i, v, true));
      const t = parseSafetensors(buildFile({ ids: { dtype: 'I64', shape: [values.length], data_offsets: [0, data.length] } }, data)).tensors.ids;
      expect(t.dtype).toBe('int32');
      expect(Array.from(t.dataSync())).toEqual(values.map(Number));

      for (const v of [2147483648n, -2147483649n, 2n ** 62n, -(2n ** 63n), 4294967295n]) {
        const big = new Uint8Array(24);
        new DataView(big.buffer).setBigInt64(8, v, true);
        const before = memory().numTensors;
        const file = buildFile(
          {
            a_ok: { dtype: 'F32', shape: [2], data_offsets: [16, 24] },
            z_ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] },
          },
          big,
        );
        const err = expectAntlerError(() => parseSafetensors(file), 'BAD_FILE', `I64 ${v}`);
        expect(err.message).toContain("'z_ids'");
        expect(err.message).toContain(String(v));
        expect(memory().numTensors).toBe(before);
      }
    }));

  test('load and loadAsync of a file whose later tensor is bad (I64 out of range, BOOL byte 2): BAD_FILE, and the tensors made before it are freed', async () => {
    const dir = freshDir();
    const bools = new Uint8Array(16);
    bools.set([1, 0, 2], 8);
    const cases: [string, Uint8Array, RegExp][] = [
      ['i64', buildFile({ a_ok: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, z_bad: { dtype: 'I64', shape: [1], data_offsets: [8, 16] } }, Uint8Array.from([0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 0, 128, 0, 0, 0, 0])), /'z_bad' \(I64\) holds 2147483648/],
      ['bool', buildFile({ a_ok: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, z_bad: { dtype: 'BOOL', shape: [3], data_offsets: [8, 11] } }, bools), /'z_bad' \(BOOL\) holds byte 2 at index 2/],
    ];
    for (const [name, bytes, message] of cases) {
      const file = path.join(dir, `${name}.safetensors`);
      fs.writeFileSync(file, bytes);
      const before = memory().numTensors;
      expect(expectAntlerError(() => load(file), 'BAD_FILE', `load ${name}`).message).toMatch(message);
      expect(memory().numTensors).toBe(before);
      expect((await expectAntlerRejection(() => loadAsync(file), 'BAD_FILE', `loadAsync ${name}`)).message).toMatch(message);
      expect(memory().numTensors).toBe(before);
    }
  });

  test('F32 and F64 at unaligned offsets, from a Buffer slice, with uncovered bytes between', () =>
    tidy(() => {
      const f32 = new Float32Array(randomArray(rng, 5));
      const f64 = new Float64Array(randomArray(rng, 3));
      const i32 = Int32Array.from([-5, 7, 2147483647]);
      const data = new Uint8Array(3 + 20 + 1 + 24 + 2 + 12);
      data.set(bytesOf(f32), 3);
      data.set(bytesOf(f64), 24);
      data.set(bytesOf(i32), 50);
      const file = buildFile({
        f: { dtype: 'F32', shape: [5], data_offsets: [3, 23] },
        d: { dtype: 'F64', shape: [3, 1], data_offsets: [24, 48] },
        i: { dtype: 'I32', shape: [3], data_offsets: [50, 62] },
        e: { dtype: 'F64', shape: [0, 4], data_offsets: [1, 1] },
      }, data);
      // Inside a larger buffer at an odd byte offset, as Buffers from the pool are.
      const host = new Uint8Array(file.length + 5);
      host.set(file, 1);
      const { tensors } = parseSafetensors(host.subarray(1, 1 + file.length));
      expectBytesEqual(bytesOf(tensors.f.dataSync()), bytesOf(f32), 'F32 unaligned');
      expectBytesEqual(bytesOf(tensors.d.dataSync()), bytesOf(f64), 'F64 unaligned');
      expectBytesEqual(bytesOf(tensors.i.dataSync()), bytesOf(i32), 'I32 unaligned');
      expect(tensors.d.shape).toEqual([3, 1]);
      expect(tensors.e.shape).toEqual([0, 4]);
      expect(tensors.e.dtype).toBe('float64');
    }));

  test('small integer types and BOOL widen to int32; unsupported dtypes are BAD_FILE', () =>
    tidy(() => {
      const data = Uint8Array.from([0xff, 0x80, 0xff, 0x80, 0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x80, 1, 0]);
      const { tensors } = parseSafetensors(
        buildFile(
          {
            u8: { dtype: 'U8', shape: [2], data_offsets: [0, 2] },
            i8: { dtype: 'I8', shape: [2], data_offsets: [2, 4] },
            u16: { dtype: 'U16', shape: [2], data_offsets: [4, 8] },
            i16: { dtype: 'I16', shape: [2], data_offsets: [8, 12] },
            ok: { dtype: 'BOOL', shape: [2], data_offsets: [12, 14] },
          },
          data,
        ),
      );
      expect(Array.from(tensors.u8.dataSync())).toEqual([255, 128]);
      expect(Array.from(tensors.i8.dataSync())).toEqual([-1, -128]);
      expect(Array.from(tensors.u16.dataSync())).toEqual([1, 65535]);
      expect(Array.from(tensors.i16.dataSync())).toEqual([-1, -32768]);
      expect(Array.from(tensors.ok.dataSync())).toEqual([1, 0]);
      expect(tensors.ok.dtype).toBe('int32');
      expectAntlerError(() => parseSafetensors(buildFile({ b: { dtype: 'BOOL', shape: [1], data_offsets: [0, 1] } }, Uint8Array.of(2))), 'BAD_FILE', 'BOOL 2');
      for (const dtype of ['U32', 'U64', 'F8_E4M3', 'F8_E5M2']) {
        const err = expectAntlerError(() => parseSafetensors(buildFile({ x: { dtype, shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8))), 'BAD_FILE', dtype);
        expect(err.message).toMatch(/unsupported dtype/);
      }
    }));
});

// ---------------------------------------------------------------- malformed files

describe(`malformed files (seed ${SEED})`, () => {
  // A valid two-tensor file; each case mutates one thing.
  const data = Uint8Array.from(randomArray(rng, 40, 0, 256).map(Math.floor));
  const goodHeader = () => ({
    __metadata__: { format: 'pt' } as unknown,
    a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] } as Record<string, unknown>,
    b: { dtype: 'I32', shape: [4], data_offsets: [24, 40] } as Record<string, unknown>,
  });
  const valid = buildFile(goodHeader(), data);
  const headerN = Number(new DataView(valid.buffer).getBigUint64(0, true));
  const withLength = (n: bigint): Uint8Array => {
    const out = valid.slice();
    new DataView(out.buffer).setBigUint64(0, n, true);
    return out;
  };
  const mutate = (change: (h: ReturnType<typeof goodHeader>) => void): Uint8Array => {
    const h = goodHeader();
    change(h);
    return buildFile(h, data);
  };
  const rawHeader = (text: string | Uint8Array): Uint8Array => {
    const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    const out = new Uint8Array(8 + bytes.length + data.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(bytes.length), true);
    out.set(bytes, 8);
    out.set(data, 8 + bytes.length);
    return out;
  };
  const validJson = JSON.stringify(goodHeader());

  const corpus: [string, Uint8Array, RegExp][] = [
    ['empty file', new Uint8Array(0), /0 bytes long/],
    ['7 bytes', valid.slice(0, 7), /7 bytes long/],
    ['header length past the end', withLength(BigInt(valid.length)), /past the end of the file/],
    ['header length one byte past the end', withLength(BigInt(valid.length - 7)), /header length \d+ runs past the end of the file/],
    ['header length 2^60', withLength(2n ** 60n), /1152921504606846976 exceeds/],
    ['header length 2^64-1', withLength(2n ** 64n - 1n), /exceeds/],
    ['header length just over 100 MB', withLength(100_000_001n), /100000001 exceeds/],
    ['header length 0', withLength(0n), /header length is 0/],
    ['header cut short by one byte', withLength(BigInt(validJson.length - 1)), /not valid JSON/],
    ['non-UTF-8 header', rawHeader(Uint8Array.from([...Buffer.from('{"__metadata__":{"k":"'), 0xc3, 0x28, ...Buffer.from('"}}')])), /UTF-8/],
    ['lone surrogate bytes in header', rawHeader(Uint8Array.from([...Buffer.from('{"k":"'), 0xed, 0xa0, 0x80, ...Buffer.from('"}')])), /UTF-8/],
    ['non-JSON header', rawHeader('{"a": {"dtype": "F32",'), /not valid JSON/],
    ['JSON array header', rawHeader('[1, 2, 3]'), /must be a JSON object.*array/],
    ['JSON null header', rawHeader('null'), /must be a JSON object/],
    ['JSON string header', rawHeader('"a string"'), /must be a JSON object/],
    ['entry missing dtype', mutate((h) => delete h.a.dtype), /'a'.*no dtype/],
    ['dtype not a string', mutate((h) => (h.a.dtype = 4)), /'a'.*dtype must be a string/],
    ['unknown dtype', mutate((h) => (h.a.dtype = 'F33')), /'a'.*unknown dtype "F33"/],
    ['dtype in lower case', mutate((h) => (h.b.dtype = 'i32')), /'b'.*unknown dtype/],
    ['entry missing shape', mutate((h) => delete h.a.shape), /'a'.*no shape/],
    ['shape with negative dim', mutate((h) => (h.a.shape = [-2, -3])), /'a'.*shape\[0\].*-2/],
    ['shape with fractional dim', mutate((h) => (h.a.shape = [1.5, 4])), /'a'.*shape\[0\].*1\.5/],
    ['shape with string dim', mutate((h) => (h.a.shape = ['2', 3])), /'a'.*shape\[0\]/],
    ['shape with null dim', mutate((h) => (h.a.shape = [2, null])), /'a'.*shape\[1\]/],
    ['huge dims [2^40, 2^40]', mutate((h) => (h.a.shape = [2 ** 40, 2 ** 40])), /'a'.*more than 2\^40 elements/],
    ['dims product over 2^40', mutate((h) => (h.a.shape = [2 ** 20, 2 ** 20, 2])), /more than 2\^40/],
    ['dim above 2^53', mutate((h) => (h.a.shape = [2 ** 60, 0])), /'a'.*shape\[0\]/],
    ['shape not an array', mutate((h) => (h.a.shape = '2x3')), /'a'.*shape must be an array/],
    ['shape a number', mutate((h) => (h.a.shape = 6)), /'a'.*shape must be an array/],
    ['dims > 8', mutate((h) => (h.a.shape = [1, 1, 1, 1, 1, 1, 1, 2, 3])), /'a'.*9 dims/],
    ['entry missing data_offsets', mutate((h) => delete h.b.data_offsets), /'b'.*no data_offsets/],
    ['data_offsets reversed', mutate((h) => (h.b.data_offsets = [40, 24])), /'b'.*\[40, 24\] end before/],
    ['data_offsets past the end', mutate((h) => (h.b.data_offsets = [32, 48])), /'b'.*\[32, 48\].*past the end of the data section \(40 bytes\)/],
    ['data_offsets overlapping', mutate((h) => (h.b.data_offsets = [20, 36])), /'a' \[0, 24\] and 'b' \[20, 36\] overlap/],
    ['data_offsets overlapping by one byte', mutate((h) => (h.b = { dtype: 'U8', shape: [16], data_offsets: [23, 39] })), /'a' \[0, 24\] and 'b' \[23, 39\] overlap/],
    ['same range twice', mutate((h) => (h.b = { dtype: 'F32', shape: [6], data_offsets: [0, 24] })), /overlap/],
    ['size mismatch', mutate((h) => (h.a.shape = [2, 2])), /'a'.*24 bytes.*needs 4 × 4 = 16/],
    ['size mismatch for a zero-size shape', mutate((h) => (h.a.shape = [0, 3])), /'a'.*needs 0/],
    ['data_offsets with 3 elements', mutate((h) => (h.a.data_offsets = [0, 12, 24])), /'a'.*data_offsets must be an array \[begin, end\]/],
    ['data_offsets not an array', mutate((h) => (h.a.data_offsets = { begin: 0, end: 24 })), /'a'.*data_offsets/],
    ['data_offsets as strings', mutate((h) => (h.a.data_offsets = ['0', '24'])), /'a'.*two non-negative integers/],
    ['data_offsets negative', mutate((h) => (h.a.data_offsets = [-24, 0])), /'a'.*non-negative/],
    ['data_offsets fractional', mutate((h) => (h.a.data_offsets = [0.5, 24.5])), /'a'.*non-negative integers/],
    ['data_offsets beyond 2^53', mutate((h) => (h.a.data_offsets = [0, 1e300])), /'a'/],
    ['entry not an object', mutate((h) => ((h as Record<string, unknown>).a = 5)), /'a'.*must be an object/],
    ['entry null', mutate((h) => ((h as Record<string, unknown>).a = null)), /'a'.*must be an object/],
    ['entry an array', mutate((h) => ((h as Record<string, unknown>).a = ['F32', [6], [0, 24]])), /'a'.*must be an object/],
    ['metadata non-string value', mutate((h) => (h.__metadata__ = { format: 1 })), /__metadata__\['format'\] must be a string/],
    ['metadata an array', mutate((h) => (h.__metadata__ = ['pt'])), /__metadata__ must be an object/],
    ['metadata a string', mutate((h) => (h.__metadata__ = 'pt')), /__metadata__ must be an object/],
    // Duplicate keys (the format forbids them; JSON.parse kept the last one).
    ['a tensor named twice', buildFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', data), /the key "a" appears twice in one object/],
    ['a field twice in an entry', buildFile('{"a":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}}', data), /the key "dtype" appears twice/],
    ['metadata twice', buildFile('{"__metadata__":{"x":"1"},"__metadata__":{"x":"2"}}', data), /the key "__metadata__" appears twice/],
    ['a metadata key twice', buildFile('{"__metadata__":{"x":"1","x":"2"}}', data), /the key "x" appears twice/],
    ['an escaped duplicate', buildFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"\\u0061":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', data), /the key "a" appears twice/],
    // Deep nesting is refused before JSON.parse sees it (5e7 levels took it 86 s and 5 GB).
    ['65 levels of nesting', buildFile(`{"a":${'['.repeat(64)}${']'.repeat(64)}}`, data), /the header nests deeper than 64 levels/],
    ['1e6 levels of nesting', buildFile('['.repeat(1e6) + ']'.repeat(1e6), data), /the header nests deeper than 64 levels/],
  ];

  test(`at least 20 cases, each BAD_FILE with a message saying what is wrong (${corpus.length} cases)`, () => {
    expect(corpus.length).toBeGreaterThanOrEqual(20);
    tidy(() => {
      expect(Object.keys(parseSafetensors(valid).tensors)).toEqual(['a', 'b']); // the base file itself is fine
    });
    for (const [what, bytes, message] of corpus) {
      const before = memory().numTensors;
      const err = expectAntlerError(() => parseSafetensors(bytes), 'BAD_FILE', what);
      expect(err.message).toMatch(/^parseSafetensors: the data is not a valid safetensors file: /);
      if (!message.test(err.message)) throw new Error(`${what}: message '${err.message}' does not match ${message}`);
      expect(memory().numTensors).toBe(before);
    }
    expect(headerN % 8).toBe(0);
  });

  test('load names the file, for every case', async () => {
    const d = freshDir();
    let i = 0;
    for (const [what, bytes] of corpus) {
      const file = path.join(d, `bad-${i++}.safetensors`);
      fs.writeFileSync(file, bytes);
      const err = expectAntlerError(() => load(file), 'BAD_FILE', `load ${what}`);
      expect(err.message).toContain(`load: '${file}' is not a valid safetensors file`);
      await expectAntlerRejection(() => loadAsync(file), 'BAD_FILE', `loadAsync ${what}`);
    }
  });

  test('every truncation of a valid file is BAD_FILE', () => {
    for (let len = 0; len < valid.length; len++) expectAntlerError(() => parseSafetensors(valid.subarray(0, len)), 'BAD_FILE', `first ${len} bytes`);
  });

  test('random byte corruption either loads or gives BAD_FILE, never anything else', () => {
    const r = makeRng(rng.u32());
    const headerEnd = 8 + headerN;
    for (let trial = 0; trial < 500; trial++) {
      const bytes = valid.slice();
      const flips = r.int(1, 3);
      for (let k = 0; k < flips; k++) bytes[r.int(0, headerEnd - 1)] = r.int(0, 255);
      try {
        tidy(() => {
          parseSafetensors(bytes);
        });
      } catch (e) {
        if (!(e instanceof AntlerError) || e.code !== 'BAD_FILE')
          throw new Error(`seed=${r.seed} trial ${trial}: threw ${String(e)} for ${Buffer.from(bytes.subarray(0, headerEnd)).toString('latin1')}`);
      }
    }
  });
});

// ---------------------------------------------------------------- atomic saves

describe('what save writes over', () => {
  test('through a symlink to its target (the link stays); never over a directory, a pipe or a device', async () => {
    const d = freshDir();
    const real = path.join(d, 'real.safetensors'), link = path.join(d, 'link.safetensors');
    tidy(() => save(real, { a: tensor([1]) }));
    fs.symlinkSync(real, link);
    tidy(() => save(link, { b: tensor([2, 3]) }));
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    const names = (): string[] => tidy(() => Object.keys(parseSafetensors(fs.readFileSync(real)).tensors));
    expect(names()).toEqual(['b']);
    const c = tensor([4]);
    await saveAsync(link, { c });
    c.dispose();
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(names()).toEqual(['c']);
    // A dangling link: the file it names is created.
    const dangling = path.join(d, 'dangling'), named = path.join(d, 'named.safetensors');
    fs.symlinkSync(named, dangling);
    tidy(() => save(dangling, { e: tensor([5]) }));
    expect(fs.lstatSync(dangling).isSymbolicLink()).toBe(true);
    expect(fs.statSync(named).isFile()).toBe(true);
    const sub = path.join(d, 'a-directory');
    fs.mkdirSync(sub);
    expectAntlerError(() => tidy(() => save(sub, { a: tensor([1]) })), 'IO_ERROR', 'a directory');
    const fifo = path.join(d, 'a-fifo');
    if (spawnSync('mkfifo', [fifo]).status === 0) {
      expectAntlerError(() => tidy(() => save(fifo, { a: tensor([1]) })), 'IO_ERROR', 'not a regular file');
      const a = tensor([1]);
      await expect(saveAsync(fifo, { a })).rejects.toMatchObject({ code: 'IO_ERROR' });
      a.dispose();
      expect(fs.lstatSync(fifo).isFIFO()).toBe(true);
    }
    expect(fs.readdirSync(d).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  test('process.exit() while saveAsync writes leaves no temporary file', () => {
    const d = freshDir();
    const root = path.join(__dirname, '..', '..');
    const script = `const a = require(${JSON.stringify(path.join(root, 'lib', 'index.ts'))});
      a.saveAsync(${JSON.stringify(path.join(d, 'm.safetensors'))}, { t: a.randn([2000000]) }).catch(() => {});
      const fs = require('node:fs');
      // Exit as soon as the temporary file exists (the write under way).
      setInterval(() => { if (fs.readdirSync(${JSON.stringify(d)}).some((n) => n.includes('.tmp-'))) process.exit(0); }, 1);`;
    const r = spawnSync(process.execPath, ['-r', path.join(root, 'test', 'ts-register.js'), '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(fs.readdirSync(d).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  test.each([
    ['terminate', 'worker.terminate()'],
    ['exit', "the main thread's process.exit()"],
  ])("a worker's save cut short from outside (%s: %s, where the worker's 'exit' event does not run) leaves no temporary file", (how) => {
    const d = freshDir();
    const root = path.join(__dirname, '..', '..');
    // The worker saves in a loop (sync and async) and says when a temporary file exists; the main
    // thread then terminates it, or exits the process.
    const script = `const { Worker } = require('node:worker_threads');
      const fs = require('node:fs');
      const d = ${JSON.stringify(d)};
      const w = new Worker(\`
        const a = require(\${JSON.stringify(${JSON.stringify(path.join(root, 'lib', 'index.ts'))})});
        const t = a.randn([1000000]);
        let i = 0;
        (async () => { for (;;) { a.save(\${JSON.stringify(d)} + '/s' + i + '.safetensors', { t }); await a.saveAsync(\${JSON.stringify(d)} + '/a' + (i++) + '.safetensors', { t }); } })();
      \`, { eval: true, execArgv: ['-r', ${JSON.stringify(path.join(root, 'test', 'ts-register.js'))}] });
      const timer = setInterval(() => {
        if (!fs.readdirSync(d).some((n) => n.includes('.tmp-'))) return;
        clearInterval(timer);
        if (${JSON.stringify(how)} === 'exit') process.exit(0);
        w.terminate().then(() => process.exit(0));
      }, 1);`;
    const r = spawnSync(process.execPath, ['-r', path.join(root, 'test', 'ts-register.js'), '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(fs.readdirSync(d).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });
});

describe('atomic save', () => {
  function setup(): { d: string; file: string; before: Uint8Array; next: Record<string, Tensor> } {
    const d = freshDir();
    const file = path.join(d, 'ckpt.safetensors');
    tidy(() => save(file, { old: tensor(randomArray(rng, 10)) }, { v: '1' }));
    const before = fs.readFileSync(file);
    // Big enough that save writes it in more than one call.
    const next = { a: tensor(randomArray(rng, 1000)), b: tensor(randomArray(rng, 10)) };
    return { d, file, before, next };
  }
  function expectUntouched(s: ReturnType<typeof setup>): void {
    expectBytesEqual(fs.readFileSync(s.file), s.before, 'previous file');
    expect(fs.readdirSync(s.d)).toEqual(['ckpt.safetensors']);
    for (const t of Object.values(s.next)) t.dispose();
  }

  test('a write failing midway leaves the previous file and no temp file', () => {
    const s = setup();
    const realWrite = fs.writeSync;
    let calls = 0;
    jest.spyOn(fs, 'writeSync').mockImplementation(((...args: Parameters<typeof fs.writeSync>) => {
      if (++calls === 2) throw Object.assign(new Error('ENOSPC: no space left on device (simulated)'), { code: 'ENOSPC' });
      return (realWrite as (...a: unknown[]) => number)(...args);
    }) as typeof fs.writeSync);
    const e = expectAntlerError(() => save(s.file, s.next), 'IO_ERROR', 'ENOSPC');
    expect(e.message).toMatch(/ENOSPC/);
    expect(e.message).toContain(`'${s.file}'`);
    expect((e.cause as NodeJS.ErrnoException).code).toBe('ENOSPC');
    expect(calls).toBe(2);
    expectUntouched(s);
  });

  test('an fsync failure leaves the previous file and no temp file', () => {
    const s = setup();
    jest.spyOn(fs, 'fsyncSync').mockImplementation(() => {
      throw Object.assign(new Error('EIO: i/o error, fsync (simulated)'), { code: 'EIO' });
    });
    expect(() => save(s.file, s.next)).toThrow(/EIO/);
    expectUntouched(s);
  });

  test('a rename failure leaves the previous file and no temp file', () => {
    const s = setup();
    const rename = jest.spyOn(fs, 'renameSync').mockImplementation(() => {
      throw Object.assign(new Error('EXDEV (simulated)'), { code: 'EXDEV' });
    });
    expect(() => save(s.file, s.next)).toThrow(/EXDEV/);
    // The temp file was in the same directory, named after the target.
    const [from, to] = rename.mock.calls[0] as [string, string];
    expect(to).toBe(s.file);
    expect(path.dirname(from)).toBe(s.d);
    expect(path.basename(from)).toMatch(new RegExp(`^\\.ckpt\\.safetensors\\.tmp-${process.pid}-[0-9a-f]+$`));
    expectUntouched(s);
  });

  test('a failure to create a new file leaves nothing behind', () => {
    const d = freshDir();
    jest.spyOn(fs, 'fsyncSync').mockImplementation(() => {
      throw new Error('fsync failed (simulated)');
    });
    expect(() => tidy(() => save(path.join(d, 'new.safetensors'), { a: tensor([1]) }))).toThrow(/simulated/);
    expect(fs.readdirSync(d)).toEqual([]);
  });

  test('a directory fsync that the platform does not support is ignored', () => {
    const d = freshDir();
    const realFsync = fs.fsyncSync;
    let calls = 0;
    jest.spyOn(fs, 'fsyncSync').mockImplementation((fd: number) => {
      if (++calls === 2) throw Object.assign(new Error('EINVAL (simulated)'), { code: 'EINVAL' });
      realFsync(fd);
    });
    tidy(() => save(path.join(d, 'x.safetensors'), { a: tensor([1, 2]) }));
    expect(calls).toBe(2);
    expect(fs.readdirSync(d)).toEqual(['x.safetensors']);
  });

  test('saving onto a directory fails in rename and leaves the directory as it was', () => {
    const d = freshDir();
    const target = path.join(d, 'occupied');
    fs.mkdirSync(target);
    expect(() => tidy(() => save(target, { a: tensor([1]) }))).toThrow();
    expect(fs.readdirSync(d)).toEqual(['occupied']);
    expect(fs.statSync(target).isDirectory()).toBe(true);
  });

  test('saveAsync: a rename failure leaves the previous file and no temp file', async () => {
    const s = setup();
    jest.spyOn(fsp, 'rename').mockRejectedValue(Object.assign(new Error('EXDEV (simulated)'), { code: 'EXDEV' }));
    await expect(saveAsync(s.file, s.next)).rejects.toThrow(/EXDEV/);
    expectUntouched(s);
  });

  test('saveAsync writes the values at the call: a tensor changed or disposed before the write reaches it is saved as it was', async () => {
    const s = setup();
    const want = Object.fromEntries(Object.entries(s.next).map(([k, t]) => [k, Float64Array.from(t.dataSync())]));
    const p = saveAsync(s.file, s.next);
    const [first, second] = Object.values(s.next);
    tidy(() => void first.assign(first.mul(2).add(1))); // an optimizer step after asking for the checkpoint
    second.dispose(); // plan() has checked it; the write has not reached it yet
    await p;
    const back = load(s.file);
    for (const [k, v] of Object.entries(want)) expectExact(back[k].dataSync(), v, `${k} as it was at the call`);
    dispose([back, first]);
  });
});

// ---------------------------------------------------------------- bad arguments

describe('bad arguments', () => {
  test('save, saveAsync and serializeSafetensors check their arguments and write nothing', async () => {
    const d = freshDir();
    const file = path.join(d, 'x.safetensors');
    const t = tensor([1, 2]);
    const dead = tensor([3]);
    dead.dispose();
    class NotPlain {
      a = t;
    }
    const cases: [string, unknown[], ErrorCode][] = [
      ['empty path', ['', { a: t }], 'INVALID_ARGUMENT'],
      ['number path', [5, { a: t }], 'INVALID_ARGUMENT'],
      ['tensors null', [file, null], 'INVALID_ARGUMENT'],
      ['tensors an array', [file, [t]], 'INVALID_ARGUMENT'],
      ['tensors a Map', [file, new Map([['a', t]])], 'INVALID_ARGUMENT'],
      ['tensors a Tensor', [file, t], 'INVALID_ARGUMENT'],
      ['tensors a class instance', [file, new NotPlain()], 'INVALID_ARGUMENT'],
      ['value a number', [file, { a: 1 }], 'INVALID_ARGUMENT'],
      ['value a typed array', [file, { a: new Float32Array(2) }], 'INVALID_ARGUMENT'],
      ['empty name', [file, { '': t }], 'INVALID_ARGUMENT'],
      ['__metadata__ as a name', [file, { __metadata__: t }], 'INVALID_ARGUMENT'],
      ['disposed tensor', [file, { a: t, b: dead }], 'DISPOSED'],
      ['metadata a string', [file, { a: t }, 'meta'], 'INVALID_ARGUMENT'],
      ['metadata an array', [file, { a: t }, ['x']], 'INVALID_ARGUMENT'],
      ['metadata number value', [file, { a: t }, { epoch: 3 }], 'INVALID_ARGUMENT'],
      ['a name with a lone surrogate', [file, { a: t, '\ud800x': t }], 'INVALID_ARGUMENT'],
      ['metadata with a lone surrogate', [file, { a: t }, { note: 'ok \udc00' }], 'INVALID_ARGUMENT'],
    ];
    const callSave = save as (...a: unknown[]) => void;
    const callAsync = saveAsync as (...a: unknown[]) => Promise<void>;
    const callSerialize = serializeSafetensors as (...a: unknown[]) => Uint8Array;
    for (const [what, args, code] of cases) {
      expectAntlerError(() => callSave(...args), code, `save ${what}`);
      await expectAntlerRejection(() => callAsync(...args), code, `saveAsync ${what}`);
      if (typeof args[0] === 'string' && args[0] !== '') expectAntlerError(() => callSerialize(...args.slice(1)), code, `serialize ${what}`);
    }
    expect(fs.readdirSync(d)).toEqual([]);
    t.dispose();
  });

  test('load and parseSafetensors check path, bytes and options', async () => {
    const file = path.join(freshDir(), 'ok.safetensors');
    tidy(() => save(file, { a: tensor([1]) }));
    const bytes = fs.readFileSync(file);
    const callLoad = load as (...a: unknown[]) => unknown;
    const callParse = parseSafetensors as (...a: unknown[]) => unknown;
    expectAntlerError(() => callLoad(''), 'INVALID_ARGUMENT', 'load empty path');
    expectAntlerError(() => callLoad(undefined), 'INVALID_ARGUMENT', 'load no path');
    expectAntlerError(() => callLoad(file, { devise: 'cpu' }), 'INVALID_ARGUMENT', 'load unknown option');
    expectAntlerError(() => callLoad(file, { device: 'gpu' }), 'INVALID_ARGUMENT', 'load bad device');
    expectAntlerError(() => callLoad(file, 'cpu'), 'INVALID_ARGUMENT', 'load options a string');
    await expectAntlerRejection(() => (loadAsync as (...a: unknown[]) => Promise<unknown>)(file, { dtype: 'float32' }), 'INVALID_ARGUMENT', 'loadAsync unknown option');
    expectAntlerError(() => callParse(Array.from(bytes)), 'INVALID_ARGUMENT', 'parse a plain array');
    expectAntlerError(() => callParse(new Uint16Array(8)), 'INVALID_ARGUMENT', 'parse a Uint16Array');
    expectAntlerError(() => callParse(bytes, { device: 'tpu' }), 'INVALID_ARGUMENT', 'parse bad device');
    expect(() => load(path.join(path.dirname(file), 'missing.safetensors'))).toThrow(/ENOENT/);
  });
});

// ---------------------------------------------------------------- file-system errors

describe('file-system errors are IO_ERROR naming the path the caller gave', () => {
  function expectIO(e: AntlerError, op: string, file: string, errno: string, reason: RegExp): void {
    expect(e.message.startsWith(`${op}: `)).toBe(true);
    expect(e.message).toContain(`'${file}'`);
    expect(e.message).toMatch(reason);
    expect(e.message).toContain(errno);
    expect(e.message).not.toMatch(/\.tmp-/); // save's temporary file is an implementation detail
    const cause = e.cause as NodeJS.ErrnoException;
    expect(cause).toBeDefined();
    expect(cause.code).toBe(errno);
  }

  test('load and loadAsync of a missing file', async () => {
    const file = path.join(freshDir(), 'missing.safetensors');
    expectIO(expectAntlerError(() => load(file), 'IO_ERROR', 'load'), 'load', file, 'ENOENT', /no such file or directory/);
    expectIO(await expectAntlerRejection(() => loadAsync(file), 'IO_ERROR', 'loadAsync'), 'loadAsync', file, 'ENOENT', /no such file or directory/);
  });

  test('load of a device or a pipe is IO_ERROR at once (it read /dev/zero until memory ran out)', async () => {
    if (!fs.existsSync('/dev/zero')) return;
    for (const op of ['load', 'loadAsync'] as const) {
      const e = op === 'load' ? expectAntlerError(() => load('/dev/zero'), 'IO_ERROR', op) : await expectAntlerRejection(() => loadAsync('/dev/zero'), 'IO_ERROR', op);
      expect(e.message).toBe(`${op}: cannot read '/dev/zero': not a regular file (a device, a pipe or a socket)`);
    }
  });

  test('a close that fails after reading loses nothing: the tensors come back (a BAD_FILE stays BAD_FILE)', async () => {
    const d = freshDir();
    const file = path.join(d, 'ok.safetensors');
    const saved = tensor([1, 2, 3]);
    save(file, { t: saved });
    saved.dispose();
    const bad = path.join(d, 'bad.safetensors');
    fs.writeFileSync(bad, new Uint8Array(12));
    const eio = () => {
      throw Object.assign(new Error('EIO: i/o error, close (simulated)'), { code: 'EIO' });
    };
    const spy = jest.spyOn(fs, 'closeSync').mockImplementation(eio);
    try {
      const t = load(file).t;
      expectExact(t.dataSync(), [1, 2, 3], 'loaded despite the close');
      t.dispose();
      expectAntlerError(() => load(bad), 'BAD_FILE', 'a bad file with a failing close');
    } finally {
      spy.mockRestore();
    }
    const realOpen = fsp.open;
    const openSpy = jest.spyOn(fsp, 'open').mockImplementation(async (...args: Parameters<typeof fsp.open>) => {
      const h = await realOpen(...args);
      const realClose = h.close.bind(h);
      h.close = async () => {
        await realClose();
        eio();
      };
      return h;
    });
    try {
      const t = (await loadAsync(file)).t;
      expectExact(t.dataSync(), [1, 2, 3], 'loadAsync despite the close');
      t.dispose();
    } finally {
      openSpy.mockRestore();
    }
  });

  test('load of a named pipe is IO_ERROR at once, not a wait for a writer', () => {
    const d = freshDir();
    const fifo = path.join(d, 'pipe.safetensors');
    if (spawnSync('mkfifo', [fifo]).status !== 0) return; // no mkfifo here
    // In a child with a timeout: opening a FIFO for reading used to block until a writer came.
    const root = path.join(__dirname, '..', '..');
    const script = `const io = require(${JSON.stringify(path.join(root, 'lib', 'io'))});
      const show = (e) => process.stdout.write(e.code + ' ' + e.message + '\\n');
      try { io.load(${JSON.stringify(fifo)}); } catch (e) { show(e); }
      io.loadAsync(${JSON.stringify(fifo)}).catch(show);`;
    const r = spawnSync(process.execPath, ['-r', path.join(root, 'test', 'ts-register.js'), '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.error).toBeUndefined();
    expect(r.stdout.trim().split('\n')).toEqual(['load', 'loadAsync'].map((op) => `IO_ERROR ${op}: cannot read '${fifo}': not a regular file (a device, a pipe or a socket)`));
  });

  test('a file past 2 GiB loads, read tensor by tensor (a sparse file: a small tensor after a 2.1 GB gap)', async () => {
    // Before, load read the whole file at once, which Node refuses past 2 GiB (ERR_FS_FILE_TOO_LARGE).
    const d = freshDir();
    const file = path.join(d, 'big.safetensors');
    const values = randomArray(rng, 5);
    const at = 2 ** 31 + 100;
    const head = buildFile({ __metadata__: { gap: 'yes' }, t: { dtype: 'F64', shape: [5], data_offsets: [at, at + 40] } });
    const fd = fs.openSync(file, 'w');
    try {
      fs.writeSync(fd, head, 0, head.length, 0);
      fs.writeSync(fd, new Uint8Array(Float64Array.from(values).buffer), 0, 40, head.length + at);
    } finally {
      fs.closeSync(fd);
    }
    expect(fs.statSync(file).size).toBeGreaterThan(2 ** 31);
    for (const loaded of [load(file), await loadAsync(file)]) {
      expect(Object.keys(loaded)).toEqual(['t']);
      expectExact(loaded.t.dataSync(), values, 'the tensor past 2 GiB');
      loaded.t.dispose();
    }
    fs.rmSync(file);
  });

  test('load of a directory', async () => {
    const d = freshDir();
    expectIO(expectAntlerError(() => load(d), 'IO_ERROR', 'load'), 'load', d, 'EISDIR', /directory/);
    expectIO(await expectAntlerRejection(() => loadAsync(d), 'IO_ERROR', 'loadAsync'), 'loadAsync', d, 'EISDIR', /directory/);
  });

  test('save and saveAsync into a directory that does not exist', async () => {
    const d = freshDir();
    const file = path.join(d, 'no', 'such', 'dir', 'm.safetensors');
    const t = tensor([1, 2]);
    const e = expectAntlerError(() => save(file, { t }), 'IO_ERROR', 'save');
    expectIO(e, 'save', file, 'ENOENT', /no such file or directory/);
    expect(e.message).toContain(`does the directory '${path.dirname(file)}' exist?`);
    expectIO(await expectAntlerRejection(() => saveAsync(file, { t }), 'IO_ERROR', 'saveAsync'), 'saveAsync', file, 'ENOENT', /no such file or directory/);
    expect(fs.readdirSync(d)).toEqual([]);
    t.dispose();
  });
});
