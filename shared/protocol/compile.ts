// Turns a message description into a codec for one version: the fields that version has, each with
// its wire encoding (classic or compact), its nullability, and the tagged fields at the end of
// every struct in flexible versions. Encoding runs in two passes, sizing then writing into one
// Buffer; decoding checks every length against the bytes left before trusting it. Codecs are
// built once per (message, version) and cached.
import { invariant } from '../assert.ts';
import { ProtocolError } from './errors.ts';
import type { Reader } from './reader.ts';
import { inRange, type FieldSpec, type ScalarName, type WireType } from './schema.ts';
import { uvarintSize, varintSize, varlongSize, type Writer } from './writer.ts';

export interface Codec {
  size(value: unknown): number;
  write(w: Writer, value: unknown): void;
  read(r: Reader): unknown;
  /** Fewest bytes one value takes: bounds an array count before anything is allocated. */
  readonly minSize: number;
}

interface Mode {
  readonly version: number;
  readonly flexible: boolean;
}

const cache = new WeakMap<WireType<unknown>, Map<number, Codec>>();

/** The codec of a top-level message (request or response body) at one version. */
export function messageCodec(type: WireType<unknown>, version: number, flexible: boolean): Codec {
  let byVersion = cache.get(type);
  if (byVersion === undefined) {
    byVersion = new Map();
    cache.set(type, byVersion);
  }

  let codec = byVersion.get(version);
  if (codec === undefined) {
    codec = compileType(type, { version, flexible }, false, 'body');
    byVersion.set(version, codec);
  }
  return codec;
}

function compileType(type: WireType<unknown>, mode: Mode, nullable: boolean, path: string): Codec {
  if (type.kind === 'array') return compileArray(type.items!, mode, nullable, path);
  if (type.kind === 'struct') {
    invariant(!nullable, `${path}: nullable structs are not supported`);
    return compileStruct(type.fields!, mode, path);
  }
  return compileScalar(type.scalar!, mode.flexible, nullable, path);
}

// ---- scalars ----

const fixed = (
  minSize: number,
  write: (w: Writer, v: never) => void,
  read: (r: Reader) => unknown,
): Codec => ({ minSize, size: () => minSize, write: write as Codec['write'], read });

const SCALARS: Partial<Record<ScalarName, Codec>> = {
  int8: fixed(
    1,
    (w, v: number) => w.int8(v),
    (r) => r.int8(),
  ),
  int16: fixed(
    2,
    (w, v: number) => w.int16(v),
    (r) => r.int16(),
  ),
  int32: fixed(
    4,
    (w, v: number) => w.int32(v),
    (r) => r.int32(),
  ),
  int64: fixed(
    8,
    (w, v: bigint) => w.int64(v),
    (r) => r.int64(),
  ),
  uint16: fixed(
    2,
    (w, v: number) => w.uint16(v),
    (r) => r.uint16(),
  ),
  float64: fixed(
    8,
    (w, v: number) => w.float64(v),
    (r) => r.float64(),
  ),
  bool: fixed(
    1,
    (w, v: boolean) => w.int8(v ? 1 : 0),
    (r) => r.int8() !== 0,
  ),
  uuid: fixed(
    16,
    (w, v: string) => w.uuid(v),
    (r) => r.uuid(),
  ),
  varint: {
    minSize: 1,
    size: (v) => varintSize(v as number),
    write: (w, v) => w.varint(v as number),
    read: (r) => r.varint(),
  },
  varlong: {
    minSize: 1,
    size: (v) => varlongSize(v as bigint),
    write: (w, v) => w.varlong(v as bigint),
    read: (r) => r.varlong(),
  },
};

function compileScalar(name: ScalarName, flexible: boolean, nullable: boolean, path: string) {
  if (name === 'string') return stringCodec(flexible, nullable, path);
  if (name === 'bytes' || name === 'records') return bytesCodec(flexible, nullable, path);

  const codec = SCALARS[name];
  invariant(codec !== undefined, `${path}: no codec for ${name}`);
  return codec;
}

/** A length prefix: int16 or int32 with -1 for null, or a compact uvarint of length + 1. */
interface LengthPrefix {
  size(length: number): number;
  write(w: Writer, length: number): void;
  /** The length, or -1 for null. */
  read(r: Reader): number;
}

const INT16_LENGTH: LengthPrefix = {
  size: () => 2,
  write: (w, length) => w.int16(length),
  read: (r) => r.int16(),
};

