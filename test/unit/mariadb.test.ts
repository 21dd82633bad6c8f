// mariadbd's command line, checked before it starts.
import test from 'ava';
import { mariadbArgv } from '../../harness/servers/mariadb.ts';

test('a socket path too long for sun_path is refused before mariadbd starts', (t) => {
  const socket = `/tmp/${'x'.repeat(120)}.sock`;
  t.throws(() => mariadbArgv({ datadir: '/nonexistent', bindAddress: '127.0.0.1', port: 3306, socket, pidFile: '/nonexistent/pid' }), {
    message: /longer than 107/,
  });
});
