/**
 * Corpus cleaning filters (LLaMA §2's per-source preprocessing), each a documented function plus a
 * {@link DocumentFilter} wrapper; {@link FilterPipeline} composes them and reports what each removed.
 *
 * @module
 */
export {
  arxivFilter,
  cleanArxivLatex,
  expandLatexMacros,
  extractLatexMacros,
  type LatexMacro,
  stripLatexComments,
} from './arxiv.js';
export { type C4Options, c4Filter, cleanC4, countSentences } from './c4.js';
export { exactDedupFilter, type LineDedupOptions, lineDedupFilter, normalizeLine } from './dedup.js';
export { type DocumentFilter, FilterPipeline, type FilterReport, textFilter } from './document-filter.js';
export { FastTextModel, type FastTextPrediction, fastTextHash, loadFastTextModel } from './fasttext-model.js';
export { createFilter, type FilterSpec, filterNames, llamaSourceFilters } from './filter-registry.js';
export { cleanGitHubFile, type GitHubOptions, githubFilter, permissiveLicenses, stripLicenseHeader } from './github.js';
export { hashKey64, murmur32 } from './hashing.js';
export { decodeHtmlEntities, stripHtml } from './html.js';
export {
  identifyLanguage,
  type LanguageFilterOptions,
  type LanguageGuess,
  type LanguageIdentifier,
  languageFilter,
} from './language-id.js';
export { estimateJaccard, MinHashIndex, type NearDedupOptions, nearDedupFilter, shingleHashes } from './near-dedup.js';
export { formatStackExchange, type StackExchangeOptions, stackExchangeFilter } from './stackexchange.js';
export { stripWikiMarkup, wikipediaFilter } from './wikipedia.js';
