/**
 * Run inside a lab namespace by test/lab/httpInspectorEnvoy.test.ts: sends each input (JSON
 * array of latin1 strings on stdin) on its own connection to 127.0.0.1:PORT and prints, as JSON,
 * what Envoy answered within WAIT_MS ('' when it answered nothing: the filter was still waiting).
 */
import { connect } from 'node:net';

const port = Number(process.argv[2]);
const WAIT_MS = 500;

function send(input: string): Promise<string> {
  return new Promise((resolve) => {
    let answer = '';
    const s = connect(port, '127.0.0.1', () => s.write(Buffer.from(input, 'latin1')));
    s.on('data', (b) => (answer += b.toString()));
    s.on('error', () => undefined);
    s.on('close', () => resolve(answer.trim()));
    setTimeout(() => s.destroy(), WAIT_MS);
  });
}

let stdin = '';
process.stdin.on('data', (b: Buffer) => (stdin += b.toString()));
process.stdin.on('end', () => {
  const inputs = JSON.parse(stdin) as string[];
  void Promise.all(inputs.map(send)).then((answers) => process.stdout.write(JSON.stringify(answers)));
});
