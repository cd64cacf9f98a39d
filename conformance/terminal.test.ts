import { describe, expect, it } from 'vitest';
import {
  check, consoleReceiver, installCleanup, makeBundle, newId, skipName, skipNote, skipReason, tsrun, type Bundle,
} from './lib/index.js';
import { existsSync } from 'node:fs';

installCleanup();

const noPython = !existsSync('/usr/bin/python3');

/** create --console-socket + start; returns what the container printed on its terminal. */
async function runWithTerminal(b: Bundle, input = ''): Promise<{ output: string; name: string }> {
  b.config.process.terminal = true;
  b.write();
  const rx = await consoleReceiver(input);
  const id = newId();
  const c = await tsrun(['create', '--bundle', b.dir, '--console-socket', rx.socketPath, id], { cwd: b.dir });
  expect(c.stderr).toBe('');
  expect(c.code).toBe(0);
  expect((await tsrun(['start', id])).code).toBe(0);
  const got = await rx.done;
  await tsrun(['delete', '--force', id]);
  return got;
}

function parseJsonOut(out: string): ReturnType<typeof JSON.parse> {
  const start = out.indexOf('{');
  if (start < 0) throw new Error(`no JSON on the terminal: ${JSON.stringify(out)}`);
  return JSON.parse(out.slice(start));
}

describe.skipIf(!!skipReason)(`terminal${skipNote}`, () => {
  it.skipIf(noPython)(skipName(noPython, 'terminal: stdio is a pty slave received through --console-socket', 'no /usr/bin/python3'), async () => {
    const b = await makeBundle({ args: ['/bin/probe', '--stat', '/dev/console'] });
    const { output } = await runWithTerminal(b);
    const r = parseJsonOut(output);
    for (const fd of ['0', '1', '2']) expect(r.fds[fd]).toMatch(/^\/dev\/pts\/\d+$/);
    // /dev/console is the bind-mounted pty slave (runtime-spec config.md, process.terminal).
    expect(check(r, 'stat', '/dev/console').stat).toMatchObject({ type: 'char', rdev_major: 136 });
  });

  it.skipIf(noPython)(skipName(noPython, 'terminal: consoleSize sets the window size', 'no /usr/bin/python3'), async () => {
    const b = await makeBundle({ args: ['/bin/sh', '-c', 'stty size'] });
    b.config.process.consoleSize = { height: 33, width: 111 };
    const { output } = await runWithTerminal(b);
    expect(output.trim()).toBe('33 111');
  });

  it.skipIf(noPython)(skipName(noPython, 'terminal: the process is session leader with the pty as controlling terminal', 'no /usr/bin/python3'), async () => {
    const b = await makeBundle({ args: ['/bin/sh', '-c', 'readlink /proc/self/fd/0; tty; cut -d" " -f6,7 /proc/self/stat'] });
    const { output } = await runWithTerminal(b);
    const lines = output.trim().split('\n');
    expect(lines[0]).toMatch(/^\/dev\/pts\/\d+$/);
    expect(lines[1]).toBe(lines[0]);
    // stat fields 6 and 7: the session is led by pid 1 (the container's sh), and tty_nr is
    // non-zero when a controlling terminal is set.
    const [session, ttyNr] = lines[2]!.split(' ');
    expect(session).toBe('1');
    expect(Number(ttyNr)).not.toBe(0);
  });

  it.skipIf(noPython)(skipName(noPython, 'terminal: input typed on the master reaches the process', 'no /usr/bin/python3'), async () => {
    const b = await makeBundle({ args: ['/bin/sh', '-c', 'read line; echo "got:$line"'] });
    const { output } = await runWithTerminal(b, 'hello-tty\n');
    expect(output).toContain('got:hello-tty');
  });

  it('terminal true without --console-socket on create is refused', async () => {
    const b = await makeBundle();
    b.config.process.terminal = true;
    b.write();
    const id = newId();
    const r = await tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir });
    expect(r.code).not.toBe(0);
    // runc: "cannot allocate tty if runc will detach without setting console socket"
    expect(r.stderr).toMatch(/console.socket/);
    expect((await tsrun(['state', id])).code).not.toBe(0);
  });
});
