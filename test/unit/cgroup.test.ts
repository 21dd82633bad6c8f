/** Finding the cgroup2 mount the lab puts its runs under. */
import test from 'ava';
import { cgroup2Root } from '../../harness/proc/cgroup.ts';

test('cgroup2Root: the cgroup2 mount on a unified host and on a hybrid one, none without', (t) => {
  const unified = '35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate';
  const hybrid = [
    '31 25 0:27 / /sys/fs/cgroup ro,nosuid shared:8 - tmpfs tmpfs ro,mode=755',
    '32 31 0:28 / /sys/fs/cgroup/unified rw,nosuid shared:9 - cgroup2 cgroup2 rw',
    '33 31 0:29 / /sys/fs/cgroup/memory rw,nosuid shared:10 - cgroup cgroup rw,memory',
  ].join('\n');
  t.is(cgroup2Root(unified), '/sys/fs/cgroup');
  t.is(cgroup2Root(hybrid), '/sys/fs/cgroup/unified');
  t.is(cgroup2Root('33 31 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory'), undefined);
});
