import { FinetuneError } from '../errors.js';

/** A parsed Semantic Versioning 2.0.0 version. */
export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  /** Dot-separated pre-release identifiers, '' when none (e.g. 'rc.1'). */
  prerelease: string;
  build: string;
}

// The regular expression semver.org publishes for SemVer 2.0.0 (numbered groups variant).
const SEMVER_RE =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

export function parseSemver(text: string, field = 'version'): SemVer {
  const match = SEMVER_RE.exec(text);
  if (!match) {
    throw new FinetuneError('INVALID_INPUT', `${field} '${text}' is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.2.0 or 2.0.0-rc.1).`, {
      recovery: 'Pass a version like 1.0.0; leading zeros, a "v" prefix and missing parts are not allowed.',
      details: { field },
    });
  }
  const [major, minor, patch] = [match[1], match[2], match[3]].map(Number);
  if (![major, minor, patch].every(Number.isSafeInteger)) {
    throw new FinetuneError('INVALID_INPUT', `${field} '${text}' has a number too large to compare exactly.`, { details: { field } });
  }
  return { major, minor, patch, prerelease: match[4] ?? '', build: match[5] ?? '' };
}

/** Precedence as SemVer 2.0.0 §11 defines it (build metadata ignored): negative, 0 or positive. */
export function compareSemver(a: SemVer, b: SemVer): number {
  for (const key of ['major', 'minor', 'patch'] as const) if (a[key] !== b[key]) return a[key] - b[key];
  if (a.prerelease === b.prerelease) return 0;
  if (a.prerelease === '') return 1;
  if (b.prerelease === '') return -1;
  const left = a.prerelease.split('.');
  const right = b.prerelease.split('.');
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const order = compareIdentifier(left[i], right[i]);
    if (order !== 0) return order;
  }
  return left.length - right.length;
}

function compareIdentifier(a: string, b: string): number {
  const aNum = /^\d+$/.test(a);
  const bNum = /^\d+$/.test(b);
  if (aNum && bNum) return Number(a) - Number(b);
  if (aNum) return -1;
  if (bNum) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
