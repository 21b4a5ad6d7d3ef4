/**
 * `@andes/optim`: AdamW on the fused kernel, SGD, global-norm clipping on the device, learning-rate schedules and
 * gradient accumulation.
 *
 * @module
 */

export { AdamW, type AdamWOptions, type AdamWStepOptions, type StepResult } from './adamw.js';
export { type ClipResult, clipGradNorm, gradNorm } from './clip-grad-norm.js';
export { GradientAccumulator } from './gradient-accumulation.js';
export type { OptimizerStateDict, ParamStateHost, ParamsInput } from './params.js';
export {
  type CosineScheduleOptions,
  constantSchedule,
  cosineSchedule,
  type LinearScheduleOptions,
  type LrSchedule,
  linearSchedule,
} from './schedules.js';
export { SGD, type SGDOptions } from './sgd.js';
