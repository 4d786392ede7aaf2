import type { Quote, QuoteBasis, SpecIssue } from '../plugins/providers.js';

/** One machine type of a cloud's price list: the GPU it carries and its hourly list price. */
export interface InstancePrice {
  /** The cloud's name for it: `ml.g5.xlarge`, `Standard_NC24ads_A100_v4`. */
  instance: string;
  /** The GPU, as named in the server's device table (training.devices): `A10G`, `A100-80GB`. */
  device: string;
  gpus: number;
  usd_per_hour: number;
}

/**
 * A dated list-price table of one cloud's training machines. Prices are approximate: they are
 * what the source listed on `as_of`, for one region, on demand; a config may override any of them.
 */
export interface PriceTable {
  provider: string;
  region: string;
  as_of: string;
  source: string;
  instances: InstancePrice[];
}

/** The devices the table's machines carry, each once, in table order (a backend's `devices` capability). */
export function tableDevices(table: PriceTable): string[] {
  return [...new Set(table.instances.map((i) => i.device))];
}

/** Machine type → device (a backend's `instance_types` capability: a plan pinned by instance type is sized for its GPU). */
export function tableInstanceDevices(table: PriceTable): Record<string, string> {
  return Object.fromEntries(table.instances.map((i) => [i.instance, i.device]));
}

/** Machine type → its GPU count (a backend's `instance_gpus` capability). */
export function tableInstanceGpus(table: PriceTable): Record<string, number> {
  return Object.fromEntries(table.instances.map((i) => [i.instance, i.gpus]));
}

/** The table with some hourly prices replaced (a config's own figures: another region, a discount). */
export function withPrices(table: PriceTable, overrides: Record<string, number>): PriceTable {
  if (!Object.keys(overrides).length) return table;
  return {
    ...table,
    source: `${table.source}; overridden in the config for ${Object.keys(overrides).join(', ')}`,
    instances: table.instances.map((i) => (i.instance in overrides ? { ...i, usd_per_hour: overrides[i.instance] } : i)),
  };
}

/** The machine to run on `device`: the requested type when it carries that device, else the cheapest that does. */
export function pickInstance(table: PriceTable, device: string, requested?: string): InstancePrice | undefined {
  const asked = table.instances.find((i) => i.instance === requested);
  if (asked && asked.device === device) return asked;
  return table.instances.filter((i) => i.device === device).sort((a, b) => a.usd_per_hour - b.usd_per_hour)[0];
}

/** A run's list price on the machine `pickInstance` chooses, with the basis spelled out (instance, hours, price, date, source). */
export function quoteInstance(table: PriceTable, basis: QuoteBasis, requested?: string, count = 1): Quote {
  const machine = pickInstance(table, basis.device, requested);
  if (!machine) return { usd: 0, basis: `No ${table.provider} list price for a machine with ${basis.device} in the table (${table.as_of}): counted as 0.` };
  const hours = basis.seconds / 3600;
  const ranks = machine.gpus > 1 ? `; the trainer runs one process on each of its ${machine.gpus} GPUs` : '';
  return {
    usd: hours * machine.usd_per_hour * count,
    basis:
      `${count} × ${machine.instance} (${machine.gpus} × ${machine.device}) for ${hours.toFixed(2)} h at $${machine.usd_per_hour}/h: ` +
      `${table.provider} on-demand list price, ${table.region}, approximate as of ${table.as_of} (${table.source})${ranks}`,
  };
}

/** The warning for an instance type the table lacks: a plan can neither size nor price it. */
export function unpricedInstanceIssue(table: PriceTable, instance: string): SpecIssue | undefined {
  if (table.instances.some((i) => i.instance === instance)) return undefined;
  return { severity: 'warning', code: 'CONFIG_INVALID', field: 'backend_options.instance_type', message: `${instance} is not in the price table (${table.instances.map((i) => i.instance).join(', ')}): the plan can neither size nor price it.` };
}

/** backend_options.instance_count: how many machines a cloud job runs on (default 1). */
export function instanceCount(options: Record<string, unknown>): number {
  return typeof options.instance_count === 'number' ? options.instance_count : 1;
}

/** The error for an instance_count that is not a whole number ≥ 1. */
export function instanceCountIssue(options: Record<string, unknown>): SpecIssue | undefined {
  const count = options.instance_count;
  if (count === undefined || (typeof count === 'number' && Number.isInteger(count) && count >= 1)) return undefined;
  return { severity: 'error', code: 'CONFIG_INVALID', field: 'backend_options.instance_count', message: `instance_count (machines for the job, each running one trainer process per GPU) must be a whole number ≥ 1, got ${JSON.stringify(count)}.` };
}
