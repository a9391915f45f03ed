// Text and image helpers the panels share.

/** A base64 PNG from the server as an <img> source (data: images are allowed by the panels' CSP). */
export function pngSrc(base64: string): string {
  return `data:image/png;base64,${base64}`;
}

/** 15026187 -> '15.0M', 4736 -> '4.7k': parameter counts at a glance. */
export function formatCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

/** [256, 64, 64] -> '256×64×64', as PyTorch prints a shape without the batch. */
export function formatShape(shape: readonly number[]): string {
  return shape.join('×');
}

/** Four significant digits, switching to exponent notation for very small or large values (losses, lr). */
export function formatValue(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : v.toPrecision(4);
}

/** The file name of a path, for lists of images. */
export function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}
