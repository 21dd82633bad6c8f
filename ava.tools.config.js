// `npm run test:tools`: tests that run local programs (openssl, curl, Chromium, MariaDB, redis-server,
// lab-istiod and pilot-agent offline, the CLI and tsx as subprocesses), without root or a lab.
export default {
  files: ['test/tools/**/*.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  timeout: '3m',
  concurrency: 2,
  workerThreads: false,
};
