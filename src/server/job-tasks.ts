import type { McpServer, RegisteredTool } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CreateTaskOptions, TaskStore } from '@modelcontextprotocol/sdk/experimental/tasks/interfaces.js';
import type { CallToolResult, Request, RequestId, Result, Task } from '@modelcontextprotocol/sdk/types.js';
import { toFinetuneError } from '../errors.js';
import type { Services } from '../services.js';
import { isTerminal, type JobRecord } from '../training/ledger.js';
import { summarizeJob } from '../training/views.js';
import { startTraining, startTrainingTool } from '../../tools/start-training.js';
import { textWithStructured } from './tool.js';

/**
 * MCP tasks for start_training, kept in the workspace ledger so they outlive this process.
 * A task's id is its job's id and its state is the job's: working while queued, preparing or
 * running (or interrupted, waiting for resume_training), then completed / failed / cancelled as
 * the job ends; tasks/result is the job's final summary. A plain tools/call (no task requested)
 * completes as soon as the job is queued, so start_training still answers at once.
 * A start that returns an existing job (the plan or idempotency_key already started one) gives a
 * task that follows that job (`job_id`). The task keeps the ttl the client asked for, and its
 * pollInterval scales with the plan's estimated duration (about 20 polls over the run).
 */
interface TaskRow {
  task_id: string;
  mode: 'task' | 'call';
  session_id: string | null;
  ttl: number | null;
  poll_interval: number;
  /** The job the task follows when it is not the task's own id (a start that returned an existing job). */
  job_id: string | null;
  status: Task['status'] | null;
  status_message: string | null;
  result: string | null;
  created_at: string;
  updated_at: string;
}

/** pollInterval before the job's duration is known, and its bounds. */
const POLL_MS = 2000;
const MIN_POLL_MS = 500;
const MAX_POLL_MS = 30_000;

/** About 20 polls over the plan's estimated run time, within 0.5–30 s; 2 s when there is no estimate. */
function pollIntervalFor(estimated_s: number | undefined): number {
  if (estimated_s === undefined || !Number.isFinite(estimated_s) || estimated_s < 0) return POLL_MS;
  return Math.round(Math.min(MAX_POLL_MS, Math.max(MIN_POLL_MS, (estimated_s * 1000) / 20)));
}

export class LedgerTaskStore implements TaskStore {
  constructor(private readonly services: Services) {}

  private get db() {
    return this.services.workspace.db;
  }

  /** A task that has outlived its ttl no longer exists (its job does: monitor_training still shows it). */
  private row(taskId: string): TaskRow | undefined {
    const row = this.db.prepare('SELECT * FROM job_tasks WHERE task_id = ?').get(taskId) as TaskRow | undefined;
    return row && !expired(row) ? row : undefined;
  }

  private job(row: TaskRow): JobRecord | undefined {
    return this.services.jobs.jobLedger.find(row.job_id ?? row.task_id);
  }

