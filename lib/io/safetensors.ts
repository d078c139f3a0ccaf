/**
 * Checkpoints in the huggingface safetensors format:
 *
 *   [8 bytes: header length N, little-endian u64]
 *   [N bytes: UTF-8 JSON header, padded with spaces to a multiple of 8]
 *   [data section: raw little-endian tensors, contiguous row-major]
 *
 * The header maps each tensor name to {dtype, shape, data_offsets: [begin, end]}
 * (offsets relative to the data section) and may hold "__metadata__", a
 * string → string map. Files are read as untrusted input: every defect is an
 * AntlerError 'BAD_FILE' naming the file, the tensor and the numbers, and no
 * buffer larger than the file implies is ever allocated. A file that cannot
 * be opened, read or written (missing, a missing directory, no permission, a
 * full disk, ...) is AntlerError 'IO_ERROR' naming the caller's path and the
 * OS reason, with Node's error (errno `code`, `syscall`, the path it used,
 * which for save is the temporary file) as `cause`.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as nodePath from 'node:path';
import { getSystemErrorMap, TextDecoder } from 'node:util';
import { getDefaultDevice } from '../device';
import { AntlerError, fail } from '../errors';
import { native } from '../native';
import { Tensor, tensor, TypedArray } from '../tensor';
import { checkDevice, checkOptions, describe, DType } from '../validate';

export interface LoadOptions {
  /** Where the loaded tensors are placed ('cpu', 'cuda', 'cuda:N'); default: the default device. */
  device?: string;
}

/** What {@link parseSafetensors} finds in a file: the tensors and the header's "__metadata__". */
export interface SafetensorsContents {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

/** Loaders (the reference one included) refuse headers larger than this. */
const MAX_HEADER_BYTES = 100_000_000;
const MAX_DIMS = 8;
const MAX_ELEMENTS = 2 ** 40;
const METADATA_KEY = '__metadata__';

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type Decoder = (src: DataView, count: number, name: string, bad: (msg: string) => never) => TypedArray;

interface LoadDtype {
  size: number;
  /** The antler dtype the values become. */
  dtype: DType;
  decode: Decoder;
}

const WRITE_DTYPE: Record<DType, { name: string; size: number }> = {
  float32: { name: 'F32', size: 4 },
  float64: { name: 'F64', size: 8 },
  int32: { name: 'I32', size: 4 },
};

/**
 * Dtypes that load. F32/F64/I32 keep their values; I64 becomes int32 when
 * every value fits; BF16 and F16 widen exactly to float32; the small integer
 * types and BOOL (bytes 0 or 1) widen to int32.
 */
const LOAD_DTYPES: Record<string, LoadDtype> = {
  F32: { size: 4, dtype: 'float32', decode: (v, n) => copyOrSwap(v, n, 'float32') },
  F64: { size: 8, dtype: 'float64', decode: (v, n) => copyOrSwap(v, n, 'float64') },
  I32: { size: 4, dtype: 'int32', decode: (v, n) => copyOrSwap(v, n, 'int32') },
  I64: { size: 8, dtype: 'int32', decode: decodeI64 },
  BF16: {
    size: 2,
    dtype: 'float32',
    decode: (v, n) => widen16(v, n, (h) => h << 16),
  },
  F16: { size: 2, dtype: 'float32', decode: (v, n) => widen16(v, n, halfToFloatBits) },
  U16: { size: 2, dtype: 'int32', decode: (v, n) => widenInt(n, (i) => v.getUint16(2 * i, true)) },
  I16: { size: 2, dtype: 'int32', decode: (v, n) => widenInt(n, (i) => v.getInt16(2 * i, true)) },
  U8: { size: 1, dtype: 'int32', decode: (v, n) => widenInt(n, (i) => v.getUint8(i)) },
  I8: { size: 1, dtype: 'int32', decode: (v, n) => widenInt(n, (i) => v.getInt8(i)) },
  BOOL: { size: 1, dtype: 'int32', decode: decodeBool },
};

/** safetensors dtypes antler cannot hold; named so the error says "unsupported", not "unknown". */
const UNSUPPORTED_DTYPES = new Set(['U32', 'U64', 'F8_E5M2', 'F8_E4M3', 'F8_E4M3FN', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'C64']);

// ---------------------------------------------------------------- decoding

/** F32/F64/I32: one copy into a fresh (hence aligned) buffer; byte swaps only on a big-endian host. */
function copyOrSwap(src: DataView, count: number, dtype: DType): TypedArray {
  const out = dtype === 'float64' ? new Float64Array(count) : dtype === 'int32' ? new Int32Array(count) : new Float32Array(count);
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(out.buffer).set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
  } else if (dtype === 'float64') {
    for (let i = 0; i < count; i++) out[i] = src.getFloat64(8 * i, true);
  } else {
    // Through integer bits so NaN payloads survive.
    const bits = new Int32Array(out.buffer);
    for (let i = 0; i < count; i++) bits[i] = src.getInt32(4 * i, true);
  }
  return out;
}

