// `npm run test:stress`: the interrupt stress test, kept out of `npm test` for its length (about 3 min).
export default {
  files: ['test/stress/**/*.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  timeout: '2m',
  concurrency: 1,
  workerThreads: false,
};
