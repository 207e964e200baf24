// The run's figures as one SVG, drawn by Vega-Lite and rendered headless by Vega (no browser, no
// canvas): publish throughput by record size, one-at-a-time latency, consume throughput and
// failover time, each split by replication factor: Weir, JetStream and the plain-Node ceiling.
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import type { Row } from './report.ts';

interface Point {
  panel: string;
  /** The small chart a bar belongs to: replication and category, e.g. "R3 1 KiB". */
  group: string;
  series: string;
  value: number;
}

const SERIES = ['Weir', 'JetStream', 'plain-Node ceiling'];

const PANELS = [
  {
    panel: 'publish, acked (MB/s)',
    log: false,
    match: (r: Row) => r.workload.startsWith('publish'),
  },
  {
    panel: 'one at a time 1 KiB (ms, symlog scale)',
    log: true,
    match: (r: Row) => r.workload.startsWith('one at a time'),
  },
  {
    panel: 'consume from start (MB/s)',
    log: false,
    match: (r: Row) => r.workload.startsWith('consume'),
  },
  {
    panel: 'leader kill to next ack (ms)',
    log: false,
    match: (r: Row) => r.workload.includes('median'),
  },
];

export async function renderChart(rows: Row[]): Promise<string> {
  const points = toPoints(rows);
  const spec: vegaLite.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Weir vs NATS JetStream on this machine', anchor: 'start' },
    data: { values: points },
    config: { font: 'sans-serif', view: { stroke: null }, header: { labelFontSize: 11 } },
    vconcat: PANELS.map(({ panel, log }) => ({
      transform: [{ filter: { field: 'panel', equal: panel } }],
      title: { text: panel, anchor: 'start' },
      // One small chart per replication and category, three bars each: no grouped-bar offsets.
      facet: { column: { field: 'group', type: 'nominal', title: null, sort: null } },
      spec: {
        width: 70,
        height: 150,
        mark: { type: 'bar', tooltip: true },
        encoding: {
          x: { field: 'series', type: 'nominal', axis: null, sort: SERIES },
          y: {
            field: 'value',
            type: 'quantitative',
            title: null,
            scale: log ? { type: 'symlog' } : {},
            axis: log ? { values: [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000] } : {},
          },
          color: { field: 'series', type: 'nominal', scale: { domain: SERIES }, title: null },
        },
      },
    })),
  };

  const compiled = vegaLite.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

function toPoints(rows: Row[]): Point[] {
  const points: Point[] = [];

  for (const { panel, match } of PANELS) {
    for (const row of rows.filter(match)) {
      const group = `R${row.replication} ${categoryOf(row)}`;
      const series: [string, number | undefined][] = [
        ['Weir', row.weir],
        ['JetStream', row.jetstream],
        ['plain-Node ceiling', row.ceiling],
      ];
      for (const [name, value] of series) {
        if (value !== undefined && Number.isFinite(value)) {
          points.push({ panel, group, series: name, value });
        }
      }
    }
  }
  return points;
}

function categoryOf(row: Row): string {
  if (row.workload.startsWith('publish'))
    return row.workload.replace(/^publish (.*), acked$/, '$1');
  if (row.workload.startsWith('one at a time')) return row.workload.replace(/^.*, /, '');
  return '';
}
