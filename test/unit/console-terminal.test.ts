import { fstatSync, openSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InitFailure, TsrunError } from '../../src/errors.js';
import { FakeNative, systemError } from '../../src/native/fake.js';
import { checkTerminal, consoleTarget, receiveUntilReady, type ConsoleTarget, type ReadyChannel } from '../../src/process/console.js';
import { EXEC_PROTOCOL_ORDER, PROTOCOL_ORDER, ProtocolCursor, decodeChildMessage, type ChildMessage } from '../../src/process/protocol.js';

/** A channel replaying child messages; receiveFd hands out a real fd (so closing it is visible). */
function channel(msgs: ChildMessage[], fd = openSync('/dev/null', 'r')): ReadyChannel & { fd: number; fdTaken: boolean } {
  const ch = {
    fd,
    fdTaken: false,
    receive: () => {
      const m = msgs.shift();
      if (!m) throw new TsrunError('container init exited before ready');
      return m;
    },
    receiveFd: () => {
      ch.fdTaken = true;
      return { fd, data: '/dev/ptmx' };
    },
  };
  return ch;
}

/** A cursor positioned after `resume`, where `pty`/`ready` come. */
function cursorBeforeReady(): ProtocolCursor {
  const c = new ProtocolCursor();
  c.step('parent->child', 'plan');
  c.step('child->parent', 'mounted');
  c.step('parent->child', 'resume');
  return c;
}

function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

describe('terminal flags (runc checkTerminal rules and wording)', () => {
  it('a detached terminal needs a console socket', () => {
    expect(() => checkTerminal(true, undefined, true)).toThrow('cannot allocate tty if runc will detach without setting console socket');
  });
  it('a console socket needs a detached terminal', () => {
    expect(() => checkTerminal(false, '/s', true)).toThrow('cannot use console socket if runc will not detach or allocate tty');
    expect(() => checkTerminal(true, '/s', false)).toThrow('cannot use console socket if runc will not detach or allocate tty');
  });
  it('accepts the valid combinations', () => {
    expect(() => checkTerminal(true, '/s', true)).not.toThrow();
    expect(() => checkTerminal(true, undefined, false)).not.toThrow();
    expect(() => checkTerminal(false, undefined, true)).not.toThrow();
    expect(() => checkTerminal(false, undefined, false)).not.toThrow();
  });
});

describe('consoleTarget', () => {
  it('is undefined without a terminal and foreground without a socket', () => {
    const nat = new FakeNative();
    expect(consoleTarget(nat, false, undefined)).toBeUndefined();
    expect(consoleTarget(nat, true, undefined)).toEqual({ kind: 'foreground' });
    expect(nat.calls).toEqual([]);
  });
  it('connects to the socket at once', () => {
    const nat = new FakeNative().script('connectUnix', 7);
    expect(consoleTarget(nat, true, '/run/c.sock')).toEqual({ kind: 'socket', fd: 7, path: '/run/c.sock' });
    expect(nat.callsOf('connectUnix')).toEqual([['/run/c.sock']]);
  });
  it('names the flag and path when the socket cannot be reached', () => {
    const nat = new FakeNative().script('connectUnix', systemError('ENOENT', -2, 'connect', '/nope'));
    expect(() => consoleTarget(nat, true, '/nope')).toThrow(/^--console-socket \/nope: .*ENOENT/);
  });
});

