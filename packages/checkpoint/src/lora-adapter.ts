/**
 * LoRA adapters in Hugging Face PEFT's directory layout: `adapter_config.json` (a `LoraConfig`) and
 * `adapter_model.safetensors`, whose tensor names are the model's own paths prefixed with `base_model.model.` (the
 * `PeftModelForCausalLM` → `LoraModel` wrapping) and without the adapter name, e.g.
 * `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight` `[r, in]` and `…lora_B.weight` `[out, r]`.
 * Python's `PeftModel.from_pretrained(base, dir)` loads such a directory.
 *
 * @module
 */

import { applyLora, isLoraParameter, type LoraAdapter, type LoraOptions, type Module } from '@andes/nn';
import { hostTensorToFloat32, toHostTensors } from './host-tensors.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';

/** Node's file system, loaded on first use: the main entry stays importable in browsers. */
const nodeFs = () => import('node:fs/promises');
/** Node's path module, loaded on first use: the main entry stays importable in browsers. */
const nodePath = () => import('node:path');
/** The atomic writers (`@andes/tensor/node`), loaded on first use: the main entry stays importable in browsers. */
const nodeWriters = () => import('@andes/tensor/node');

/** PEFT's prefix of every saved adapter tensor of a causal LM. */
export const PEFT_PREFIX = 'base_model.model.';
/** The adapter config file of a PEFT directory. */
export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
/** The adapter weights file of a PEFT directory. */
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';

/** What a LoRA adapter directory describes: the hyper-parameters and the base model it was trained on. */
export interface LoraAdapterConfig {
  /** Rank. */
  r: number;
  /** `lora_alpha`: the update is scaled by alpha / r. */
  alpha: number;
  /** `target_modules`. */
  targets: string[];
  /** `lora_dropout`. */
  dropout: number;
  /** `base_model_name_or_path` (may be empty). */
  baseModel: string;
}

/** A loaded adapter directory: its config and the adapter tensors under the model's own names. */
export interface LoadedLoraAdapter {
  /** The parsed `adapter_config.json`. */
  config: LoraAdapterConfig;
  /** `model.layers.0.self_attn.q_proj.lora_A.weight` → float32 data. */
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
}

/** `adapter_config.json` as PEFT writes it for a LoRA on a causal LM (fields PEFT does not need are omitted). */
export function peftAdapterConfigJson(config: LoraAdapterConfig): Record<string, unknown> {
  return {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: config.baseModel,
    r: config.r,
    lora_alpha: config.alpha,
    lora_dropout: config.dropout,
    target_modules: [...config.targets],
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    modules_to_save: null,
    use_rslora: false,
    use_dora: false,
    rank_pattern: {},
    alpha_pattern: {},
  };
}

/**
 * Writes the adapters of `model` (its `*.lora_A.weight` / `*.lora_B.weight` parameters) to `dir` in PEFT's layout,
 * atomically (an existing `dir` is replaced).
 */
export async function saveLoraAdapter(dir: string, model: Module, config: LoraAdapterConfig): Promise<void> {
  const adapters = model.namedParameters().filter(([name]) => isLoraParameter(name));
  if (adapters.length === 0) throw new Error(`saveLoraAdapter ${dir}: the model has no LoRA adapters`);
  const host = await toHostTensors(new Map(adapters.map(([name, p]) => [PEFT_PREFIX + name, p])));
  await (await nodeWriters()).writeDirectoryAtomic(dir, async (tmp) => {
    await writeSafetensors((await nodePath()).join(tmp, ADAPTER_WEIGHTS_FILE), host, { format: 'pt' });
    await (await nodeWriters()).writeFileAtomic(
      (await nodePath()).join(tmp, ADAPTER_CONFIG_FILE),
      `${JSON.stringify(peftAdapterConfigJson(config), null, 2)}\n`,
    );
  });
}

function field<T>(
  file: string,
  json: Record<string, unknown>,
  name: string,
  ok: (v: unknown) => boolean,
  want: string,
): T {
  const value = json[name];
  if (!ok(value)) throw new Error(`${file}: field '${name}' must be ${want}, got ${JSON.stringify(value)}`);
  return value as T;
}

