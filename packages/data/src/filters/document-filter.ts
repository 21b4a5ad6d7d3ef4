import type { CorpusRecord } from '../record-reader.js';

/**
 * One cleaning step: returns the document (possibly with its text rewritten) or null to drop it. Filters may keep
 * state across documents (deduplication), so one instance sees one source's documents in order.
 */
export interface DocumentFilter {
  /** Name used in reports (e.g. `c4`, `near-dedup`). */
  readonly name: string;
  /** The cleaned document, or null when it is removed. */
  apply(doc: CorpusRecord): CorpusRecord | null;
}

/** What one filter did to a source: documents and UTF-8 bytes it removed. */
export interface FilterReport {
  /** The filter's name. */
  filter: string;
  /** Documents that reached the filter. */
  documentsIn: number;
  /** Documents it dropped. */
  documentsRemoved: number;
  /** Documents it kept with changed text (lines or markup removed). */
  documentsChanged: number;
  /** UTF-8 bytes that reached it. */
  bytesIn: number;
  /** UTF-8 bytes it removed: whole dropped documents plus text cut from kept ones. */
  bytesRemoved: number;
}

/** A filter from a text function: `clean(text, meta)` returns the new text, or null (or empty) to drop. */
export function textFilter(
  name: string,
  clean: (text: string, meta: Record<string, unknown>) => string | null,
): DocumentFilter {
  return {
    name,
    apply(doc) {
      const text = clean(doc.text, doc.meta);
      if (text === null || text.trim() === '') return null;
      return text === doc.text ? doc : { text, meta: doc.meta };
    },
  };
}

/** Runs filters in order and counts, per filter, the documents and bytes each removed. */
export class FilterPipeline {
  private readonly counts: FilterReport[];

  /** @param filters applied in this order; a dropped document reaches none of the later ones. */
  constructor(readonly filters: readonly DocumentFilter[]) {
    this.counts = filters.map((f) => ({
      filter: f.name,
      documentsIn: 0,
      documentsRemoved: 0,
      documentsChanged: 0,
      bytesIn: 0,
      bytesRemoved: 0,
    }));
  }

  /** The document after every filter, or null when one of them removed it. */
  apply(doc: CorpusRecord): CorpusRecord | null {
    let current = doc;
    let bytes = Buffer.byteLength(doc.text, 'utf8');
    for (let i = 0; i < this.filters.length; i++) {
      const report = this.counts[i]!;
      report.documentsIn++;
      report.bytesIn += bytes;
      const out = this.filters[i]!.apply(current);
      if (out === null) {
        report.documentsRemoved++;
        report.bytesRemoved += bytes;
        return null;
      }
      if (out.text !== current.text) {
        const after = Buffer.byteLength(out.text, 'utf8');
        report.documentsChanged++;
        report.bytesRemoved += bytes - after;
        bytes = after;
      }
      current = out;
    }
    return current;
  }

  /** A copy of the per-filter counts so far. */
  reports(): FilterReport[] {
    return this.counts.map((r) => ({ ...r }));
  }
}
