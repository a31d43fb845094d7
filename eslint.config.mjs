// ESLint with typescript-eslint's type-checked rules; formatting is Biome's (biome.json).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'coverage/**',
      'node_modules/**',
      'panel/dist/**',
      'flex-plugin/**',
      'test/fixtures/**',
      'test/artifacts/**',
      '**/*.js',
      '**/*.mjs',
      '**/*.cjs',
      'panel/vite.config.mts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `async` is how a method keeps its promise contract (a throw becomes a rejection) when it
      // implements an async port or a library hook without awaiting anything itself.
      '@typescript-eslint/require-await': 'off',
      // `const { secret: _secret, ...rest } = x` is how a field is left out of a copy.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // Jest's matchers (`expect.any`, `expect.objectContaining`) are typed `any` by design, and
    // mocked methods are passed around unbound on purpose.
    files: ['**/*.spec.ts', '**/*.e2e-spec.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // Preact props and hook results declare their callbacks as methods (`onRetry(): void`); they are
    // plain closures, never bound to `this`.
    files: ['panel/src/**/*.tsx'],
    rules: { '@typescript-eslint/unbound-method': 'off' },
  },
);
