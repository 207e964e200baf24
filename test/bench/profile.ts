// Reading V8 CPU profiles (`node --cpu-prof` output) into a short account of where a data node
// spent its CPU: self time by area (a Weir source file, a package, a Node module, the garbage
// collector), the functions with the most self time, and Weir's functions by inclusive time (the
// time of everything they called). Idle samples are left out, so shares are of busy time.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  /** Microseconds of the monotonic clock, the one process.hrtime() reads. */
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Share {
  name: string;
  ms: number;
  percent: number;
}

export interface ProfileSummary {
  process: string;
  phase: 'produce' | 'fetch';
  role: string;
  busyMs: number;
  idleMs: number;
  areas: Share[];
  selfFunctions: Share[];
  weirInclusive: Share[];
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** A span of the monotonic clock in microseconds: `monotonicUs()` read before and after. */
export interface ClockWindow {
  fromUs: number;
  toUs: number;
}

export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * Summarizes the samples taken inside `window` (the whole profile without one): a process's
 * start-up, module loading included, would otherwise outweigh a few seconds of work.
 */
export function summarizeProfile(
  file: string,
  labels: { process: string; phase: 'produce' | 'fetch'; role: string },
  repoRoot: string,
  window?: ClockWindow,
  top = 12,
): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = parents(profile.nodes);
  const selfMs = new Map<number, number>();

  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const deltaUs = profile.timeDeltas[i] ?? 0;
    at += deltaUs;
    if (window !== undefined && (at < window.fromUs || at > window.toUs)) return;
    selfMs.set(id, (selfMs.get(id) ?? 0) + deltaUs / 1000);
  });

  let idleMs = 0;
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  const inclusive = new Map<string, number>();

  for (const [id, ms] of selfMs) {
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)') {
      idleMs += ms;
      continue;
    }
    add(areas, areaOf(node, repoRoot), ms);
    add(functions, functionKey(node, repoRoot), ms);

    // Inclusive time: each Weir function on the sampled stack once, however deep it recurses.
    const onStack = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const frame = byId.get(at)!;
      if (isWeirFrame(frame, repoRoot)) onStack.add(functionKey(frame, repoRoot));
    }
    for (const key of onStack) add(inclusive, key, ms);
  }

  const busyMs = [...areas.values()].reduce((a, b) => a + b, 0);
  return {
    ...labels,
    busyMs,
    idleMs,
    areas: ranked(areas, busyMs, top),
    selfFunctions: ranked(functions, busyMs, top),
    weirInclusive: ranked(inclusive, busyMs, top),
  };
}

function parents(nodes: ProfileNode[]): Map<number, number> {
  const parentOf = new Map<number, number>();
  for (const node of nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  return parentOf;
}

function add(map: Map<string, number>, key: string, ms: number): void {
  map.set(key, (map.get(key) ?? 0) + ms);
}

function ranked(map: Map<string, number>, totalMs: number, top: number): Share[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, ms]) => ({ name, ms, percent: totalMs > 0 ? (100 * ms) / totalMs : 0 }));
}

function isWeirFrame(node: ProfileNode, repoRoot: string): boolean {
  const path = pathOf(node.callFrame.url);
  return path !== null && path.startsWith(repoRoot) && !path.includes('/node_modules/');
}

/** Where a frame's code lives: a Weir file, a package, a Node module, or V8 itself. */
function areaOf(node: ProfileNode, repoRoot: string): string {
  const { functionName, url } = node.callFrame;
  if (SPECIAL.has(functionName)) return functionName;
  if (url === '') return '(native)';
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?/, 'node:');

  const path = pathOf(url) ?? url;
  const packageMatch = /\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (packageMatch !== null) return `package ${packageMatch[1]}`;
  return path.startsWith(repoRoot) ? relative(repoRoot, path) : path;
}

/** Function name and file; no line, since code loaded through tsx reports line 1 throughout. */
function functionKey(node: ProfileNode, repoRoot: string): string {
  const { functionName, url } = node.callFrame;
  const name = functionName === '' ? '(anonymous)' : functionName;
  if (url === '' || SPECIAL.has(functionName)) return name;

  const path = pathOf(url) ?? url;
  const where = path.startsWith(repoRoot)
    ? relative(repoRoot, path)
    : path.replace(/^.*\/node_modules\//, '');
  return `${name} (${where})`;
}

function pathOf(url: string): string | null {
  if (!url.startsWith('file://')) return null;
  return decodeURIComponent(new URL(url).pathname);
}
