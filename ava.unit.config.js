// `npm run test:unit`: pure tests (no child process, no root, nothing outside a temp dir; loopback
// sockets in-process are fine), one worker process per file, as many side by side as there are cores.
export default {
  files: ['test/unit/**/*.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  timeout: '2m',
  workerThreads: false,
};
