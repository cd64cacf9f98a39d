/**
 * The command table: names, flags, argument counts and help text. Kept free of imports beyond
 * types so parsing and `--help` load nothing a command's own module would.
 */

import type { FlagDef } from './args.js';

export interface CommandDef {
  name: string;
  summary: string;
  argsUsage: string;
  description?: string;
  flags: FlagDef[];
  /** Allowed number of positional arguments. */
  minArgs: number;
  maxArgs: number;
  /** Later issues: parse nothing, fail with "not implemented yet". */
  notImplemented?: boolean;
  /** Flags end at the first positional word (exec: the command's own flags follow it). */
  stopAtPositional?: boolean;
}

const ID_ARG = '<container-id>';
const ID_NOTE =
  'Where "<container-id>" is your name for the instance of the container that you\nare starting. The name you provide for the container instance must be unique on\nyour host.';

const bundle: FlagDef = {
  name: 'bundle', aliases: ['b'], kind: 'string',
  usage: 'path to the root of the bundle directory, defaults to the current directory',
};
const consoleSocket: FlagDef = {
  name: 'console-socket', kind: 'string',
  usage: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal",
};
const pidFile: FlagDef = { name: 'pid-file', kind: 'string', usage: 'specify the file to write the process id to' };
const noPivot: FlagDef = {
  name: 'no-pivot', kind: 'bool',
  usage: 'do not use pivot root to jail process inside rootfs.  This should be used whenever the rootfs is on top of a ramdisk',
};
const noNewKeyring: FlagDef = {
  name: 'no-new-keyring', kind: 'bool',
  usage: 'do not create a new session keyring for the container.  This will cause the container to inherit the calling processes session key',
};
const preserveFds: FlagDef = {
  name: 'preserve-fds', kind: 'int', defaultText: '0',
  usage: 'Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)',
};

function notImplemented(name: string, summary: string): CommandDef {
  return { name, summary, argsUsage: ID_ARG, flags: [], minArgs: 0, maxArgs: Infinity, notImplemented: true };
}

