import { mountPanel } from '../shared/panel.js';
import { SamplesView } from './samples-view.js';

mountPanel(new SamplesView());
