import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as fs from 'node:fs';

// Capture what main() writes to fd 1 and fd 2 (it uses writeSync so output is never lost on exit).
const written: Record<number, string> = { 1: '', 2: '' };
vi.mock('node:fs', async (orig) => {
  const real = await orig<typeof import('node:fs')>();
  return {
    ...real,
    writeSync: (fd: number, data: string | Buffer, ...rest: unknown[]) => {
      if (fd === 1 || fd === 2) {
        const buf = typeof data === 'string' ? Buffer.from(data) : data;
        const off = typeof rest[0] === 'number' ? rest[0] : 0;
        written[fd] += buf.subarray(off).toString();
        return buf.length - off;
      }
      return (real.writeSync as (...a: unknown[]) => number)(fd, data, ...rest);
    },
  };
});

const { main, commandHelp } = await import('../../src/cli/dispatch.js');
const { findCommand } = await import('../../src/cli/commands.js');

let root: string;
beforeEach(() => {
  written[1] = '';
  written[2] = '';
  root = mkdtempSync(join(tmpdir(), 'tsrun-cli-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('tsrun main', () => {
  it('prints the version like runc', async () => {
    expect(await main(['--version'])).toBe(0);
    expect(written[1]).toBe('tsrun version 0.1.0\nspec: 1.3.0\n');
    expect(await main(['-v'])).toBe(0);
  });

  it('prints help for the runtime and for every command', async () => {
    expect(await main(['--help'])).toBe(0);
    expect(written[1]).toContain('USAGE:\n   tsrun [global options] command');
    for (const c of ['create', 'start', 'run', 'state', 'kill', 'delete', 'list', 'features', 'spec']) {
      written[1] = '';
      expect(await main([c, '--help'])).toBe(0);
      expect(written[1]).toBe(commandHelp(findCommand(c)!));
      expect(written[1]).toContain(`tsrun ${c} - `);
    }
  });

  it('fails on an unknown global flag, naming it, exit 1', async () => {
    expect(await main(['--bogus', 'list'])).toBe(1);
    expect(written[2]).toMatch(/level=error msg="flag provided but not defined: -bogus"/);
  });

  it('rejects a wrong number of arguments like runc', async () => {
    expect(await main(['--root', root, 'state'])).toBe(1);
    expect(written[2]).toContain('tsrun: \\"state\\" requires exactly 1 argument(s)');
  });

  it('says later commands are not implemented yet', async () => {
    for (const c of ['checkpoint', 'restore']) {
      written[2] = '';
      expect(await main([c, 'x'])).toBe(1);
      expect(written[2]).toContain(`tsrun: ${c}: not implemented yet`);
    }
  });

  it('cgroup commands on an unknown container say it does not exist', async () => {
    for (const c of ['ps', 'pause', 'resume', 'update', 'events']) {
      written[2] = '';
      expect(await main(['--root', root, c, 'nope'])).toBe(1);
      expect(written[2]).toContain('container does not exist');
    }
  });

  it('update refuses a bad size and a bad Intel RDT schema, naming the flag', async () => {
    expect(await main(['--root', root, 'update', '--memory', '12q', 'x'])).toBe(1);
    expect(written[2]).toContain('invalid value for --memory');
    expect(await main(['--root', root, 'update', '--mem-bw-schema', 'L3:0=f', 'x'])).toBe(1);
    expect(written[2]).toContain('--mem-bw-schema: must start with \\"MB:\\"');
  });

  it('events refuses a bad --interval', async () => {
    expect(await main(['--root', root, 'events', '--interval', '5 parsecs', 'x'])).toBe(1);
    expect(written[2]).toContain('5 parsecs\\" for flag -interval: parse error');
  });

  it('refuses --systemd-cgroup clearly', async () => {
    expect(await main(['--systemd-cgroup', '--root', root, 'list'])).toBe(1);
    expect(written[2]).toContain('--systemd-cgroup: the systemd cgroup driver is not supported yet');
  });

  it('rejects a bad --log-format', async () => {
    expect(await main(['--log-format', 'xml', 'list'])).toBe(1);
    expect(written[2]).toContain('invalid log-format: xml');
  });

  it('state of an unknown container fails; delete --force of one exits 0 silently', async () => {
    expect(await main(['--root', root, 'state', 'nope'])).toBe(1);
    expect(written[2]).toContain('container does not exist');
    written[2] = '';
    expect(await main(['--root', root, 'delete', '--force', 'nope'])).toBe(0);
    expect(written[2]).toBe('');
    expect(await main(['--root', root, 'delete', 'nope'])).toBe(1);
  });

  it('writes errors to --log as JSON lines that containerd reads', async () => {
    const log = join(root, 'log.json');
    expect(await main(['--root', root, '--log', log, '--log-format', 'json', 'kill', 'nope', 'KILL'])).toBe(1);
    const line = JSON.parse(readFileSync(log, 'utf8').trim().split('\n').at(-1)!);
    expect(line).toMatchObject({ level: 'error', msg: 'container does not exist' });
    expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('rejects an invalid id before touching the root', async () => {
    expect(await main(['--root', root, 'state', '../etc'])).toBe(1);
    expect(written[2]).toContain('invalid container ID format');
  });

  it('rejects an unknown signal naming it', async () => {
    expect(await main(['--root', root, 'kill', 'x', 'SIGFOO'])).toBe(1);
    expect(written[2]).toContain('unknown signal \\"SIGFOO\\"');
  });

  it('list on an empty root prints the header, json prints null, -q nothing', async () => {
    expect(await main(['--root', root, 'list'])).toBe(0);
    expect(written[1]).toBe('ID          PID         STATUS      BUNDLE      CREATED     OWNER\n');
    written[1] = '';
    expect(await main(['--root', root, 'list', '--format=json'])).toBe(0);
    expect(written[1]).toBe('null\n');
    written[1] = '';
    expect(await main(['--root', root, 'list', '-q'])).toBe(0);
    expect(written[1]).toBe('');
    expect(await main(['--root', root, 'list', '-f', 'yaml'])).toBe(1);
  });

  it('features lists what tsrun supports', async () => {
    expect(await main(['features'])).toBe(0);
    const f = JSON.parse(written[1]!);
    expect(f.ociVersionMax).toBe('1.3.0');
    expect(f.hooks).toContain('createRuntime');
    expect(f.linux.namespaces).toContain('user');
    expect(f.linux.capabilities).toContain('CAP_SYS_ADMIN');
    expect(f.linux.seccomp.enabled).toBe(true);
    expect(f.mountOptions).toContain('rbind');
  });

  it('spec writes config.json once and refuses to overwrite it', async () => {
    expect(await main(['spec', '--bundle', root])).toBe(0);
    const spec = JSON.parse(readFileSync(join(root, 'config.json'), 'utf8'));
    expect(spec.ociVersion).toMatch(/^1\./);
    expect(await main(['spec', '-b', root])).toBe(1);
    expect(written[2]).toContain('File config.json exists. Remove it first');
    expect(fs.existsSync(join(root, 'config.json'))).toBe(true);
  });
});
