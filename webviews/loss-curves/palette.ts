// Line colours: each run is one colour family (a band of hues around its own base hue), each loss term a shade
// within it, so overlaid runs stay apart while a run's terms stay distinguishable. One run gets the whole wheel.

/** Roughly VS Code's chart colours (blue, orange, green, purple, red, yellow), as hues. */
const RUN_HUES = [210, 30, 130, 280, 0, 55];

export function seriesColor(run: number, runCount: number, term: number, termCount: number, alpha = 1): string {
  const spread = runCount === 1 ? 330 : 70;
  const offset = termCount === 1 ? 0 : spread * (term / (termCount - 1) - 0.5);
  const hue = (RUN_HUES[run % RUN_HUES.length]! + offset + 360) % 360;
  // Alternate lightness so neighbouring terms differ in more than hue.
  const lightness = term % 2 === 0 ? 55 : 68;
  return `hsla(${hue.toFixed(0)}, 75%, ${lightness}%, ${alpha})`;
}
