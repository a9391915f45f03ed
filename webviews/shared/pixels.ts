/**
 * `@load` handler for small images (sample grids, feature-map tiles): scales them up by a whole factor, at most 4,
 * to fill their container, so they stay crisp under `image-rendering: pixelated`. Sets the width attribute, not a
 * style, which the panels' CSP would block.
 */
export function upscale(event: Event): void {
  const img = event.target as HTMLImageElement;
  const available = img.parentElement?.clientWidth ?? img.naturalWidth;
  img.width = img.naturalWidth * Math.max(1, Math.min(4, Math.floor(available / img.naturalWidth)));
}
