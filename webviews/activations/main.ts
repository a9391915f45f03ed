import { mountPanel } from '../shared/panel.js';
import { ActivationsView } from './activations-view.js';

mountPanel(new ActivationsView());