/** 16-bit floats to float32 by bit pattern, so NaN payloads and -0 survive. */
function widen16(src: DataView, count: number, toBits: (h: number) => number): Float32Array {
  const out = new Float32Array(count);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < count; i++) bits[i] = toBits(src.getUint16(2 * i, true)) >>> 0;
  return out;
}

/**
 * IEEE binary16 → binary32 bits, exact: every half is a float32. Normals
 * rebias the exponent (15 → 127); subnormals m·2^-24 are normalized; inf and
 * NaN keep sign and payload.
 */
function halfToFloatBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return sign | 0x7f800000 | (mant << 13);
  if (exp !== 0) return sign | ((exp + 112) << 23) | (mant << 13);
  if (mant === 0) return sign;
  let e = 113; // 2^-14 = 2^(113-127): the exponent of the smallest half normal
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return sign | (e << 23) | ((mant & 0x3ff) << 13);
}

function widenInt(count: number, read: (i: number) => number): Int32Array {
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = read(i);
  return out;
}

function decodeBool(src: DataView, count: number, name: string, bad: (msg: string) => never): Int32Array {
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const b = src.getUint8(i);
    if (b > 1) bad(`tensor '${name}' (BOOL) holds byte ${b} at index ${i}; expected 0 or 1`);
    out[i] = b;
  }
  return out;
}

/** I64 → int32, refusing any value outside [-2^31, 2^31). */
function decodeI64(src: DataView, count: number, name: string, bad: (msg: string) => never): Int32Array {
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const lo = src.getUint32(8 * i, true);
    const hi = src.getInt32(8 * i + 4, true);
    // In range exactly when the high word is the sign extension of the low word.
    if (hi !== (lo >= 0x80000000 ? -1 : 0)) {
      const value = (BigInt(hi) << 32n) | BigInt(lo);
      bad(`tensor '${name}' (I64) holds ${value} at index ${i}, outside the int32 range [-2147483648, 2147483647] antler loads I64 into`);
    }
    out[i] = lo | 0;
  }
  return out;
}

// ---------------------------------------------------------------- parsing

interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  // Object.prototype of any realm, or none.
  return proto === null || Object.getPrototypeOf(proto) === null;
}

function isUint8Array(v: unknown): v is Uint8Array {
  return ArrayBuffer.isView(v) && Object.prototype.toString.call(v) === '[object Uint8Array]';
}

function fmtJson(v: unknown): string {
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return String(v);
  }
}

