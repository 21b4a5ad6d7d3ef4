import { describe, expect, it } from 'vitest';
import { isValidationDocument } from './validation-split.js';

describe('isValidationDocument', () => {
  it('puts about valFraction of documents in the validation split', () => {
    let val = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) if (isValidationDocument(`document number ${i}`, 0.1)) val++;
    // Binomial(20000, 0.1): sd ≈ 42; 6 sd bounds.
    expect(Math.abs(val - 2000)).toBeLessThan(260);
  });
});
