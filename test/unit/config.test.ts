import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, loadConfig } from '../../shared/config.ts';

const schema = z.strictObject({
  nodeId: z.number().int().nonnegative(),
  kafkaPort: z.number().int().min(1).max(65535).default(9092),
  dataDir: z.string().min(1),
});

describe('loadConfig', () => {
  it('merges file, environment and flags, later sources winning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'weir-config-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ nodeId: 1, dataDir: '/a', kafkaPort: 1000 }));

    const config = loadConfig(schema, {
      file,
      env: { WEIR_KAFKA_PORT: '2000', WEIR_DATA_DIR: '/b' },
      overrides: { dataDir: '/c', nodeId: undefined },
    });

    expect(config).toEqual({ nodeId: 1, kafkaPort: 2000, dataDir: '/c' });
  });

  it('names the offending field', () => {
    const run = () => loadConfig(schema, { env: {}, overrides: { nodeId: -1, dataDir: 'x' } });
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(/nodeId/);
  });

  it('refuses unknown fields and unreadable files', () => {
    expect(() => loadConfig(schema, { env: {}, overrides: { nodeId: 1, dataDir: 'x', y: 1 } }))
      .toThrow(/y/);
    expect(() => loadConfig(schema, { file: '/nonexistent/weir.json', env: {} })).toThrow(
      /cannot read config file/,
    );
  });
});
