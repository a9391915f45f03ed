import { mountPanel } from '../shared/panel.js';
import { ArchitectureView } from './architecture-view.js';

mountPanel(new ArchitectureView());
