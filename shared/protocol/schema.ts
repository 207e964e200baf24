// The declarative description of Kafka messages. Each API is written once, as nested field lists in
// which every field says the versions it exists in, the versions in which it may be null, and
// whether it is a tagged field. The codec (compile.ts) turns a description into an encoder and a
// decoder per version, and TypeScript infers the body types from the same description, so the
// types, the bytes and the test generators can never disagree.
import { invariant } from '../assert.ts';

export type ScalarName =
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint16'
  | 'varint'
  | 'varlong'
  | 'float64'
  | 'bool'
  | 'uuid'
  | 'string'
  | 'bytes'
  | 'records';

/** Inclusive version bounds; `max` is Infinity for "and every later version". */
export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

/**
 * A wire type. `T` is the JavaScript value it decodes to; it exists only for type inference
 * (`value` is never set at run time).
 */
export interface WireType<T> {
  readonly kind: 'scalar' | 'array' | 'struct';
  readonly scalar?: ScalarName;
  readonly items?: WireType<unknown>;
  readonly fields?: readonly FieldSpec<unknown>[];
  readonly value?: T;
}

export interface FieldSpec<T> {
  readonly kind: 'field';
  /** Set when the field is placed in a struct; the Kafka name in lower camel case. */
  readonly name: string;
  readonly type: WireType<T>;
  readonly versions: VersionRange;
  /** Versions in which null is allowed on the wire; null when never. */
  readonly nullable: VersionRange | null;
  /** Tag number when the field is a tagged field (in the flexible versions it exists in). */
  readonly tag: number | null;
  /** The value a decoder reports when the field is absent, and that tagged fields omit. */
  readonly defaultValue: unknown;
}

export interface FieldOptions<T> {
  /** Versions in which the field may be null: `true` for all of them, or a range like '3+'. */
  nullable?: true | string;
  tag?: number;
  default?: T | null;
}

/** A field list: a bare type is shorthand for a field present in every version, never null. */
export type FieldsInput = Record<string, FieldSpec<unknown> | WireType<unknown>>;

type FieldValue<F> = F extends FieldSpec<infer T> ? T : F extends WireType<infer T> ? T : never;

export type StructValue<F extends FieldsInput> = { [K in keyof F]: FieldValue<F[K]> };

const scalar = <T>(name: ScalarName): WireType<T> => ({ kind: 'scalar', scalar: name });

export const int8 = scalar<number>('int8');
export const int16 = scalar<number>('int16');
export const int32 = scalar<number>('int32');
export const int64 = scalar<bigint>('int64');
export const uint16 = scalar<number>('uint16');
export const varint = scalar<number>('varint');
export const varlong = scalar<bigint>('varlong');
export const float64 = scalar<number>('float64');
export const bool = scalar<boolean>('bool');
/** A UUID as a lower-case canonical string (8-4-4-4-12 hex digits). */
export const uuid = scalar<string>('uuid');
export const string = scalar<string>('string');
export const bytes = scalar<Buffer>('bytes');
/** A record batch (or several), kept as opaque bytes: the codec never looks inside. */
export const records = scalar<Buffer>('records');

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** Parses Kafka's version notation: '3+', '0-14', '7', or 'none'. */
export function parseVersions(text: string): VersionRange | null {
  if (text === 'none') return null;

  const match = /^(\d+)(?:(\+)|-(\d+))?$/.exec(text);
  invariant(match !== null, `bad version range '${text}'`);

  const min = Number(match[1]);
  const max = match[2] === '+' ? Infinity : match[3] === undefined ? min : Number(match[3]);
  invariant(min <= max, `empty version range '${text}'`);
  return { min, max };
}

export function inRange(range: VersionRange | null, version: number): boolean {
  return range !== null && version >= range.min && version <= range.max;
}

/**
 * A field present in `versions` (default '0+'). A field that may be null in some version is typed
 * `T | null` in every version; the decoder only produces null where the version allows it.
 */