/** Checks the header of one entry; returns the byte count its shape and dtype need. */
function checkEntry(name: string, info: unknown, dataBytes: number, bad: (msg: string) => never): Entry {
  const what = `tensor '${name}'`;
  if (!isPlainObject(info)) bad(`${what}: header entry must be an object with dtype, shape and data_offsets; got ${fmtJson(info)}`);
  const { dtype, shape, data_offsets: offsets } = info;
  if (dtype === undefined) bad(`${what}: header entry has no dtype`);
  if (typeof dtype !== 'string') bad(`${what}: dtype must be a string; got ${fmtJson(dtype)}`);
  const spec = Object.prototype.hasOwnProperty.call(LOAD_DTYPES, dtype) ? LOAD_DTYPES[dtype] : undefined;
  if (!spec) {
    if (UNSUPPORTED_DTYPES.has(dtype))
      bad(`${what}: unsupported dtype ${dtype}; antler loads F32, F64, I32, I64, BF16, F16, I16, U16, I8, U8, BOOL`);
    bad(`${what}: unknown dtype ${fmtJson(dtype)}`);
  }

  if (shape === undefined) bad(`${what}: header entry has no shape`);
  if (!Array.isArray(shape)) bad(`${what}: shape must be an array of non-negative integers; got ${fmtJson(shape)}`);
  if (shape.length > MAX_DIMS) bad(`${what}: shape has ${shape.length} dims; antler supports at most ${MAX_DIMS}`);
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i];
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)
      bad(`${what}: shape[${i}] must be a non-negative integer; got ${fmtJson(d)} in ${fmtJson(shape)}`);
    if (d > MAX_ELEMENTS) bad(`${what}: shape[${i}] = ${d} exceeds 2^40 in ${fmtJson(shape)}`);
  }
  let count = 1;
  if (shape.includes(0)) count = 0;
  else
    for (const d of shape as number[]) {
      // count <= 2^40 before each step, so comparing against 2^40 / d cannot overflow.
      if (count > MAX_ELEMENTS / d) bad(`${what}: shape ${fmtJson(shape)} has more than 2^40 elements`);
      count *= d;
    }

  if (offsets === undefined) bad(`${what}: header entry has no data_offsets`);
  if (!Array.isArray(offsets) || offsets.length !== 2)
    bad(`${what}: data_offsets must be an array [begin, end]; got ${fmtJson(offsets)}`);
  const [begin, end] = offsets as unknown[];
  if (typeof begin !== 'number' || !Number.isSafeInteger(begin) || begin < 0 || typeof end !== 'number' || !Number.isSafeInteger(end) || end < 0)
    bad(`${what}: data_offsets must be two non-negative integers; got ${fmtJson(offsets)}`);
  if (begin > end) bad(`${what}: data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataBytes) bad(`${what}: data_offsets [${begin}, ${end}] run past the end of the data section (${dataBytes} bytes)`);
  const need = count * spec.size;
  if (end - begin !== need)
    bad(`${what}: data_offsets [${begin}, ${end}] cover ${end - begin} bytes, but shape ${fmtJson(shape)} of ${dtype} needs ${count} × ${spec.size} = ${need}`);
  return { name, dtype, shape: shape as number[], begin, end };
}

function checkNoOverlap(entries: Entry[], bad: (msg: string) => never): void {
  // Empty ranges hold no bytes, so they overlap nothing.
  const ranges = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < ranges.length; i++) {
    const prev = ranges[i - 1];
    const cur = ranges[i];
    if (cur.begin < prev.end)
      bad(`tensors '${prev.name}' [${prev.begin}, ${prev.end}] and '${cur.name}' [${cur.begin}, ${cur.end}] overlap in the data section`);
  }
}

function parseMetadata(v: unknown, bad: (msg: string) => never): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === undefined || v === null) return out; // null is how serde writes "no metadata"
  if (!isPlainObject(v)) bad(`${METADATA_KEY} must be an object of strings; got ${fmtJson(v)}`);
  for (const [k, s] of Object.entries(v)) {
    if (typeof s !== 'string') bad(`${METADATA_KEY}['${k}'] must be a string; got ${fmtJson(s)}`);
    defineEntry(out, k, s);
  }
  return out;
}

/** Assigns without ever invoking a setter, so a key like "__proto__" stays an ordinary key. */
function defineEntry<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

type Bad = (msg: string) => never;

function badFor(op: string, source: string): Bad {
  return (msg) => fail('BAD_FILE', `${op}: ${source} is not a valid safetensors file: ${msg}`);
}

/** The header's length from the file's first 8 bytes (of a file of `fileBytes`). */
function headerLength(first: Uint8Array, fileBytes: number, bad: Bad): number {
  if (fileBytes < 8) bad(`it is ${fileBytes} bytes long, shorter than the 8-byte header length`);
  const length = new DataView(first.buffer, first.byteOffset, 8).getBigUint64(0, true);
  if (length === 0n) bad('the header length is 0');
  if (length > BigInt(MAX_HEADER_BYTES)) bad(`the header length ${length} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const n = Number(length);
  if (8 + n > fileBytes) bad(`the header length ${n} runs past the end of the file (${fileBytes} bytes)`);
  return n;
}

interface Header {
  entries: Entry[];
  metadata: Record<string, string>;
  /** Where the data section starts in the file. */
  dataStart: number;
}

/** Nesting the header may have: the format's is 3 (header, entry, shape); serde_json stops at 128. */
const MAX_HEADER_DEPTH = 64;

/**
 * One pass over the header's JSON before JSON.parse: nesting deeper than
 * MAX_HEADER_DEPTH is refused at once (5e7 '[' took JSON.parse 86 s and 5 GB
 * to reject), and so is a key repeated in one object, which the format
 * forbids and JSON.parse would resolve silently (the last one wins).
 */
function scanHeader(text: string, bad: Bad): void {
  const frames: { keys: Set<string> | null; expectKey: boolean }[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (frames.length >= MAX_HEADER_DEPTH) bad(`the header nests deeper than ${MAX_HEADER_DEPTH} levels`);
      frames.push({ keys: c === 0x7b ? new Set() : null, expectKey: c === 0x7b });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) frames.pop();
    else if (c === 0x2c /* , */) {
      const top = frames[frames.length - 1];
      if (top?.keys) top.expectKey = true;
    } else if (c === 0x3a /* : */) {
      const top = frames[frames.length - 1];
      if (top) top.expectKey = false;
    } else if (c === 0x22 /* " */) {
      const start = i;
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c /* \ */) i++;
      const top = frames[frames.length - 1];
      if (top?.keys && top.expectKey) {
        let key: string;
        try {
          key = JSON.parse(text.slice(start, i + 1)) as string;
        } catch {
          return; // malformed: JSON.parse says how
        }
        if (top.keys.has(key)) bad(`the key ${fmtJson(key)} appears twice in one object (the format forbids duplicate keys)`);
        top.keys.add(key);
      }
    }
  }
}

