import { describe, expect, it } from 'vitest';
import { progressOf } from '../../src/domain/bulk-import.js';

const counters = { processed: 30, exceptions: 5, notHonored: 5, validationSuccessful: 80 };

describe('progressOf', () => {
  it('is 0 before execute, whatever the counters say', () => {
    expect(progressOf('INITIATED', counters)).toBe(0);
    expect(progressOf('STAGING', counters)).toBe(0);
  });

  it('counts processed, exceptions and not-honoured records while queued or processing', () => {
    expect(progressOf('QUEUED', counters)).toBe(0.5);
    expect(progressOf('PROCESSING', counters)).toBe(0.5);
  });

  it('is clamped to 0..1 and safe with nothing validated', () => {
    expect(progressOf('PROCESSING', { ...counters, processed: 500 })).toBe(1);
    expect(progressOf('PROCESSING', { ...counters, validationSuccessful: 0 })).toBe(0);
  });

  it('is 1 when completed and keeps the frozen counters\' value when failed', () => {
    expect(progressOf('COMPLETED', { ...counters, processed: 0 })).toBe(1);
    expect(progressOf('FAILED', counters)).toBe(0.5);
  });
});
