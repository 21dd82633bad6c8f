/** The Istio versions a scenario may name, and the era each belongs to. */
import test from 'ava';
import { SUPPORTED_TEXT, parseIstioVersion, type IstioVersion } from '../../harness/scenario/istioVersion.ts';

test('parseIstioVersion accepts 1.4, 1.4.8, 1.6, 1.25, 1.30.3 and 1.31 with the right era', (t) => {
  const ok = (s: string) => {
    const v = parseIstioVersion(s);
    if (typeof v === 'string') throw new Error(v);
    return v;
  };
  const pick = (v: IstioVersion) => [v.major, v.minor, v.era];
  t.deepEqual(pick(ok('1.4')), [1, 4, 'legacy']);
  t.deepEqual(pick(ok('1.4.8')), [1, 4, 'legacy']);
  t.deepEqual(pick(ok('1.6')), [1, 6, 'legacy']);
  t.deepEqual(pick(ok('1.25')), [1, 25, 'modern']);
  t.deepEqual(pick(ok('1.30.3')), [1, 30, 'modern']);
  t.deepEqual(pick(ok('1.31')), [1, 31, 'modern']);
  t.is(ok('1.30.3').text, '1.30.3');
});

test('parseIstioVersion rejects 1.3, 1.7, 1.24, 1.32, 2.0 and "latest" with a message', (t) => {
  for (const s of ['1.3', '1.7', '1.24', '1.32']) {
    const v = parseIstioVersion(s);
    t.is(typeof v, 'string', s);
    t.true((v as string).includes(SUPPORTED_TEXT), `${s}: ${JSON.stringify(v)}`);
  }
  for (const s of ['2.0', 'latest', '', '1', '1.x', 'v1.30']) {
    const v = parseIstioVersion(s);
    t.is(typeof v, 'string', s);
    t.regex(v as string, /is not an Istio version like "1\.4" or "1\.30\.3"/, s);
  }
  t.is(SUPPORTED_TEXT, '1.4-1.6 and 1.25-1.31');
});
