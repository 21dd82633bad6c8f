// `npm run test:lab` (first half): tests that need root and network namespaces, two files side by
// side; each lab checks only its own run prefix. The files that sweep or share host-wide state run
// afterwards, alone (ava.lab-exclusive.config.js).
import { LAB_EXCLUSIVE } from './ava.lab-exclusive.config.js';

export default {
  files: ['test/lab/**/*.test.ts', ...LAB_EXCLUSIVE.map((f) => `!${f}`)],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  // A test may bring several labs up and down (tests that need longer set their own t.timeout).
  timeout: '10m',
  concurrency: 2,
  workerThreads: false,
};
