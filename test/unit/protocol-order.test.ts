import { describe, expect, it } from 'vitest';
import { decodeChildMessage, encodeFrame, PROTOCOL_ORDER, ProtocolCursor } from '../../src/process/protocol.js';

describe('sync protocol order', () => {
  it('accepts the table in order', () => {
    const c = new ProtocolCursor();
    for (const m of PROTOCOL_ORDER) c.step(m.dir, m.type);
    expect(c.done).toBe(true);
  });

  it('is plan, mounted, resume, (pty), ready', () => {
    expect(PROTOCOL_ORDER.map((m) => `${m.dir}:${m.type}${m.optional ? '?' : ''}`)).toEqual([
      'parent->child:plan', 'child->parent:mounted', 'parent->child:resume', 'child->parent:pty?', 'child->parent:ready',
    ]);
  });

  it('rejects every out-of-order message', () => {
    PROTOCOL_ORDER.forEach((_, pos) => {
      for (const wrong of PROTOCOL_ORDER) {
        // Accepted at pos: the entry there and, past optional entries, the next ones.
        const end = PROTOCOL_ORDER.findIndex((m, i) => i >= pos && !m.optional);
        if (PROTOCOL_ORDER.slice(pos, end + 1).includes(wrong)) continue;
        const c = new ProtocolCursor();
        for (const m of PROTOCOL_ORDER.slice(0, pos)) c.step(m.dir, m.type);
        expect(() => c.step(wrong.dir, wrong.type), `${wrong.type} at ${pos}`).toThrow(/sync: got/);
      }
    });
    const c = new ProtocolCursor();
    for (const m of PROTOCOL_ORDER) c.step(m.dir, m.type);
    expect(() => c.step('parent->child', 'plan')).toThrow(/expected nothing/);
  });

  it('accepts error in the child slots only, and it ends the exchange', () => {
    PROTOCOL_ORDER.forEach((slot, pos) => {
      const c = new ProtocolCursor();
      for (const m of PROTOCOL_ORDER.slice(0, pos)) c.step(m.dir, m.type);
      if (slot.dir === 'child->parent') {
        c.step('child->parent', 'error');
        expect(c.done).toBe(true);
      } else {
        expect(() => c.step('child->parent', 'error')).toThrow(/error message out of order/);
      }
    });
  });

  it('frames are length-prefixed JSON that decode back', () => {
    const f = encodeFrame({ type: 'resume', createState: '{}', startState: '{"a":1}' });
    expect(f.readUInt32LE(0)).toBe(f.length - 4);
    expect(JSON.parse(f.subarray(4).toString())).toEqual({ type: 'resume', createState: '{}', startState: '{"a":1}' });
    expect(decodeChildMessage(Buffer.from('{"type":"error","step":"mount","errno":2,"message":"m"}'))).toEqual({
      type: 'error', step: 'mount', syscall: '', errno: 2, path: '', message: 'm',
    });
    expect(() => decodeChildMessage(Buffer.from('{"type":"plan"}'))).toThrow(/unknown message type/);
  });
});