/** Parses and checks the header's bytes (the n bytes after the first 8) of a file of `fileBytes`. */
function parseHeader(headerBytes: Uint8Array, fileBytes: number, bad: Bad): Header {
  const n = headerBytes.byteLength;
  let text: string;
  try {
    text = utf8.decode(headerBytes);
  } catch {
    bad(`the ${n}-byte header is not valid UTF-8`);
  }
  scanHeader(text!, bad);
  let header: unknown;
  try {
    header = JSON.parse(text!);
  } catch (e) {
    bad(`the header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(header)) bad(`the header must be a JSON object; got ${Array.isArray(header) ? 'an array' : fmtJson(header)}`);

  const dataStart = 8 + n;
  const dataBytes = fileBytes - dataStart;
  const metadata = parseMetadata(header[METADATA_KEY], bad);
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header)) if (name !== METADATA_KEY) entries.push(checkEntry(name, info, dataBytes, bad));
  checkNoOverlap(entries, bad);
  return { entries, metadata, dataStart };
}

/** One entry's tensor from its bytes (little-endian, as the file holds them). */
function makeTensor(e: Entry, bytes: Uint8Array, device: string, bad: Bad): Tensor {
  const spec = LOAD_DTYPES[e.dtype];
  const src = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return tensor(spec.decode(src, bytes.byteLength / spec.size, e.name, bad), e.shape, { dtype: spec.dtype, device });
}

/** The tensors of `entries`, each from read(entry); on any failure none is left allocated. */
function makeTensors(entries: Entry[], read: (e: Entry) => Uint8Array, device: string, bad: Bad): Record<string, Tensor> {
  const tensors: Record<string, Tensor> = {};
  try {
    for (const e of entries) defineEntry(tensors, e.name, makeTensor(e, read(e), device, bad));
  } catch (err) {
    for (const t of Object.values(tensors)) t.dispose();
    throw err;
  }
  return tensors;
}

function parseBytes(bytes: Uint8Array, device: string, op: string, source: string): SafetensorsContents {
  const bad = badFor(op, source);
  const n = headerLength(bytes, bytes.byteLength, bad);
  const h = parseHeader(bytes.subarray(8, 8 + n), bytes.byteLength, bad);
  const tensors = makeTensors(h.entries, (e) => bytes.subarray(h.dataStart + e.begin, h.dataStart + e.end), device, bad);
  return { tensors, metadata: h.metadata };
}

/** Reads and writes go in pieces of at most this many bytes (Node refuses single calls of 2 GiB or more). */
const IO_CHUNK = 1 << 30;

/** `length` bytes of the file at `position`, read in pieces; a short read is BAD_FILE (the file shrank). */
function readAtSync(fd: number, position: number, length: number, bad: Bad): Uint8Array {
  const out = new Uint8Array(length);
  for (let done = 0; done < length; ) {
    const got = fs.readSync(fd, out, done, Math.min(IO_CHUNK, length - done), position + done);
    if (got === 0) bad(`it ended before byte ${position + done} while being read (was it changed meanwhile?)`);
    done += got;
  }
  return out;
}

async function readAt(handle: fsp.FileHandle, position: number, length: number, bad: Bad): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  for (let done = 0; done < length; ) {
    const { bytesRead } = await handle.read(out, done, Math.min(IO_CHUNK, length - done), position + done);
    if (bytesRead === 0) bad(`it ended before byte ${position + done} while being read (was it changed meanwhile?)`);
    done += bytesRead;
  }
  return out;
}

/**
 * Opening for reading without blocking: a named pipe would otherwise block
 * open() until a writer comes (then fstat refuses it). No effect on regular
 * files; POSIX only (Windows has no O_NONBLOCK and no such wait).
 */
const READ_FLAGS = fs.constants.O_NONBLOCK === undefined ? 'r' : fs.constants.O_RDONLY | fs.constants.O_NONBLOCK;

/**
 * A regular file's size; anything else (a directory, a device such as
 * /dev/zero, a pipe) is refused before reading, as an IO_ERROR.
 */
function regularFileSize(st: fs.Stats, op: string, file: string): number {
  if (st.isDirectory()) {
    // As reading it would fail (Node's own error for this platform's EISDIR).
    const errno = [...getSystemErrorMap()].find(([, [code]]) => code === 'EISDIR')?.[0];
    throw Object.assign(new Error('EISDIR: illegal operation on a directory'), { code: 'EISDIR', errno, syscall: 'read', path: file });
  }
  if (!st.isFile()) fail('IO_ERROR', `${op}: cannot read '${file}': not a regular file (a device, a pipe or a socket)`);
  return st.size;
}

function resolveDevice(options: unknown, op: string): string {
  const o = checkOptions<LoadOptions>(options, op, ['device']);
  return o.device === undefined ? getDefaultDevice() : checkDevice(o.device, op);
}

function checkPath(p: unknown, op: string): string {
  if (typeof p !== 'string' || p === '') fail('INVALID_ARGUMENT', `${op}: path must be a non-empty string; got ${describe(p)}`);
  return p;
}

// ---------------------------------------------------------------- serializing

interface Plan {
  header: Uint8Array;
  tensors: { name: string; tensor: Tensor; bytes: number }[];
  dataBytes: number;
}

/** A lone surrogate (String.prototype.isWellFormed, which ES2022's typings lack): with the u flag, paired ones are one code point. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Compares by Unicode code point, which is the order of the UTF-8 bytes (as Rust and Python sort). */
function byCodePoint(a: string, b: string): number {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return Buffer.compare(x, y);
}

/**
 * Validates save's arguments and lays out the file: header bytes (entries
 * sorted by name), then the tensors' data, the widest dtypes first and by
 * name within a width (as the reference writer does), so that every tensor
 * starts at a multiple of its element size (the header is padded to 8
 * bytes): a reader that maps the file can view it in place.
 */
function plan(tensors: unknown, metadata: unknown, op: string): Plan {
  if (!isPlainObject(tensors))
    fail('INVALID_ARGUMENT', `${op}: tensors must be a plain object mapping names to Tensors; got ${describe(tensors)}`);
  const names = Object.keys(tensors).sort(byCodePoint);
  for (const name of names) {
    if (name === '') fail('INVALID_ARGUMENT', `${op}: tensor names must be non-empty strings; got ''`);
    if (name === METADATA_KEY) fail('INVALID_ARGUMENT', `${op}: '${METADATA_KEY}' is reserved for metadata and cannot name a tensor`);
    // A lone surrogate would be written as a \ud800 escape, which other loaders' JSON parsers refuse.
    if (LONE_SURROGATE.test(name)) fail('INVALID_ARGUMENT', `${op}: tensor name ${JSON.stringify(name)} is not well-formed Unicode (a lone surrogate); other safetensors loaders could not read the file`);
    const t = tensors[name];
    if (!(t instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: tensors['${name}'] must be a Tensor; got ${describe(t)}`);
    t.checkAlive(`${op} ('${name}')`);
  }
  if (metadata !== undefined) {
    if (!isPlainObject(metadata))
      fail('INVALID_ARGUMENT', `${op}: metadata must be a plain object of strings; got ${describe(metadata)}`);
    for (const [k, v] of Object.entries(metadata))
      if (typeof v !== 'string') fail('INVALID_ARGUMENT', `${op}: metadata['${k}'] must be a string; got ${describe(v)}`);
      else if (LONE_SURROGATE.test(k) || LONE_SURROGATE.test(v)) fail('INVALID_ARGUMENT', `${op}: metadata[${JSON.stringify(k)}] is not well-formed Unicode (a lone surrogate); other safetensors loaders could not read the file`);
  }

  const parts: string[] = [];
  if (metadata !== undefined) parts.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);
  const width = (name: string) => WRITE_DTYPE[(tensors[name] as Tensor).dtype].size;
  const laid: Plan['tensors'] = [];
  const offsets = new Map<string, number>();
  let offset = 0;
  for (const name of names.slice().sort((a, b) => width(b) - width(a) || byCodePoint(a, b))) {
    const t = tensors[name] as Tensor;
    const bytes = t.size * width(name);
    offsets.set(name, offset);
    laid.push({ name, tensor: t, bytes });
    offset += bytes;
  }
  for (const name of names) {
    const t = tensors[name] as Tensor;
    const w = WRITE_DTYPE[t.dtype];
    const at = offsets.get(name)!;
    parts.push(`${JSON.stringify(name)}:{"dtype":"${w.name}","shape":[${t.shape.join(',')}],"data_offsets":[${at},${at + t.size * w.size}]}`);
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded > MAX_HEADER_BYTES)
    fail('INVALID_ARGUMENT', `${op}: the header would be ${padded} bytes; loaders refuse headers over ${MAX_HEADER_BYTES} bytes (is the metadata too large?)`);
  const header = new Uint8Array(8 + padded);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(json, 8);
  header.fill(0x20, 8 + json.length);
  return { header, tensors: laid, dataBytes: offset };
}

