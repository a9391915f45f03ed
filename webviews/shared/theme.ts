// Styles every panel shares. Only --vscode-* variables, so light, dark and high-contrast themes all look native;
// lit adopts these as constructed style sheets, which the webview's CSP allows (a <style> tag would need the nonce).
import { css } from 'lit';

export const theme = css`
  :host {
    display: block;
    box-sizing: border-box;
    height: 100vh;
    padding: 8px 12px;
    overflow: auto;
    color: var(--vscode-foreground);
    font-family: var(--vscode-font-family);
    font-size: var(--vscode-font-size);
    font-weight: var(--vscode-font-weight);
  }
  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }
  h2 {
    font-size: 1.1em;
    font-weight: 600;
    margin: 12px 0 6px;
  }
  .toolbar {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 8px 16px;
    margin-bottom: 8px;
  }
  .toolbar label {
    display: inline-flex;
    align-items: center;
    gap: 6px;
  }
  .muted {
    color: var(--vscode-descriptionForeground);
  }
  .error {
    color: var(--vscode-errorForeground);
  }
  .empty {
    max-width: 36em;
    margin: 15vh auto 0;
    text-align: center;
    color: var(--vscode-descriptionForeground);
    line-height: 1.5;
  }
  .empty strong {
    display: block;
    margin-bottom: 4px;
    color: var(--vscode-foreground);
    font-size: 1.15em;
  }
  /* vscode-elements' default select is 320px wide: too wide beside other controls in a toolbar. */
  vscode-single-select {
    width: 14em;
  }
  input[type='range'] {
    accent-color: var(--vscode-button-background);
  }
  img.pixels {
    image-rendering: pixelated;
    max-width: 100%;
    border: 1px solid var(--vscode-panel-border, transparent);
  }
  figure {
    margin: 0 0 12px;
  }
  figcaption {
    color: var(--vscode-descriptionForeground);
    margin-bottom: 4px;
  }
  .busy {
    color: var(--vscode-descriptionForeground);
    font-style: italic;
  }
  table {
    border-collapse: collapse;
    font-variant-numeric: tabular-nums;
  }
  th,
  td {
    padding: 2px 10px;
    text-align: right;
    border-bottom: 1px solid var(--vscode-widget-border, var(--vscode-panel-border, transparent));
  }
  th {
    font-weight: 600;
    user-select: none;
  }
`;
