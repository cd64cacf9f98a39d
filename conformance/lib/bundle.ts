import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { OciConfig } from './config.js';
import { busyboxPath, tsrunBin } from './paths.js';
import { ensureProbe } from './probe-build.js';
import { onCleanup, removeTree, trackDir } from './cleanup.js';
import { CGROUP_PARENT, removeTestCgroup } from './cgroups.js';

/** Busybox applets linked into every test rootfs's /bin. */
export const APPLETS: readonly string[] = [
  'sh', 'ash', 'ls', 'cat', 'echo', 'id', 'hostname', 'sleep', 'true', 'false', 'mount', 'umount',
  'ps', 'env', 'pwd', 'readlink', 'stat', 'mknod', 'touch', 'test', '[', 'grep', 'wc', 'head', 'tail',
  'kill', 'nc', 'mkdir', 'rm', 'rmdir', 'ln', 'chmod', 'chown', 'cp', 'mv', 'sed', 'awk', 'tr', 'cut',
  'sort', 'uname', 'dd', 'printf', 'seq', 'tee', 'date', 'df', 'find', 'xargs', 'nproc', 'nice',
  'mountpoint', 'setsid', 'timeout', 'ip', 'ifconfig', 'sysctl', 'whoami', 'basename', 'dirname',
  'usleep', 'yes', 'od', 'hexdump', 'md5sum', 'sha256sum', 'chroot', 'mkfifo',
];

const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'tester:x:1000:1000:tester:/home/tester:/bin/sh',
  'nobody:x:65534:65534:nobody:/nonexistent:/bin/false',
  '',
].join('\n');

const GROUP = ['root:x:0:', 'tester:x:1000:', 'extra:x:2000:tester', 'nogroup:x:65534:', ''].join('\n');

export interface BundleOptions {
  /** process.args; default ["/bin/true"]. */
  args?: string[];
  /** Extra applet names to link besides APPLETS. */
  applets?: string[];
  /** Leave root.readonly as `tsrun spec` wrote it (true) unless set here. */
  readonlyRoot?: boolean;
  /**
   * linux.cgroupsPath; default `/tsrun-conf/<bundle dir name>` (see lib/cgroups.ts), removed at
   * cleanup if the runtime left it. null leaves it unset (the runtime's default placement).
   */
  cgroupsPath?: string | null;
}

export interface Bundle {
  /** The bundle directory (holds config.json and rootfs/). */
  dir: string;
  /** Absolute path of rootfs/. */
  rootfs: string;
  /** config.json as an object; change it and call write(). */
  config: OciConfig;
  /** Writes `config` to dir/config.json. */
  write(): void;
  /** Removes the bundle directory (also done by cleanupAll). */
  cleanup(): void;
}

function makeRootfs(rootfs: string, applets: readonly string[]): void {
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'home/tester', 'run', 'mnt', 'var']) {
    mkdirSync(join(rootfs, d), { recursive: true, mode: 0o755 });
  }
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  copyFileSync(busyboxPath, join(rootfs, 'bin', 'busybox'));
  chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
  for (const a of new Set(applets)) symlinkSync('busybox', join(rootfs, 'bin', a));
  copyFileSync(ensureProbe(), join(rootfs, 'bin', 'probe'));
  chmodSync(join(rootfs, 'bin', 'probe'), 0o755);
  writeFileSync(join(rootfs, 'etc', 'passwd'), PASSWD);
  writeFileSync(join(rootfs, 'etc', 'group'), GROUP);
  writeFileSync(join(rootfs, 'etc', 'hostname'), 'conformance\n');
}

/**
 * A fresh bundle under /tmp/tsrun-conf-XXXX: a busybox + probe rootfs and the config.json that
 * `tsrun spec` writes, with terminal false and the given args.
 */
export async function makeBundle(opts: BundleOptions = {}): Promise<Bundle> {
  const dir = trackDir(mkdtempSync('/tmp/tsrun-conf-'));
  // mkdtemp makes 0700; a container root mapped to another host uid (user namespace) must still
  // be able to reach its rootfs.
  chmodSync(dir, 0o755);
  const rootfs = join(dir, 'rootfs');
  try {
    makeRootfs(rootfs, [...APPLETS, ...(opts.applets ?? [])]);
    execFileSync(tsrunBin, ['spec'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    removeTree(dir);
    throw e;
  }
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as OciConfig;
  config.process.terminal = false;
  config.process.args = opts.args ?? ['/bin/true'];
  if (opts.readonlyRoot !== undefined) config.root.readonly = opts.readonlyRoot;
  if (opts.cgroupsPath === undefined) {
    const name = basename(dir);
    config.linux.cgroupsPath = `/${CGROUP_PARENT}/${name}`;
    onCleanup(() => removeTestCgroup(name));
  } else if (opts.cgroupsPath !== null) {
    config.linux.cgroupsPath = opts.cgroupsPath;
  }
  const bundle: Bundle = {
    dir,
    rootfs,
    config,
    write() {
      writeFileSync(join(dir, 'config.json'), JSON.stringify(bundle.config, null, 2));
    },
    cleanup() {
      removeTree(dir);
    },
  };
  bundle.write();
  return bundle;
}
