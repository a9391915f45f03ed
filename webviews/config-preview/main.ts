import { mountPanel } from '../shared/panel.js';
import { ConfigPreviewView } from './config-preview-view.js';

mountPanel(new ConfigPreviewView());