const INT32_LENGTH: LengthPrefix = {
  size: () => 4,
  write: (w, length) => w.int32(length),
  read: (r) => r.int32(),
};

const COMPACT_LENGTH: LengthPrefix = {
  size: (length) => uvarintSize(length + 1),
  write: (w, length) => w.uvarint(length + 1),
  read: (r) => r.uvarint() - 1,
};

/** Reads a length and checks it is a real length, or null where null is allowed. */
function readLength(r: Reader, prefix: LengthPrefix, nullable: boolean, path: string): number {
  const length = prefix.read(r);
  if (length >= 0) return length;

  if (length === -1 && nullable) return -1;
  throw new ProtocolError(
    `${path}: ${length === -1 ? 'null where not nullable' : `length ${length}`}`,
  );
}

/** Null is checked where the field is known, so the message names it. */
function checkNull(value: unknown, nullable: boolean, path: string): void {
  invariant(value !== null || nullable, `${path} is null but not nullable in this version`);
}

function stringCodec(flexible: boolean, nullable: boolean, path: string): Codec {
  const prefix = flexible ? COMPACT_LENGTH : INT16_LENGTH;
  const maxBytes = flexible ? 0x7fffffff : 0x7fff;

  return {
    minSize: flexible ? 1 : 2,
    size(value) {
      if (value === null) return prefix.size(-1);
      const length = Buffer.byteLength(value as string, 'utf8');
      return prefix.size(length) + length;
    },
    write(w, value) {
      if (value === null) return prefix.write(w, -1);

      const length = Buffer.byteLength(value as string, 'utf8');
      invariant(length <= maxBytes, `${path}: string of ${length} bytes is too long`);
      prefix.write(w, length);
      w.utf8(value as string, length);
    },
    read(r) {
      const length = readLength(r, prefix, nullable, path);
      return length === -1 ? null : r.utf8(length);
    },
  };
}

function bytesCodec(flexible: boolean, nullable: boolean, path: string): Codec {
  const prefix = flexible ? COMPACT_LENGTH : INT32_LENGTH;

  return {
    minSize: flexible ? 1 : 4,
    size(value) {
      if (value === null) return prefix.size(-1);
      const length = (value as Buffer).length;
      return prefix.size(length) + length;
    },
    write(w, value) {
      if (value === null) return prefix.write(w, -1);

      prefix.write(w, (value as Buffer).length);
      w.bytes(value as Buffer);
    },
    read(r) {
      const length = readLength(r, prefix, nullable, path);
      return length === -1 ? null : r.slice(length);
    },
  };
}

// ---- arrays ----

function compileArray(items: WireType<unknown>, mode: Mode, nullable: boolean, path: string) {
  const item = compileType(items, mode, false, `${path}[]`);
  const prefix = mode.flexible ? COMPACT_LENGTH : INT32_LENGTH;
  const itemMinSize = Math.max(item.minSize, 1);

  const codec: Codec = {
    minSize: mode.flexible ? 1 : 4,
    size(value) {
      if (value === null) return prefix.size(-1);

      const list = value as unknown[];
      let total = prefix.size(list.length);
      for (const element of list) total += item.size(element);
      return total;
    },
    write(w, value) {
      if (value === null) return prefix.write(w, -1);

      const list = value as unknown[];
      prefix.write(w, list.length);
      for (const element of list) {
        checkNull(element, false, `${path}[]`);
        item.write(w, element);
      }
    },
    read(r) {
      const count = readLength(r, prefix, nullable, path);
      if (count === -1) return null;

      // A count the remaining bytes cannot hold is refused before any allocation.
      if (count * itemMinSize > r.remaining()) {
        throw new ProtocolError(`${path}: ${count} elements cannot fit in ${r.remaining()} bytes`);
      }
      const list = new Array<unknown>(count);
      for (let i = 0; i < count; i++) list[i] = item.read(r);
      return list;
    },
  };
  return codec;
}

// ---- structs ----

interface Step {
  readonly name: string;
  /** 'wire': in body order; 'tagged': in the tagged section; 'absent': not in this version. */
  readonly placement: 'wire' | 'tagged' | 'absent';
  readonly codec: Codec | null;
  readonly nullable: boolean;
  readonly tag: number;
  readonly defaultValue: unknown;
}

