/**
 * Container ids become directory names under --root, so they must never escape it: runc's rule
 * (^[\w+-.]+$, not "." or "..") plus a length cap that keeps <root>/<id>/state.json within PATH_MAX.
 */

import { UsageError } from '../errors.js';

const ID_RE = /^[\w+\-.]+$/;
export const MAX_ID_BYTES = 1024;

/** Returns a reason when `id` is not a valid container id, else null. */
export function idProblem(id: string): string | null {
  if (id === '') return 'empty';
  if (Buffer.byteLength(id, 'utf8') > MAX_ID_BYTES) return `longer than ${MAX_ID_BYTES} bytes`;
  if (id === '.' || id === '..') return `${JSON.stringify(id)} is not allowed`;
  if (!ID_RE.test(id)) return 'only letters, digits, "_", "+", "-" and "." are allowed';
  return null;
}

export function validateId(id: string): void {
  const p = idProblem(id);
  if (p !== null) throw new UsageError(`invalid container ID format: ${JSON.stringify(id.slice(0, 100))}: ${p}`);
}
