import { describe, expect, it } from 'vitest';
import { decodeHtmlEntities, stripHtml } from './html.js';
import { formatStackExchange } from './stackexchange.js';

describe('StackExchange formatting', () => {
  it('strips HTML and orders answers by score, highest first, ties in input order', () => {
    const meta = {
      question: '<p>How do I sort a <code>list</code>?</p>',
      answers: [
        { body: '<p>Use <code>sorted()</code>.</p>', score: 3 },
        { body: '<p>Call <b>list.sort()</b> &amp; done.</p>', score: 10 },
        { body: '<p>Write a bubble sort.</p>', score: -2 },
        { text: 'Use heapq.', score: '3' },
        { body: '   ', score: 100 },
      ],
    };
    expect(formatStackExchange('', meta)).toBe(
      'Q: How do I sort a list?\n\nA: Call list.sort() & done.\n\nA: Use sorted().\n\nA: Use heapq.\n\nA: Write a bubble sort.',
    );
  });

  it('falls back to stripping the text field when there are no question/answers fields', () => {
    expect(formatStackExchange('<p>Hello<br/>world</p><script>x()</script>', {})).toBe('Hello\nworld');
  });

  it('decodes named and numeric entities and leaves unknown ones', () => {
    expect(decodeHtmlEntities('&lt;a&gt; &#233; &#x1F600; &bogus; &#0;')).toBe('<a> é 😀 &bogus; &#0;');
    expect(stripHtml('<ul><li>one</li><li>two</li></ul><!-- c --><style>p{}</style>')).toBe('one\n\ntwo');
  });
});
