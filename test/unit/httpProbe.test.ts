// The http probe's reading of curl's verbose output.
import test from 'ava';
import { interpret } from '../../harness/probes/http.ts';

test('http: connect outcome from curl 7.88 verbose lines (both connect-failure forms), unreachable, timeout before connect', (t) => {
  const none = Buffer.alloc(0);
  const fail = (verbose: string, exit = 7) =>
    interpret(exit, '000 0.001 0 ', `*   Trying 127.0.0.1:80...\n${verbose}\ncurl: (${exit}) x\n`, none, none, 1);
  t.is(fail('* Immediate connect fail for 127.0.0.1: Connection refused').connect, 'refused');
  t.is(fail('* connect to 127.0.0.1 port 80 failed: Connection refused').connect, 'refused');
  t.is(fail('* connect to 127.0.0.1 port 80 failed: No route to host').connect, 'unreachable');
  t.is(fail('* Immediate connect fail for 127.0.0.1: Network is unreachable').connect, 'unreachable');
  t.is(fail('* connect to 127.0.0.1 port 80 failed: Connection reset by peer').connect, 'error');
  t.is(fail('* Connection timed out after 800 milliseconds', 28).connect, 'timeout');
  const r = fail('* Immediate connect fail for 127.0.0.1: Connection refused');
  t.is(r.end, 'not-connected');
  t.is(r.errorClass, 'curl-7');
  t.is(r.error, 'curl: (7) x (Immediate connect fail for 127.0.0.1: Connection refused)');
});