export const COMMANDS: readonly CommandDef[] = [
  notImplemented('checkpoint', 'checkpoint a running container'),
  {
    name: 'create', summary: 'create a container', argsUsage: ID_ARG, minArgs: 1, maxArgs: 1,
    description: `${ID_NOTE}\n\nDESCRIPTION:\n   The create command creates an instance of a container for a bundle. The bundle\nis a directory with a specification file named "config.json" and a root\nfilesystem.`,
    flags: [bundle, consoleSocket, pidFile, noPivot, noNewKeyring, preserveFds],
  },
  {
    name: 'delete', summary: 'delete any resources held by the container often used with detached container',
    argsUsage: ID_ARG, minArgs: 1, maxArgs: 1,
    description: `Where "<container-id>" is the name for the instance of the container.\n\nEXAMPLE:\nFor example, if the container id is "ubuntu01" and runc list currently shows the\nstatus of "ubuntu01" as "stopped" the following will delete resources held for\n"ubuntu01" removing "ubuntu01" from the runc list of containers:\n\n       # tsrun delete ubuntu01`,
    flags: [{ name: 'force', aliases: ['f'], kind: 'bool', usage: 'Forcibly deletes the container if it is still running (uses SIGKILL)' }],
  },
  {
    name: 'events', summary: 'display container events such as OOM notifications, cpu, memory, and IO usage statistics',
    argsUsage: ID_ARG, minArgs: 1, maxArgs: 1,
    description: 'Where "<container-id>" is the name for the instance of the container.\n\nDESCRIPTION:\n   The events command displays information about the container. By default the\ninformation is displayed once every 5 seconds.',
    flags: [
      { name: 'interval', kind: 'string', usage: 'set the stats collection interval', defaultText: '5s' },
      { name: 'stats', kind: 'bool', usage: "display the container's stats then exit" },
    ],
  },
  {
    name: 'exec', summary: 'execute new process inside the container',
    argsUsage: '<container-id> <command> [command options]  || -p process.json <container-id>',
    minArgs: 1, maxArgs: Infinity, stopAtPositional: true,
    description: 'Where "<container-id>" is the name for the instance of the container and\n"<command>" is the command to be executed in the container.\n"<command>" can\'t be empty unless a "-p" flag provided.\n\nEXAMPLE:\nFor example, if the container is configured to run the linux ps command the\nfollowing will output a list of processes running in the container:\n\n       # tsrun exec <container-id> ps',
    flags: [
      consoleSocket,
      { name: 'cwd', kind: 'string', usage: 'current working directory in the container' },
      { name: 'env', aliases: ['e'], kind: 'list', usage: 'set environment variables' },
      { name: 'tty', aliases: ['t'], kind: 'bool', usage: 'allocate a pseudo-TTY' },
      { name: 'user', aliases: ['u'], kind: 'string', usage: 'UID (format: <uid>[:<gid>])' },
      { name: 'additional-gids', aliases: ['g'], kind: 'list', usage: 'additional gids' },
      { name: 'process', aliases: ['p'], kind: 'string', usage: 'path to the process.json' },
      { name: 'detach', aliases: ['d'], kind: 'bool', usage: "detach from the container's process" },
      pidFile,
      { name: 'process-label', kind: 'string', usage: 'set the asm process label for the process commonly used with selinux' },
      { name: 'apparmor', kind: 'string', usage: 'set the apparmor profile for the process' },
      { name: 'no-new-privs', kind: 'bool', usage: 'set the no new privileges value for the process' },
      { name: 'cap', aliases: ['c'], kind: 'list', usage: 'add a capability to the bounding set for the process' },
      preserveFds,
      { name: 'cgroup', kind: 'string', usage: 'run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>.' },
      { name: 'ignore-paused', kind: 'bool', usage: 'allow exec in a paused container' },
    ],
  },
  {
    name: 'features', summary: 'show the enabled features', argsUsage: '', minArgs: 0, maxArgs: 0,
    description: 'Show the enabled features.\n   The result is parsable as a JSON.\n   See https://github.com/opencontainers/runtime-spec/blob/main/features.md for the semantics.',
    flags: [],
  },
  {
    name: 'kill', summary: "kill sends the specified signal (default: SIGTERM) to the container's init process",
    argsUsage: '<container-id> [signal]', minArgs: 1, maxArgs: 2,
    description: `Where "<container-id>" is the name for the instance of the container and\n"[signal]" is the signal to be sent to the init process.\n\nEXAMPLE:\nFor example, if the container id is "ubuntu01" the following will send a "KILL"\nsignal to the init process of the "ubuntu01" container:\n\n       # tsrun kill ubuntu01 KILL`,
    flags: [{ name: 'all', aliases: ['a'], kind: 'bool', usage: 'send the specified signal to all processes inside the container' }],
  },
  {
    name: 'list', summary: 'lists containers started by tsrun with the given root', argsUsage: '', minArgs: 0, maxArgs: 0,
    description: 'Where the given root is specified via the global option "--root"\n(default: "/run/tsrun").',
    flags: [
      { name: 'format', aliases: ['f'], kind: 'string', usage: 'select one of: table or json', defaultText: '"table"' },
      { name: 'quiet', aliases: ['q'], kind: 'bool', usage: 'display only container IDs' },
    ],
  },
  {
    name: 'pause', summary: 'pause suspends all processes inside the container', argsUsage: ID_ARG, minArgs: 1, maxArgs: 1,
    description: 'Where "<container-id>" is the name for the instance of the container to be\npaused. \n\nEXAMPLE:\nFor example, if the container id is "ubuntu01" the following will pause it:\n\n       # tsrun pause ubuntu01',
    flags: [],
  },
  {
    // Words after the id are ps options (`tsrun ps <id> -ef`): flags end at the first positional.
    name: 'ps', summary: 'ps displays the processes running inside a container', argsUsage: '<container-id> [ps options]',
    minArgs: 1, maxArgs: Infinity, stopAtPositional: true,
    flags: [{ name: 'format', aliases: ['f'], kind: 'string', usage: 'select one of: table or json', defaultText: '"table"' }],
  },
  notImplemented('restore', 'restore a container from a previous checkpoint'),
  {
    name: 'resume', summary: 'resumes all processes that have been previously paused', argsUsage: ID_ARG, minArgs: 1, maxArgs: 1,
    description: 'Where "<container-id>" is the name for the instance of the container to be\nresumed.\n\nEXAMPLE:\nFor example, if the container id is "ubuntu01" the following will resume it:\n\n       # tsrun resume ubuntu01',
    flags: [],
  },
  {
    name: 'run', summary: 'create and run a container', argsUsage: ID_ARG, minArgs: 1, maxArgs: 1,
    description: `${ID_NOTE}\n\nDESCRIPTION:\n   The run command creates an instance of a container for a bundle. The bundle\nis a directory with a specification file named "config.json" and a root\nfilesystem.`,
    flags: [
      bundle, consoleSocket,
      { name: 'detach', aliases: ['d'], kind: 'bool', usage: 'detach from the container\'s process' },
      { name: 'keep', kind: 'bool', usage: 'do not delete the container after it exits' },
      pidFile, noPivot, noNewKeyring, preserveFds,
    ],
  },
  {
    name: 'spec', summary: 'create a new specification file', argsUsage: '', minArgs: 0, maxArgs: 0,
    description: 'The spec command creates the new specification file named "config.json" for\nthe bundle.',
    flags: [
      { name: 'bundle', aliases: ['b'], kind: 'string', usage: 'path to the root of the bundle directory' },
      { name: 'rootless', kind: 'bool', usage: 'generate a configuration for a rootless container' },
    ],
  },
  {
    name: 'start', summary: 'executes the user defined process in a created container', argsUsage: ID_ARG,
    minArgs: 1, maxArgs: 1,
    description: `${ID_NOTE}\n\nDESCRIPTION:\n   The start command executes the user defined process in a created container.`,
    flags: [],
  },
  {
    name: 'state', summary: 'output the state of a container', argsUsage: ID_ARG, minArgs: 1, maxArgs: 1,
    description: 'Where "<container-id>" is your name for the instance of the container.\n\nDESCRIPTION:\n   The state command outputs current state information for the\ninstance of a container.',
    flags: [],
  },
  {
    name: 'update', summary: 'update container resource constraints', argsUsage: ID_ARG, minArgs: 1, maxArgs: 1,
    description: 'The data can be read from a file or the standard input, the\naccepted format is as follow (unchanged values can be omitted):\n\n{\n  "memory": {\n    "limit": 0,\n    "reservation": 0,\n    "swap": 0,\n    "checkBeforeUpdate": true\n  },\n  "cpu": {\n    "shares": 0,\n    "quota": 0,\n    "period": 0,\n    "realtimeRuntime": 0,\n    "realtimePeriod": 0,\n    "cpus": "",\n    "mems": ""\n  },\n  "blockIO": {\n    "weight": 0\n  },\n  "pids": {\n    "limit": 0\n  }\n}\n\nNote: if data is to be read from a file or the standard input, all\nother options are ignored.',
    flags: [
      { name: 'resources', aliases: ['r'], kind: 'string', usage: "path to the file containing the resources to update or '-' to read from the standard input" },
      { name: 'blkio-weight', kind: 'int', usage: 'Specifies per cgroup weight, range is from 10 to 1000', defaultText: '0' },
      { name: 'cpu-period', kind: 'string', usage: 'CPU CFS period to be used for hardcapping (in usecs). 0 to use system default' },
      { name: 'cpu-quota', kind: 'string', usage: 'CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period' },
      { name: 'cpu-rt-period', kind: 'string', usage: 'CPU realtime period to be used for hardcapping (in usecs). 0 to use system default' },
      { name: 'cpu-rt-runtime', kind: 'string', usage: 'CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period' },
      { name: 'cpu-share', kind: 'string', usage: 'CPU shares (relative weight vs. other containers)' },
      { name: 'cpuset-cpus', kind: 'string', usage: 'CPU(s) to use' },
      { name: 'cpuset-mems', kind: 'string', usage: 'Memory node(s) to use' },
      { name: 'memory', kind: 'string', usage: 'Memory limit (in bytes)' },
      { name: 'memory-reservation', kind: 'string', usage: 'Memory reservation or soft_limit (in bytes)' },
      { name: 'memory-swap', kind: 'string', usage: "Total memory usage (memory + swap); set '-1' to enable unlimited swap" },
      { name: 'pids-limit', kind: 'int', usage: 'Maximum number of pids allowed in the container', defaultText: '0' },
      { name: 'l3-cache-schema', kind: 'string', usage: 'The string of Intel RDT/CAT L3 cache schema' },
      { name: 'mem-bw-schema', kind: 'string', usage: 'The string of Intel RDT/MBA memory bandwidth schema' },
    ],
  },
];

export function findCommand(name: string): CommandDef | undefined {
  return COMMANDS.find((c) => c.name === name);
}
