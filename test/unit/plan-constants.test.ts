import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LINUX } from '../../src/spec/linux-constants.js';
import { CAPABILITIES } from '../../src/spec/capabilities.js';

const addonPath = fileURLToPath(new URL('../../build/Release/tsrun.node', import.meta.url));
const haveAddon = existsSync(addonPath);

/** Names the spec uses that no kernel header defines (SCHED_ISO is reserved, never implemented). */
const NOT_IN_HEADERS = new Set(['SCHED_ISO']);

function nativeConstants(): Record<string, number> {
  const addon = createRequire(import.meta.url)(addonPath) as { constants: Record<string, number> };
  return addon.constants;
}

describe('linux-constants against the C headers', () => {
  it.skipIf(!haveAddon)(`every constant equals the addon's value${haveAddon ? '' : ' (skipped: build/Release/tsrun.node not built)'}`, () => {
    const native = nativeConstants();
    const wrong: string[] = [];
    for (const [name, value] of Object.entries(LINUX)) {
      if (NOT_IN_HEADERS.has(name)) continue;
      if (native[name] !== value) wrong.push(`${name}: ours ${value}, headers ${String(native[name])}`);
    }
    expect(wrong).toEqual([]);
  });

  it.skipIf(!haveAddon)(`capability numbers equal the headers' CAP_*${haveAddon ? '' : ' (skipped: build/Release/tsrun.node not built)'}`, () => {
    const native = nativeConstants();
    CAPABILITIES.forEach((name, i) => expect([name, native[name]]).toEqual([name, i]));
  });

  it('values that must fit 31 bits do (bitwise operators are 32-bit signed)', () => {
    for (const [name, value] of Object.entries(LINUX)) {
      expect([name, Number.isInteger(value) && value >= 0 && value < 2 ** 31]).toEqual([name, true]);
    }
  });
});
