import { mountPanel } from '../shared/panel.js';
import { LossCurvesView } from './loss-curves-view.js';

mountPanel(new LossCurvesView());
