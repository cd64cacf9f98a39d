/**
 * Device rules → a BPF_PROG_TYPE_CGROUP_DEVICE program for cgroup v2 (which has no devices.allow:
 * the kernel asks an attached eBPF program instead). Pure: returns the instructions; loading and
 * attaching need the bpf(2) syscall and are the addon's job (see `DeviceProgramLoader`).
 *
 * The program implements devices.ts `decide()`: walk the rules from the last to the first keeping
 * the set of requested access bits not yet decided (r6); a matching deny that names an undecided
 * bit refuses, a matching allow clears its bits, and when none are left the access is allowed.
 * Anything still undecided after the first rule is refused (allowlist, config-linux.md).
 */

import type { DeviceRule } from './devices.js';

export interface BpfInsn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

// include/uapi/linux/bpf.h / bpf_common.h opcodes used here.
const LDX_MEM_W = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU32_AND_K = 0x54;
const ALU32_RSH_K = 0x74;
const ALU64_MOV_K = 0xb7;
const ALU64_MOV_X = 0xbf;
const ALU64_AND_K = 0x57;
const JMP_JNE_K = 0x55;
const JMP32_JNE_K = 0x56; // 32-bit compare: device numbers are u32, imm would sign-extend
const JMP_JEQ_K = 0x15;
const EXIT = 0x95;

/** struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }: access_type is
 *  (access << 16) | type, type BPF_DEVCG_DEV_BLOCK = 1, BPF_DEVCG_DEV_CHAR = 2. */
export const DEV_BLOCK = 1;
export const DEV_CHAR = 2;

const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5, R6 = 6, R7 = 7;

const ins = (code: number, dst: number, src: number, off: number, imm: number): BpfInsn => ({ code, dst, src, off, imm });

/** Instructions for one rule; `skip` jumps land on the first instruction after the block. */
function ruleBlock(r: DeviceRule): BpfInsn[] {
  const checks: Array<[number, number]> = [];
  if (r.type !== 'a') checks.push([R2, r.type === 'b' ? DEV_BLOCK : DEV_CHAR]);
  if (r.major >= 0) checks.push([R4, r.major]);
  if (r.minor >= 0) checks.push([R5, r.minor]);
  const tail: BpfInsn[] = [ins(ALU64_MOV_X, R7, R6, 0, 0), ins(ALU64_AND_K, R7, 0, 0, r.access), ins(JMP_JEQ_K, R7, 0, -1, 0)];
  if (r.allow) {
    tail.push(ins(ALU64_AND_K, R6, 0, 0, ~r.access & 7), ins(JMP_JNE_K, R6, 0, -1, 0), ins(ALU64_MOV_K, R0, 0, 0, 1), ins(EXIT, 0, 0, 0, 0));
  } else {
    tail.push(ins(ALU64_MOV_K, R0, 0, 0, 0), ins(EXIT, 0, 0, 0, 0));
  }
  const block = [...checks.map(([reg, v]) => ins(JMP32_JNE_K, reg, 0, -1, v | 0)), ...tail];
  // Resolve the placeholder offsets (-1): a jump's offset counts from the next instruction.
  return block.map((x, i) => (x.off === -1 ? { ...x, off: block.length - i - 1 } : x));
}

export function deviceProgram(rules: readonly DeviceRule[]): BpfInsn[] {
  const prog: BpfInsn[] = [
    ins(LDX_MEM_W, R2, R1, 0, 0),
    ins(ALU32_AND_K, R2, 0, 0, 0xffff), // device type
    ins(LDX_MEM_W, R3, R1, 0, 0),
    ins(ALU32_RSH_K, R3, 0, 0, 16), // requested access bits
    ins(LDX_MEM_W, R4, R1, 4, 0),
    ins(LDX_MEM_W, R5, R1, 8, 0),
    ins(ALU64_MOV_X, R6, R3, 0, 0),
  ];
  for (let i = rules.length - 1; i >= 0; i--) prog.push(...ruleBlock(rules[i]!));
  prog.push(ins(ALU64_MOV_K, R0, 0, 0, 0), ins(EXIT, 0, 0, 0, 0));
  return prog;
}

/** struct bpf_insn layout (8 bytes, little-endian on x86_64): code, dst:4|src:4, s16 off, s32 imm. */
export function encodeProgram(prog: readonly BpfInsn[]): Buffer {
  const buf = Buffer.alloc(prog.length * 8);
  prog.forEach((x, i) => {
    buf.writeUInt8(x.code, i * 8);
    buf.writeUInt8((x.src << 4) | x.dst, i * 8 + 1);
    buf.writeInt16LE(x.off, i * 8 + 2);
    buf.writeInt32LE(x.imm | 0, i * 8 + 4);
  });
  return buf;
}

/**
 * The loader: the addon's `loadDeviceProgram(insns, cgroupFd)` (addon/src/bpf.cc, typed in
 * src/native/types.ts), passed in by src/process/cgroup-setup.ts:
 *   - bpf(BPF_PROG_LOAD, { prog_type: BPF_PROG_TYPE_CGROUP_DEVICE, insns, license: "Apache-2.0" })
 *     (no GPL-only helper is called), the verifier log as the error detail;
 *   - bpf(BPF_PROG_QUERY, cgroupFd, BPF_CGROUP_DEVICE) for the programs already attached;
 *   - one attached: BPF_PROG_ATTACH with BPF_F_ALLOW_MULTI|BPF_F_REPLACE swaps it atomically
 *     (never a moment without a filter); otherwise attach first, then detach the old ones;
 *   - the program fd is closed (the attachment keeps the program alive).
 */
export type DeviceProgramLoader = (insns: Buffer, cgroupFd: number) => void;
