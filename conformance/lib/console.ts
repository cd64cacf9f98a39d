import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { onCleanup, trackDir } from './cleanup.js';
import { waitFor } from './host.js';

/*
 * Node cannot receive a file descriptor over a unix socket (SCM_RIGHTS), so the console socket's
 * receiving end is a few lines of python3: accept one connection, take the pty master sent with
 * it, then copy everything read from the master into a file until the slave side is gone (EIO).
 * Optionally writes `input` to the master first, as a user typing would.
 */
const RECEIVER = String.raw`
import array, os, socket, sys, time
path, out, timeout, inp = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path); srv.listen(1); srv.settimeout(timeout)
conn, _ = srv.accept()
fds = array.array('i')
msg, anc, flags, addr = conn.recvmsg(4096, socket.CMSG_SPACE(4 * fds.itemsize))
for level, typ, data in anc:
    if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
        fds.frombytes(data[:len(data) - (len(data) % fds.itemsize)])
with open(out + '.name', 'w') as f: f.write(msg.decode(errors='replace'))
master = fds[0]
if inp: os.write(master, inp.encode())
deadline = time.time() + timeout
with open(out, 'wb') as f:
    while time.time() < deadline:
        try:
            b = os.read(master, 65536)
        except OSError:
            break
        if not b: break
        f.write(b); f.flush()
`;

export interface ConsoleReceiver {
  /** Pass as --console-socket. */
  socketPath: string;
  /** Resolves when the pty's slave side is closed (or after the timeout) with what it printed. */
  done: Promise<{ output: string; name: string; code: number | null }>;
}

/** Listens on a fresh console socket; `input` is written to the pty master once it arrives. */
export async function consoleReceiver(input = '', timeoutMs = 20000): Promise<ConsoleReceiver> {
  const dir = trackDir(mkdtempSync('/tmp/tsrun-conf-console-'));
  const socketPath = join(dir, 'console.sock');
  const out = join(dir, 'out');
  const child = spawn(existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3', ['-c', RECEIVER, socketPath, out, String(timeoutMs / 1000), input], { stdio: 'ignore' });
  // A test that fails before the runtime connects must not leave the receiver waiting.
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const done = new Promise<{ output: string; name: string; code: number | null }>((resolve) => {
    child.on('exit', (code) => {
      const read = (p: string): string => {
        try {
          return readFileSync(p, 'utf8');
        } catch {
          return '';
        }
      };
      resolve({ output: read(out).replace(/\r\n/g, '\n'), name: read(out + '.name'), code });
    });
  });
  if (!(await waitFor(() => existsSync(socketPath), 5000))) throw new Error('console receiver did not start');
  return { socketPath, done };
}
