// Shared helpers for the black-box suite (conformance/*.test.ts) and test/integration/*.test.ts.
// They drive only the tsrun binary; nothing here imports src/.
export * from './paths.js';
export * from './config.js';
export * from './bundle.js';
export * from './tsrun.js';
export * from './probe-report.js';
export { onCleanup, trackDir, removeTree } from './cleanup.js';
export { cleanupAll, deleteAllContainers, installCleanup } from './teardown.js';
export { ensureProbe } from './probe-build.js';
export * from './host.js';
export * from './cgroups.js';
export * from './console.js';
