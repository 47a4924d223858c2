'use strict';
// An upload's bytes on their way from the multipart parser to the store.
//
// Node's HTTP parser hands each piece of a request body over in a Buffer of
// its own (up to 64 KiB), which is garbage once parsed; V8 collects such
// buffers only after some 32 MB of them have piled up, which is what a
// large upload would cost in memory. Here the file's bytes are copied out of
// each body piece into a few staging buffers that are used again and again,
// so the piece can be released at once (blobs.releaseBuffer), and the
// staging buffers go to the store one at a time (each write borrowed until
// its callback, never queued or concatenated by the Writable).
const STAGE_BYTES = 128 * 1024;
const STAGES = 2;

class Staging {
  /** @param {import('stream').Writable} writer  the store's write stream */
  constructor(writer) {
    this.writer = writer;
    this.free = Array.from({ length: STAGES }, () => Buffer.allocUnsafeSlow(STAGE_BYTES));
    this.full = []; // [buffer, length] waiting for the store, in order
    this.filling = null;
    this.used = 0;
    this.writing = false;
    this.ending = null; // the callback of end(), once asked
    this.onRoom = null; // called whenever a staging buffer comes back
  }

  /** Bytes that can be copied in without waiting for the store. */
  room() {
    return (this.filling ? this.filling.length - this.used : 0) + this.free.length * STAGE_BYTES;
  }

  /** Copies `piece` in; it may be reused or released once this returns. */
  push(piece) {
    for (let off = 0; off < piece.length; ) {
      if (!this.filling) {
        // Beyond the staging buffers (a caller that ignored room()): one more.
        this.filling = this.free.pop() || Buffer.allocUnsafeSlow(STAGE_BYTES);
        this.used = 0;
      }
      const n = piece.copy(this.filling, this.used, off);
      this.used += n;
      off += n;
      if (this.used === this.filling.length) this._seal();
    }
  }

  /** Stores what is left, then ends the writer (commit); `cb(err)`. */
  end(cb) {
    this.ending = cb;
    if (this.used) this._seal();
    this._next();
  }

  _seal() {
    this.full.push([this.filling, this.used]);
    this.filling = null;
    this.used = 0;
    this._next();
  }

  _next() {
    if (this.writing || this.writer.destroyed) return;
    if (!this.full.length) {
      if (this.ending) this.writer.end(this.ending);
      this.ending = null;
      return;
    }
    const [buf, len] = this.full.shift();
    this.writing = true;
    this.writer.write(buf.subarray(0, len), (err) => {
      this.writing = false;
      if (err) return; // the writer reports it ('error')
      if (this.free.length < STAGES) this.free.push(buf);
      this._next();
      if (this.onRoom) this.onRoom();
    });
  }
}

module.exports = { Staging };
