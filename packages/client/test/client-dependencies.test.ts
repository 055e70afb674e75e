import { execFileSync } from 'node:child_process';
import path from 'node:path';

/*
 * The client runs inside the platform's own processes: it must bring nothing of mailbeacon's
 * servers (their logger, metrics, lifecycle) along. The built package is what a platform loads,
 * so this asks Node which modules requiring it really loads.
 */
test('loading the client loads none of the server-side packages (service, pino, prom-client)', () => {
  const script = `require('@mailbeacon/client'); console.log(JSON.stringify(Object.keys(require.cache)))`;
  const loaded: string[] = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: path.resolve(__dirname, '..'), encoding: 'utf8' }));
  expect(loaded.some((file) => file.includes(`${path.sep}client${path.sep}dist${path.sep}`))).toBe(true);
  const serverSide = loaded.filter((file) => /[\\/](service[\\/]dist|node_modules[\\/](pino|prom-client|express))[\\/]/.test(file));
  expect(serverSide).toEqual([]);
});
