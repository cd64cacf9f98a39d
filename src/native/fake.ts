/**
 * A recording stand-in for the addon, for unit tests of the code above src/native (parent.ts,
 * container commands...). Every call is recorded as {name, args}; results come from a script
 * (queued per function, first in first out) or else from a plausible default. Fds it hands out
 * start at 1000 so they never alias a real descriptor of the test process.
 */
import type { CompiledSeccomp, MovedNetDevice, Native, SpawnInitOptions, SpawnInitResult, WaitResult } from './types.js';
import type { SeccompProfile } from '../seccomp/profile.js';
import { strictConstants } from './index.js';

export type NativeFunction = Exclude<keyof Native, 'constants'>;

type Fn<K extends NativeFunction> = Native[K] extends (...args: infer A) => infer R ? (...args: A) => R : never;
type Result<K extends NativeFunction> = ReturnType<Fn<K>> extends Promise<infer T> ? T : ReturnType<Fn<K>>;

/** One scripted outcome: a value to return (resolve, for waitPidfd), an Error to throw (reject),
 *  or a function computing either from the arguments. */
export type Scripted<K extends NativeFunction> = Result<K> | Error | ((...args: Parameters<Fn<K>>) => Result<K>);

export interface FakeCall {
  name: NativeFunction;
  args: unknown[];
}

/** x86_64 values of the constants unit tests commonly need; pass more to the constructor. */
export const FAKE_CONSTANTS: Readonly<Record<string, number>> = {
  CLONE_NEWNS: 0x20000, CLONE_NEWUTS: 0x4000000, CLONE_NEWIPC: 0x8000000, CLONE_NEWUSER: 0x10000000,
  CLONE_NEWPID: 0x20000000, CLONE_NEWNET: 0x40000000, CLONE_NEWCGROUP: 0x2000000, CLONE_NEWTIME: 0x80,
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGUSR1: 10, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14,
  SIGTERM: 15, SIGCHLD: 17, SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20, SIGWINCH: 28, SIGRTMIN: 34, SIGRTMAX: 64,
  RLIMIT_CPU: 0, RLIMIT_FSIZE: 1, RLIMIT_DATA: 2, RLIMIT_STACK: 3, RLIMIT_CORE: 4, RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6, RLIMIT_NOFILE: 7, RLIMIT_MEMLOCK: 8, RLIMIT_AS: 9, RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11, RLIMIT_MSGQUEUE: 12, RLIMIT_NICE: 13, RLIMIT_RTPRIO: 14, RLIMIT_RTTIME: 15,
  O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2, O_CLOEXEC: 0o2000000, O_PATH: 0o10000000, O_DIRECTORY: 0o200000,
};

/** A Node-style system error, as the real addon throws: for scripting failures. */
export function systemError(code: string, errno: number, syscall: string, path?: string, description = code): Error {
  const e = new Error(`${code}: ${description}, ${syscall}${path === undefined ? '' : ` '${path}'`}`);
  Object.assign(e, { code, errno: -Math.abs(errno), syscall }, path === undefined ? {} : { path });
  return e;
}

export class FakeNative implements Native {
  readonly calls: FakeCall[] = [];
  readonly constants: Record<string, number>;
  private readonly scripts = new Map<NativeFunction, unknown[]>();
  private nextFd = 1000;
  private nextPid = 4000;

  constructor(constants: Record<string, number> = {}) {
    this.constants = strictConstants({ ...FAKE_CONSTANTS, ...constants });
  }

  /** Queues outcomes for the next calls of `name` (used once each, in order). */
  script<K extends NativeFunction>(name: K, ...outcomes: Scripted<K>[]): this {
    const queue = this.scripts.get(name) ?? [];
    queue.push(...outcomes);
    this.scripts.set(name, queue);
    return this;
  }

  /** The recorded argument lists of every call of `name`, in order. */
  callsOf<K extends NativeFunction>(name: K): Parameters<Fn<K>>[] {
    return this.calls.filter((c) => c.name === name).map((c) => c.args as Parameters<Fn<K>>);
  }

  private run<K extends NativeFunction>(name: K, args: unknown[], fallback: () => Result<K>): Result<K> {
    this.calls.push({ name, args });
    const next = this.scripts.get(name)?.shift();
    if (next === undefined) return fallback();
    if (next instanceof Error) throw next;
    if (typeof next === 'function') return (next as (...a: unknown[]) => Result<K>)(...args);
    return next as Result<K>;
  }

