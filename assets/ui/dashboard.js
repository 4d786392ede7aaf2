// The finetune-mcp dashboard: plain DOM and uPlot, no build step. Data comes from /ui/api (same-origin,
// session cookie); a job page follows /ui/api/jobs/<id>/stream (server-sent events).
'use strict';
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const app = document.getElementById('app');

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      // Through the CSSOM: the page's Content-Security-Policy blocks style attributes.
      else if (k === 'style') node.style.cssText = v;
      else node.setAttribute(k, v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
    return node;
  }
  const fmt = (v) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : v === null || v === undefined ? '–' : String(v));

  async function api(path, body) {
    const res = await fetch(path, body ? { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify(body) } : {});
    if (res.status === 401) location.href = '/ui/login';
    const json = await res.json();
    if (!res.ok) throw new Error(`${json.error}: ${json.message}${json.recovery ? ` ${json.recovery}` : ''}`);
    return json;
  }

  function nav() {
    const logout = el('form', { method: 'post', action: '/ui/logout', class: 'logout' }, el('button', { type: 'submit' }, 'Log out'));
    // The logout POST needs the CSRF header, which a plain form cannot send.
    logout.addEventListener('submit', async (e) => {
      e.preventDefault();
      await fetch('/ui/logout', { method: 'POST', headers: { 'x-csrf-token': csrf } });
      location.href = '/ui/login';
    });
    return el('nav', {}, el('a', { href: '/ui' }, 'Jobs'), el('a', { href: '/ui/datasets' }, 'Datasets'), el('a', { href: '/ui/evaluations' }, 'Evaluations'), el('a', { href: '/ui/registry' }, 'Registry'), logout);
  }

  function table(columns, rows) {
    return el('table', {}, el('thead', {}, el('tr', {}, columns.map((c) => el('th', {}, c.label)))), el('tbody', {}, rows.map((r) => el('tr', {}, columns.map((c) => el('td', {}, c.cell(r)))))));
  }

  function show(...nodes) {
    app.replaceChildren(nav(), ...nodes.flat().filter((n) => n !== null));
  }

  function failed(error) {
    show(el('p', { class: 'error', role: 'alert' }, error.message));
  }

  async function jobsPage() {
    const { jobs } = await api('/ui/api/jobs');
    show(
      el('h1', {}, 'Jobs'),
      jobs.length
        ? table(
            [
              { label: 'Job', cell: (j) => el('a', { href: `/ui/jobs/${j.job_id}` }, j.job_id) },
              { label: 'Status', cell: (j) => el('span', { class: `status ${j.status}` }, j.status) },
              { label: 'Step', cell: (j) => `${j.step}/${j.total_steps || '?'}` },
              { label: 'Backend', cell: (j) => j.backend },
              { label: 'Created', cell: (j) => j.created_at },
            ],
            jobs,
          )
        : el('p', {}, 'No jobs yet: start one with start_training.'),
    );
  }

  /** Union of the steps of every series, each series aligned to it (null where it has no point). */
  function aligned(series) {
    const steps = [...new Set(series.flatMap((s) => s.map((p) => p.step)))].sort((a, b) => a - b);
    return [steps, ...series.map((s) => {
      const byStep = new Map(s.map((p) => [p.step, p.value]));
      return steps.map((x) => (byStep.has(x) ? byStep.get(x) : null));
    })];
  }

  function lossChart(target) {
    const opts = {
      width: Math.min(900, target.clientWidth || 900),
      height: 300,
      title: 'Loss',
      scales: { x: { time: false } },
      axes: [{ label: 'step' }, { label: 'loss' }],
      series: [{ label: 'step' }, { label: 'train loss', stroke: '#1f77b4', spanGaps: true }, { label: 'eval loss', stroke: '#d62728', spanGaps: true, points: { show: true } }],
    };
    return new uPlot(opts, [[], [], []], target);
  }

  async function jobPage(job_id) {
    await api(`/ui/api/jobs/${encodeURIComponent(job_id)}`); // an unknown job: its error, not an empty page
    const heading = el('h1', {}, job_id);
    const summary = el('p', { id: 'job-summary' });
    const chartBox = el('div', { id: 'loss-chart', class: 'chart' });
    const events = el('div', { id: 'job-events' });
    const checkpoints = el('div', { id: 'job-checkpoints' });
    show(heading, summary, chartBox, el('h2', {}, 'Checkpoints'), checkpoints, el('h2', {}, 'Events'), events);
    const chart = lossChart(chartBox);
    const source = new EventSource(`/ui/api/jobs/${encodeURIComponent(job_id)}/stream`);
    source.addEventListener('job', (message) => {
      const job = JSON.parse(message.data);
      const loss = job.metrics.loss ? job.metrics.loss.value : null;
      summary.replaceChildren(el('span', { class: `status ${job.status}` }, job.status), ` step ${job.step}/${job.total_steps || '?'}, loss ${fmt(loss)}, best eval ${job.best_eval ? fmt(job.best_eval.eval_loss) : '–'}${job.eta_s === null ? '' : `, ETA ${fmt(job.eta_s)} s`}`);
      summary.dataset.points = String(job.curves.train_loss.length);
      chart.setData(aligned([job.curves.train_loss, job.curves.eval_loss]));
      checkpoints.replaceChildren(job.checkpoints.length ? table([{ label: 'Step', cell: (c) => c.step }, { label: 'Folder', cell: (c) => c.path }, { label: 'Saved', cell: (c) => c.created_at }], job.checkpoints) : el('p', {}, 'None yet.'));
      events.replaceChildren(table([{ label: '#', cell: (e) => e.seq }, { label: 'Time', cell: (e) => e.time }, { label: 'Level', cell: (e) => e.level }, { label: 'Type', cell: (e) => e.type }, { label: 'Message', cell: (e) => e.message }], job.events.slice().reverse()));
      if (['succeeded', 'failed', 'cancelled', 'interrupted'].includes(job.status)) source.close();
    });
    source.onerror = () => summary.append(' (stream interrupted; reload to retry)');
  }

  async function datasetsPage() {
    const { datasets } = await api('/ui/api/datasets');
    show(
      el('h1', {}, 'Datasets'),
      datasets.length
        ? datasets.map((d) =>
            el(
              'section',
              { class: 'card' },
              el('h2', {}, `${d.id}${d.name ? ` (${d.name})` : ''}`),
              el('p', {}, `${d.task_type}; ${d.counts.rows} rows (train ${fmt(d.counts.train)}, validation ${fmt(d.counts.validation)}, test ${fmt(d.counts.test)}); parent ${fmt(d.parent_id)}; ${d.created_at}`),
              tokenBars(d.token_stats),
              Object.keys(d.report).length ? el('details', {}, el('summary', {}, 'Validation and cleaning report'), el('pre', {}, JSON.stringify(d.report, null, 2))) : null,
            ),
          )
        : el('p', {}, 'No datasets yet: prepare one with prepare_dataset.'),
    );
  }

  /**
   * Tokens per example: the recorded histogram as columns (one a bin, its range on hover and under the
   * axis), then the percentiles; versions made before histograms were kept show the percentiles only.
   */
  function tokenBars(stats) {
    const total = typeof stats.total === 'number' ? `, ${stats.total} in all` : '';
    const caption = el('figcaption', {}, `Tokens per example (${stats.tokenizer}${total})`);
    const keys = ['min', 'p50', 'p90', 'p95', 'max'].filter((k) => typeof stats[k] === 'number');
    const percentiles = el('p', { class: 'percentiles' }, keys.map((k) => `${k} ${fmt(stats[k])}`).join(' · '));
    const h = stats.histogram;
    if (!h || !h.counts.length) return el('figure', { class: 'histogram' }, caption, percentiles);
    const top = Math.max(1, ...h.counts);
    const range = (i) => (h.edges[i + 1] - h.edges[i] === 1 ? `${h.edges[i]}` : `${h.edges[i]}–${h.edges[i + 1] - 1}`);
    const columns = h.counts.map((c, i) => el('div', { class: 'column', title: `${range(i)} tokens: ${c} examples`, 'data-count': String(c) }, el('span', { class: 'fill', style: `height:${(100 * c) / top}%` })));
    const axis = el('div', { class: 'axis' }, el('span', {}, `${h.edges[0]} tokens`), el('span', {}, `examples per bin (most: ${top})`), el('span', {}, `${h.edges[h.edges.length - 1] - 1} tokens`));
    return el('figure', { class: 'histogram' }, caption, el('div', { class: 'columns' }, columns), axis, percentiles);
  }

  /** Evaluations on the same dataset side by side (a metric a row, a model a column, with the 95% interval), then their samples. */
  async function evaluationsPage() {
    const { evaluations, comparisons } = await api('/ui/api/evaluations');
    const byDataset = new Map();
    for (const e of evaluations) byDataset.set(e.dataset, [...(byDataset.get(e.dataset) || []), e]);
    const interval = (e, m) => (e.ci[m] ? ` [${fmt(e.ci[m].low)}, ${fmt(e.ci[m].high)}]` : '');
    show(
      el('h1', {}, 'Evaluations'),
      evaluations.length ? null : el('p', {}, 'No evaluations yet: run evaluate_model.'),
      [...byDataset].map(([dataset, runs]) => {
        const metrics = [...new Set(runs.flatMap((e) => Object.keys(e.metrics)))];
        return el(
          'section',
          { class: 'card evaluation' },
          el('h2', {}, dataset),
          table([{ label: 'Metric', cell: (m) => m }, ...runs.map((e) => ({ label: `${e.model} (${e.evaluation_id}, ${e.examples} cases)`, cell: (m) => `${fmt(e.metrics[m])}${interval(e, m)}` }))], metrics),
          el('details', {}, el('summary', {}, 'Samples'), table([{ label: 'Case', cell: (i) => fmt(runs[0].samples[i] && runs[0].samples[i].line) }, { label: 'Reference', cell: (i) => fmt(runs[0].samples[i] && runs[0].samples[i].reference) }, ...runs.map((e) => ({ label: e.model, cell: (i) => fmt((e.samples.find((x) => x.line === runs[0].samples[i].line) || {}).prediction) }))], [...runs[0].samples.keys()])),
        );
      }),
      el('h1', {}, 'Comparisons'),
      comparisons.length
        ? comparisons.map((c) => {
            const metrics = [...new Set(c.models.flatMap((m) => Object.keys(m.metrics)))];
            const labels = c.models.map((m) => m.model);
            return el(
              'section',
              { class: 'card comparison' },
              el('h2', {}, `${c.comparison_id} on ${c.dataset}`),
              table([{ label: 'Metric', cell: (m) => m }, ...c.models.map((x) => ({ label: x.model, cell: (m) => fmt(x.metrics[m]) }))], metrics),
              el('details', {}, el('summary', {}, 'Samples'), table([{ label: 'Prompt', cell: (s) => fmt(s.prompt) }, { label: 'Reference', cell: (s) => fmt(s.reference) }, ...labels.map((l) => ({ label: l, cell: (s) => fmt(s.outputs && s.outputs[l]) }))], c.samples)),
            );
          })
        : el('p', {}, 'No comparisons yet: run compare_models.'),
    );
  }

  /**
   * Lineage as a graph: base model and dataset versions (with the versions they derive from) feed a job,
   * the job a model version, the version its evaluations. Layers by longest path, drawn as SVG.
   */
  function lineageGraph(versions, datasets) {
    const nodes = new Map();
    const edges = [];
    const parentOf = new Map(datasets.map((d) => [d.id, d.parent_id]));
    const add = (id, kind, label) => (nodes.has(id) || nodes.set(id, { id, kind, label }), id);
    const link = (from, to) => edges.push([from, to]);
    for (const v of versions) {
      const version = add(`v:${v.version_id}`, v.tainted && v.tainted.length ? 'version tainted' : 'version', `${v.name}@${v.version}${v.aliases.length ? ` [${v.aliases.join(', ')}]` : ''}`);
      const job = v.lineage.job_id ? add(`j:${v.lineage.job_id}`, 'job', v.lineage.job_id) : null;
      const into = job || version;
      if (job) link(job, version);
      if (v.lineage.base_model) link(add(`m:${v.lineage.base_model}`, 'model', v.lineage.base_model), into);
      for (let d = v.lineage.dataset_id, child = into; d; child = `d:${d}`, d = parentOf.get(d)) {
        const seen = nodes.has(`d:${d}`);
        link(add(`d:${d}`, 'dataset', d), child);
        if (seen) break;
      }
      for (const e of v.lineage.evaluation_ids) link(version, add(`e:${e}`, 'evaluation', e));
    }
    const layer = new Map([...nodes.keys()].map((id) => [id, 0]));
    for (let pass = 0; pass < nodes.size; pass++) for (const [a, b] of edges) if (layer.get(b) <= layer.get(a)) layer.set(b, layer.get(a) + 1);
    const rows = new Map();
    const at = new Map();
    for (const [id, l] of layer) {
      const row = rows.get(l) || 0;
      rows.set(l, row + 1);
      at.set(id, { x: 10 + l * 200, y: 10 + row * 44 });
    }
    const NS = 'http://www.w3.org/2000/svg';
    const svg = (tag, attrs, ...children) => {
      const node = document.createElementNS(NS, tag);
      for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
      node.append(...children);
      return node;
    };
    const width = 10 + (Math.max(0, ...layer.values()) + 1) * 200;
    const height = 10 + Math.max(1, ...rows.values()) * 44;
    const unique = [...new Set(edges.map((e) => e.join('>')))].map((e) => e.split('>'));
    return svg(
      'svg',
      { class: 'lineage', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'Lineage graph' },
      svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 8 8', refX: '8', refY: '4', markerWidth: '8', markerHeight: '8', orient: 'auto' }, svg('path', { d: 'M0,0 L8,4 L0,8 z' }))),
      ...unique.map(([a, b]) => svg('line', { x1: at.get(a).x + 170, y1: at.get(a).y + 15, x2: at.get(b).x, y2: at.get(b).y + 15, 'marker-end': 'url(#arrow)' })),
      ...[...nodes.values()].map((n) => svg('g', { class: `node ${n.kind}`, 'data-id': n.id, transform: `translate(${at.get(n.id).x},${at.get(n.id).y})` }, svg('title', {}, `${n.kind}: ${n.label}`), svg('rect', { width: 170, height: 30, rx: 4 }), svg('text', { x: 6, y: 19 }, n.label.length > 26 ? `${n.label.slice(0, 25)}…` : n.label))),
    );
  }

  async function registryPage() {
    const [{ versions, history }, { datasets }] = await Promise.all([api('/ui/api/registry'), api('/ui/api/datasets')]);
    const status = el('p', { id: 'registry-status', role: 'status' });
    const act = async (label, path, body) => {
      if (!window.confirm(label)) return;
      try {
        const moved = await api(path, body);
        status.textContent = `${moved.alias} of ${moved.name}: ${moved.from ?? 'unset'} → ${moved.to}`;
        await registryPage();
        document.getElementById('registry-status').textContent = status.textContent;
      } catch (error) {
        status.textContent = error.message;
        status.className = 'error';
      }
    };
    show(
      el('h1', {}, 'Registry'),
      status,
      versions.length
        ? table(
            [
              { label: 'Model', cell: (v) => v.name },
              { label: 'Version', cell: (v) => (v.tainted && v.tainted.length ? [v.version, ' ', el('span', { class: 'error', title: 'Trained on data later erased (erase_subject); promotion needs force and a reason.' }, 'tainted')] : v.version) },
              { label: 'Aliases', cell: (v) => v.aliases.join(', ') || '–' },
              { label: 'Lineage', cell: (v) => [v.lineage.base_model, v.lineage.dataset_id, v.lineage.job_id].filter(Boolean).join(' → ') },
              { label: 'Metrics', cell: (v) => Object.entries(v.metrics).map(([k, x]) => `${k} ${fmt(x)}`).join(', ') || '–' },
              {
                label: '',
                cell: (v) => [
                  v.aliases.includes('production') ? null : el('button', { class: 'promote', 'data-version': v.version, onclick: () => act(`Promote ${v.name}@${v.version} to production? Gates are checked first.`, '/ui/api/registry/promote', { name: v.name, version: v.version, alias: 'production' }) }, 'Promote to production'),
                  v.aliases.includes('production') && history.some((h) => h.name === v.name && h.alias === 'production' && h.from_version)
                    ? el('button', { class: 'rollback', onclick: () => { const reason = window.prompt('Why roll back production?'); if (reason) act(`Roll back production of ${v.name}?`, '/ui/api/registry/rollback', { name: v.name, alias: 'production', reason }); } }, 'Roll back')
                    : null,
                ],
              },
            ],
            versions,
          )
        : el('p', {}, 'No registered versions yet: register_model after training.'),
      versions.length ? [el('h2', {}, 'Lineage'), el('div', { class: 'lineage-box' }, lineageGraph(versions, datasets))] : null,
      el('h2', {}, 'Alias history'),
      table([{ label: 'Model', cell: (h) => h.name }, { label: 'Alias', cell: (h) => h.alias }, { label: 'Action', cell: (h) => h.action }, { label: 'From', cell: (h) => fmt(h.from_version) }, { label: 'To', cell: (h) => h.to_version }, { label: 'Reason', cell: (h) => h.reason }], history.slice().reverse()),
    );
  }

  const path = location.pathname.replace(/\/$/, '');
  const job = /^\/ui\/jobs\/([\w-]+)$/.exec(path);
  const route = job ? () => jobPage(job[1]) : path === '/ui/datasets' ? datasetsPage : path === '/ui/evaluations' ? evaluationsPage : path === '/ui/registry' ? registryPage : jobsPage;
  Promise.resolve().then(route).catch(failed);
})();
