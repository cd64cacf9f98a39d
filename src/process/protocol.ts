/**
 * The sync protocol between tsrun (parent, this side) and oci-init (child, addon/init/sync.h).
 *
 * Transport: one AF_UNIX SOCK_STREAM socketpair per container init. The child's end is a plain fd
 * handed to oci-init on its command line (see process/parent.ts); the parent's end stays in tsrun.
 * Framing: a 4-byte little-endian unsigned length, then that many bytes of UTF-8 JSON holding one
 * message object. A frame larger than MAX_FRAME is a protocol error. End of stream from the child
 * means it died: the parent reports "container init exited before <step>".
 *
 * The allowed order (PROTOCOL_ORDER below is the machine-readable copy, checked by a unit test and
 * by expectMessage() at run time):
 *
 *   #  direction        message    meaning
 *   1  parent → child   plan       cgroup placed, id maps written; here is everything to do
 *   2  child  → parent  mounted    mounts, devices and symlinks done, before pivot_root: the parent
 *                                  now runs the prestart and createRuntime hooks (runtime namespace)
 *   3  parent → child   resume     hooks done; carries the state JSON the container-side hooks read
 *  (4) child  → parent  pty        OPTIONAL, only when process.terminal: the pty was allocated in
 *                                  the container's devpts; the frame is followed by one sendmsg
 *                                  whose SCM_RIGHTS carries the master (data: its name, as runc's
 *                                  SendRawFd), read by the parent with recvmsg (native recvFd)
 *   4  child  → parent  ready      pivot_root, masks, sysctl, identity and the executable lookup
 *                                  done; the child now blocks opening the exec fifo (see below)
 *
 * Instead of `mounted` or `ready` the child may send `error` and exit non-zero; nothing follows.
 * An optional entry (number in parentheses, `optional: true` below) is either sent at its place or
 * skipped; it never moves.
 * After `ready` the parent closes its end. `tsrun start` opens the exec fifo for reading; the
 * child's blocking open(O_WRONLY) returns, it writes one byte, runs the startContainer hooks,
 * closes stray fds, verifies its cwd and execve()s process.args.
 *
 * Exec plans (`tsrun exec`, InitPlan.mode "exec"; EXEC_PROTOCOL_ORDER) skip 2 and 3: no mounts,
 * no hooks, no exec fifo:
 *   1  parent → child   plan       cgroup placed; join the container and run process.args
 *  (2) child  → parent  pty        OPTIONAL, as (4) above: process.terminal without /dev/console
 *   2  child  → parent  ready      namespaces joined, identity and lookup done; execve follows.
 *                                  The child keeps its end open (O_CLOEXEC) until execve, and the
 *                                  parent reads to end-of-file: then the process has been executed
 */

import type { InitPlan } from '../spec/plan-types.js';

export const MAX_FRAME = 16 * 1024 * 1024;

export interface PlanMessage {
  type: 'plan';
  plan: InitPlan;
}

export interface MountedMessage {
  type: 'mounted';
}

export interface ResumeMessage {
  type: 'resume';
  /** State JSON (status "creating", pid set) given on stdin to createContainer hooks. */
  createState: string;
  /** State JSON (status "created") given on stdin to startContainer hooks. */
  startState: string;
}

/** process.terminal: the pty master follows in a message of its own (SyncChannel.receiveFd). */
export interface PtyMessage {
  type: 'pty';
}

export interface ReadyMessage {
  type: 'ready';
}

/** A failure inside oci-init, with enough context to name what failed. */
export interface ErrorMessage {
  type: 'error';
  /** Setup step, e.g. "mount", "pivot_root", "capabilities", "exec lookup", "hook createContainer #0". */
  step: string;
  /** Failing system call ("" when not a syscall failure). */
  syscall: string;
  /** errno of that call (0 when none). */
  errno: number;
  /** The path involved ("" when none), as the config named it. */
  path: string;
  /** Complete human-readable message; for a missing executable it is runc's wording
   *  (`exec: "/x": stat /x: no such file or directory`) because docker maps it to exit 127. */
  message: string;
}

export type ParentMessage = PlanMessage | ResumeMessage;
export type ChildMessage = MountedMessage | PtyMessage | ReadyMessage | ErrorMessage;
export type SyncMessage = ParentMessage | ChildMessage;

export type Direction = 'parent->child' | 'child->parent';

export interface ProtocolStep {
  dir: Direction;
  type: SyncMessage['type'];
  /** May be skipped (see the table). */
  optional?: boolean;
}

export const PROTOCOL_ORDER: ReadonlyArray<ProtocolStep> = [
  { dir: 'parent->child', type: 'plan' },
  { dir: 'child->parent', type: 'mounted' },
  { dir: 'parent->child', type: 'resume' },
  { dir: 'child->parent', type: 'pty', optional: true },
  { dir: 'child->parent', type: 'ready' },
];

export const EXEC_PROTOCOL_ORDER: ReadonlyArray<ProtocolStep> = [
  { dir: 'parent->child', type: 'plan' },
  { dir: 'child->parent', type: 'pty', optional: true },
  { dir: 'child->parent', type: 'ready' },
];

/** Encode one message as a frame. */
export function encodeFrame(msg: SyncMessage): Buffer {
  const body = Buffer.from(JSON.stringify(msg), 'utf8');
  if (body.length > MAX_FRAME) throw new Error(`sync message "${msg.type}" too large (${body.length} bytes)`);
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32LE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

/** Decode a frame body (without its length prefix) into a child message, checking its shape. */
export function decodeChildMessage(body: Buffer): ChildMessage {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    throw new Error('sync: child sent a frame that is not JSON');
  }
  if (typeof v !== 'object' || v === null) throw new Error('sync: child sent a non-object message');
  const m = v as Record<string, unknown>;
  switch (m.type) {
    case 'mounted':
    case 'pty':
    case 'ready':
      return { type: m.type };
    case 'error':
      return {
        type: 'error',
        step: String(m.step ?? ''),
        syscall: String(m.syscall ?? ''),
        errno: Number(m.errno ?? 0),
        path: String(m.path ?? ''),
        message: String(m.message ?? 'unknown error in container init'),
      };
    default:
      throw new Error(`sync: child sent unknown message type ${JSON.stringify(m.type)}`);
  }
}

/**
 * Tracks the position in PROTOCOL_ORDER. `expect` returns the next expected entry and advances; an
 * `error` from the child is accepted in place of any child->parent entry and ends the exchange.
 */
export class ProtocolCursor {
  private pos = 0;

  constructor(private readonly order: ReadonlyArray<ProtocolStep> = PROTOCOL_ORDER) {}

  /** Record that `type` travelled in `dir`; throws if that breaks the order table. */
  step(dir: Direction, type: SyncMessage['type']): void {
    // An optional entry not used: its place has passed.
    for (let w = this.order[this.pos]; w?.optional && (w.dir !== dir || w.type !== type); w = this.order[this.pos]) {
      if (type === 'error' && w.dir === dir) break;
      this.pos++;
    }
    if (type === 'error' && dir === 'child->parent') {
      const want = this.order[this.pos];
      if (!want || want.dir !== 'child->parent') throw new Error('sync: error message out of order');
      this.pos = this.order.length;
      return;
    }
    const want = this.order[this.pos];
    if (!want || want.dir !== dir || want.type !== type) {
      const expected = want ? `${want.type} (${want.dir})` : 'nothing';
      throw new Error(`sync: got ${type} (${dir}), expected ${expected}`);
    }
    this.pos++;
  }

  get done(): boolean {
    return this.pos >= this.order.length;
  }
}
