import { mountPanel } from '../shared/panel.js';
import { TuningView } from './tuning-view.js';

mountPanel(new TuningView());
