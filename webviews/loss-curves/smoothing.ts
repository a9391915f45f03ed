// TensorBoard's scalar smoothing: an exponential moving average divided by (1 - weight^n), so the first points are
// not pulled towards zero. Kept incremental, so a live point costs O(1) instead of re-smoothing the whole history.

export class DebiasedEma {
  readonly values: (number | null)[] = [];
  private last = 0;
  private count = 0;

  constructor(readonly weight: number) {}

  push(y: number | null): void {
    // Gaps (null: missing or non-finite) pass through unchanged and do not disturb the average (as in TensorBoard).
    if (y === null || !Number.isFinite(y)) {
      this.values.push(null);
      return;
    }
    this.last = this.last * this.weight + (1 - this.weight) * y;
    this.count++;
    const debias = this.weight === 1 ? 1 : 1 - Math.pow(this.weight, this.count);
    this.values.push(this.last / debias);
  }
}