/** A tensor's values as little-endian bytes. */
function leBytes(values: TypedArray): Uint8Array {
  const raw = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (LITTLE_ENDIAN_HOST) return raw;
  const out = new Uint8Array(values.byteLength);
  const dv = new DataView(out.buffer);
  const tag = Object.prototype.toString.call(values);
  if (tag === '[object Float64Array]') for (let i = 0; i < values.length; i++) dv.setFloat64(8 * i, values[i], true);
  else {
    const bits = new Int32Array(values.buffer, values.byteOffset, values.length);
    for (let i = 0; i < bits.length; i++) dv.setInt32(4 * i, bits[i], true);
  }
  return out;
}

function checkSize(values: TypedArray, expected: number, name: string, op: string): Uint8Array {
  const bytes = leBytes(values);
  if (bytes.byteLength !== expected)
    fail('INTERNAL', `${op}: tensor '${name}' read back ${bytes.byteLength} bytes; its shape and dtype need ${expected}`);
  return bytes;
}

// ---------------------------------------------------------------- file-system errors

/**
 * Node's errors from file-system calls carry an errno code such as 'ENOENT'.
 * (Tested by tag, not instanceof: they may come from another realm, as under jest.)
 */
function isSystemError(e: unknown): e is NodeJS.ErrnoException {
  return Object.prototype.toString.call(e) === '[object Error]' && !(e instanceof AntlerError) && typeof (e as NodeJS.ErrnoException).code === 'string';
}

