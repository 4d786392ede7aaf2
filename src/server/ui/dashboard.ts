import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { toFinetuneError } from '../../errors.js';
import { recentEvaluationRuns } from '../../evaluation/stored-runs.js';
import { packageRoot } from '../../package-root.js';
import type { Services } from '../../services.js';
import { runningSeconds } from '../../training/ledger.js';
import { etaSeconds, summarizeJob } from '../../training/views.js';
import { bearerTokenMatches } from '../auth.js';
import { UiSessions } from './ui-sessions.js';

const PAGES = new Set(['/ui', '/ui/', '/ui/datasets', '/ui/evaluations', '/ui/registry']);
const STREAM_POLL_MS = 500;
const MAX_FORM_BYTES = 16 * 1024;

/** Static files of the dashboard: its own (assets/ui) and uPlot's build, read from node_modules where npm put it. */
function staticFiles(): Record<string, { path: string; type: string }> {
  const ui = join(packageRoot(), 'assets', 'ui');
  const uplot = dirname(createRequire(import.meta.url).resolve('uplot'));
  return {
    '/ui/assets/dashboard.js': { path: join(ui, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
    '/ui/assets/dashboard.css': { path: join(ui, 'dashboard.css'), type: 'text/css; charset=utf-8' },
    '/ui/assets/uPlot.iife.min.js': { path: join(uplot, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
    '/ui/assets/uPlot.min.css': { path: join(uplot, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
  };
}

/** One job as the job page shows it: what monitor_training returns, plus the whole loss and learning-rate curves. */
function jobView(services: Services, job_id: string) {
  const { jobs } = services;
  const job = jobs.get(job_id);
  return { ...summarizeJob(job), eta_s: etaSeconds(job), run_s: Math.round(runningSeconds(job) * 10) / 10, ...jobs.progress(job, { cursor: 0, limit: 200 }), curves: jobs.trainingCurves(job_id) };
}

/**
 * The dashboard at /ui (served by `serve --http` after the Host/Origin guard): a login page that
 * trades the bearer token for a session cookie, five pages (jobs, one job, datasets, evaluations, registry), a
 * read-only JSON API under /ui/api plus promote and rollback (POST with the session's CSRF token),
 * and a server-sent stream of a job's progress. Returns false for paths it does not own.
 */
export function createDashboardRoutes(services: Services, token: string | undefined) {
  const sessions = new UiSessions();
  const files = staticFiles();
  const log = services.logger.child({ area: 'dashboard' });

  return async function handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
    if (path !== '/ui' && !path.startsWith('/ui/')) return false;
    // Scripts and styles are public (they hold no data); the disabled page uses the stylesheet too.
    const file = files[path];
    if (req.method === 'GET' && file) {
      res.writeHead(200, { 'Content-Type': file.type, 'Cache-Control': 'no-cache' });
      res.end(readFileSync(file.path));
      return true;
    }
    if (!token) {
      sendHtml(res, 403, page('Dashboard disabled', '<p>The dashboard needs a bearer token: start the server with <code>FINETUNE_MCP_TOKEN</code> set to a secret of 16+ characters, then open /ui and enter it.</p>'));
      return true;
    }
    if (path === '/ui/login') {
      if (req.method === 'POST') {
        const given = new URLSearchParams(await readBody(req)).get('token') ?? '';
        if (!bearerTokenMatches(`Bearer ${given}`, token)) {
          log.warn('dashboard login refused: wrong token');
          sendHtml(res, 401, loginPage('That token is not the server’s FINETUNE_MCP_TOKEN. Try again.'));
          return true;
        }
        res.writeHead(303, { 'Set-Cookie': sessions.create(), Location: '/ui' });
        res.end();
        return true;
      }
      sendHtml(res, 200, loginPage());
      return true;
    }
    const session = sessions.of(req);
    if (!session) {
      if (path.startsWith('/ui/api/')) sendJson(res, 401, { error: 'unauthorized', message: 'Log in at /ui/login with the server’s token first.' });
      else {
        res.writeHead(303, { Location: '/ui/login' });
        res.end();
      }
      return true;
    }
    try {
      if (req.method === 'POST') {
        if (!sessions.csrfMatches(session, req.headers['x-csrf-token'])) {
          sendJson(res, 403, { error: 'csrf', message: 'Missing or wrong X-CSRF-Token: reload the page and try again.' });
          return true;
        }
        if (path === '/ui/logout') {
          res.writeHead(303, { 'Set-Cookie': sessions.destroy(session.id), Location: '/ui/login' });
          res.end();
          return true;
        }
        const body = parseJsonObject(await readBody(req));
        if (!body) {
          sendJson(res, 400, { error: 'bad_request', message: 'Send a JSON object body, e.g. {"name": "support-bot", "version": "1.1.0", "alias": "production"}.' });
          return true;
        }
        const { registryOf } = await import('../../registry/index.js');
        const registry = registryOf(services);
        if (path === '/ui/api/registry/promote') {
          const moved = registry.promote({ name: String(body.name ?? ''), version: String(body.version ?? ''), alias: String(body.alias ?? 'production') });
          sendJson(res, 200, { name: moved.version.name, alias: body.alias ?? 'production', from: moved.previous, to: moved.version.version, changed: moved.changed, gates: moved.gates });
          return true;
        }
        if (path === '/ui/api/registry/rollback') {
          const moved = registry.rollback({ name: String(body.name ?? ''), alias: String(body.alias ?? 'production'), reason: String(body.reason ?? '') });
          sendJson(res, 200, { name: body.name, alias: body.alias ?? 'production', from: moved.from.version, to: moved.to.version });
          return true;
        }
      } else if (req.method === 'GET') {
        if (PAGES.has(path) || /^\/ui\/jobs\/[\w-]+$/.test(path)) {
          sendHtml(res, 200, shell(session.csrf));
          return true;
        }
        if (path === '/ui/api/jobs') {
          sendJson(res, 200, { jobs: services.jobs.list({ limit: 100 }).jobs.map(summarizeJob) });
          return true;
        }
        const stream = /^\/ui\/api\/jobs\/([\w-]+)\/stream$/.exec(path);
        if (stream) {
          streamJob(services, stream[1]!, req, res);
          return true;
        }
        const job = /^\/ui\/api\/jobs\/([\w-]+)$/.exec(path);
        if (job) {
          sendJson(res, 200, jobView(services, job[1]!));
          return true;
        }
        if (path === '/ui/api/datasets') {
          const { datasets } = services.datasets.list({ limit: 100, offset: 0 });
          sendJson(res, 200, { datasets: datasets.map((d) => ({ id: d.id, name: d.manifest.name ?? null, task_type: d.task_type, parent_id: d.parent_id, counts: d.manifest.counts, token_stats: d.manifest.token_stats, report: d.manifest.report ?? {}, created_at: d.manifest.created_at })) });
          return true;
        }
        if (path === '/ui/api/evaluations') {
          sendJson(res, 200, recentEvaluationRuns(services.workspace, { limit: 50, samples: 3 }));
          return true;
        }
        if (path === '/ui/api/registry') {
          const { registryOf } = await import('../../registry/index.js');
          const registry = registryOf(services);
          const versions = registry.list();
          const history = [...new Set(versions.map((v) => v.name))].flatMap((name) => registry.history(name).map((e) => ({ name, ...e, gates: undefined })));
          sendJson(res, 200, { versions: versions.map(({ version_id, name, version, aliases, metrics, lineage, created_at, tainted }) => ({ version_id, name, version, aliases, metrics, lineage, created_at, tainted })), history });
          return true;
        }
      }
      if (path.startsWith('/ui/api/')) sendJson(res, 404, { error: 'not_found', message: `No ${req.method} ${path}. API: GET /ui/api/jobs, /ui/api/jobs/<id>, /ui/api/jobs/<id>/stream, /ui/api/datasets, /ui/api/evaluations, /ui/api/registry; POST /ui/api/registry/promote, /ui/api/registry/rollback.` });
      else sendHtml(res, 404, page('Not found', `<p>No page ${escapeHtml(path)}. <a href="/ui">Jobs</a></p>`));
    } catch (thrown) {
      const error = toFinetuneError(thrown);
      if (error.code === 'INTERNAL') log.error({ err: thrown }, 'dashboard request failed');
      sendJson(res, error.code === 'NOT_FOUND' ? 404 : 400, { error: error.code, message: error.message, recovery: error.recovery });
    }
    return true;
  };
}

/**
 * Server-sent events of one job: a `job` event with the whole view at once, then again whenever its
 * status, step, last event or number of metric points changes (the ledger is polled: a local job's
 * worker writes it from another process, so no in-process notification sees every point).
 */
function streamJob(services: Services, job_id: string, req: IncomingMessage, res: ServerResponse): void {
  services.jobs.get(job_id); // NOT_FOUND before the stream opens
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
  let last = '';
  const send = () => {
    const view = jobView(services, job_id);
    const mark = `${view.status}|${view.step}|${view.next_cursor}|${view.curves.train_loss.length}|${view.curves.eval_loss.length}`;
    if (mark === last) return;
    last = mark;
    res.write(`event: job\ndata: ${JSON.stringify(view)}\n\n`);
  };
  send();
  const timer = setInterval(() => {
    try {
      send();
    } catch (error) {
      services.logger.warn({ err: error, job_id }, 'dashboard stream stopped');
      clearInterval(timer);
      res.end();
    }
  }, STREAM_POLL_MS);
  req.on('close', () => clearInterval(timer));
}

function shell(csrf: string): string {
  return page(
    'finetune-mcp',
    '<main id="app"><p>Loading…</p></main><script src="/ui/assets/uPlot.iife.min.js"></script><script src="/ui/assets/dashboard.js"></script>',
    `<meta name="csrf-token" content="${escapeHtml(csrf)}"><link rel="stylesheet" href="/ui/assets/uPlot.min.css">`,
  );
}

function loginPage(error?: string): string {
  return page(
    'Log in',
    `<main class="login"><h1>finetune-mcp</h1><form method="post" action="/ui/login"><label>Server token (FINETUNE_MCP_TOKEN)<input type="password" name="token" autocomplete="current-password" required autofocus></label><button type="submit">Log in</button></form>${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}</main>`,
  );
}

function page(title: string, body: string, head = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><link rel="icon" href="data:,">${head}<link rel="stylesheet" href="/ui/assets/dashboard.css"></head><body>${body}</body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  // No framing by other sites, no scripts but our own files: the pages show workspace data.
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': "default-src 'self'; frame-ancestors 'none'; img-src 'self' data:", 'X-Content-Type-Options': 'nosniff' });
  res.end(html);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(value));
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text || '{}');
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) break;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