  private fd(): number {
    return this.nextFd++;
  }

  spawnInit(opts: SpawnInitOptions): SpawnInitResult {
    return this.run('spawnInit', [opts], () => ({ pid: this.nextPid++, pidfd: this.fd(), intoCgroup: opts.cgroupFd >= 0 }));
  }
  socketPair(): [number, number] {
    return this.run('socketPair', [], (): [number, number] => [this.fd(), this.fd()]);
  }
  mkfifo(path: string, mode: number): void {
    this.run('mkfifo', [path, mode], () => undefined);
  }
  flock(fd: number, exclusive: boolean, nonBlocking: boolean): boolean {
    return this.run('flock', [fd, exclusive, nonBlocking], () => true);
  }
  exitNow(code: number): never {
    this.run('exitNow', [code], () => undefined as never);
    throw new Error(`FakeNative: exitNow(${code}) would have ended the process`);
  }
  pidfdOpen(pid: number): number {
    return this.run('pidfdOpen', [pid], () => this.fd());
  }
  pidfdSendSignal(pidfd: number, signal: number): void {
    this.run('pidfdSendSignal', [pidfd, signal], () => undefined);
  }
  waitPidfd(pidfd: number): Promise<WaitResult> {
    try {
      return Promise.resolve(this.run('waitPidfd', [pidfd], () => ({ exitCode: 0, signal: null })));
    } catch (e) {
      return Promise.reject(e);
    }
  }
  pidfdExited(pidfd: number): boolean {
    return this.run('pidfdExited', [pidfd], () => false);
  }
  pollIn(fd: number, timeoutMs: number): boolean {
    return this.run('pollIn', [fd, timeoutMs], () => true);
  }
  pidfdWait(pidfd: number, timeoutMs: number): boolean {
    return this.run('pidfdWait', [pidfd, timeoutMs], () => true);
  }
  getrlimit(resource: number): { soft: string; hard: string } {
    return this.run('getrlimit', [resource], () => ({ soft: '1024', hard: '1048576' }));
  }
  sendFd(socketFd: number, fd: number, data: string): void {
    this.run('sendFd', [socketFd, fd, data], () => undefined);
  }
  recvFd(socketFd: number): { fd: number; data: string } {
    return this.run('recvFd', [socketFd], () => ({ fd: this.fd(), data: '' }));
  }
  connectUnix(path: string): number {
    return this.run('connectUnix', [path], () => this.fd());
  }
  setWinsize(fd: number, rows: number, cols: number): void {
    this.run('setWinsize', [fd, rows, cols], () => undefined);
  }
  dupFd(fd: number): number {
    return this.run('dupFd', [fd], () => this.fd());
  }
  ttyMakeRaw(fd: number): Buffer {
    return this.run('ttyMakeRaw', [fd], () => Buffer.alloc(60));
  }
  ttyRestore(fd: number, saved: Buffer): void {
    this.run('ttyRestore', [fd, saved], () => undefined);
  }
  loadDeviceProgram(insns: Buffer, cgroupFd: number): void {
    this.run('loadDeviceProgram', [insns, cgroupFd], () => undefined);
  }
  eventfd(nonBlocking: boolean): number {
    return this.run('eventfd', [nonBlocking], () => this.fd());
  }
  idmappedTree(source: string, uidMap: string, gidMap: string, rbind: boolean, ridmap: boolean): number {
    return this.run('idmappedTree', [source, uidMap, gidMap, rbind, ridmap], () => this.fd());
  }
  netdevCheck(name: string, newName: string, fromNsFd: number, toNsFd: number): void {
    this.run('netdevCheck', [name, newName, fromNsFd, toNsFd], () => undefined);
  }
  netdevMove(name: string, newName: string, fromNsFd: number, toNsFd: number, up: boolean): MovedNetDevice {
    return this.run('netdevMove', [name, newName, fromNsFd, toNsFd, up], () => ({ name: newName, index: 2, wasUp: true, addresses: [] }));
  }
  /** Default: one SECCOMP_RET_ALLOW record, no flags (NEW_LISTENER when the profile has a listener). */
  compileSeccomp(profile: SeccompProfile): CompiledSeccomp {
    return this.run('compileSeccomp', [profile], () => ({
      bpf: Buffer.from([0x06, 0, 0, 0, 0, 0, 0xff, 0x7f]),
      flags: profile.listener ? 8 : 0,
      skipped: [],
      notify: profile.listener !== null,
    }));
  }
}
