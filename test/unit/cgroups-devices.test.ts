import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ACC_MKNOD, ACC_READ, ACC_WRITE, DEFAULT_ALLOWED, decide, effectiveDeviceRules, normalizeDeviceRules, type DeviceRule } from '../../src/cgroups/devices.js';
import { DEV_BLOCK, DEV_CHAR, deviceProgram, encodeProgram, type BpfInsn } from '../../src/cgroups/devices-bpf.js';

/**
 * A tiny eBPF interpreter for exactly the opcodes deviceProgram emits, enforcing what the kernel
 * verifier would (forward jumps in range, known opcodes, ends in exit), so the program's meaning
 * is checked without loading it.
 */
function run(prog: BpfInsn[], type: number, major: number, minor: number, access: number): number {
  const ctx = [((access << 16) | type) >>> 0, major >>> 0, minor >>> 0];
  const r = new Array<number>(11).fill(0);
  const u32 = (x: number): number => x >>> 0;
  for (let pc = 0, steps = 0; pc < prog.length; pc++, steps++) {
    if (steps > prog.length) throw new Error('backward jump');
    const x = prog[pc]!;
    const jump = (cond: boolean): void => {
      if (x.off < 0 || pc + 1 + x.off > prog.length) throw new Error(`bad jump at ${pc}`);
      if (cond) pc += x.off;
    };
    switch (x.code) {
      case 0x61: { expect(x.src).toBe(1); const i = x.off / 4; expect([0, 1, 2]).toContain(i); r[x.dst] = ctx[i]!; break; }
      case 0x54: r[x.dst] = u32(r[x.dst]! & x.imm); break;
      case 0x74: r[x.dst] = u32(r[x.dst]!) >>> x.imm; break;
      case 0x57: r[x.dst] = r[x.dst]! & x.imm; break;
      case 0xb7: r[x.dst] = x.imm; break;
      case 0xbf: r[x.dst] = r[x.src]!; break;
      case 0x55: jump(r[x.dst] !== x.imm); break;
      case 0x56: jump(u32(r[x.dst]!) !== u32(x.imm)); break;
      case 0x15: jump(r[x.dst] === x.imm); break;
      case 0x95: return r[0]!;
      default: throw new Error(`opcode ${x.code.toString(16)} at ${pc}`);
    }
  }
  throw new Error('fell off the end');
}

const allowed = (rules: DeviceRule[], t: 'c' | 'b', maj: number, min: number, acc: number): boolean =>
  run(deviceProgram(rules), t === 'b' ? DEV_BLOCK : DEV_CHAR, maj, min, acc) === 1;

describe('device rules', () => {
  it('the last matching rule decides, per access bit; unnamed bits are denied', () => {
    const rules = normalizeDeviceRules([
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
      { allow: false, type: 'c', major: 1, minor: 3, access: 'w' },
      { allow: true, type: 'c', major: 4, access: 'r' },
    ]);
    expect(decide(rules, 'c', 1, 3, ACC_READ)).toBe(true);
    expect(decide(rules, 'c', 1, 3, ACC_READ | ACC_WRITE)).toBe(false);
    expect(decide(rules, 'c', 4, 77, ACC_READ)).toBe(true);
    expect(decide(rules, 'c', 4, 77, ACC_WRITE)).toBe(false);
    expect(decide(rules, 'b', 1, 3, ACC_READ)).toBe(false);
    expect(decide([], 'c', 1, 3, ACC_READ)).toBe(false);
    // Allows for different bits add up (v1 semantics): r from one rule, w from another.
    const split = normalizeDeviceRules([{ allow: true, type: 'c', major: 1, minor: 5, access: 'r' }, { allow: true, type: 'c', major: 1, minor: 5, access: 'w' }]);
    expect(decide(split, 'c', 1, 5, ACC_READ | ACC_WRITE)).toBe(true);
  });

  it('defaults come after the spec rules, then the created devices', () => {
    const rules = effectiveDeviceRules([{ allow: false, access: 'rwm' }], [{ type: 'c', path: '/dev/fuse', major: 10, minor: 229 }]);
    expect(rules.length).toBe(1 + DEFAULT_ALLOWED.length + 1);
    expect(decide(rules, 'c', 1, 3, ACC_READ | ACC_WRITE)).toBe(true); // /dev/null
    expect(decide(rules, 'c', 10, 229, ACC_READ)).toBe(true); // created
    expect(decide(rules, 'b', 8, 0, ACC_MKNOD)).toBe(true); // mknod of anything
    expect(decide(rules, 'b', 8, 0, ACC_READ)).toBe(false);
    expect(decide(rules, 'c', 136, 4, ACC_WRITE)).toBe(true); // pts
  });
});

describe('eBPF device program', () => {
  it('matches decide() on fixed cases', () => {
    const rules = effectiveDeviceRules([{ allow: false, access: 'rwm' }, { allow: true, type: 'b', major: 8, minor: 0, access: 'r' }], []);
    expect(allowed(rules, 'c', 1, 3, ACC_READ | ACC_WRITE)).toBe(true);
    expect(allowed(rules, 'b', 8, 0, ACC_READ)).toBe(true);
    expect(allowed(rules, 'b', 8, 0, ACC_WRITE)).toBe(false);
    expect(allowed(rules, 'c', 1, 1, ACC_READ)).toBe(false); // /dev/mem
    expect(allowed([], 'c', 1, 3, ACC_READ)).toBe(false);
  });

  it('matches decide() for random rule lists and requests (property)', () => {
    const num = fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: 4 }), fc.constant(0xfffffff0));
    const rule = fc.record({
      allow: fc.boolean(),
      type: fc.constantFrom('a', 'c', 'b'),
      major: num,
      minor: num,
      access: fc.constantFrom('r', 'w', 'm', 'rw', 'rm', 'wm', 'rwm'),
    });
    const req = fc.record({ t: fc.constantFrom<'c' | 'b'>('c', 'b'), maj: fc.constantFrom(0, 1, 2, 4, 0xfffffff0), min: fc.constantFrom(0, 1, 3, 0xfffffff0), acc: fc.integer({ min: 1, max: 7 }) });
    fc.assert(
      fc.property(fc.array(rule, { maxLength: 8 }), fc.array(req, { minLength: 1, maxLength: 10 }), (specRules, reqs) => {
        const rules = normalizeDeviceRules(specRules);
        for (const q of reqs) expect(allowed(rules, q.t, q.maj, q.min, q.acc)).toBe(decide(rules, q.t, q.maj, q.min, q.acc));
      }),
      { numRuns: 150 },
    );
  });

  it('encodes struct bpf_insn little-endian, 8 bytes each', () => {
    const prog = deviceProgram([]);
    const buf = encodeProgram(prog);
    expect(buf.length).toBe(prog.length * 8);
    // ldxw r2, [r1+0] → code 0x61, regs (src 1 << 4 | dst 2) = 0x12.
    expect([...buf.subarray(0, 8)]).toEqual([0x61, 0x12, 0, 0, 0, 0, 0, 0]);
    // Last is exit.
    expect(buf[buf.length - 8]).toBe(0x95);
    const b = encodeProgram([{ code: 0x56, dst: 4, src: 0, off: 3, imm: 0xfffffff0 | 0 }]);
    expect(b.readInt16LE(2)).toBe(3);
    expect(b.readUInt32LE(4)).toBe(0xfffffff0);
  });
});
