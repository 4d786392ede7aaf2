import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Spec } from 'vega';

/**
 * Vega spec → SVG (for pages) and → PNG (for tool results). Vega lays out axes, ticks, legends and
 * titles headless (no canvas: text widths are estimated); resvg rasterises the SVG with the font
 * shipped in assets/fonts and no system fonts, so a PNG is the same on every machine.
 * Tools load this module inside their handlers: vega and resvg never load at server start-up.
 */

/** The family every plot's text uses: the one font file resvg is given. */
const PLOT_FONT = 'DejaVu Sans';

/** assets/ sits beside src/ in the source tree and beside dist/src in the build. */
function fontFile(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const root of [join(here, '..', '..'), join(here, '..', '..', '..')]) {
    const file = join(root, 'assets', 'fonts', 'DejaVuSans.ttf');
    if (existsSync(file)) return file;
  }
  throw new Error(`assets/fonts/DejaVuSans.ttf is missing beside ${here}: the package was installed without its assets folder.`);
}

/** Fonts, sizes and colours shared by every plot (Vega's config block). */
export const PLOT_CONFIG = {
  // No background rect in the SVG, so the PNG can be cropped to what is drawn (see svgToPng).
  background: null,
  padding: 12,
  title: { font: PLOT_FONT, fontSize: 15, fontWeight: 'normal', anchor: 'start', offset: 10 },
  axis: { labelFont: PLOT_FONT, titleFont: PLOT_FONT, labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#e6e6e6', domainColor: '#555', tickColor: '#555', labelColor: '#333', titleColor: '#222' },
  legend: { labelFont: PLOT_FONT, titleFont: PLOT_FONT, labelFontSize: 12, titleFontSize: 12, titleFontWeight: 'normal' },
  text: { font: PLOT_FONT },
} as const;

/** Renders a Vega spec to an SVG document. */
async function renderSvg(spec: Spec): Promise<string> {
  const vega = await import('vega');
  const view = new vega.View(vega.parse(spec), { renderer: 'none', logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Rasterises an SVG from renderSvg to PNG bytes on white; `scale` 2 gives a sharper image at twice the size.
 * Without a canvas Vega estimates text wider than DejaVu Sans draws it, which leaves a blank band on the
 * right of wide titles; the PNG is cropped to what is drawn, plus a margin.
 */
async function svgToPng(svg: string, scale = 1): Promise<Uint8Array> {
  const { Resvg } = await import('@resvg/resvg-js');
  const resvg = new Resvg(svg, {
    font: { loadSystemFonts: false, fontFiles: [fontFile()], defaultFontFamily: PLOT_FONT, sansSerifFamily: PLOT_FONT },
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    logLevel: 'off',
  });
  const drawn = resvg.getBBox();
  if (drawn) {
    const margin = 12;
    const right = Math.min(resvg.width, Math.ceil(drawn.x + drawn.width + margin));
    const bottom = Math.min(resvg.height, Math.ceil(drawn.y + drawn.height + margin));
    // cropByBBox takes only a BBox that resvg made: this one, moved.
    drawn.x = Math.max(0, Math.floor(drawn.x - margin));
    drawn.y = Math.max(0, Math.floor(drawn.y - margin));
    drawn.width = right - drawn.x;
    drawn.height = bottom - drawn.y;
    resvg.cropByBBox(drawn);
  }
  return new Uint8Array(resvg.render().asPng());
}

/** Both forms of one plot: the SVG for pages, the PNG for tool results. */
export async function renderPlot(spec: Spec, scale = 1): Promise<{ svg: string; png: Uint8Array }> {
  const svg = await renderSvg(spec);
  return { svg, png: await svgToPng(svg, scale) };
}
