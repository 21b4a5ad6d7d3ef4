/**
 * The `andes-train finetune` command: its flags, registered on the program by {@link addFinetuneCommand}.
 *
 * @module
 */
import type { Command } from 'commander';
import { ConfigError } from './config.js';
import {
  BUILTIN_STORY_INSTRUCT,
  type FinetuneFlags,
  finetuneConfigFromFlags,
  readFinetuneConfig,
} from './finetune-config.js';

/** Adds `finetune` to `program`. */
export function addFinetuneCommand(program: Command): void {
  program
    .command('finetune')
    .description(
      'instruction-tune a saved model (full, or LoRA with --lora-r) on Alpaca, ShareGPT, GPT4All or chat data',
    )
    .option('--model <path>', 'base model: a model directory, a run directory with model/, a .gguf or a llama2.c .bin')
    .option('--data <file>', `instruction data file, or ${BUILTIN_STORY_INSTRUCT} (synthetic questions about stories)`)
    .option('--format <name>', 'alpaca | sharegpt | gpt4all | chat-jsonl')
    .option('--template <name>', 'llama2 | alpaca | vicuna | chatml (default: the model directory’s, else llama2)')
    .option('--out <dir>', 'run directory: adapter/ or model/, merged/, metrics.jsonl, loss.svg, checkpoints/')
    .option('--steps <n>', 'optimizer steps (default 200)')
    .option('--batch-size <n>', 'examples per step (default 8)')
    .option('--lr <rate>', 'peak learning rate (default 2e-3 with LoRA, 3e-4 full)')
    .option('--warmup-steps <n>', 'linear warmup steps (default 10)')
    .option('--weight-decay <w>', 'AdamW weight decay (default 0)')
    .option('--lora-r <r>', 'LoRA rank (default 0: full fine-tuning)')
    .option('--lora-alpha <a>', 'LoRA alpha (default 2·r)')
    .option('--lora-targets <list>', 'modules to adapt (default q_proj,v_proj)')
    .option('--lora-dropout <p>', 'dropout on the adapters’ input (default 0.05)')
    .option('--merge', 'also write merged/: a full model directory with the adapters folded in')
    .option('--validation-fraction <f>', 'fraction of examples held out (default 0.1)')
    .option('--eval-interval <n>', 'held-out loss every N steps (default 50; 0: at the end)')
    .option('--checkpoint-interval <n>', 'checkpoint every N steps (default 50; 0: at the end)')
    .option('--keep-last <n>', 'checkpoints kept (default 2)')
    .option('--examples <n>', `examples of ${BUILTIN_STORY_INSTRUCT} (default 3000)`)
    .option('--time-budget <seconds>', 'stop after this many seconds (default 0: no limit)')
    .option('--seed <n>', 'seed of adapters, shuffling and dropout (default 0)')
    .option('--backend <name>', 'auto, webgpu or cpu (default auto)')
    .option('--resume', 'continue the run in --out from its latest checkpoint')
    .action(async (options: FinetuneFlags & { resume?: boolean }) => {
      const { runFinetune } = await import('./finetune.js');
      if (options.resume) {
        if (typeof options.out !== 'string') throw new ConfigError('finetune --resume: --out is required');
        await runFinetune(readFinetuneConfig(options.out), true);
      } else await runFinetune(finetuneConfigFromFlags(options));
    });
}
