// A stdio pass-through in front of an MCP server process (argv: the command and its arguments).
// It forwards every byte unchanged and reports on its stderr, one line each, the requests the
// client sends (`> method taskId`) and the task statuses the server answers (`< taskId status`),
// so a test can see what crossed the wire through the runtime's `stderr` events.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const [command, ...args] = process.argv.slice(2);
const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });

function report(prefix, line) {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    return;
  }
  if (prefix === '>' && typeof msg.method === 'string')
    process.stderr.write(`TEE > ${msg.method} ${msg.params?.taskId ?? ''}\n`);
  const task = msg.result?.task ?? msg.result;
  if (prefix === '<' && typeof task?.taskId === 'string' && typeof task.status === 'string')
    process.stderr.write(`TEE < ${task.taskId} ${task.status}\n`);
}

createInterface({ input: process.stdin }).on('line', (line) => {
  report('>', line);
  child.stdin.write(`${line}\n`);
});
process.stdin.on('end', () => child.stdin.end());
createInterface({ input: child.stdout }).on('line', (line) => {
  report('<', line);
  process.stdout.write(`${line}\n`);
});
child.on('exit', (code) => process.exit(code ?? 1));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));
