import { describe, expect, it } from 'vitest';
import { MAX_NOTE_BYTES, truncateBytes } from './events.ts';

describe('event notes', () => {
  it('are cut to 1 KiB of UTF-8, never inside a character', () => {
    expect(truncateBytes('short', MAX_NOTE_BYTES)).toBe('short');
    const ascii = 'x'.repeat(2000);
    expect(truncateBytes(ascii, MAX_NOTE_BYTES)).toHaveLength(1024);
    const euros = '€'.repeat(400); // 3 bytes each
    const cut = truncateBytes(euros, MAX_NOTE_BYTES);
    expect(Buffer.byteLength(cut)).toBe(1023);
    expect(cut).toBe('€'.repeat(341));
    expect(truncateBytes('a😀b', 3)).toBe('a');
  });
});