describe('receiveUntilReady', () => {
  it('sends the master to the console socket with its name, then closes it', () => {
    const nat = new FakeNative();
    const ch = channel([{ type: 'pty' }, { type: 'ready' }]);
    const target: ConsoleTarget = { kind: 'socket', fd: 42, path: '/s' };
    const cursor = cursorBeforeReady();
    expect(receiveUntilReady(nat, ch, cursor, target)).toBeUndefined();
    expect(nat.callsOf('sendFd')).toEqual([[42, ch.fd, '/dev/ptmx']]);
    expect(isOpen(ch.fd)).toBe(false);
    expect(cursor.done).toBe(true);
  });
  it('returns the master in the foreground', () => {
    const ch = channel([{ type: 'pty' }, { type: 'ready' }]);
    expect(receiveUntilReady(new FakeNative(), ch, cursorBeforeReady(), { kind: 'foreground' })).toBe(ch.fd);
    expect(isOpen(ch.fd)).toBe(true);
  });
  it('accepts ready without a pty', () => {
    const ch = channel([{ type: 'ready' }]);
    expect(receiveUntilReady(new FakeNative(), ch, cursorBeforeReady(), undefined)).toBeUndefined();
    expect(ch.fdTaken).toBe(false);
  });
  it('refuses a pty nobody asked for, closing it', () => {
    const ch = channel([{ type: 'pty' }, { type: 'ready' }]);
    expect(() => receiveUntilReady(new FakeNative(), ch, cursorBeforeReady(), undefined)).toThrow(/process.terminal is false/);
    expect(isOpen(ch.fd)).toBe(false);
  });
  it('an error after the pty throws InitFailure and closes the master', () => {
    const err: ChildMessage = { type: 'error', step: 'capabilities', syscall: 'capset', errno: 1, path: '', message: 'capset: EPERM' };
    const ch = channel([{ type: 'pty' }, err]);
    expect(() => receiveUntilReady(new FakeNative(), ch, cursorBeforeReady(), { kind: 'foreground' })).toThrow(InitFailure);
    expect(isOpen(ch.fd)).toBe(false);
  });
  it('a failing send names the console socket', () => {
    const nat = new FakeNative().script('sendFd', systemError('EPIPE', -32, 'sendmsg'));
    const ch = channel([{ type: 'pty' }, { type: 'ready' }]);
    expect(() => receiveUntilReady(nat, ch, cursorBeforeReady(), { kind: 'socket', fd: 9, path: '/s' })).toThrow(/--console-socket \/s: sending the pty master/);
    expect(isOpen(ch.fd)).toBe(false);
  });
});

describe('sync protocol: the optional pty message', () => {
  it('sits between resume and ready, optional', () => {
    const i = PROTOCOL_ORDER.findIndex((m) => m.type === 'pty');
    expect(PROTOCOL_ORDER[i]).toEqual({ dir: 'child->parent', type: 'pty', optional: true });
    expect(PROTOCOL_ORDER[i - 1]?.type).toBe('resume');
    expect(PROTOCOL_ORDER[i + 1]?.type).toBe('ready');
  });
  it('is refused anywhere else, and twice', () => {
    const early = new ProtocolCursor();
    early.step('parent->child', 'plan');
    expect(() => early.step('child->parent', 'pty')).toThrow(/got pty .*expected mounted/);
    const twice = cursorBeforeReady();
    twice.step('child->parent', 'pty');
    expect(() => twice.step('child->parent', 'pty')).toThrow(/expected ready/);
    const late = cursorBeforeReady();
    late.step('child->parent', 'ready');
    expect(() => late.step('child->parent', 'pty')).toThrow(/expected nothing/);
  });
  it('exec plans: plan, (pty), ready', () => {
    expect(EXEC_PROTOCOL_ORDER.map((m) => `${m.type}${m.optional ? '?' : ''}`)).toEqual(['plan', 'pty?', 'ready']);
    const withPty = new ProtocolCursor(EXEC_PROTOCOL_ORDER);
    withPty.step('parent->child', 'plan');
    withPty.step('child->parent', 'pty');
    withPty.step('child->parent', 'ready');
    expect(withPty.done).toBe(true);
    const without = new ProtocolCursor(EXEC_PROTOCOL_ORDER);
    without.step('parent->child', 'plan');
    without.step('child->parent', 'ready');
    expect(without.done).toBe(true);
  });
  it('an error may take its place', () => {
    const c = cursorBeforeReady();
    c.step('child->parent', 'error');
    expect(c.done).toBe(true);
  });
  it('decodes', () => {
    expect(decodeChildMessage(Buffer.from('{"type":"pty"}'))).toEqual({ type: 'pty' });
  });
});
