import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { StatsSeries } from '../../shared/types';

/* The series as lines over time, drawn by uPlot (apps' README: why uPlot); times are UTC, as the API's buckets. */

const LINES = [
  { key: 'messages', label: 'Messages sent', stroke: '#8a93a6' },
  { key: 'uniqueOpens', label: 'Unique opens', stroke: '#3a5bd9' },
  { key: 'uniqueClicks', label: 'Unique clicks', stroke: '#1d7a46' },
] as const;

const HEIGHT = 240;

const hourTick = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', hour: '2-digit', minute: '2-digit' });
const dayTick = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short' });

/** 24-hour UTC times, with the day at midnight (a range of hours may span several days). */
const timeTicks = (ticks: number[]) =>
  ticks.map((seconds) => {
    const date = new Date(seconds * 1000);
    return date.getUTCHours() === 0 && date.getUTCMinutes() === 0 ? dayTick.format(date) : hourTick.format(date);
  });

function optionsFor(series: StatsSeries, width: number): uPlot.Options {
  return {
    width,
    height: HEIGHT,
    tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), 'Etc/UTC'),
    cursor: { drag: { x: false, y: false } },
    legend: { live: false },
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    axes: [
      { stroke: '#5b6475', grid: { stroke: '#eef0f4' }, ticks: { stroke: '#e3e6ec' }, values: (_u, ticks) => timeTicks(ticks) },
      { stroke: '#5b6475', grid: { stroke: '#eef0f4' }, ticks: { stroke: '#e3e6ec' }, values: (_u, ticks) => ticks.map((tick) => (Number.isInteger(tick) ? tick.toLocaleString('en-US') : '')) },
    ],
    series: [
      {},
      ...LINES.map((line) => ({ label: line.label, stroke: line.stroke, width: 2, points: { show: series.points.length < 60 } })),
    ],
  };
}

export function SeriesChart({ series }: { series: StatsSeries }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current!;
    const data: uPlot.AlignedData = [series.points.map((point) => Date.parse(point.at) / 1000), ...LINES.map((line) => series.points.map((point) => point[line.key]))];
    const chart = new uPlot(optionsFor(series, element.clientWidth), data, element);
    // The chart follows its box's width (a laptop, a phone turned sideways).
    const resize = new ResizeObserver(() => chart.setSize({ width: element.clientWidth, height: HEIGHT }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [series]);
  return <div className="chart" ref={box} role="img" aria-label={`Messages sent, unique opens and unique clicks per ${series.by} (UTC)`} />;
}
