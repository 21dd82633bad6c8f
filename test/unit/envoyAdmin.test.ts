/** Reading istio-proxy's output: Istio's access log lines among everything else it prints. */
import test from 'ava';
import { accessLogLines } from '../../harness/istio/envoyAdmin.ts';

test("accessLogLines: Istio's TEXT lines out of istio-proxy's mixed output", (t) => {
  const out = [
    '2026-12-02T16:30:52.569477Z\tinfo\tJWT policy is third-party-jwt',
    '[2026-12-02T16:31:34.787Z] "- - -" 0 - - - "-" 7 34 992 - "-" "-" "-" "-" "10.0.0.6:7000" PassthroughCluster 10.64.192.14:46440 10.0.0.6:7000 10.64.192.14:46426 - -',
    '2026-12-02T16:31:35.000Z\twarning\tenvoy config [x] something',
  ].join('\n');
  t.deepEqual(accessLogLines(out), [out.split('\n')[1]]);
});
