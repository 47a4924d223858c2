// Compiled with tsc --strict --noEmit by tests/node/types.test.js: the
// published types must describe the API as the examples use it.
import * as hotpath from 'hotpath';
import * as maxmind from 'hotpath/maxmind';
import UAParser = require('hotpath/ua-parser-js');
import * as hpCluster from 'hotpath/cluster';
import * as http from 'http';

const fp: number = hotpath.fingerprint32('hello world');
const many: Uint32Array = hotpath.fingerprint32Many(['a', 'b']);
const worker: number = hotpath.sticky.pick('::ffff:10.0.0.1', 4, 'jump');
const snap: hotpath.HostInfo = hotpath.host.snapshot();
const mem: number = snap.memUsage;

async function main(): Promise<void> {
  const s = await hotpath.host.sample({ windowMs: 50 });
  const load: number | undefined = s.cpuLoad;
  const reader = await maxmind.open('db.mmdb');
  const rec = reader.get('1.2.3.4');
  const city = await maxmind.open<maxmind.CityResponse>('city.mmdb', { watchForUpdates: true, watchForUpdatesNonPersistent: true, watchForUpdatesHook: () => {} });
  const iso: string | undefined = city.get('1.2.3.4')?.country?.iso_code;
  const fromMemory = new maxmind.Reader<maxmind.AsnResponse>(Buffer.alloc(0));
  fromMemory.load(Buffer.alloc(0));
  const asn: number | undefined = fromMemory.getWithPrefixLength('1.2.3.4')[0]?.autonomous_system_number;
  void iso;
  void asn;
  try {
    hotpath.sticky.pick('x', 1, 'jump');
  } catch (err) {
    if (err instanceof hotpath.HotpathError) {
      const code: hotpath.ErrorCode = err.hpCode;
      const shown: string = err.code;
      const call: string | undefined = err.syscall;
      void code;
      void shown;
      void call;
    }
  }
  void load;
  void rec;
}

void fp;
void many;
void worker;
void mem;
void main;

function recipesUsage(): void {
  const recipes = new hotpath.Recipes();
  const offers = recipes.define<{ offerId: number; name: string }>('offers', { key: 'offerId', updateType: 'offer' });
  const name: string | undefined = offers.get(1)?.name;
  const sub: hotpath.RecipeSubscription = recipes.subscribe('redis://127.0.0.1:6379', 'recipes', (err, result) => {
    const r: 'applied' | 'stale' | null = result;
    void err;
    void r;
  });
  const applied: number = sub.stats().applied;
  sub.close();
  void name;
  void applied;
}
void recipesUsage;
async function blobUsage(): Promise<void> {
  const store: hotpath.BlobStore = hotpath.blobs.open('sqlite:/tmp/store.db', { chunkSize: 65536 });
  const w: hotpath.BlobWriteStream = store.createWriteStream('a.bin', { contentType: 'text/plain', metadata: { a: 1 } });
  w.end(Buffer.from('hi'));
  const r: hotpath.BlobReadStream = store.createReadStream('a.bin', { start: 0, end: 1, revision: -1 });
  r.on('file', (f: hotpath.BlobFile) => void f.sha256);
  const f: hotpath.BlobFile = await store.put('b.bin', Buffer.from('x'));
  const same: Buffer = await store.get({ id: f.id });
  const st: hotpath.BlobFile | null = await store.stat('b.bin', { revision: 0 });
  const page = await store.list({ prefix: 'b', limit: 10, latestOnly: true });
  const next: string | null = page.cursor;
  for await (const file of store.files({ prefix: 'a' })) void file.uploadDate.getTime();
  const n: number = await store.delete('b.bin');
  void same;
  void st;
  void next;
  void n;
  store.close();
}
void blobUsage;

// hotpath/ua-parser-js: ua-parser-js 1.x's interface
const uaResult: UAParser.IResult = UAParser('Mozilla/5.0');
const uaParser = new UAParser('Mozilla/5.0');
const uaMajor: string | undefined = uaParser.setUA('curl/8.4.0').getBrowser().major;
const uaType: string | undefined = uaParser.getDevice().type ?? uaResult.cpu.architecture;
const uaBot: boolean = UAParser.isBot('curl/8.4.0') && UAParser.DEVICE.MOBILE === 'mobile';
const uaCpu: string | undefined = hotpath.ua.parse('Mozilla/5.0').cpu;
void uaMajor;
void uaType;
void uaBot;
void uaCpu;

// Idioms: { signal } on Promise APIs, using / await using on handles.
async function idiomUsage(signal: AbortSignal): Promise<void> {
  const reader = await hotpath.openGeo('db.mmdb', { signal });
  reader[Symbol.dispose]();
  const limiter = hotpath.openLimiter('memory:');
  const lease: hotpath.LeaseResult = await limiter.acquire('s', 'r', { limit: 1, signal });
  const needs: hotpath.LeaseRequirement[] = [{ set: 'users', member: 's' }];
  const known = limiter.acquireSync('s', 'r', { limit: 1, require: needs });
  const missing: number | undefined = known.status === 'not_member' ? known.missing : undefined;
  const hit: hotpath.RateResult = await limiter.hit('k', { rate: 5, signal });
  await limiter.ping({ signal });
  const store = hotpath.openBlobs('sqlite:/tmp/b.db');
  const data: Buffer = await store.get('f', { signal });
  await store.delete('f', { signal });
  await store[Symbol.asyncDispose]();
  const recipes = new hotpath.Recipes();
  const watch: hotpath.RecipeWatch = recipes.define('t', { key: 'id' }).watch('t.json');
  watch[Symbol.dispose]();
  recipes[Symbol.dispose]();
  const log = new hotpath.events.EventLog('events.log');
  await log.flush({ signal });
  await log[Symbol.asyncDispose]();
  try {
    await hotpath.host.sample({ windowMs: 10, signal });
  } catch (err) {
    if (err instanceof hotpath.AbortError) void err.cause;
  }
  void lease;
  void missing;
  void hit;
  void data;
  limiter[Symbol.dispose]();
}
void idiomUsage;

// hotpath/cluster: the supervisor, plain and sticky.
function clusterUsage(): void {
  const plain: hpCluster.Primary = hpCluster.setupPrimary({ mode: 'plain', port: 0, workers: hpCluster.workersFromEnv() });
  plain.on('exit', (info) => {
    const again: boolean = info.restart;
    void again;
  });
  plain.on('message', (msg, from) => plain.send(from.index, msg));
  plain.ready.then((addr) => addr && addr.port);
  const n: number = plain.broadcast({ t: 'hello' });
  void n;
  // One supervisor, workers of different roles: env as a function of the slot.
  hpCluster.setupPrimary({ mode: 'plain', workers: 3, env: (index: number) => ({ ROLE: index < 2 ? 'server' : 'balancer' }) });
  const sticky = hpCluster.setupPrimary({ port: 8000, mode: 'jump', signals: false, onWorkerExit: (i) => i.index });
  const slot: number = sticky.indexOf('10.0.0.1');
  void slot;
  const w: { index: number; workers: number } = hpCluster.setupWorker(http.createServer(), {
    close: async () => undefined,
    drainTimeoutMs: 1000,
    onAsk: (m) => ({ got: m }),
  });
  void w;
  hpCluster.askAll('stats', { timeoutMs: 100 }).then((answers) => answers.map((a) => a.index + (a.error ?? '')));
}
void clusterUsage;
