/**
 * The linux.seccomp section of `tsrun features` (features-linux.md "Seccomp"), for
 * src/cli/features.ts. Architectures are the SCMP_ARCH_* names libseccomp 2.5 resolves.
 */
import { SECCOMP_ACTIONS, SECCOMP_KNOWN_FLAGS, SECCOMP_OPERATORS } from './profile.js';

export const SECCOMP_ARCHS: readonly string[] = [
  'SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM', 'SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64', 'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64', 'SCMP_ARCH_MIPSEL64N32', 'SCMP_ARCH_PARISC', 'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_PPC', 'SCMP_ARCH_PPC64', 'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_RISCV64', 'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X', 'SCMP_ARCH_X32', 'SCMP_ARCH_X86', 'SCMP_ARCH_X86_64',
];

export interface SeccompFeatures {
  enabled: boolean;
  actions: string[];
  operators: string[];
  archs: string[];
  knownFlags: string[];
  supportedFlags: string[];
}

/** supportedFlags: what this kernel accepts (6.x has all three; WAIT_KILLABLE_RECV since 5.19). The
 *  document is static: tsrun features must not probe the kernel at start-up cost. */
export function seccompFeatures(): SeccompFeatures {
  return {
    enabled: true,
    actions: [...SECCOMP_ACTIONS],
    operators: [...SECCOMP_OPERATORS],
    archs: [...SECCOMP_ARCHS],
    knownFlags: [...SECCOMP_KNOWN_FLAGS],
    supportedFlags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],
  };
}
