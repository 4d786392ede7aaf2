import type { JobRecord, MetricPoint } from '../training/job-records.js';
import { renderPlot } from './render.js';
import { trainingCurvesSpec } from './training-curves.js';

/** A job's loss curves (and learning rate when recorded) as SVG and PNG. */
export async function renderJobCurves(
  job: Pick<JobRecord, 'job_id' | 'backend' | 'status'>,
  curves: { train_loss: MetricPoint[]; eval_loss: MetricPoint[]; learning_rate: MetricPoint[] },
): Promise<{ svg: string; png: Uint8Array }> {
  return renderPlot(trainingCurvesSpec({ title: `Training curves · ${job.job_id} (${job.backend}, ${job.status})`, ...curves }));
}
