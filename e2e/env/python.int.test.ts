import { describe, expect, it } from 'vitest';
import { runPython } from './python.ts';

describe('the interop Python venv', () => {
  it('imports the pinned interop libraries', async () => {
    const out = await runPython('import jwt, authlib, requests, cryptography; print(jwt.__version__)');
    expect(out.trim()).toBe('2.15.1');
  });
});
