// A libp2p stream as a sequence of validated frames, with a timeout on every read.
import { lpStream, type LengthPrefixedStream } from "@libp2p/utils";
import type { Stream } from "@libp2p/interface";
import { decodeFrame, encodeFrame, MAX_FRAME_BYTES, WireError, type Frame, type FrameType, type Header } from "./wire.ts";

export const DEFAULT_TIMEOUT_MS = 30_000;

export class FramedStream {
  readonly stream: Stream;
  private readonly lp: LengthPrefixedStream<Stream>;

  constructor(stream: Stream, maxFrameBytes = MAX_FRAME_BYTES) {
    this.stream = stream;
    this.lp = lpStream(stream, { maxDataLength: maxFrameBytes });
  }

  async send(f: Frame, signal?: AbortSignal): Promise<void> {
    await this.lp.write(encodeFrame(f), { signal });
  }

  /** The next frame; WireError for a malformed one, or when the remote ended the stream. */
  async read(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Frame> {
    let data;
    try {
      data = await this.lp.read({ signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      const e = err as Error;
      if (e.name === "TimeoutError" || e.name === "AbortError") throw new WireError("timeout", `no frame within ${timeoutMs} ms`);
      if (e.name === "InvalidDataLengthError") throw new WireError("frame_too_large", e.message);
      if (e.name === "UnexpectedEOFError") throw new WireError("closed", "the stream ended");
      throw new WireError("stream_error", `${e.name}: ${e.message}`);
    }
    return decodeFrame(data.subarray());
  }

  /** The next frame, which must be of `type` (an ERROR frame becomes a RemoteError). */
  async expect<T extends FrameType>(type: T, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<{ header: Header<T>; tensor?: Float32Array; receipts?: Uint8Array }> {
    const f = await this.read(timeoutMs);
    if (f.type === "ERROR") throw new RemoteError(f.header.code, f.header.message, f.header.peer);
    if (f.type !== type) throw new WireError("unexpected_frame", `expected ${type}, got ${f.type}`);
    return f as unknown as { header: Header<T>; tensor?: Float32Array; receipts?: Uint8Array };
  }

  async close(): Promise<void> {
    try {
      await this.stream.close();
    } catch {
      this.stream.abort(new Error("close failed"));
    }
  }
}

/** An ERROR frame from the other side; `peer` names the hop that failed, if known. */
export class RemoteError extends Error {
  override readonly name = "RemoteError";
  readonly code: string;
  readonly peer?: string;
  constructor(code: string, message: string, peer?: string) {
    super(message);
    this.code = code;
    this.peer = peer;
  }
}
