// typescript-eslint's type-checked recommended rules over every TS file the project owns, at zero
// warnings (npm run lint). A rule switched off or tuned here says why in one line.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'parts/', 'build/', 'runs/', 'ci-runs/', 'ci-reports/', 'reports/', 'test/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A field left out by a rest-destructure (`const { a: _a, ...rest } = x`) is the idiom for "all but these".
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true, varsIgnorePattern: '^_', argsIgnorePattern: '^_' }],
    },
  },
  // Plain JavaScript (the CLI entry, configs) runs in Node, outside the TypeScript project.
  { files: ['**/*.js'], extends: [tseslint.configs.disableTypeChecked], languageOptions: { globals: { process: 'readonly' } } },
);