function compileStruct(fields: readonly FieldSpec<unknown>[], mode: Mode, path: string): Codec {
  const steps = fields.map((f) => compileStep(f, mode, path));
  const wire = steps.filter((s) => s.placement === 'wire');
  const tagged = steps.filter((s) => s.placement === 'tagged').sort((a, b) => a.tag - b.tag);
  const byTag = new Map(tagged.map((s) => [s.tag, s]));

  const minSize = wire.reduce((sum, s) => sum + s.codec!.minSize, mode.flexible ? 1 : 0);
  const valueOf = (record: Record<string, unknown> | undefined, step: Step): unknown => {
    const value = record?.[step.name];
    return value === undefined ? step.defaultValue : value;
  };

  return {
    minSize,
    size(value) {
      const record = value as Record<string, unknown> | undefined;
      let total = 0;
      for (const step of wire) total += step.codec!.size(valueOf(record, step));
      if (mode.flexible) total += taggedSize(tagged, record, valueOf);
      return total;
    },
    write(w, value) {
      const record = value as Record<string, unknown> | undefined;
      for (const step of wire) {
        const fieldValue = valueOf(record, step);
        checkNull(fieldValue, step.nullable, `${path}.${step.name}`);
        step.codec!.write(w, fieldValue);
      }
      if (mode.flexible) writeTagged(w, tagged, record, valueOf);
    },
    read(r) {
      const out: Record<string, unknown> = {};
      for (const step of steps) {
        out[step.name] = step.placement === 'wire' ? step.codec!.read(r) : fresh(step.defaultValue);
      }
      if (mode.flexible) readTagged(r, byTag, out);
      return out;
    },
  };
}

function compileStep(f: FieldSpec<unknown>, mode: Mode, path: string): Step {
  const present = inRange(f.versions, mode.version);
  const nullable = inRange(f.nullable, mode.version);
  const isTagged = present && f.tag !== null;
  invariant(!isTagged || mode.flexible, `${path}.${f.name}: tagged in a non-flexible version`);

  const placement = !present ? 'absent' : isTagged ? 'tagged' : 'wire';
  const codec = present ? compileType(f.type, mode, nullable, `${path}.${f.name}`) : null;
  return {
    name: f.name,
    placement,
    codec,
    nullable,
    tag: f.tag ?? -1,
    defaultValue: f.defaultValue,
  };
}

type ValueOf = (record: Record<string, unknown> | undefined, step: Step) => unknown;

/** Tagged fields holding their default value are left out, as Kafka does. */
function taggedToWrite(
  tagged: Step[],
  record: Record<string, unknown> | undefined,
  valueOf: ValueOf,
) {
  return tagged.filter((step) => !sameValue(valueOf(record, step), step.defaultValue));
}

function taggedSize(tagged: Step[], record: Record<string, unknown> | undefined, valueOf: ValueOf) {
  const present = tagged.length === 0 ? tagged : taggedToWrite(tagged, record, valueOf);
  let total = uvarintSize(present.length);

  for (const step of present) {
    const size = step.codec!.size(valueOf(record, step));
    total += uvarintSize(step.tag) + uvarintSize(size) + size;
  }
  return total;
}

function writeTagged(
  w: Writer,
  tagged: Step[],
  record: Record<string, unknown> | undefined,
  valueOf: ValueOf,
): void {
  const present = tagged.length === 0 ? tagged : taggedToWrite(tagged, record, valueOf);
  w.uvarint(present.length);

  for (const step of present) {
    const value = valueOf(record, step);
    checkNull(value, step.nullable, step.name);
    w.uvarint(step.tag);
    w.uvarint(step.codec!.size(value));
    step.codec!.write(w, value);
  }
}

/** Reads the tagged section; each known field is decoded within its declared size only. */
function readTagged(r: Reader, byTag: Map<number, Step>, out: Record<string, unknown>): void {
  const count = r.uvarint();
  if (count > r.remaining()) throw new ProtocolError(`${count} tagged fields cannot fit`);

  for (let i = 0; i < count; i++) {
    const tag = r.uvarint();
    const size = r.uvarint();
    r.need(size);

    const step = byTag.get(tag);
    const end = r.pos + size;
    if (step !== undefined) out[step.name] = step.codec!.read(r.sub(size));
    r.pos = end;
  }
}

/** A fresh copy of a default, so decoded bodies never share mutable arrays or objects. */
function fresh(value: unknown): unknown {
  if (Array.isArray(value)) return [];
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;

  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) out[key] = fresh(inner);
  return out;
}

/** Deep equality for wire values; a missing struct member counts as its default. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) {
    return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  }

  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((element, i) => sameValue(element, b[i]));
  }

  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  return Object.keys(right).every(
    (key) => left[key] === undefined || sameValue(left[key], right[key]),
  );
}
