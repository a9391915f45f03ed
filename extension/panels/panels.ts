// The panels, one of each kind, and the serializers that restore them after a window reload.
import type { MunitContext } from '../context.js';
import { activationsSlot } from './activations.js';
import { architectureSlot } from './architecture.js';
import { configPreviewSlot } from './config-preview.js';
import { lossCurvesSlot } from './loss-curves.js';
import { samplesSlot } from './samples.js';
import { tuningSlot } from './tuning.js';

export function createPanels(munit: MunitContext) {
  return {
    lossCurves: lossCurvesSlot(munit),
    architecture: architectureSlot(munit),
    samples: samplesSlot(munit),
    activations: activationsSlot(munit),
    tuning: tuningSlot(munit),
    configPreview: configPreviewSlot(munit),
  };
}

export type Panels = ReturnType<typeof createPanels>;
