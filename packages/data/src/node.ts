/**
 * `@andes/data/node`: the Node-only file readers behind file sources — glob expansion and the resumable line reader.
 * Kept out of the main entry, which stays browser-safe.
 *
 * @module
 */

export { expandGlob, globToRegExp, isGlobPattern, listFilesRecursive } from './glob.js';
export { type FileLine, LineReader } from './line-reader.js';
