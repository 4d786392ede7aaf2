import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Core owns no concrete plugin (issue 14): src/ reaches plugins only through the host and the provider
 * interfaces in src/plugins/providers.ts; src/plugins/builtin.ts is the one file that names them.
 * A relative specifier reaches the top-level plugins/ folder when it climbs exactly one level more
 * than the file is deep (src/a/b/x.ts: '../../../plugins/'), so there is one block per depth.
 * Static imports, re-exports and `import()` with a literal path are all refused.
 */
function coreOwnsNoPlugin() {
  const message = 'src/ must not import a concrete plugin; reach it through the plugin host (a provider kind in src/plugins/providers.ts).';
  return [0, 1, 2, 3].map((depth) => ({
    files: [`src/${'*/'.repeat(depth)}*.ts`],
    ignores: ['src/plugins/builtin.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: `^(\\.\\./){${depth + 1}}plugins/`, message }] }],
      // esquery regexes cannot hold a slash: \x2F is one.
      'no-restricted-syntax': ['error', { selector: `ImportExpression[source.value=/^(\\.\\.\\x2F){${depth + 1}}plugins\\x2F/]`, message }],
    },
  }));
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'plugins/modal/app/**', '.gpu/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // `any` is allowed where plugin definitions are heterogeneous; everything else stays typed.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  ...coreOwnsNoPlugin(),
  {
    // The dashboard's page script runs in the browser, beside uPlot's global.
    files: ['assets/ui/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: Object.fromEntries(['window', 'document', 'location', 'fetch', 'Node', 'EventSource', 'URL', 'uPlot'].map((name) => [name, 'readonly'])),
    },
  },
  {
    files: ['test/**', 'bench/**'],
    rules: { 'no-console': 'off' },
  },
);
