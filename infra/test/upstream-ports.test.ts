import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_ADMIN_PORT } from '../../apps/admin/src';
import { DEFAULT_AGGREGATOR_METRICS_PORT } from '../../apps/aggregator/src';
import { DEFAULT_REWRITER_METRICS_PORT } from '../../apps/rewriter/src';
import { DEFAULT_TRACKER_PORT } from '../../apps/tracker/src';

/* upstream.conf is copied by operators: a tracker it suggests must not be where another process listens. */

const UPSTREAM = readFileSync(path.join(__dirname, '..', 'nginx', 'upstream.conf'), 'utf8');

test("upstream.conf's trackers, suggested ones included, are on ports no other mailbeacon process listens on by default", () => {
  const ports = [...UPSTREAM.matchAll(/^\s*#?\s*server\s+127\.0\.0\.1:(\d+)\s*;/gm)].map((match) => Number(match[1]));
  expect(ports[0]).toBe(DEFAULT_TRACKER_PORT);
  expect(ports.length).toBeGreaterThan(1); // the suggested second tracker is still there
  const taken = new Map([
    [DEFAULT_ADMIN_PORT, 'the admin API'],
    [DEFAULT_REWRITER_METRICS_PORT, "the rewriter's metrics"],
    [DEFAULT_AGGREGATOR_METRICS_PORT, "the aggregator's metrics"],
  ]);
  expect(ports.filter((port) => taken.has(port)).map((port) => `${port}: ${taken.get(port)}`)).toEqual([]);
  expect(new Set(ports).size).toBe(ports.length);
});
