import { describe, expect, it } from 'vitest';
import { cleanGitHubFile, stripLicenseHeader } from './github.js';

const mit = { meta: { license: 'MIT' } };
const code = 'export function add(a: number, b: number): number {\n  return a + b;\n}\n';

describe('GitHub file heuristics', () => {
  it('keeps permissive licenses only (metadata field, string or list)', () => {
    expect(cleanGitHubFile(code, mit)).toBe(code);
    expect(cleanGitHubFile(code, { meta: { license: 'GPL-3.0' } })).toBeNull();
    expect(cleanGitHubFile(code, {})).toBeNull();
    expect(cleanGitHubFile(code, { licenses: ['gpl-3.0', 'bsd-3-clause'] }, { licenseField: 'licenses' })).toBe(code);
    expect(cleanGitHubFile(code, { meta: { license: 'GPL-3.0' } }, { licenses: ['gpl-3.0'] })).toBe(code);
  });

  it('drops files with a line over 1000 characters or a mean line length over 100', () => {
    expect(cleanGitHubFile(`const a = '${'x'.repeat(990)}';\n`, mit)).toBeNull();
    expect(cleanGitHubFile(`${'a = 1;\n'.repeat(30)}${'b'.repeat(1000)}`, mit)).not.toBeNull();
    expect(cleanGitHubFile(`${'y'.repeat(150)}\n${'z'.repeat(60)}`, mit)).toBeNull();
  });

  it('drops files under 25% alphanumeric characters (data dumps, minified art)', () => {
    expect(cleanGitHubFile('a = [\n' + '  0x1, 0x2,\n'.repeat(5) + ']\n', mit)).not.toBeNull();
    expect(cleanGitHubFile('// ==========\n// ----------\n// **********\nx\n', mit)).toBeNull();
  });

  it('strips a license header comment, keeping a shebang and other leading comments', () => {
    const header = '/*\n * Copyright 2020 Acme\n * Licensed under MIT\n */\n\n';
    expect(stripLicenseHeader(header + code)).toBe(code);
    expect(
      stripLicenseHeader('#!/usr/bin/env python\n# Copyright (c) Acme\n# SPDX-License-Identifier: MIT\nprint(1)\n'),
    ).toBe('#!/usr/bin/env python\nprint(1)\n');
    expect(stripLicenseHeader('// Adds two numbers.\n' + code)).toBe('// Adds two numbers.\n' + code);
  });
});
