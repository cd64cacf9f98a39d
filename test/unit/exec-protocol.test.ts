import { describe, expect, it } from 'vitest';
import { EXEC_PROTOCOL_ORDER, PROTOCOL_ORDER, ProtocolCursor } from '../../src/process/protocol.js';

describe('exec sync protocol order', () => {
  it('is plan then ready (the pty of a terminal optional between them)', () => {
    expect(EXEC_PROTOCOL_ORDER.filter((m) => !('optional' in m && m.optional)).map((m) => `${m.dir}:${m.type}`)).toEqual([
      'parent->child:plan', 'child->parent:ready',
    ]);
  });

  it('accepts plan, ready and is done', () => {
    const c = new ProtocolCursor(EXEC_PROTOCOL_ORDER);
    c.step('parent->child', 'plan');
    c.step('child->parent', 'ready');
    expect(c.done).toBe(true);
  });

  it('refuses the create-only messages', () => {
    const c = new ProtocolCursor(EXEC_PROTOCOL_ORDER);
    c.step('parent->child', 'plan');
    expect(() => c.step('child->parent', 'mounted')).toThrow(/sync: got mounted/);
    const d = new ProtocolCursor(EXEC_PROTOCOL_ORDER);
    d.step('parent->child', 'plan');
    expect(() => d.step('parent->child', 'resume')).toThrow(/sync: got resume/);
  });

  it('accepts error in place of ready, not before plan', () => {
    const c = new ProtocolCursor(EXEC_PROTOCOL_ORDER);
    expect(() => c.step('child->parent', 'error')).toThrow(/out of order/);
    const d = new ProtocolCursor(EXEC_PROTOCOL_ORDER);
    d.step('parent->child', 'plan');
    d.step('child->parent', 'error');
    expect(d.done).toBe(true);
  });

  it('the default cursor still follows the create table', () => {
    const c = new ProtocolCursor();
    c.step('parent->child', 'plan');
    expect(() => c.step('child->parent', 'ready')).toThrow(/expected mounted/);
    expect(PROTOCOL_ORDER[1]?.type).toBe('mounted');
  });
});
