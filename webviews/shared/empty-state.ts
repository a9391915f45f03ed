import { html, type TemplateResult } from 'lit';

/** What a panel shows before it has data: what is missing and what to do about it. */
export function emptyState(title: string, hint: string | TemplateResult): TemplateResult {
  return html`<div class="empty" role="status"><strong>${title}</strong>${hint}</div>`;
}
