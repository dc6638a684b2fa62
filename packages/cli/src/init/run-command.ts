// Runs one setup command (uv, venv, pip) to completion, keeping the tail of
// its output for the error message if it fails.

import { spawn } from 'node:child_process';
import { CommandError, EXIT } from '../errors.js';
import { commandLine } from '../output/command-line.js';

/** Lines of output kept for a failure's message. */
const TAIL_LINES = 25;

/**
 * Runs `argv` in `cwd`; resolves once it has exited with status 0.
 *
 * @throws CommandError (exit 1) when it cannot start or exits otherwise, with the end of its output.
 */
export function runCommand(argv: readonly string[], cwd: string): Promise<void> {
  const [command, ...args] = argv;
  if (command === undefined) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    let output = '';
    const keep = (chunk: string) => {
      output = (output + chunk).split('\n').slice(-TAIL_LINES).join('\n');
    };
    child.stdout.setEncoding('utf8').on('data', keep);
    child.stderr.setEncoding('utf8').on('data', keep);
    child.once('error', (error) =>
      reject(new CommandError(`could not run ${commandLine(argv)}: ${error.message}`, EXIT.failed)),
    );
    child.once('close', (code, signal) => {
      if (code === 0) {
        resolve();
        return;
      }
      const how = signal === null ? `exited with ${code}` : `was killed by ${signal}`;
      reject(new CommandError(`${commandLine(argv)} ${how}:\n${output.trim()}`, EXIT.failed));
    });
  });
}
