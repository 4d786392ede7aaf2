import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { packageRoot } from '../../package-root.js';

/** The MCP App (ext-apps) view that monitor_training and compare_models name in `_meta.ui.resourceUri`. */
export const MCP_APP_URI = 'ui://finetune-mcp/view.html';

let cached: string | undefined;

/**
 * The view as one self-contained HTML page: hosts render it in a sandboxed frame that may load
 * nothing from elsewhere, so uPlot and the ext-apps App class (its browser bundle with its
 * dependencies) are inlined. The bundle is an ES module ending in `export{…}`; that statement
 * becomes an object on globalThis, which the page's module script reads.
 */
export function mcpAppHtml(): string {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const uplot = dirname(require.resolve('uplot'));
  const bundle = readFileSync(join(dirname(require.resolve('@modelcontextprotocol/ext-apps')), 'app-with-deps.js'), 'utf8');
  const exported = /export\s*\{([^}]*)\};?\s*$/.exec(bundle);
  if (!exported) throw new Error('@modelcontextprotocol/ext-apps/app-with-deps no longer ends in an export list; update src/server/ui/mcp-app.ts.');
  const names = exported[1]!.split(',').map((pair) => {
    const [local, as] = pair.trim().split(/\s+as\s+/);
    return `${JSON.stringify(as ?? local)}:${local}`;
  });
  const app = `${bundle.slice(0, exported.index)}\nglobalThis.__finetuneExtApps={${names.join(',')}};`;
  // Replacer functions: the inlined code holds `$&`-like sequences that a replacement string would expand.
  cached = readFileSync(join(packageRoot(), 'assets', 'ui', 'mcp-app.html'), 'utf8')
    .replace('/*UPLOT_CSS*/', () => readFileSync(join(uplot, 'uPlot.min.css'), 'utf8'))
    .replace('/*UPLOT_JS*/', () => readFileSync(join(uplot, 'uPlot.iife.min.js'), 'utf8').replace(/<\/script/gi, '<\\/script'))
    .replace('/*EXT_APPS*/', () => app.replace(/<\/script/gi, '<\\/script'));
  return cached;
}
