// `npm run test:lab` (second half): lab tests that must run alone, after the parallel group.
// labDownAll runs `lab down --all`, which removes every lab on the host, and expects none to be left;
// kindCatalog uses the one `egress-lab` kind cluster, and Docker changes the root namespace that
// the other lab tests compare before and after.
export const LAB_EXCLUSIVE = ['test/lab/labDownAll.test.ts', 'test/lab/kindCatalog.test.ts'];

export default {
  files: LAB_EXCLUSIVE,
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  timeout: '10m',
  concurrency: 1,
  workerThreads: false,
};
