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
  },
  { files: ['**/*.js'], extends: [tseslint.configs.disableTypeChecked] },
);