/** The OS's words for a system error, without Node's "CODE: ..., syscall 'path'" (which may name a temporary file). */
function osReason(e: NodeJS.ErrnoException): string {
  const code = e.code!;
  const known = typeof e.errno === 'number' ? getSystemErrorMap().get(e.errno) : undefined;
  if (known && known[0] === code) return `${known[1]} (${code})`;
  let text = e.message;
  if (text.startsWith(`${code}: `)) text = text.slice(code.length + 2);
  if (e.syscall) {
    const at = text.lastIndexOf(`, ${e.syscall}`);
    if (at >= 0) text = text.slice(0, at);
  }
  return text.includes(code) ? text : `${text} (${code})`;
}

/**
 * Rethrows a system error from a file operation on `file` as AntlerError
 * 'IO_ERROR' naming the caller's path and the OS reason, with the original as
 * `cause`. Anything else (an AntlerError from reading a tensor, a bug) is
 * rethrown as it is.
 */
function rethrowIO(e: unknown, op: string, action: 'read' | 'write', file: string): never {
  if (!isSystemError(e)) throw e;
  let hint = '';
  if (action === 'write' && e.code === 'ENOENT') hint = ` (does the directory '${nodePath.dirname(file)}' exist?)`;
  fail('IO_ERROR', `${op}: cannot ${action} '${file}': ${osReason(e)}${hint}`, { cause: e });
}

// ---------------------------------------------------------------- atomic writes

/**
 * The file a save replaces: through a symlink to what it points at (as
 * writing a file would; renaming over the link would replace the link), and
 * only a regular file or nothing: renaming over a device, a pipe or a
 * directory would replace it (as root, save('/dev/null') deleted the device).
 */
function saveTarget(path: string, op: string): string {
  let target = path;
  try {
    if (fs.lstatSync(path).isSymbolicLink()) {
      try {
        target = fs.realpathSync(path);
      } catch {
        target = nodePath.resolve(nodePath.dirname(path), fs.readlinkSync(path)); // a dangling link: create what it names
      }
    }
    const st = fs.statSync(target);
    if (!st.isFile())
      fail('IO_ERROR', `${op}: cannot write '${path}': ${target === path ? 'it' : `its target '${target}'`} is not a regular file (${st.isDirectory() ? 'a directory' : 'a device, a pipe or a socket'}); save replaces regular files only`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException)?.code === 'ENOENT') return target;
    if (e instanceof AntlerError) throw e;
    rethrowIO(e, op, 'write', path);
  }
  return target;
}

