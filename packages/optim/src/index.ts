/**
 * `@andes/optim`: learning-rate schedules and gradient accumulation (optimizers follow).
 *
 * @module
 */

export { GradientAccumulator } from './gradient-accumulation.js';
export {
  type CosineScheduleOptions,
  constantSchedule,
  cosineSchedule,
  type LinearScheduleOptions,
  type LrSchedule,
  linearSchedule,
} from './schedules.js';
