import { describe, expect, it } from 'vitest';
import { cleanArxivLatex, expandLatexMacros, extractLatexMacros, stripLatexComments } from './arxiv.js';

describe('ArXiv LaTeX cleaning', () => {
  it('strips comments but keeps escaped percent signs', () => {
    expect(stripLatexComments('50\\% done % a note\n% whole line\nline \\\\% after a line break')).toBe(
      '50\\% done \nline \\\\',
    );
  });

  it('collects \\newcommand (with arguments and optional default) and \\def macros', () => {
    const { macros, text } = extractLatexMacros(
      '\\newcommand{\\R}{\\mathbb{R}}\\newcommand\\norm[1]{\\lVert #1 \\rVert}' +
        '\\renewcommand{\\pair}[2][x]{(#1, #2)}\\def\\eps{\\varepsilon}\\def\\ip#1#2{\\langle #1, #2 \\rangle}Body',
    );
    expect(text).toBe('Body');
    expect(Object.fromEntries(macros)).toEqual({
      R: { args: 0, optional: undefined, body: '\\mathbb{R}' },
      norm: { args: 1, optional: undefined, body: '\\lVert #1 \\rVert' },
      pair: { args: 2, optional: 'x', body: '(#1, #2)' },
      eps: { args: 0, optional: undefined, body: '\\varepsilon' },
      ip: { args: 2, optional: undefined, body: '\\langle #1, #2 \\rangle' },
    });
  });

  it('expands macros inline, with arguments, optional defaults and nesting, leaving longer names alone', () => {
    const { macros } = extractLatexMacros(
      '\\newcommand{\\R}{\\mathbb{R}}\\newcommand{\\vR}{v \\in \\R}\\newcommand{\\norm}[1]{\\|#1\\|}' +
        '\\newcommand{\\pair}[2][x]{(#1,#2)}',
    );
    expect(expandLatexMacros('$\\vR$, $\\norm{a+b}$, $\\pair{y}$, $\\pair[z]{y}$, \\Rational', macros)).toBe(
      '$v \\in \\mathbb{R}$, $\\|a+b\\|$, $(x,y)$, $(z,y)$, \\Rational',
    );
  });

  it('drops the preamble before the first section and the bibliography', () => {
    const paper = [
      '\\documentclass{article}',
      '\\newcommand{\\model}{LLaMA} % our model',
      '\\begin{document}\\maketitle',
      '\\begin{abstract}We train \\model.\\end{abstract}',
      '\\section{Introduction}',
      'We train \\model{} on 1.4T tokens. % TODO cite',
      '\\section*{Results}',
      'It works 100\\%.',
      '\\bibliographystyle{plain}',
      '\\begin{thebibliography}{9}\\bibitem{a} A. Author.\\end{thebibliography}',
      '\\end{document}',
    ].join('\n');
    expect(cleanArxivLatex(paper)).toBe(
      '\\section{Introduction}\nWe train LLaMA{} on 1.4T tokens. \n\\section*{Results}\nIt works 100\\%.',
    );
    expect(cleanArxivLatex('\\begin{document}No sections here.\\end{document}')).toBeNull();
  });
});
