'use strict';
// A store of plain files in a directory with the same interface as a
// hotpath blob store, so the same server can be measured against the
// filesystem (bench/blobs). Each upload is written to a temporary file and
// renamed into place at the end, then the name's pointer file is replaced by
// a rename, so a reader never sees half a file and the last commit wins.
const crypto = require('node:crypto');
const fs = require('node:fs');
const fsp = require('node:fs/promises');
const path = require('node:path');
const { Writable } = require('node:stream');

const nameKey = (name) => Buffer.from(name, 'utf8').toString('hex');

class DirWriteStream extends Writable {
  constructor(store, filename, { contentType = 'application/octet-stream', metadata = null } = {}) {
    super({ highWaterMark: 1 << 20 });
    this.store = store;
    this.filename = filename;
    this.contentType = contentType;
    this.metadata = metadata;
    this.id = crypto.randomUUID().replace(/-/g, '');
    this.tmp = path.join(store.root, 'tmp', this.id);
    this.hash = crypto.createHash('sha256');
    this.length = 0;
    this.fd = null;
    this.file = null;
  }

  _construct(cb) {
    fs.open(this.tmp, 'w', (err, fd) => {
      this.fd = fd;
      cb(err);
    });
  }

  _write(chunk, _enc, cb) {
    this.hash.update(chunk);
    this.length += chunk.length;
    fs.write(this.fd, chunk, 0, chunk.length, null, (err) => cb(err));
  }

  _writev(chunks, cb) {
    const bufs = chunks.map((c) => c.chunk);
    for (const b of bufs) {
      this.hash.update(b);
      this.length += b.length;
    }
    fs.writev(this.fd, bufs, (err) => cb(err));
  }

  _final(cb) {
    const file = {
      id: this.id,
      filename: this.filename,
      length: this.length,
      chunkSize: 0,
      uploadDate: new Date(),
      contentType: this.contentType,
      sha256: this.hash.digest('hex'),
      metadata: this.metadata,
    };
    this.store
      ._commit(this.fd, this.tmp, file)
      .then(() => {
        this.fd = null;
        this.file = file;
        cb();
      })
      .catch(cb);
  }

  _destroy(err, cb) {
    if (this.fd === null) return cb(err);
    fs.close(this.fd, () => fs.rm(this.tmp, { force: true }, () => cb(err)));
    this.fd = null;
  }
}

class DirStore {
  constructor(root) {
    this.root = path.resolve(root);
    this.backend = 'dir';
    for (const sub of ['tmp', 'data', 'meta', 'names']) fs.mkdirSync(path.join(this.root, sub), { recursive: true });
  }

  createWriteStream(filename, options) {
    return new DirWriteStream(this, filename, options);
  }

  async _commit(fd, tmp, file) {
    await new Promise((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve())));
    await fsp.rename(tmp, path.join(this.root, 'data', file.id));
    await fsp.writeFile(path.join(this.root, 'meta', `${file.id}.json`), JSON.stringify(file));
    const pointer = path.join(this.root, 'tmp', `${file.id}.name`);
    await fsp.writeFile(pointer, file.id);
    await fsp.rename(pointer, path.join(this.root, 'names', nameKey(file.filename)));
  }

  async _meta(id) {
    try {
      const file = JSON.parse(await fsp.readFile(path.join(this.root, 'meta', `${id}.json`), 'utf8'));
      file.uploadDate = new Date(file.uploadDate);
      return file;
    } catch (err) {
      if (err.code === 'ENOENT') return null;
      throw err;
    }
  }

  /** The latest revision of `name`, or null. */
  async stat(name) {
    let id;
    try {
      id = await fsp.readFile(path.join(this.root, 'names', nameKey(name)), 'utf8');
    } catch (err) {
      if (err.code === 'ENOENT' || err.code === 'ENAMETOOLONG') return null;
      throw err;
    }
    return this._meta(id);
  }

  /** Bytes `start`..`end` (inclusive, as fs.createReadStream) of file {id}. */
  createReadStream({ id }, { start, end } = {}) {
    return fs.createReadStream(path.join(this.root, 'data', id), { start, end, highWaterMark: 1 << 20 });
  }

  async put(filename, data, options) {
    const w = this.createWriteStream(filename, options);
    await new Promise((resolve, reject) => {
      w.on('error', reject);
      w.end(data, resolve);
    });
    return w.file;
  }

  async get(name) {
    const file = await this.stat(name);
    if (!file) return null;
    return fsp.readFile(path.join(this.root, 'data', file.id));
  }

  /** Latest revisions, by name, `limit` at a time from `cursor`. */
  async list({ prefix = '', cursor = null, limit = 1000 } = {}) {
    const keys = (await fsp.readdir(path.join(this.root, 'names'))).sort();
    const names = keys.map((k) => Buffer.from(k, 'hex').toString('utf8')).filter((n) => n.startsWith(prefix));
    const from = cursor ? names.findIndex((n) => n > cursor) : 0;
    const page = from < 0 ? [] : names.slice(from, from + limit);
    const files = (await Promise.all(page.map((n) => this.stat(n)))).filter(Boolean);
    const more = from >= 0 && from + limit < names.length;
    return { files, cursor: more ? page[page.length - 1] : null };
  }

  close() {}
}

module.exports = { DirStore };
