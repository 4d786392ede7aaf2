import { createRequire } from 'node:module';
import type { PNG } from 'pngjs';
import type { MetricPoint } from './ledger.js';

/**
 * Draws loss curves as a PNG: training loss as a blue line, eval loss as orange dots joined by a
 * line, on shared axes (x = step, y = loss from the lowest to the highest finite value), with ten
 * grid lines on each axis. No text: the tool's text result gives the numbers.
 */
export function renderLossCurve(series: { loss: MetricPoint[]; eval_loss?: MetricPoint[] }, size = { width: 640, height: 360 }): Uint8Array {
  const { width, height } = size;
  // pngjs loads with the first plot, not at start-up.
  const { PNG: Png } = createRequire(import.meta.url)('pngjs') as typeof import('pngjs');
  const png = new Png({ width, height });
  png.data.fill(255);
  const margin = { left: 40, right: 16, top: 16, bottom: 32 };
  const all = [...series.loss, ...(series.eval_loss ?? [])].filter((p) => Number.isFinite(p.value));
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const grid = [225, 225, 225];
  for (let i = 0; i <= 10; i++) {
    const x = margin.left + Math.round((plotW * i) / 10);
    const y = margin.top + Math.round((plotH * i) / 10);
    line(png, x, margin.top, x, margin.top + plotH, grid);
    line(png, margin.left, y, margin.left + plotW, y, grid);
  }
  line(png, margin.left, margin.top, margin.left, margin.top + plotH, [0, 0, 0]);
  line(png, margin.left, margin.top + plotH, margin.left + plotW, margin.top + plotH, [0, 0, 0]);
  if (all.length) {
    const minStep = Math.min(...all.map((p) => p.step));
    const maxStep = Math.max(...all.map((p) => p.step));
    const lo = Math.min(...all.map((p) => p.value));
    const hi = Math.max(...all.map((p) => p.value));
    const sx = (step: number) => margin.left + (maxStep === minStep ? plotW / 2 : ((step - minStep) / (maxStep - minStep)) * plotW);
    const sy = (v: number) => margin.top + (hi === lo ? plotH / 2 : (1 - (v - lo) / (hi - lo)) * plotH);
    drawSeries(png, series.loss, sx, sy, [31, 119, 180], false);
    if (series.eval_loss) drawSeries(png, series.eval_loss, sx, sy, [255, 127, 14], true);
  }
  return Png.sync.write(png);
}

type Rgb = [number, number, number] | number[];

function drawSeries(png: PNG, points: MetricPoint[], sx: (s: number) => number, sy: (v: number) => number, color: Rgb, dots: boolean): void {
  let prev: [number, number] | undefined;
  for (const p of points) {
    if (!Number.isFinite(p.value)) {
      prev = undefined;
      continue;
    }
    const here: [number, number] = [Math.round(sx(p.step)), Math.round(sy(p.value))];
    if (prev) line(png, prev[0], prev[1], here[0], here[1], color, 2);
    if (dots) for (let dx = -2; dx <= 2; dx++) for (let dy = -2; dy <= 2; dy++) set(png, here[0] + dx, here[1] + dy, color);
    prev = here;
  }
}

/** Bresenham line, `thickness` pixels wide. */
function line(png: PNG, x0: number, y0: number, x1: number, y1: number, color: Rgb, thickness = 1): void {
  const dx = Math.abs(x1 - x0);
  const dy = -Math.abs(y1 - y0);
  const stepX = x0 < x1 ? 1 : -1;
  const stepY = y0 < y1 ? 1 : -1;
  let err = dx + dy;
  for (;;) {
    for (let t = 0; t < thickness; t++) set(png, x0, y0 + t, color);
    if (x0 === x1 && y0 === y1) return;
    const e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x0 += stepX;
    }
    if (e2 <= dx) {
      err += dx;
      y0 += stepY;
    }
  }
}

function set(png: PNG, x: number, y: number, color: Rgb): void {
  if (x < 0 || y < 0 || x >= png.width || y >= png.height) return;
  const i = (y * png.width + x) * 4;
  png.data[i] = color[0];
  png.data[i + 1] = color[1];
  png.data[i + 2] = color[2];
  png.data[i + 3] = 255;
}
