// get_scheduler of the reference: StepLR(step_size, gamma) or constant.
import type { LrPolicy } from './config/enums.js';

export interface LrScheduleSettings {
  lr: number;
  lr_policy: LrPolicy;
  step_size: number;
  gamma: number;
}

/**
 * The learning rate used by 0-based iteration `it`. The reference's train.py calls scheduler.step() at the top of
 * each iteration, before both updates, so iteration `it` runs after it+1 scheduler steps:
 * lr * gamma^floor((it + 1) / step_size).
 */
export function learningRateAt(it: number, s: LrScheduleSettings): number {
  if (s.lr_policy === 'constant') return s.lr;
  return s.lr * s.gamma ** Math.floor((it + 1) / s.step_size);
}
