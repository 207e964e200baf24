// Loading a process's configuration: one zod schema per role, filled from a JSON file, then
// environment variables (WEIR_<FIELD> in upper snake case), then command-line flags, later sources
// winning. A bad value stops the process with an error naming the field and the source's rule.
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface ConfigSources {
  /** Path of a JSON config file, if any. */
  file?: string;
  /** Environment to read WEIR_* variables from; pass `{}` to ignore the environment. */
  env?: NodeJS.ProcessEnv;
  /** Values from flags, already keyed by field name. */
  overrides?: Record<string, unknown>;
}

export function loadConfig<S extends z.ZodType>(schema: S, sources: ConfigSources): z.infer<S> {
  const fromFile = sources.file === undefined ? {} : readConfigFile(sources.file);
  const fromEnv = readEnv(schema, sources.env ?? process.env);
  const merged = { ...fromFile, ...fromEnv, ...definedOnly(sources.overrides ?? {}) };

  const parsed = schema.safeParse(merged);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error, sources.file));
  return parsed.data;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(`config file ${path} must hold a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** Reads WEIR_FIELD_NAME for each top-level field of an object schema. */
function readEnv(schema: z.ZodType, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const shape = schema instanceof z.ZodObject ? (schema.shape as Record<string, unknown>) : {};
  const values: Record<string, unknown> = {};

  for (const field of Object.keys(shape)) {
    const raw = env[`WEIR_${toUpperSnake(field)}`];
    if (raw !== undefined) values[field] = parseEnvValue(raw);
  }
  return values;
}

function parseEnvValue(raw: string): unknown {
  const trimmed = raw.trim();
  if (/^(-?\d+(\.\d+)?|true|false|null)$/.test(trimmed) || /^[[{"]/.test(trimmed)) {
    try {
      return JSON.parse(trimmed);
    } catch {
      return raw;
    }
  }
  return raw;
}

function toUpperSnake(field: string): string {
  return field.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

function definedOnly(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
}

function describeIssues(error: z.ZodError, file: string | undefined): string {
  const where = file === undefined ? 'configuration' : `configuration (${file})`;
  const lines = error.issues.map((issue) => {
    const path = issue.path.length === 0 ? '(root)' : issue.path.join('.');
    return `  ${path}: ${issue.message}`;
  });
  return `invalid ${where}:\n${lines.join('\n')}`;
}
