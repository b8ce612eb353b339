/**
 * Ours against the floor (issue 29): each figure of one run of ours beside the floor's from the
 * same run, the ratio, and the target it is held to — printed as one table, and checked.
 */
import type { RunResult } from './measure.js';
import { isResult, type Outcome } from './report.js';
import { TARGET_SCENARIOS } from './scenarios.js';

interface FloorTarget {
  figure: string;
  scenarioId: string;
  unit: string;
  digits: number;
  value: (run: RunResult) => number | null;
  /**
   * What ours must reach: a bound on ours ÷ the floor (`most`: at most, `least`: at least), or
   * on ours' own value when the floor's is no reference (the floor does not slice its fan-out).
   */
  bound: { ratio: 'most' | 'least'; times: number } | { own: 'most'; value: number };
}

const BROWSER = TARGET_SCENARIOS.browserTenThousand;

export const FLOOR_TARGETS: readonly FloorTarget[] = [
  {
    figure: 'fan-out p99 (change → last subscriber)',
    scenarioId: BROWSER,
    unit: 'ms',
    digits: 1,
    value: (run) => run.latency.p99Ms,
    bound: { ratio: 'most', times: 1.15 },
  },
  { figure: 'fan-out median', scenarioId: BROWSER, unit: 'ms', digits: 1, value: (run) => run.latency.p50Ms, bound: { ratio: 'most', times: 1.2 } },
  {
    figure: 'msgs/s during fan-out',
    scenarioId: BROWSER,
    unit: 'msgs/s',
    digits: 0,
    value: (run) => run.push.messagesPerSecond,
    bound: { ratio: 'least', times: 0.9 },
  },
  {
    figure: 'idle RSS per subscriber',
    scenarioId: BROWSER,
    unit: 'KB',
    digits: 2,
    value: (run) => run.memory.rssPerSubscriberKB,
    bound: { ratio: 'most', times: 1.3 },
  },
  {
    figure: 'reconnect storm (all 10,000 subscribed)',
    scenarioId: BROWSER,
    unit: 's',
    digits: 2,
    value: (run) => (run.allSubscribedMs === null ? null : run.allSubscribedMs / 1000),
    bound: { ratio: 'most', times: 1.15 },
  },
  {
    figure: 'event-loop lag p99 while pushing',
    scenarioId: BROWSER,
    unit: 'ms',
    digits: 1,
    value: (run) => run.eventLoop.lagP99Ms,
    bound: { own: 'most', value: 50 },
  },
  {
    figure: 'multiplexed 1 × 10,000 (100 per connection): msgs/s',
    scenarioId: TARGET_SCENARIOS.tenThousand,
    unit: 'msgs/s',
    digits: 0,
    value: (run) => run.push.messagesPerSecond,
    bound: { ratio: 'least', times: 0.95 },
  },
];

export interface FloorComparison {
  figure: string;
  ours: string;
  floor: string;
  ratio: string;
  target: string;
  status: 'PASS' | 'FAIL' | 'SKIP';
}

const fmt = (value: number | null, digits: number): string =>
  value === null || !Number.isFinite(value) ? 'n/a' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Each target's figures from `outcomes` (one run), and whether ours meets it. */
export function compareWithFloor(outcomes: readonly Outcome[]): FloorComparison[] {
  const find = (gateway: string, scenarioId: string) => outcomes.find((o) => o.gateway === gateway && o.scenarioId === scenarioId);
  return FLOOR_TARGETS.map(({ figure, scenarioId, unit, digits, value, bound }) => {
    const ours = find('ours', scenarioId);
    const floor = find('floor', scenarioId);
    const target = 'ratio' in bound ? `${bound.ratio === 'most' ? '≤' : '≥'} ${bound.times}×` : `≤ ${bound.value} ${unit}`;
    const row = { figure: `${figure} (${scenarioId})`, target };
    if (!isResult(ours) || !isResult(floor)) return { ...row, ours: 'n/a', floor: 'n/a', ratio: 'n/a', status: 'SKIP' };
    const [mine, theirs] = [value(ours), value(floor)];
    const ratio = mine === null || theirs === null || theirs === 0 ? null : mine / theirs;
    const met =
      'ratio' in bound ? ratio !== null && (bound.ratio === 'most' ? ratio <= bound.times : ratio >= bound.times) : mine !== null && mine <= bound.value;
    return {
      ...row,
      ours: `${fmt(mine, digits)} ${unit}`,
      floor: `${fmt(theirs, digits)} ${unit}`,
      ratio: ratio === null ? 'n/a' : `${ratio.toFixed(2)}×`,
      status: met ? 'PASS' : 'FAIL',
    };
  });
}

/** The comparison as a markdown table. */
export function floorTable(comparisons: readonly FloorComparison[]): string {
  const rows = comparisons.map((c) => `| ${c.figure} | ${c.ours} | ${c.floor} | ${c.ratio} | ${c.target} | ${c.status} |`);
  return [
    'Ours against the floor (same run):',
    '',
    '| Figure | Ours | Floor | Ours ÷ floor | Target | |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
