// Stop sequences over streamed text (pure): text is released only once no stop sequence
// can still begin in it, so a client never sees the start of a stop sequence that then
// completes, and the output ends right before the first stop sequence.
export class StopScanner {
  private readonly stops: readonly string[];
  private text = "";
  private sent = 0;
  stopped = false;

  constructor(stops: readonly string[]) {
    this.stops = stops;
  }

  /** Adds generated text; returns the part that is now safe to show. Sets `stopped` when a stop sequence appeared. */
  push(piece: string): string {
    if (this.stopped) return "";
    this.text += piece;
    let cut = -1;
    for (const s of this.stops) {
      const i = this.text.indexOf(s, Math.max(0, this.sent - s.length + 1));
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.stopped = true;
      this.text = this.text.slice(0, cut);
      return this.release(this.text.length);
    }
    return this.release(this.text.length - this.heldBack());
  }

  /** What is left once generation ended without a stop sequence. */
  flush(): string {
    return this.release(this.text.length);
  }

  /** The whole output so far (up to a stop sequence). */
  get output(): string {
    return this.text;
  }

  /** The longest end of the text that is a proper prefix of a stop sequence. */
  private heldBack(): number {
    let held = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, this.text.length - this.sent); k > held; k--) {
        if (this.text.endsWith(s.slice(0, k))) {
          held = k;
          break;
        }
      }
    }
    return held;
  }

  private release(upTo: number): string {
    if (upTo <= this.sent) return "";
    const out = this.text.slice(this.sent, upTo);
    this.sent = upTo;
    return out;
  }
}