function tempPathFor(target: string): string {
  const tmp = nodePath.join(nodePath.dirname(target), `.${nodePath.basename(target)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  pendingTemps.add(tmp);
  // The addon removes it if this thread's environment is torn down first (a worker ended by
  // terminate(), or by the main thread's exit), where the 'exit' event below does not run.
  native().trackTempFile?.(tmp);
  if (!exitHooked) {
    exitHooked = true;
    // A save cut short by process.exit() in this thread leaves no temporary file.
    process.once('exit', () => {
      for (const t of pendingTemps) {
        try {
          fs.unlinkSync(t);
        } catch {
          // already renamed or never created
        }
      }
    });
  }
  return tmp;
}

/** Temporary files of saves in progress, removed at exit if a save did not finish. */
const pendingTemps = new Set<string>();

function doneWithTemp(tmp: string): void {
  pendingTemps.delete(tmp);
  native().untrackTempFile?.(tmp);
}
let exitHooked = false;

/** Codes by which platforms say a directory cannot be fsynced; the rename itself has succeeded. */
const DIR_FSYNC_UNSUPPORTED = new Set(['EINVAL', 'EISDIR', 'EPERM', 'EACCES', 'ENOTSUP', 'EOPNOTSUPP', 'EBADF']);

function ignoreUnsupportedDirSync(e: unknown): void {
  if (!DIR_FSYNC_UNSUPPORTED.has((e as NodeJS.ErrnoException)?.code ?? '')) throw e;
}

function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (e) {
    ignoreUnsupportedDirSync(e);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

async function fsyncDir(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch (e) {
    ignoreUnsupportedDirSync(e);
  } finally {
    if (handle !== undefined) await handle.close();
  }
}

/** Closes a descriptor only read from; a failure there loses nothing, so the result (or the real error) stands. */
function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // nothing was written through it
  }
}

function writeAllSync(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) done += fs.writeSync(fd, bytes, done, Math.min(IO_CHUNK, bytes.byteLength - done));
}

async function writeAll(handle: fsp.FileHandle, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.byteLength; ) done += (await handle.write(bytes, done, Math.min(IO_CHUNK, bytes.byteLength - done))).bytesWritten;
}

// ---------------------------------------------------------------- public API

/**
 * Encodes tensors as the bytes of a safetensors file: the header (optional
 * "__metadata__" first, then the tensors' entries sorted by name, padded
 * with spaces to a multiple of 8 bytes) followed by the data, back to back:
 * the widest dtypes first and by name within a width, so each tensor is
 * aligned to its element size. float32/float64/int32 are written as F32/F64/I32. Tensors may live
 * on any device; reading them synchronizes it.
 *
 * Throws INVALID_ARGUMENT for a non-object, a value that is not a Tensor, an
 * empty or "__metadata__" name or a non-string metadata value; DISPOSED for a
 * disposed tensor.
 */
export function serializeSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const op = 'serializeSafetensors';
  const p = plan(tensors, metadata, op);
  const out = new Uint8Array(p.header.byteLength + p.dataBytes);
  out.set(p.header, 0);
  let pos = p.header.byteLength;
  for (const { name, tensor: t, bytes } of p.tensors) {
    out.set(checkSize(t.dataSync(), bytes, name, op), pos);
    pos += bytes;
  }
  return out;
}

/**
 * Decodes the bytes of a safetensors file into new tensors on options.device
 * (default: the default device), and returns them with the header's
 * "__metadata__" ({} when absent). The bytes are untrusted: any defect
 * throws AntlerError 'BAD_FILE' saying what is wrong, and nothing is left
 * allocated. Loads F32, F64 and I32 as they are; I64 as int32 (BAD_FILE if a
 * value does not fit); BF16 and F16 as float32 (exact); U8, I8, U16, I16 and
 * BOOL (0/1) as int32. Bytes of the data section that no tensor covers are
 * ignored. A key repeated in one object of the header (the format forbids
 * it) and nesting deeper than 64 levels are BAD_FILE.
 */
export function parseSafetensors(bytes: Uint8Array, options?: LoadOptions): SafetensorsContents {
  const op = 'parseSafetensors';
  if (!isUint8Array(bytes)) fail('INVALID_ARGUMENT', `${op}: bytes must be a Uint8Array (or Buffer); got ${describe(bytes)}`);
  return parseBytes(bytes, resolveDevice(options, op), op, 'the data');
}

/**
 * Writes tensors (and optional string metadata) to a safetensors file, as
 * {@link serializeSafetensors} lays it out. The write is atomic: the data
 * goes to a temporary file in the same directory, which is fsynced and then
 * renamed over path, and the directory is fsynced. If anything fails, the
 * temporary file is removed, a previous file at path is left untouched and
 * the error is rethrown: a file-system failure (a missing directory, no
 * permission, a full disk, ...) as AntlerError 'IO_ERROR' naming path and the
 * OS reason, with Node's error as `cause`.
 */
export function save(path: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>): void {
  const op = 'save';
  const target = saveTarget(checkPath(path, op), op);
  const p = plan(tensors, metadata, op);
  const tmp = tempPathFor(target);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx');
    writeAllSync(fd, p.header);
    for (const { name, tensor: t, bytes } of p.tensors) writeAllSync(fd, checkSize(t.dataSync(), bytes, name, op));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, target);
    doneWithTemp(tmp);
  } catch (e) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // the original error is the one worth reporting
      }
    }
    try {
      fs.unlinkSync(tmp);
    } catch {
      // the temp file may never have been created
    }
    doneWithTemp(tmp);
    rethrowIO(e, op, 'write', target);
  }
  try {
    fsyncDirSync(pathDir(target));
  } catch (e) {
    rethrowIO(e, op, 'write', target);
  }
}

/**
 * {@link save} without blocking the event loop: file I/O through fs/promises,
 * tensor reads through data(). The file holds the values at the call: every
 * read starts before this returns, so a host copy of each tensor (and, on a
 * GPU, a device copy until it is read back) is held until written; save() is
 * the one for memory-tight checkpoints.
 */
export async function saveAsync(path: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>): Promise<void> {
  const op = 'saveAsync';
  const target = saveTarget(checkPath(path, op), op);
  const p = plan(tensors, metadata, op);
  // Every read starts now, before the first await: the file holds the values at the call, whatever
  // the caller does next (an optimizer step, dispose()), as the synchronous save would.
  const reads = p.tensors.map(({ tensor: t }) => t.data());
  for (const r of reads) r.catch(() => undefined); // a failure is rethrown where it is awaited below
  const tmp = tempPathFor(target);
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(tmp, 'wx');
    await writeAll(handle, p.header);
    for (const [i, { name, bytes }] of p.tensors.entries()) await writeAll(handle, checkSize(await reads[i], bytes, name, op));
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fsp.rename(tmp, target);
    doneWithTemp(tmp);
  } catch (e) {
    if (handle !== undefined) await handle.close().catch(() => undefined);
    await fsp.unlink(tmp).catch(() => undefined);
    doneWithTemp(tmp);
    rethrowIO(e, op, 'write', target);
  }
  try {
    await fsyncDir(pathDir(target));
  } catch (e) {
    rethrowIO(e, op, 'write', target);
  }
}

/**
 * Reads a safetensors file into new tensors on options.device (default: the
 * default device), keyed by name. See {@link parseSafetensors} for the dtypes
 * read and the checks made; every defect is AntlerError 'BAD_FILE' naming the
 * file. A file that cannot be opened or read is AntlerError 'IO_ERROR' naming
 * path and the OS reason ("no such file or directory (ENOENT)"); Node's error
 * is its `cause`, so `err.cause.code === 'ENOENT'` tells a missing file apart.
 */
export function load(path: string, options?: LoadOptions): Record<string, Tensor> {
  const op = 'load';
  const file = checkPath(path, op);
  const device = resolveDevice(options, op);
  const bad = badFor(op, `'${file}'`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, READ_FLAGS);
    const size = regularFileSize(fs.fstatSync(fd), op, file);
    // The header, then one tensor at a time: never the whole file in memory (nor 2 GiB in one read).
    const n = headerLength(readAtSync(fd, 0, Math.min(8, size), bad), size, bad);
    const h = parseHeader(readAtSync(fd, 8, n, bad), size, bad);
    const opened = fd;
    return makeTensors(h.entries, (e) => readAtSync(opened, h.dataStart + e.begin, e.end - e.begin, bad), device, bad);
  } catch (e) {
    return rethrowIO(e, op, 'read', file);
  } finally {
    if (fd !== undefined) closeQuietly(fd);
  }
}

/** {@link load} without blocking the event loop while the file is read. */
export async function loadAsync(path: string, options?: LoadOptions): Promise<Record<string, Tensor>> {
  const op = 'loadAsync';
  const file = checkPath(path, op);
  const device = resolveDevice(options, op);
  const bad = badFor(op, `'${file}'`);
  let handle: fsp.FileHandle | undefined;
  const tensors: Record<string, Tensor> = {};
  try {
    handle = await fsp.open(file, READ_FLAGS);
    const size = regularFileSize(await handle.stat(), op, file);
    const n = headerLength(await readAt(handle, 0, Math.min(8, size), bad), size, bad);
    const h = parseHeader(await readAt(handle, 8, n, bad), size, bad);
    for (const e of h.entries) defineEntry(tensors, e.name, makeTensor(e, await readAt(handle, h.dataStart + e.begin, e.end - e.begin, bad), device, bad));
    return tensors;
  } catch (e) {
    for (const t of Object.values(tensors)) t.dispose();
    return rethrowIO(e, op, 'read', file);
  } finally {
    // Closing a descriptor only read from loses nothing if it fails: the result (or the real error) stands.
    if (handle !== undefined) await handle.close().catch(() => undefined);
  }
}

function pathDir(p: string): string {
  return nodePath.dirname(nodePath.resolve(p));
}
