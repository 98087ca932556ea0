/** The bytes this process's uploads hold in memory, bounded (UPLOAD_MAX_INFLIGHT_MB). */
export class UploadBudget {
  #used = 0;
  /** Uploads refused because the bound was reached. */
  refused = 0;

  constructor(readonly maxBytes: number) {}

  get used(): number {
    return this.#used;
  }

  /** Takes n bytes, or returns false when they would go past the bound. */
  take(n: number): boolean {
    if (this.#used + n > this.maxBytes) {
      this.refused++;
      return false;
    }
    this.#used += n;
    return true;
  }

  release(n: number): void {
    this.#used -= n;
  }
}