  async createTask(taskParams: CreateTaskOptions, _requestId: RequestId, request: Request, sessionId?: string): Promise<Task> {
    const now = new Date().toISOString();
    const mode = (request.params as { task?: unknown } | undefined)?.task ? 'task' : 'call';
    // Tasks past their ttl are gone for good (their jobs stay in the ledger).
    this.db.prepare(`DELETE FROM job_tasks WHERE ttl IS NOT NULL AND (julianday('now') - julianday(created_at)) * 86400000 > ttl`).run();
    const taskId = this.services.workspace.newId('job');
    this.db
      .prepare('INSERT INTO job_tasks (task_id, mode, session_id, ttl, poll_interval, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(taskId, mode, sessionId ?? null, taskParams.ttl ?? null, taskParams.pollInterval ?? POLL_MS, now, now);
    return (await this.getTask(taskId))!;
  }

  async getTask(taskId: string): Promise<Task | null> {
    const row = this.row(taskId);
    if (!row) return null;
    const job = this.job(row);
    const base = { taskId, ttl: row.ttl, createdAt: row.created_at, pollInterval: row.poll_interval };
    if (row.status && (row.mode === 'call' || !job || row.status === 'cancelled')) {
      return { ...base, status: row.status, lastUpdatedAt: row.updated_at, ...(row.status_message ? { statusMessage: row.status_message } : {}) };
    }
    if (!job) return { ...base, status: 'working', lastUpdatedAt: row.updated_at, statusMessage: 'Starting the job.' };
    return { ...base, status: taskStatus(job), lastUpdatedAt: job.updated_at, statusMessage: statusMessage(job) };
  }

  async storeTaskResult(taskId: string, status: 'completed' | 'failed', result: Result): Promise<void> {
    this.db.prepare('UPDATE job_tasks SET status = ?, result = ?, updated_at = ? WHERE task_id = ?').run(status, JSON.stringify(result), new Date().toISOString(), taskId);
  }

  async getTaskResult(taskId: string): Promise<Result> {
    const row = this.row(taskId);
    if (!row) throw new Error(`No task ${taskId}.`);
    const job = this.job(row);
    if (row.mode === 'task' && job && isTerminal(job.status)) return finalResult(job, row.job_id !== null);
    if (row.result) return JSON.parse(row.result) as Result;
    throw new Error(`Task ${taskId} has no result yet.`);
  }

  async updateTaskStatus(taskId: string, status: Task['status'], statusMessage?: string): Promise<void> {
    const row = this.row(taskId);
    const job = row && this.job(row);
    if (status === 'cancelled' && job) await this.services.jobs.cancel(job.job_id);
    this.db.prepare('UPDATE job_tasks SET status = ?, status_message = ?, updated_at = ? WHERE task_id = ?').run(status, statusMessage ?? null, new Date().toISOString(), taskId);
  }

  async listTasks(cursor?: string, sessionId?: string): Promise<{ tasks: Task[]; nextCursor?: string }> {
    const rows = this.db
      .prepare(`SELECT task_id FROM job_tasks WHERE mode = 'task' AND task_id > ? AND (? IS NULL OR session_id IS NULL OR session_id = ?) ORDER BY task_id LIMIT 101`)
      .pluck()
      .all(cursor ?? '', sessionId ?? null, sessionId ?? null) as string[];
    const tasks = (await Promise.all(rows.slice(0, 100).map((id) => this.getTask(id)))).filter((t): t is Task => t !== null);
    return { tasks, ...(rows.length > 100 ? { nextCursor: rows[99] } : {}) };
  }
}

/** Records the job a task follows and the pollInterval its expected duration calls for. */
function followJob(services: Services, taskId: string, job_id: string, estimated_s: number | undefined): void {
  services.workspace.db
    .prepare('UPDATE job_tasks SET job_id = ?, poll_interval = ? WHERE task_id = ?')
    .run(job_id === taskId ? null : job_id, pollIntervalFor(estimated_s), taskId);
}

function expired(row: TaskRow): boolean {
  return row.ttl !== null && Date.parse(row.created_at) + row.ttl < Date.now();
}

function taskStatus(job: JobRecord): Task['status'] {
  if (job.status === 'succeeded') return 'completed';
  if (job.status === 'failed') return 'failed';
  if (job.status === 'cancelled') return 'cancelled';
  return 'working';
}

function statusMessage(job: JobRecord): string {
  if (job.status === 'interrupted') return 'Interrupted: call resume_training to continue from the last checkpoint.';
  return `${job.status}, step ${job.step}/${job.total_steps || '?'}${job.error_code ? ` [${job.error_code}] ${job.error_message ?? ''}` : ''}`;
}

function finalResult(job: JobRecord, existing: boolean): CallToolResult {
  const summary = summarizeJob(job);
  const text = `Job ${job.job_id} ${job.status} at step ${job.step}${job.error_code ? `: [${job.error_code}] ${job.error_message ?? ''}\nRecovery: ${summary.recovery ?? ''}` : ''}.`;
  const structured = { job_id: job.job_id, status: job.status, backend: job.backend, plan_id: job.plan_id, total_steps: job.total_steps, queue_position: 0, existing };
  return { content: [{ type: 'text', text: textWithStructured(text, structured) }], structuredContent: structured, ...(job.status === 'succeeded' ? {} : { isError: true }) };
}

/** Registers start_training as a task-capable tool (taskSupport optional) in place of the plain registration. */
export function registerStartTrainingTask(server: McpServer, services: Services): RegisteredTool {
  const tool = startTrainingTool;
  return server.experimental.tasks.registerToolTask(
    tool.name,
    {
      title: tool.title,
      description: tool.description,
      inputSchema: tool.input,
      outputSchema: tool.output,
      annotations: { title: tool.title, ...tool.annotations },
      execution: { taskSupport: 'optional' },
    },
    {
      async createTask(args, extra) {
        // The ttl the client asked for (tasks spec: the receiver returns the ttl it keeps), null when it asked for none.
        const task = await extra.taskStore.createTask({ ttl: extra.taskRequestedTtl ?? null, pollInterval: POLL_MS });
        const logger = services.logger.child({ tool: tool.name, task: task.taskId });
        try {
          const output = await startTraining(services, args, task.taskId);
          const plan = output.plan_id ? services.jobs.jobLedger.getPlan(output.plan_id) : undefined;
          followJob(services, task.taskId, output.job_id, (plan?.estimate as { time?: { value?: number } } | undefined)?.time?.value);
          services.metrics.tool_calls.inc({ tool: tool.name, outcome: 'ok' });
          await extra.taskStore.storeTaskResult(task.taskId, 'completed', { content: [{ type: 'text', text: textWithStructured(tool.summarize?.(output), output) }], structuredContent: output });
        } catch (thrown) {
          const error = toFinetuneError(thrown);
          services.metrics.tool_calls.inc({ tool: tool.name, outcome: 'error' });
          if (error.code === 'INTERNAL') logger.error({ err: thrown }, 'tool failed unexpectedly');
          await extra.taskStore.storeTaskResult(task.taskId, 'failed', {
            isError: true,
            content: [{ type: 'text', text: error.toText() }],
            _meta: { code: error.code, retryable: error.retryable, ...(Object.keys(error.details).length ? { details: error.details } : {}) },
          });
        }
        return { task: (await extra.taskStore.getTask(task.taskId)) ?? task }; // (a ttl shorter than the start: as created)
      },
      getTask: (_args, extra) => extra.taskStore.getTask(extra.taskId) as never,
      getTaskResult: (_args, extra) => extra.taskStore.getTaskResult(extra.taskId) as never,
    },
  );
}
