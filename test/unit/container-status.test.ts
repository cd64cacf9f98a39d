import { describe, expect, it } from 'vitest';
import { checkAction, deriveStatus, TRANSITIONS, type Action, type Status } from '../../src/container/status.js';
import { StatusError } from '../../src/errors.js';

describe('deriveStatus', () => {
  const base = { phase: 'created' as const, initAlive: true, creatorAlive: false, fifoExists: true };
  it('created: init alive, fifo still there', () => expect(deriveStatus(base)).toBe('created'));
  it('running: init alive, fifo removed by start', () => expect(deriveStatus({ ...base, fifoExists: false })).toBe('running'));
  it('stopped: init died before start', () => expect(deriveStatus({ ...base, initAlive: false })).toBe('stopped'));
  it('stopped: process exited after start', () => expect(deriveStatus({ ...base, initAlive: false, fifoExists: false })).toBe('stopped'));
  it('creating while the creator runs', () => {
    expect(deriveStatus({ phase: 'creating', initAlive: true, creatorAlive: true, fifoExists: true })).toBe('creating');
    expect(deriveStatus({ phase: 'creating', initAlive: false, creatorAlive: true, fifoExists: false })).toBe('creating');
  });
  it('stopped: a create that died half-way', () => {
    expect(deriveStatus({ phase: 'creating', initAlive: true, creatorAlive: false, fifoExists: true })).toBe('stopped');
  });
  it('paused: a live init in a frozen cgroup (created or running); stopped wins', () => {
    expect(deriveStatus({ ...base, fifoExists: false, frozen: true })).toBe('paused');
    expect(deriveStatus({ ...base, frozen: true })).toBe('paused');
    expect(deriveStatus({ ...base, initAlive: false, frozen: true })).toBe('stopped');
  });
});

describe('transition table', () => {
  const statuses: Status[] = ['creating', 'created', 'running', 'paused', 'stopped'];
  const actions: Action[] = ['start', 'kill', 'delete', 'forceDelete', 'state', 'pause', 'resume'];
  const allowed: Record<Status, Action[]> = {
    creating: ['forceDelete', 'state'],
    created: ['start', 'kill', 'forceDelete', 'state', 'pause'],
    running: ['kill', 'forceDelete', 'state', 'pause'],
    paused: ['kill', 'forceDelete', 'state', 'resume'],
    stopped: ['delete', 'forceDelete', 'state'],
  };
  for (const s of statuses) {
    for (const a of actions) {
      const ok = allowed[s].includes(a);
      it(`${a} on ${s}: ${ok ? 'allowed' : 'refused'}`, () => {
        if (ok) expect(() => checkAction(a, s, 'c1')).not.toThrow();
        else expect(() => checkAction(a, s, 'c1')).toThrow(StatusError);
      });
    }
  }

  it('uses runc wording', () => {
    expect(() => checkAction('start', 'stopped', 'c1')).toThrow('cannot start a container that has stopped');
    expect(() => checkAction('start', 'running', 'c1')).toThrow('cannot start an already running container');
    expect(() => checkAction('kill', 'stopped', 'c1')).toThrow('container not running');
    expect(() => checkAction('delete', 'running', 'c1')).toThrow('cannot delete container c1 that is not stopped: running');
    expect(() => checkAction('delete', 'created', 'c1')).toThrow('cannot delete container c1 that is not stopped: created');
    expect(() => checkAction('delete', 'paused', 'c1')).toThrow('cannot delete container c1 that is not stopped: paused');
    expect(() => checkAction('start', 'paused', 'c1')).toThrow('cannot start a container in the paused state');
    expect(() => checkAction('pause', 'stopped', 'c1')).toThrow('container not running');
    expect(() => checkAction('resume', 'running', 'c1')).toThrow('container not paused');
  });

  it('covers every status and action', () => {
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...statuses].sort());
    for (const s of statuses) expect(Object.keys(TRANSITIONS[s]).sort()).toEqual([...actions].sort());
  });
});
