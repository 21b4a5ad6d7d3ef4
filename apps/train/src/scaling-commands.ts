/**
 * The scaling-law commands of `andes-train` (`sweep`, `fit`, `tradeoff`), registered on the program by one call so
 * that program.ts stays a list of commands.
 *
 * @module
 */
import { type Command, Option } from 'commander';

/** Adds `sweep`, `fit` and `tradeoff` to `program`. */
export function registerScalingCommands(program: Command): void {
  program
    .command('sweep')
    .description('IsoFLOP grid of pretrain runs (sizes × compute budgets); resumable; then fit and report')
    .option('--config <file>', 'sweep JSON: outDir, basePreset, widths, budgets, perBudget, tokensPerParameter, train')
    .option('--jobs <n>', 'runs at once, each in its own process (default 1)')
    .option('--emit <target>', 'write a Kubernetes Indexed Job (k8s) instead of running')
    .option('--image <image>', 'container image for --emit k8s (default andes:latest)')
    .option('--claim <name>', 'PersistentVolumeClaim holding the sweep for --emit k8s (default andes-sweep)')
    .option('--mount-path <path>', 'where the claim is mounted, the pods’ working directory (default /workspace)')
    .option('--job-name <name>', 'Job name for --emit k8s (default andes-sweep)')
    .option('--no-report', 'do not fit and write the report at the end')
    .addOption(new Option('--worker', 'run one point in this process (index: --point or JOB_COMPLETION_INDEX)'))
    .addOption(new Option('--point <index>', 'the point a --worker runs'))
    .action(async (options) => {
      const { runSweepCommand } = await import('./sweep-command.js');
      await runSweepCommand(options);
    });

  program
    .command('fit')
    .description("fit L(N,D) = E + A/N^α + B/D^β to finished runs, beside Chinchilla's; IsoFLOP minima; N*(C), D*(C)")
    .argument('[runs...]', 'run directories, or sweep directories (every finished run under runs/)')
    .option('--points <file>', 'CSV with a header row params,tokens,loss instead of run directories')
    .option('--json', 'print { E, A, B, alpha, beta, ci: {…}, … } as JSON')
    .option('--report <dir>', 'write report.md, fit.json and SVG charts into this directory')
    .option('--samples <n>', 'bootstrap resamples (default 200)')
    .option('--seed <n>', 'bootstrap seed (default 0)')
    .option('--inference-tokens <T>', "the report's trade-off: tokens served (default 10 × the largest budget's D*)")
    .action(async (runs: string[], options) => {
      const { runFitCommand } = await import('./fit-command.js');
      await runFitCommand(runs, options);
    });

  program
    .command('tradeoff')
    .description('training + inference FLOPs per model size for a target loss: the smaller, trained-longer optimum')
    .option('--fit <file>', "fit JSON (from fit --json or a report's fit.json), or chinchilla")
    .option('--inference-tokens <T>', 'tokens served over the model’s life')
    .option('--target-loss <nats>', "loss to reach (default: the fit's optimum at its largest budget)")
    .option('--svg <file>', 'write the trade-off curve as SVG')
    .option('--json', 'print JSON')
    .action(async (options) => {
      const { runTradeoffCommand } = await import('./tradeoff-command.js');
      runTradeoffCommand(options);
    });
}
