import { describe, expect, it } from 'vitest';
import { idProblem, validateId } from '../../src/container/id.js';

describe('container ids', () => {
  it('accepts runc-valid ids', () => {
    for (const id of ['a', 'abc-123', 'my_ctr.v2', 'x+y', 'A'.repeat(1024), '...']) expect(idProblem(id)).toBeNull();
  });
  it('rejects ids that could escape --root or break paths', () => {
    for (const id of ['', '.', '..', 'a/b', '../x', 'a\0b', 'a b', 'é', 'A'.repeat(1025), 'x:y']) {
      expect(idProblem(id), JSON.stringify(id)).not.toBeNull();
      expect(() => validateId(id)).toThrow(/invalid container ID format/);
    }
  });
});
