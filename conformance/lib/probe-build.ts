import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { probeBinary, probeBuildScript, probeSource } from './paths.js';

/** Builds conformance/probe/probe when it is missing or older than probe.c; returns its path. */
export function ensureProbe(): string {
  const stale =
    !existsSync(probeBinary) || statSync(probeBinary).mtimeMs < statSync(probeSource).mtimeMs;
  if (stale) execFileSync('/bin/sh', [probeBuildScript], { stdio: ['ignore', 'inherit', 'inherit'] });
  return probeBinary;
}
