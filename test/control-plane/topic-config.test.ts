// Topic names and configs as Kafka validates them (case P7 of the protocol cases), and the
// effective configs data nodes read.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  describeTopicConfigs,
  effectiveTopicConfig,
  findCollidingTopic,
  TopicConfigError,
  topicNameProblem,
  validateTopicConfigs,
  validateTopicName,
} from '../../shared/topic-config.ts';
import { KafkaError } from '../../shared/kafka-errors.ts';

describe('topic names', () => {
  it.each(['', '.', '..', 'a'.repeat(250), 'a/b', 'ü', 'a b'])(
    'refuses %j with code 17',
    (name) => {
      expect(() => validateTopicName(name)).toThrow(KafkaError);
      expect(() => validateTopicName(name)).toThrow(expect.objectContaining({ code: 17 }));
    },
  );

  it.each(['a'.repeat(249), 'foo.bar', 'foo_bar', 'A-9', '...'])('accepts %j', (name) => {
    expect(topicNameProblem(name)).toBeNull();
  });

  it('agrees with a plain statement of the rules on any string', () => {
    const reference = (name: string) =>
      name.length >= 1 &&
      name.length <= 249 &&
      name !== '.' &&
      name !== '..' &&
      [...name].every((ch) => /[a-zA-Z0-9._-]/.test(ch));

    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[a-z._-]{0,260}$/)), (name) => {
        expect(topicNameProblem(name) === null).toBe(reference(name));
      }),
    );
  });

  it("finds a collision once '.' and '_' are alike, but not with the name itself", () => {
    expect(findCollidingTopic('foo_bar', ['foo.bar', 'x'])).toBe('foo.bar');
    expect(findCollidingTopic('foo.bar', ['foo.bar'])).toBeUndefined();
    expect(findCollidingTopic('foo-bar', ['foo.bar'])).toBeUndefined();
  });
});

describe('topic configs', () => {
  it.each([
    [{ 'compression.type': 'foo' }, 'compression.type'],
    [{ 'retention.ms': 'abc' }, 'retention.ms'],
    [{ 'retention.ms': '-2' }, 'retention.ms'],
    [{ 'min.insync.replicas': '0' }, 'min.insync.replicas'],
    [{ 'segment.bytes': '99999999999' }, 'segment.bytes'],
    [{ 'unclean.leader.election.enable': 'yes' }, 'unclean.leader.election.enable'],
    [{ 'cleanup.policy': 'delete,shred' }, 'cleanup.policy'],
    [{ 'no.such.config': '1' }, 'no.such.config'],
  ])('refuses %j with INVALID_CONFIG naming the config', (configs, name) => {
    const attempt = () => validateTopicConfigs(configs);

    expect(attempt).toThrow(TopicConfigError);
    expect(attempt).toThrow(expect.objectContaining({ code: 40, configName: name }));
    expect(attempt).toThrow(name);
  });

  it('keeps valid values trimmed, drops nulls, sorts keys', () => {
    const stored = validateTopicConfigs({
      'retention.ms': ' 1000 ',
      'cleanup.policy': 'compact,delete',
      'segment.bytes': null,
    });

    expect(stored).toEqual({ 'cleanup.policy': 'compact,delete', 'retention.ms': '1000' });
    expect(Object.keys(stored)).toEqual(['cleanup.policy', 'retention.ms']);
  });

  it('fills defaults into the effective config', () => {
    const config = effectiveTopicConfig({ 'retention.ms': '1000', 'compression.type': 'zstd' });

    expect(config).toMatchObject({
      retentionMs: 1000,
      compressionType: 'zstd',
      cleanupPolicy: ['delete'],
      segmentBytes: 1073741824,
      minInsyncReplicas: 2,
      messageTimestampType: 'CreateTime',
      uncleanLeaderElectionEnable: false,
      flushMessages: Number.MAX_SAFE_INTEGER,
    });
  });

  it('caps the default min.insync.replicas at the replication factor, not a set one', () => {
    expect(effectiveTopicConfig({}, 1).minInsyncReplicas).toBe(1);
    expect(effectiveTopicConfig({}, 3).minInsyncReplicas).toBe(2);
    expect(effectiveTopicConfig({ 'min.insync.replicas': '3' }, 1).minInsyncReplicas).toBe(3);
  });

  it('describes every known config, marking defaults', () => {
    const entries = describeTopicConfigs({ 'retention.ms': '1000' });

    expect(entries.find((e) => e.name === 'retention.ms')).toMatchObject({
      value: '1000',
      isDefault: false,
    });
    expect(entries.find((e) => e.name === 'min.insync.replicas')).toMatchObject({
      value: '2',
      isDefault: true,
    });
    expect(entries.map((e) => e.name)).toEqual([...entries.map((e) => e.name)].sort());
  });

  it('round-trips any valid long through validation and the effective config', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }), (ms) => {
        const stored = validateTopicConfigs({ 'retention.ms': String(ms) });
        expect(effectiveTopicConfig(stored).retentionMs).toBe(ms);
      }),
    );
  });
});
