// The `weir` command as a user runs it: `weir dev` brings a cluster up, describes it in
// cluster.json, leaves a killed process dead until its recorded command line is run again, and stops
// every child on Ctrl-C; a bad config stops a process with an error naming the field.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const WEIR = resolve(import.meta.dirname, '../../bin/weir.mjs');
const dirs: string[] = [];

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'weir-cli-'));
  dirs.push(dir);
  return dir;
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [WEIR, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

function waitForOutput(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((done, fail) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (pattern.test(out)) done(out);
    });
    child.on('exit', (code) => fail(new Error(`weir dev exited ${code} before ready:\n${out}`)));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface ClusterJson {
  bootstrapServers: string;
  processes: { name: string; pid: number; command: string[]; role: string }[];
}

describe('weir dev', () => {
  it('starts a cluster, records it in cluster.json and stops every child on Ctrl-C', async () => {
    const dataDir = tempDir();
    const dev = spawn(process.execPath, [
      WEIR,
      'dev',
      '--data-dir',
      dataDir,
      '--controllers',
      '1',
      '--data-nodes',
      '2',
      '--kafka-port',
      '19030',
      '--admin-port',
      '19080',
    ]);
    let exitCode: number | null = null;
    dev.on('exit', (code) => (exitCode = code));

    const out = await waitForOutput(dev, /Ctrl-C stops/);
    expect(out).toContain('127.0.0.1:19030,127.0.0.1:19031');
    expect(out).toContain('http://127.0.0.1:19080');

    const file = JSON.parse(readFileSync(join(dataDir, 'cluster.json'), 'utf8')) as ClusterJson;
    expect(file.processes.map((p) => p.name)).toEqual([
      'controller-1',
      'data-node-1',
      'data-node-2',
    ]);
    const pids = file.processes.map((p) => p.pid);
    expect(pids.every(alive)).toBe(true);

    // A killed data node stays down; its recorded command line brings it back.
    const node2 = file.processes.find((p) => p.name === 'data-node-2')!;
    process.kill(node2.pid, 'SIGKILL');
    await waitForOutput(dev, /data-node-2 exited/);
    const [cmd, ...args] = node2.command;
    const revived = spawn(cmd!, args, { stdio: 'ignore' });
    await waitUntil(async () => (await registeredNodes(19080)).includes(2));
    revived.kill('SIGTERM');
    await new Promise((done) => revived.on('exit', done));

    const stopped = new Promise((done) => dev.on('exit', done));
    dev.kill('SIGINT');
    await stopped;
    expect(exitCode).toBe(0);
    expect(pids.some(alive)).toBe(false);
  });
});

describe('configuration errors', () => {
  it('stops a data node whose config has a bad field, naming the field', async () => {
    const dir = tempDir();
    const config = join(dir, 'bad.json');
    writeFileSync(config, JSON.stringify({ nodeId: -4, dataDir: dir, kafkaPort: 'ninety' }));

    const result = await run(['data-node', '--config', config]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/nodeId/);
    expect(result.stderr).toMatch(/kafkaPort/);
  });

  it('takes config fields from --set, later than the file, and names a bad one', async () => {
    const dir = tempDir();
    const config = join(dir, 'node.json');
    writeFileSync(config, JSON.stringify({ nodeId: 1, dataDir: dir, kafkaPort: 19098 }));

    const result = await run(['data-node', '--config', config, '--set', 'kafkaPort=99999']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/kafkaPort/);
  });

  it('stops a controller whose config file is not JSON', async () => {
    const dir = tempDir();
    const config = join(dir, 'broken.json');
    writeFileSync(config, '{ controllerId: 1');

    const result = await run(['controller', '--config', config]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/not valid JSON/);
  });
});

async function registeredNodes(adminPort: number): Promise<number[]> {
  try {
    const res = await fetch(`http://127.0.0.1:${adminPort}/v1/data-nodes`);
    const body = (await res.json()) as { dataNodes: { nodeId: number; fenced: boolean }[] };
    return body.dataNodes.filter((n) => !n.fenced).map((n) => n.nodeId);
  } catch {
    return [];
  }
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error('condition not met in time');
}