/** Parses and checks a PEFT `adapter_config.json` text; errors name the file and the field. */
export function parsePeftAdapterConfig(text: string, file: string): LoraAdapterConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${file}: not a JSON object`);
  const o = json as Record<string, unknown>;
  field(file, o, 'peft_type', (v) => v === 'LORA', '"LORA"');
  field(file, o, 'fan_in_fan_out', (v) => v === undefined || v === false, 'false');
  field(file, o, 'bias', (v) => v === undefined || v === 'none', '"none"');
  field(file, o, 'use_dora', (v) => v === undefined || v === false, 'false (DoRA is not supported)');
  field(file, o, 'use_rslora', (v) => v === undefined || v === false, 'false (rsLoRA is not supported)');
  const emptyMap = (v: unknown) =>
    v === undefined || (typeof v === 'object' && v !== null && Object.keys(v).length === 0);
  field(file, o, 'rank_pattern', emptyMap, 'empty (per-layer ranks are not supported)');
  field(file, o, 'alpha_pattern', emptyMap, 'empty (per-layer alphas are not supported)');
  const r = field<number>(file, o, 'r', (v) => Number.isInteger(v) && (v as number) > 0, 'a positive integer');
  const alpha = field<number>(file, o, 'lora_alpha', (v) => typeof v === 'number' && v > 0, 'a positive number');
  const dropout = field<number | undefined>(
    file,
    o,
    'lora_dropout',
    (v) => v === undefined || (typeof v === 'number' && v >= 0 && v < 1),
    'a number in [0, 1)',
  );
  const targets = field<string[]>(
    file,
    o,
    'target_modules',
    (v) => Array.isArray(v) && v.length > 0 && v.every((t) => typeof t === 'string'),
    'a non-empty list of module names',
  );
  const base = o.base_model_name_or_path;
  return { r, alpha, targets, dropout: dropout ?? 0, baseModel: typeof base === 'string' ? base : '' };
}

/** Reads a PEFT LoRA directory; tensor names lose the `base_model.model.` prefix and become float32. */
export async function loadLoraAdapter(dir: string): Promise<LoadedLoraAdapter> {
  const configFile = (await nodePath()).join(dir, ADAPTER_CONFIG_FILE);
  let text: string;
  try {
    text = await (await nodeFs()).readFile(configFile, 'utf8');
  } catch (e) {
    throw new Error(`loadLoraAdapter: cannot read ${configFile} (${(e as Error).message})`);
  }
  const config = parsePeftAdapterConfig(text, configFile);
  const weightsFile = (await nodePath()).join(dir, ADAPTER_WEIGHTS_FILE);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of (await readSafetensors(weightsFile)).tensors) {
    // PEFT saves under the adapter's name only in multi-adapter files ("….lora_A.default.weight"); accept it too.
    const own = name.replace(/\.lora_([AB])\.default\.weight$/, '.lora_$1.weight');
    if (!own.startsWith(PEFT_PREFIX) || !isLoraParameter(own)) {
      throw new Error(
        `${weightsFile}: tensor '${name}' is not a LoRA weight named 'base_model.model.….lora_{A,B}.weight'`,
      );
    }
    tensors.set(own.slice(PEFT_PREFIX.length), {
      shape: [...t.shape],
      data: hostTensorToFloat32(t, `${weightsFile}: ${name}`),
    });
  }
  return { config, tensors };
}

/**
 * Attaches the adapters of a PEFT directory to `model` (see `applyLora`) and loads their weights. The base is frozen.
 *
 * @throws Error naming the file and tensor when a tensor is missing, unexpected or of the wrong shape.
 */
export async function applyLoraAdapterDir(
  model: Module,
  dir: string,
  options: Pick<LoraOptions, 'dropout'> = {},
): Promise<{ config: LoraAdapterConfig; adapters: Map<string, LoraAdapter> }> {
  const { config, tensors } = await loadLoraAdapter(dir);
  const adapters = applyLora(model, {
    r: config.r,
    alpha: config.alpha,
    targets: config.targets,
    dropout: options.dropout ?? config.dropout,
  });
  const weightsFile = (await nodePath()).join(dir, ADAPTER_WEIGHTS_FILE);
  const own = new Map(model.namedParameters().filter(([name]) => isLoraParameter(name)));
  const missing = [...own.keys()].filter((name) => !tensors.has(name));
  const unexpected = [...tensors.keys()].filter((name) => !own.has(name));
  if (missing.length > 0 || unexpected.length > 0) {
    throw new Error(
      `${weightsFile}: does not fit the model: missing [${missing.map((n) => PEFT_PREFIX + n).join(', ')}]; ` +
        `unexpected [${unexpected.map((n) => PEFT_PREFIX + n).join(', ')}]`,
    );
  }
  try {
    model.loadStateDict(tensors, { strict: false });
  } catch (e) {
    throw new Error(`${weightsFile}: ${(e as Error).message}`);
  }
  return { config, adapters };
}
