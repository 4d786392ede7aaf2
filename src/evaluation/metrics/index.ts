/** The metrics library: each metric in its own file, matching its reference implementation. */
export * from './bleu.js';
export * from './chrf.js';
export * from './rouge.js';
export * from './porter.js';
export * from './squad.js';
export * from './classification.js';
export * from './bootstrap.js';
export * from './numpy-random.js';
