/** Number formatting shared by the terminal tables and the report. */

/** 1536 → "1.5 KiB"; binary units, as memory is counted. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Math.abs(bytes);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) (v /= 1024, i++);
  const s = i === 0 ? String(Math.round(v)) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  return `${bytes < 0 ? '-' : ''}${s} ${units[i]}`;
}

/** 1234567 → "1.23M"; for parameter counts. */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toPrecision(3)}B`;
  if (a >= 1e6) return `${(n / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${(n / 1e3).toPrecision(3)}k`;
  return String(Math.round(n));
}

/** Up to `digits` significant digits, without trailing zeros or exponent for everyday sizes. */
export function formatNumber(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined) return '–';
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '-∞';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e6 || a < 1e-4) return x.toExponential(digits - 1);
  return String(Number(x.toPrecision(digits)));
}

/** `184–188`, or `184` when both ends print the same. */
export function formatRange(r: { min: number; max: number }, f: (x: number) => string): string {
  const lo = f(r.min);
  const hi = f(r.max);
  return lo === hi ? lo : `${lo}–${hi}`;
}

export function formatPercent(fraction: number | null | undefined, digits = 1): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return '–';
  return `${(fraction * 100).toFixed(digits)}%`;
}

/** 3725 → "1h 2m 5s". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)}s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h ${m}m ${s % 60}s` : `${m}m ${s % 60}s`;
}

/** Formats a metric value according to its unit. */
export function formatMetric(value: number | null | undefined, unit: string | null | undefined): string {
  switch (unit) {
    case 'bytes':
      return formatBytes(value);
    case 'params':
      return formatCount(value);
    case 'fraction':
      return formatNumber(value, 4);
    case '%':
      return value === null || value === undefined ? '–' : `${formatNumber(value, 3)}%`;
    default:
      return formatNumber(value);
  }
}
