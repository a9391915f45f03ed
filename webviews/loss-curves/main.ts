import { mountPanel } from '../shared/panel.js';
import { LossCurves } from './loss-curves.js';

mountPanel(new LossCurves());
