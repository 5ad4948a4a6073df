// Lint: typescript-eslint's type-checked recommended rules over the library, the CLI and the
// tests; the plain recommended rules over the JavaScript scripts and benchmarks (outside the
// TypeScript project). Formatting is Prettier's job (`npm run format:check`), not the linter's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const NODE_GLOBALS = [
  'process',
  'console',
  'Buffer',
  'URL',
  'URLSearchParams',
  'setTimeout',
  'clearTimeout',
  'setInterval',
  'clearInterval',
  'setImmediate',
  'performance',
  'globalThis',
  'TextEncoder',
  'TextDecoder',
  'fetch',
  'AbortController',
  'AbortSignal',
  'queueMicrotask',
  'structuredClone',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'src/generated/**', 'fixtures/**', '**/*.d.ts', 'bench/.corpus/**'] },
  js.configs.recommended,
  {
    rules: {
      // Escaping, path checks and parsers match control characters on purpose, everywhere.
      'no-control-regex': 'off',
    },
  },
  {
    files: ['**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['vitest.config.ts'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // An async function without await still turns a throw into a rejected promise, which is
      // what callers of the library's promise-returning API rely on.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: Object.fromEntries(NODE_GLOBALS.map((g) => [g, 'readonly'])) },
  },
);
