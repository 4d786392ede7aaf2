import { FinetuneError } from '../errors.js';

/** A hardware description as recommend_base_model takes it: how many GPUs and the memory of each. */
export interface Hardware {
  text: string;
  count: number;
  memory_gb: number;
  /** The device name when one from training.devices was given, e.g. "A100-80GB". */
  device?: string;
}

const SIZED = /^(?:(\d{1,3})\s*[x×*]\s*)?(\d+(?:\.\d+)?)\s*(?:GB|GiB|G)$/i;
const NAMED = /^(?:(\d{1,3})\s*[x×*]\s*)?([A-Za-z][\w.-]*)$/;

/**
 * Parses "1x24GB", "2 x 80GB", "24GB", "A100-80GB" or "2xH100" (a device of training.devices); anything
 * else is INVALID_INPUT naming the field, with the forms it accepts and the devices it knows.
 */
export function parseHardware(text: string, devices: Readonly<Record<string, { memory_gb: number }>>): Hardware {
  const trimmed = text.trim();
  const sized = SIZED.exec(trimmed);
  if (sized) {
    const count = sized[1] ? Number(sized[1]) : 1;
    const memory_gb = Number(sized[2]);
    if (count >= 1 && memory_gb > 0) return { text: trimmed, count, memory_gb };
  }
  const named = NAMED.exec(trimmed);
  const device = named ? Object.keys(devices).find((d) => d.toLowerCase() === named[2].toLowerCase()) : undefined;
  if (named && device && Number(named[1] ?? 1) >= 1) return { text: trimmed, count: Number(named[1] ?? 1), memory_gb: devices[device].memory_gb, device };
  throw new FinetuneError('INVALID_INPUT', `hardware '${text}' is not a GPU count and memory nor a known device.`, {
    recovery: `Write it as <count>x<GB per GPU>GB, e.g. "1x24GB" or "2x80GB", or name a device of training.devices (${Object.keys(devices).join(', ')}), e.g. "A100-80GB" or "2xH100".`,
    details: { field: 'hardware' },
  });
}
