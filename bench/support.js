'use strict';
/* Small helpers every benchmark script uses. */

/** An integer setting from the environment; a bad value stops the benchmark with a clear message. */
function envInteger(bench) {
  return (name, defaultValue, min) => {
    const raw = process.env[name];
    if (raw === undefined || raw === '') return defaultValue;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) {
      console.error(`${bench}: ${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
      process.exit(2);
    }
    return value;
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Rows as aligned columns: the first left-aligned, the others right-aligned. */
function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => String(row[c]).length)));
  return rows.map((row) => row.map((cell, c) => (c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]))).join('  ')).join('\n');
}

module.exports = { envInteger, sleep, median, table };
