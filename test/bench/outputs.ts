// Where a run's figures go: the table on stdout, and unless told not to, docs/benchmarks.json
// (everything), docs/benchmarks.svg (the chart) and the generated sections of docs/benchmarks.md,
// which sit between marker comments so the prose around them stays as written.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderChart } from './chart.ts';
import {
  buildRows,
  clientCpuLines,
  failoverLines,
  formatTable,
  machineLines,
  markdownFigures,
  markdownProfiles,
  replicationLines,
  targetLines,
  type BenchResults,
} from './report.ts';

export async function writeOutputs(results: BenchResults, docsDir: string | null): Promise<void> {
  const rows = buildRows(results);
  const out = [
    '',
    formatTable(rows),
    '',
    ...targetLines(rows),
    ...replicationLines(results),
    '',
    ...machineLines(results),
    ...clientCpuLines(results),
    ...failoverLines(results),
    ...results.clientTrials.map(
      (t) =>
        `client trial ${t.client}: produce ${t.produceMBps?.toFixed(1) ?? '-'} MB/s, ` +
        `consume ${t.consumeMBps?.toFixed(1) ?? '-'} MB/s${t.error ? ` (${t.error})` : ''}`,
    ),
    ...results.notes.map((n) => `note: ${n}`),
    ...results.errors.map((e) => `failed: ${e.system} R${e.replication} ${e.workload}: ${e.error}`),
  ];
  console.log(out.join('\n'));
  if (docsDir === null) return;

  mkdirSync(docsDir, { recursive: true });
  writeFileSync(join(docsDir, 'benchmarks.json'), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(docsDir, 'benchmarks.svg'), await renderChart(rows));

  const mdFile = join(docsDir, 'benchmarks.md');
  let md = readFileSync(mdFile, 'utf8');
  md = replaceSection(md, 'figures', markdownFigures(results, rows));
  if (results.profiles.length > 0)
    md = replaceSection(md, 'profile', markdownProfiles(results.profiles));
  writeFileSync(mdFile, md);
  console.log(`\nwrote docs/benchmarks.json, docs/benchmarks.svg, docs/benchmarks.md`);
}

/** Replaces what lies between `<!-- NAME:begin -->` and `<!-- NAME:end -->`. */
function replaceSection(md: string, name: string, body: string): string {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const from = md.indexOf(begin);
  const to = md.indexOf(end);
  if (from < 0 || to < from) return `${md.trimEnd()}\n\n${begin}\n${body}\n${end}\n`;
  return `${md.slice(0, from + begin.length)}\n${body}\n${md.slice(to)}`;
}
