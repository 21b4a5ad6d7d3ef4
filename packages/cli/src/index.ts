/**
 * `@andes/cli`: the conventions every Andes command-line tool shares — one error format
 * (`andes-<tool>: <what is wrong> (<what to do>)`, stack traces only with `--verbose` or `DEBUG`), `--version` from
 * package.json, and bins that keep Dawn's adapter warnings out of the terminal.
 *
 * It is its own package because all three apps need it and none of the model packages should know about exit
 * codes, argv or terminals.
 *
 * @module
 */
export { CliError, commanderOutput, formatCliError, isVerbose, runMain, userMessage } from './cli-error.js';
export { filterDawnWarnings, isDawnLimitWarning } from './dawn-warnings.js';
export { launchCli, mayLoadDawn } from './launch-cli.js';
export { packageVersion } from './version.js';
