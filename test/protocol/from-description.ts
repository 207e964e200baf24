// Test helpers derived from the same API descriptions the codec uses: fast-check arbitraries of
// valid bodies for one version, and the scalar values a body carries on the wire at a version.
import fc from 'fast-check';
import type { ApiSpec, FieldSpec, WireType } from '../../shared/protocol/schema.ts';
import { inRange } from '../../shared/protocol/schema.ts';

interface Mode {
  version: number;
  flexible: boolean;
  /** When false, tagged fields keep their default values (and so stay off the wire). */
  tagged: boolean;
}

export function isFlexibleAt(spec: ApiSpec<unknown, unknown>, version: number): boolean {
  return spec.flexibleFrom !== null && version >= spec.flexibleFrom;
}

export function versionsOf(spec: ApiSpec<unknown, unknown>): number[] {
  const out: number[] = [];
  for (let v = spec.versions.min; v <= spec.versions.max; v++) out.push(v);
  return out;
}

/** Arbitrary valid bodies at `version`; fields the version lacks hold their defaults. */
export function bodyArbitrary(
  spec: ApiSpec<unknown, unknown>,
  side: 'request' | 'response',
  version: number,
  options: { tagged?: boolean } = {},
): fc.Arbitrary<unknown> {
  const mode = { version, flexible: isFlexibleAt(spec, version), tagged: options.tagged ?? true };
  return typeArbitrary(spec[side], mode, false);
}

function typeArbitrary(
  type: WireType<unknown>,
  mode: Mode,
  nullable: boolean,
): fc.Arbitrary<unknown> {
  const base =
    type.kind === 'struct'
      ? structArbitrary(type.fields!, mode)
      : type.kind === 'array'
        ? fc.array(typeArbitrary(type.items!, mode, false), { maxLength: 3 })
        : scalarArbitrary(type.scalar!);
  return nullable ? fc.option(base, { nil: null, freq: 4 }) : base;
}

function structArbitrary(fields: readonly FieldSpec<unknown>[], mode: Mode) {
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of fields) {
    const varies = inRange(f.versions, mode.version) && (mode.tagged || f.tag === null);
    shape[f.name] = varies
      ? typeArbitrary(f.type, mode, inRange(f.nullable, mode.version))
      : fc.constant(f.defaultValue);
  }
  return fc.record(shape);
}

const INT64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };

function scalarArbitrary(name: string): fc.Arbitrary<unknown> {
  switch (name) {
    case 'int8':
      return fc.integer({ min: -128, max: 127 });
    case 'int16':
      return fc.integer({ min: -32768, max: 32767 });
    case 'uint16':
      return fc.integer({ min: 0, max: 65535 });
    case 'int32':
    case 'varint':
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case 'int64':
    case 'varlong':
      return fc.bigInt(INT64);
    case 'float64':
      return fc.double();
    case 'bool':
      return fc.boolean();
    case 'uuid':
      return fc.uuid().map((id) => id.toLowerCase());
    case 'string':
      return fc.string({ unit: 'grapheme', maxLength: 12 });
    case 'bytes':
    case 'records':
      return fc.uint8Array({ maxLength: 24 }).map((bytes) => Buffer.from(bytes));
    default:
      throw new Error(`no arbitrary for ${name}`);
  }
}

/**
 * The numbers and strings a body puts on the wire at `version` (fields of that version only,
 * tagged fields left out), as strings. Booleans and byte fields are left out.
 */
export function wireScalars(
  spec: ApiSpec<unknown, unknown>,
  side: 'request' | 'response',
  version: number,
  body: unknown,
): string[] {
  const out: string[] = [];
  collect(spec[side], version, body, out);
  return out;
}

function collect(type: WireType<unknown>, version: number, value: unknown, out: string[]): void {
  if (value === null || value === undefined) return;

  if (type.kind === 'array') {
    for (const element of value as unknown[]) collect(type.items!, version, element, out);
  } else if (type.kind === 'struct') {
    for (const f of type.fields!) {
      if (!inRange(f.versions, version) || f.tag !== null) continue;
      collect(f.type, version, (value as Record<string, unknown>)[f.name], out);
    }
  } else if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'string') {
    out.push(String(value));
  }
}

/** Every number and string found anywhere in a decoded object, as strings. */
export function leavesOf(value: unknown, out = new Set<string>()): Set<string> {
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'string') {
    out.add(String(value));
  } else if (Array.isArray(value)) {
    for (const element of value) leavesOf(element, out);
  } else if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    for (const inner of Object.values(value)) leavesOf(inner, out);
  }
  return out;
}