export function field<T, O extends FieldOptions<T> = Record<never, never>>(
  type: WireType<T>,
  versions = '0+',
  options?: O,
): FieldSpec<O extends { nullable: true | string } ? T | null : T> {
  const range = parseVersions(versions);
  invariant(range !== null, 'a field must exist in some version');

  const nullable =
    options?.nullable === undefined
      ? null
      : options.nullable === true
        ? range
        : parseVersions(options.nullable);
  const defaultValue =
    options?.default !== undefined ? options.default : defaultFor(type, nullable !== null);

  const spec: FieldSpec<unknown> = {
    kind: 'field',
    name: '',
    type,
    versions: range,
    nullable,
    tag: options?.tag ?? null,
    defaultValue,
  };
  // The nullable-or-not value type is decided by the options' type, which TypeScript cannot
  // follow into the object built above.
  return spec as FieldSpec<never>;
}

export function struct<F extends FieldsInput>(fields: F): WireType<StructValue<F>> {
  const list = Object.entries(fields).map(([name, spec]) => {
    const asField = spec.kind === 'field' ? spec : field(spec);
    return { ...asField, name };
  });

  const tags = list.filter((f) => f.tag !== null).map((f) => f.tag);
  invariant(new Set(tags).size === tags.length, 'tags must be unique within a struct');
  return { kind: 'struct', fields: list };
}

/** An array of a type, or of a struct given by its field list. */
export function array<T>(items: WireType<T>): WireType<T[]>;
export function array<F extends FieldsInput>(fields: F): WireType<StructValue<F>[]>;
export function array(items: WireType<unknown> | FieldsInput): WireType<unknown[]> {
  const type = isWireType(items) ? items : struct(items);
  return { kind: 'array', items: type };
}

function isWireType(value: WireType<unknown> | FieldsInput): value is WireType<unknown> {
  const kind = (value as { kind?: unknown }).kind;
  return kind === 'scalar' || kind === 'array' || kind === 'struct';
}

/** The value a field takes when absent: Kafka's defaults (zero, empty, or null if nullable). */
function defaultFor(type: WireType<unknown>, nullable: boolean): unknown {
  if (nullable) return null;
  if (type.kind === 'array') return [];
  if (type.kind === 'struct') return structDefault(type);

  switch (type.scalar) {
    case 'int64':
    case 'varlong':
      return 0n;
    case 'bool':
      return false;
    case 'uuid':
      return ZERO_UUID;
    case 'string':
      return '';
    case 'bytes':
    case 'records':
      return Buffer.alloc(0);
    default:
      return 0;
  }
}

export function structDefault(type: WireType<unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of type.fields ?? []) out[f.name] = f.defaultValue;
  return out;
}

/** One Kafka API: its key, the versions this codec can read and write, and both bodies. */
export interface ApiSpec<Req, Res> {
  readonly key: number;
  readonly name: string;
  readonly versions: VersionRange;
  /** First flexible version (compact encodings, tagged fields, header v2 / v1), or null. */
  readonly flexibleFrom: number | null;
  readonly request: WireType<Req>;
  readonly response: WireType<Res>;
}

export interface ApiInput<Req extends FieldsInput, Res extends FieldsInput> {
  key: number;
  name: string;
  /** Versions the codec covers, in Kafka's notation ('0-11'). */
  versions: string;
  /** Kafka's flexibleVersions: '9+' or 'none'. */
  flexible: string;
  request: Req;
  response: Res;
}

export function api<Req extends FieldsInput, Res extends FieldsInput>(
  input: ApiInput<Req, Res>,
): ApiSpec<StructValue<Req>, StructValue<Res>> {
  const versions = parseVersions(input.versions);
  invariant(versions !== null, `${input.name} needs versions`);

  const flexible = parseVersions(input.flexible);
  invariant(flexible === null || flexible.max === Infinity, 'flexible versions are open-ended');

  return {
    key: input.key,
    name: input.name,
    versions,
    flexibleFrom: flexible?.min ?? null,
    request: struct(input.request),
    response: struct(input.response),
  };
}

export type RequestOf<A> = A extends ApiSpec<infer Req, unknown> ? Req : never;
export type ResponseOf<A> = A extends ApiSpec<unknown, infer Res> ? Res : never;

/**
 * What an encoder accepts: any field may be left out and is then written as its default value
 * (zero, empty, or null), as Kafka's own generated messages do.
 */
export type Encodable<T> = T extends Buffer | bigint | number | string | boolean | null
  ? T
  : T extends readonly (infer E)[]
    ? Encodable<E>[]
    : T extends object
      ? { [K in keyof T]?: Encodable<T[K]> }
      : T;
