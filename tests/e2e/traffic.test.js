'use strict';
// examples/traffic over real HTTP on 127.0.0.1: every /ad rule step with
// fixture recipes written here, tokens, debugging output, point updates
// (admin endpoint and Redis pub/sub), and a reload that drops an offer. The
// rule tests run against the hotpath service and its pure-JS variant.
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('crypto');
const fs = require('fs');
const zlib = require('zlib');
const os = require('os');
const path = require('path');
const { startTraffic, request, writeRecipe } = require('../support/traffic');
const { startRedis, subscribers } = require('../support/redis');
const { encrypt, parseKey, createDecoder } = require('../../examples/traffic/token');
const { startService } = require('../support/service');

const KEY_HEX = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const KEY = parseKey(KEY_HEX);
const ADMIN_TOKEN = 'test-admin-token';
const FALLBACK = 'https://fallback.test/';
const DAY = 86400000;

// Addresses the MaxMind test databases know.
const GB = '81.2.69.160'; // London, ENG, ISP Andrews & Arnold Ltd
const US = '216.160.83.56'; // Milton, WA, ISP Century Link
const SE = '89.160.20.128'; // Linköping
const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) ' +
  'Version/17.1 Mobile/15E148 Safari/604.1';
const WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';

function offer(id, extra = {}) {
  return {
    offerId: id,
    name: `Offer ${id}`,
    status: 'active',
    offerUrl: `https://lp.test/${id}`,
    defaultLpUrl: `https://lp.test/${id}/default`,
    geoRules: JSON.stringify({ geo: [] }),
    customLpRules: JSON.stringify({ customLPRules: [] }),
    startEndDateSetting: { startEndDate: false, startDate: null, endDate: null, timezone: 'UTC' },
    caps: { capEnabled: false, dailyClicks: 0, monthlyClicks: 0, capRedirectUrl: '' },
    ...extra,
  };
}

function fixtures() {
  const now = Date.now();
  const iso = (ms) => new Date(ms).toISOString();
  const offers = [
    offer(1),
    offer(2, { startEndDateSetting: { startEndDate: true, startDate: iso(now - 30 * DAY), endDate: iso(now - DAY) } }),
    offer(3, { geoRules: JSON.stringify({ geo: [{ country: 'US', include: true }] }) }),
    offer(4, {
      customLpRules: JSON.stringify({ customLPRules: [{ id: 1, dimension: 'country', value: 'SE', lpUrl: 'https://lp.test/4/se' }] }),
    }),
    offer(5, { caps: { capEnabled: true, dailyClicks: 2, monthlyClicks: 100, capRedirectUrl: 'https://lp.test/5/capped' } }),
    offer(6, { startEndDateSetting: { startEndDate: true, startDate: iso(now - DAY), endDate: iso(now + 30 * DAY) } }),
    offer(7, { geoRules: JSON.stringify({ geo: [{ country: 'GB', include: false }] }) }),
  ];
  const campaigns = [
    { campaignId: 100, name: 'no rules' },
    {
      campaignId: 200,
      name: 'iOS in the US or Canada',
      targetRules: JSON.stringify({
        redirectTo: 'https://alt.test/c/200',
        rules: [
          {
            include: true,
            filterGroups: [{ conditions: [{ dimension: 'os', value: 'ios' }, { dimension: 'country', value: ['US', 'CA'] }] }],
          },
        ],
      }),
    },
    {
      campaignId: 300,
      name: 'not Century Link',
      targetRules: JSON.stringify({
        redirectTo: 'https://alt.test/c/300',
        rules: [{ include: false, filterGroups: [{ conditions: [{ dimension: 'isp', value: 'century link' }] }] }],
      }),
    },
  ];
  return { offers, campaigns };
}

function setup(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-traffic-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { offers, campaigns } = fixtures();
  const offersPath = path.join(dir, 'offers.json.gz');
  const campaignsPath = path.join(dir, 'campaigns.json.gz');
  writeRecipe(offersPath, offers);
  writeRecipe(campaignsPath, campaigns);
  const env = {
    TRAFFIC_KEY: KEY_HEX,
    TRAFFIC_ADMIN_TOKEN: ADMIN_TOKEN,
    OFFERS_RECIPE_PATH: offersPath,
    CAMPAIGNS_RECIPE_PATH: campaignsPath,
    FALLBACK_URL: FALLBACK,
    WATCH_INTERVAL_MS: '100',
    TRAFFIC_CAPS_STORE: `sqlite:${path.join(dir, 'caps.db')}`,
  };
  return { dir, offers, campaigns, offersPath, campaignsPath, env };
}

const token = (offerId, campaignId) => encrypt(KEY, { offerId, campaignId });

async function ad(base, offerId, campaignId, { ip, ua = WINDOWS, debug = false } = {}) {
  const headers = { 'user-agent': ua };
  if (ip) headers['x-forwarded-for'] = ip;
  const q = `offer=${token(offerId, campaignId)}${debug ? '&debugging=debugging' : ''}`;
  return request(`${base}/ad?${q}`, { headers });
}

// The landing page of a redirect, checked for offer_id, campaign_id and lid.
async function landing(base, offerId, campaignId, opts) {
  const res = await ad(base, offerId, campaignId, opts);
  assert.equal(res.status, 302, res.body);
  const u = new URL(res.headers.location);
  assert.equal(u.searchParams.get('offer_id'), String(offerId));
  assert.equal(u.searchParams.get('campaign_id'), String(campaignId));
  assert.match(u.searchParams.get('lid'), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  for (const k of ['offer_id', 'campaign_id', 'lid']) u.searchParams.delete(k);
  return u.toString();
}

async function until(fn, what) {
  const deadline = Date.now() + 10000;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

for (const impl of ['hotpath', 'js']) {
  test(`${impl}: /ad applies every rule step in order and redirects`, async (t) => {
    const s = setup(t);
    const srv = await startTraffic({ impl, env: s.env });
    t.after(() => srv.stop());
    const base = srv.url;

    // Allowed traffic and the default landing page.
    assert.equal(await landing(base, 1, 100, { ip: GB }), 'https://lp.test/1/default');
    assert.equal(await landing(base, 1, 100), 'https://lp.test/1/default', 'no geo for a loopback visitor');
    // Date window: ended -> fallback; current -> landing page.
    assert.equal(await landing(base, 2, 100, { ip: US }), FALLBACK);
    assert.equal(await landing(base, 6, 100, { ip: US }), 'https://lp.test/6/default');
    // Geo rules: allow-list and block-list.
    assert.equal(await landing(base, 3, 100, { ip: GB }), FALLBACK);
    assert.equal(await landing(base, 3, 100, { ip: US }), 'https://lp.test/3/default');
    assert.equal(await landing(base, 7, 100, { ip: GB }), FALLBACK);
    assert.equal(await landing(base, 7, 100, { ip: SE }), 'https://lp.test/7/default');
    // A blocked offer falls back to the campaign's redirectTo when it has one.
    assert.equal(await landing(base, 3, 200, { ip: GB, ua: IPHONE }), 'https://alt.test/c/200');
    // Custom landing-page rules.
    assert.equal(await landing(base, 4, 100, { ip: SE }), 'https://lp.test/4/se');
    assert.equal(await landing(base, 4, 100, { ip: GB }), 'https://lp.test/4/default');
    // Caps: two clicks a day, then the cap redirect.
    assert.equal(await landing(base, 5, 100, { ip: US }), 'https://lp.test/5/default');
    assert.equal(await landing(base, 5, 100, { ip: US }), 'https://lp.test/5/default');
    assert.equal(await landing(base, 5, 100, { ip: US }), 'https://lp.test/5/capped');
    // Campaign target rules: include (os AND country) and exclude (isp).
    assert.equal(await landing(base, 1, 200, { ip: US, ua: IPHONE }), 'https://lp.test/1/default');
    assert.equal(await landing(base, 1, 200, { ip: GB, ua: IPHONE }), 'https://alt.test/c/200');
    assert.equal(await landing(base, 1, 200, { ip: US, ua: WINDOWS }), 'https://alt.test/c/200');
    assert.equal(await landing(base, 1, 300, { ip: US }), 'https://alt.test/c/300');
    assert.equal(await landing(base, 1, 300, { ip: GB }), 'https://lp.test/1/default');
  });

  test(`${impl}: debugging JSON, recipe data, health and bad tokens`, async (t) => {
    const s = setup(t);
    const srv = await startTraffic({ impl, env: s.env });
    t.after(() => srv.stop());
    const base = srv.url;

    const res = await ad(base, 4, 200, { ip: SE, ua: IPHONE, debug: true });
    assert.equal(res.status, 200);
    const d = JSON.parse(res.body);
    assert.deepEqual(
      d.steps.map((x) => x.step),
      ['dateWindow', 'geoRules', 'customLp', 'caps', 'targetRules', 'default'],
    );
    assert.deepEqual(d.visitor, {
      ip: SE, country: 'SE', region: 'E', city: 'Linköping', isp: '', os: 'iOS', browser: 'Mobile Safari', deviceType: 'mobile',
    });
    assert.equal(d.steps[2].lpUrl, 'https://lp.test/4/se');
    assert.equal(d.steps[4].result, 'fail');
    assert.equal(d.decidedBy, 'targetRules');
    assert.ok(d.redirect.startsWith('https://alt.test/c/200?offer_id=4&campaign_id=200&lid='));
    assert.equal(d.offerId, 4);
    assert.match(d.lid, /^[0-9a-f-]{36}$/);

    const data = await request(`${base}/getRecipeData?debugging=debugging&offerId=3`);
    assert.equal(data.status, 200);
    const body = JSON.parse(data.body);
    assert.equal(body.status, 'success');
    assert.equal(body.data.offer.offerId, 3);
    assert.deepEqual(body.data.offer.geoRules, { geo: [{ country: 'US', include: true }] });
    assert.equal(body.data.campaign, null);
    assert.equal(body.data.offerSize, 7);
    assert.equal(body.data.campaignSize, 3);
    const camp = JSON.parse((await request(`${base}/getRecipeData?debugging=debugging&campaignId=200`)).body);
    assert.equal(camp.data.campaign.campaignId, 200);
    assert.equal((await request(`${base}/getRecipeData?offerId=3`)).status, 400);
    assert.equal((await request(`${base}/getRecipeData?debugging=debugging`)).status, 400);

    const health = await request(`${base}/health`);
    assert.equal(health.status, 200);
    assert.equal(health.body, 'Ok');

    // Every bad token gets the same answer, byte for byte: whether it failed
    // to decrypt or decrypted to something else must not show.
    const raw = (text) => {
      const iv = crypto.randomBytes(16);
      const c = crypto.createCipheriv('aes-256-cbc', KEY, iv);
      return `${iv.toString('hex')}:${Buffer.concat([c.update(text), c.final()]).toString('hex')}`;
    };
    const badTokens = [
      '',
      '?offer=',
      '?offer=nothex:zz',
      `?offer=${'a'.repeat(32)}:${'b'.repeat(31)}`,
      `?offer=${'a'.repeat(32)}:${'b'.repeat(32)}`,
      `?offer=${encrypt(parseKey('11'.repeat(32)), { offerId: 1, campaignId: 100 })}`,
      `?offer=${raw('not json at all')}`,
      `?offer=${encrypt(KEY, { offerId: 'x' })}`,
      `?offer=${encrypt(KEY, [1, 2])}`,
    ];
    for (const query of badTokens) {
      const r = await request(`${base}/ad${query}`);
      assert.deepEqual([r.status, r.body], [400, '{"status":"error","reason":"invalid offer token"}'], query);
    }
    const missing = await ad(base, 999, 100);
    assert.equal(missing.status, 404);
    assert.match(JSON.parse(missing.body).reason, /offer 999 not found/);
    assert.equal((await ad(base, 1, 999)).status, 404);
  });

  test(`${impl}: admin point updates are visible on the next request; a reload drops a deleted offer`, async (t) => {
    const s = setup(t);
    const srv = await startTraffic({ impl, workers: 2, env: s.env });
    t.after(() => srv.stop());
    const base = srv.url;
    const post = (msg, token = ADMIN_TOKEN) =>
      request(`${base}/admin/update`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(msg),
      });

    const body = JSON.stringify(offer(1, { defaultLpUrl: 'https://lp.test/1/v2' }));
    // Without the admin token nothing changes.
    const update = { type: 'offer', id: 1, action: 'updateOrCreate', timestamp: Date.now() + 60000, body };
    for (const token of ['', 'test-admin-tokeN', `${ADMIN_TOKEN}x`]) assert.equal((await post(update, token)).status, 403);
    assert.equal(await landing(base, 1, 100), 'https://lp.test/1/default');
    const r = await post({ type: 'offer', id: 1, action: 'updateOrCreate', timestamp: Date.now() + 60000, body });
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(JSON.parse(r.body), { status: 'applied' });
    // Every worker has it before the answer: requests on fresh connections
    // spread over both workers.
    for (let i = 0; i < 6; i++) assert.equal(await landing(base, 1, 100), 'https://lp.test/1/v2');
    const stale = await post({ type: 'offer', id: 1, action: 'updateOrCreate', timestamp: 1, body });
    assert.deepEqual(JSON.parse(stale.body), { status: 'stale' });
    const del = await post({ type: 'offer', id: 6, action: 'delete', timestamp: Date.now() + 60000 });
    assert.deepEqual(JSON.parse(del.body), { status: 'applied' });
    for (let i = 0; i < 4; i++) assert.equal((await ad(base, 6, 100)).status, 404);
    const rejected = await post({ type: 'nope', id: 1, action: 'delete' });
    assert.equal(rejected.status, 400);

    // A new file without offer 3: it disappears once the watch reloads.
    assert.equal(await landing(base, 3, 100, { ip: US }), 'https://lp.test/3/default');
    writeRecipe(s.offersPath, s.offers.filter((o) => o.offerId !== 3));
    await until(async () => {
      for (let i = 0; i < 4; i++) if ((await ad(base, 3, 100, { ip: US })).status !== 404) return false;
      return true;
    }, 'offer 3 to disappear after the reload');
    assert.equal(await landing(base, 4, 100, { ip: SE }), 'https://lp.test/4/se');
  });
}

test('hotpath: point updates through Redis pub/sub reach every worker', async (t) => {
  const Redis = require('ioredis');
  const redis = await startRedis();
  t.after(() => redis.cleanup());
  const s = setup(t);
  const srv = await startTraffic({ workers: 2, env: { ...s.env, REDIS_URL: redis.url, REDIS_CHANNEL: 'traffic-test', TRAFFIC_CAPS_STORE: '' } });
  t.after(() => srv.stop());
  // PUBLISH on any node of a cluster reaches every subscriber.
  const pub = new Redis(redis.nodeUrls[0]);
  t.after(() => pub.disconnect());
  await until(async () => subscribers(redis, 'traffic-test') === 2, 'both workers to subscribe');

  const body = JSON.stringify(offer(1, { defaultLpUrl: 'https://lp.test/1/from-redis' }));
  const n = await pub.publish('traffic-test', JSON.stringify({ type: 'offer', id: 1, action: 'updateOrCreate', timestamp: Date.now() + 60000, body }));
  if (!redis.cluster) assert.equal(n, 2); // a cluster node counts only its own subscribers
  await until(async () => {
    for (let i = 0; i < 4; i++) if ((await landing(srv.url, 1, 100)) !== 'https://lp.test/1/from-redis') return false;
    return true;
  }, 'the update to reach both workers');
  // Caps are counted in Redis too: two clicks a day over both workers.
  const capped = [];
  for (let i = 0; i < 4; i++) capped.push(await landing(srv.url, 5, 100, { ip: US }));
  assert.deepEqual(capped.sort(), ['https://lp.test/5/capped', 'https://lp.test/5/capped', 'https://lp.test/5/default', 'https://lp.test/5/default']);
  // On a cluster the cap keys live on whichever node owns their slot.
  let keys = 0;
  for (const url of redis.nodeUrls) {
    const node = new Redis(url);
    keys += (await node.keys('*traffic:caps*')).length;
    node.disconnect();
  }
  assert.ok(keys > 0);
});

test('hotpath: a demo run prints a fresh key and an /ad link that redirects on the bundled sample data', async (t) => {
  const srv = await startTraffic({ workers: 2, env: { TRAFFIC_DEMO: '1', TRAFFIC_KEY: '', TRAFFIC_ADMIN_TOKEN: '' } });
  t.after(() => srv.stop());
  const printed = /traffic: demo key TRAFFIC_KEY=([0-9a-f]{64})\n/.exec(srv.out.text);
  assert.ok(printed, srv.out.text);
  assert.notEqual(printed[1], KEY_HEX);
  const demoToken = /\/ad\?offer=(\S+)/.exec(srv.out.text)[1];
  assert.ok(createDecoder(parseKey(printed[1]))(demoToken).offerId > 0);
  const link = /traffic: try (http:\/\/\S+)/.exec(srv.out.text);
  assert.ok(link, srv.out.text);
  assert.ok(link[1].startsWith(`${srv.url}/ad?offer=`));
  const res = await request(link[1], { headers: { 'user-agent': WINDOWS } });
  assert.equal(res.status, 302);
  assert.match(res.headers.location, /^https:\/\/lp\.[a-z]+\.example\/.+[?&]offer_id=\d+&campaign_id=\d+&lid=/);
  const steps = JSON.parse((await request(`${link[1]}&debugging=debugging`)).body);
  assert.ok(['default', 'customLp'].includes(steps.decidedBy), JSON.stringify(steps));
});

test('hotpath: refuses to start without TRAFFIC_KEY unless a demo is asked for', async () => {
  const script = require.resolve('../../examples/traffic/server.js');
  await assert.rejects(
    startService(script, { name: 'traffic', workers: 1, env: { TRAFFIC_KEY: '', TRAFFIC_DEMO: '' }, ready: () => true }),
    /exited \(2\):\ntraffic: set TRAFFIC_KEY to 64 hex digits/,
  );
});

test('hotpath: TRAFFIC_DEBUGGING=0 turns the debugging answers off', async (t) => {
  const s = setup(t);
  const srv = await startTraffic({ env: { ...s.env, TRAFFIC_DEBUGGING: '0' } });
  t.after(() => srv.stop());
  const res = await ad(srv.url, 1, 100, { ip: GB, debug: true });
  assert.equal(res.status, 302);
  assert.equal(res.body, '');
  assert.equal((await request(`${srv.url}/getRecipeData?debugging=debugging&offerId=1`)).status, 400);
});

test('hotpath: MAXMIND_PATH and MAXMIND_PATH_ISP name the databases, ahead of GEO_CITY and GEO_ISP', async (t) => {
  const s = setup(t);
  const fixtures = path.join(__dirname, '..', 'fixtures', 'maxmind', 'test-data');
  const city = path.join(fixtures, 'GeoIP2-City-Test.mmdb');
  const isp = path.join(fixtures, 'GeoIP2-ISP-Test.mmdb');
  const missing = path.join(s.dir, 'no-such-city.mmdb');
  // The seed's names win over the aliases (a missing city database would
  // keep the workers from starting): no ISP database, so no ISP.
  const srv = await startTraffic({ env: { ...s.env, MAXMIND_PATH: city, MAXMIND_PATH_ISP: '', GEO_CITY: missing, GEO_ISP: isp } });
  t.after(() => srv.stop());
  const visitor = JSON.parse((await ad(srv.url, 1, 100, { ip: US, debug: true })).body).visitor;
  assert.deepEqual([visitor.country, visitor.isp], ['US', '']);
  const withIsp = await startTraffic({ env: { ...s.env, MAXMIND_PATH: city, MAXMIND_PATH_ISP: isp } });
  t.after(() => withIsp.stop());
  assert.equal(JSON.parse((await ad(withIsp.url, 1, 100, { ip: US, debug: true })).body).visitor.isp, 'Century Link');
});

test('hotpath: offer caps hold across 2 workers and a restart (counted in SQLite)', async (t) => {
  const s = setup(t);
  const clicks = async (base, n) => {
    const out = { landed: 0, capped: 0 };
    for (let i = 0; i < n; i++) {
      const url = await landing(base, 5, 100, { ip: US });
      if (url === 'https://lp.test/5/default') out.landed++;
      else if (url === 'https://lp.test/5/capped') out.capped++;
    }
    return out;
  };
  // Fresh connections spread over both workers; the cap is 2 a day in all.
  let srv = await startTraffic({ workers: 2, env: s.env });
  // A visitor the target rules send elsewhere is not counted.
  assert.equal(await landing(srv.url, 5, 200, { ip: GB, ua: IPHONE }), 'https://alt.test/c/200');
  assert.deepEqual(await clicks(srv.url, 6), { landed: 2, capped: 4 });
  const steps = JSON.parse((await ad(srv.url, 5, 100, { ip: US, debug: true })).body).steps;
  assert.deepEqual(steps[3], { step: 'caps', result: 'fail', daily: 2, monthly: 2, dailyClicks: 2, monthlyClicks: 100 });
  await srv.stop();
  srv = await startTraffic({ workers: 2, env: s.env });
  t.after(() => srv.stop());
  assert.deepEqual(await clicks(srv.url, 3), { landed: 0, capped: 3 });
});

test('hotpath: recipes from S3: loaded at start, a replaced object picked up, a broken one refused', { timeout: 90000 }, async (t) => {
  const { CreateBucketCommand, PutObjectCommand, HeadObjectCommand } = require('@aws-sdk/client-s3');
  const { startS3, startCuttingProxy } = require('../support/s3');
  const s = setup(t);
  const s3 = await startS3();
  t.after(() => s3.stop());
  const proxy = await startCuttingProxy(s3.endpoint);
  t.after(() => proxy.close());
  const Bucket = 'co-recipe-test';
  const gz = (rows) => zlib.gzipSync(JSON.stringify(rows));
  const put = (Key, Body) => s3.client.send(new PutObjectCommand({ Bucket, Key, Body }));
  const lastModified = async (Key) => (await s3.client.send(new HeadObjectCommand({ Bucket, Key }))).LastModified.getTime();
  await s3.client.send(new CreateBucketCommand({ Bucket }));
  await put('recipes/offers.json.gz', gz(s.offers));
  await put('recipes/campaigns.json.gz', gz(s.campaigns));
  // The local files are gone: S3 is the only source.
  fs.rmSync(s.offersPath);
  fs.rmSync(s.campaignsPath);
  const srv = await startTraffic({
    workers: 2,
    env: {
      ...s.env,
      ...s3.env,
      S3_ENDPOINT: proxy.endpoint,
      S3_BUCKET_NAME: Bucket,
      S3_OFFERS_RECIPE_PATH: 'recipes/offers.json.gz',
      S3_CAMPAIGNS_RECIPE_PATH: 'recipes/campaigns.json.gz',
      S3_CHECK_INTERVAL_MS: '100',
    },
  });
  t.after(() => srv.stop());
  const base = srv.url;
  const everyWorker = async (want) => {
    for (let i = 0; i < 4; i++) if ((await landing(base, 1, 100)) !== want) return false;
    return true;
  };
  assert.equal(await landing(base, 1, 100), 'https://lp.test/1/default');
  assert.equal(await landing(base, 1, 300, { ip: US }), 'https://alt.test/c/300', 'campaigns loaded');

  // A replaced object is picked up by every worker.
  const v2 = s.offers.map((o) => (o.offerId === 1 ? offer(1, { defaultLpUrl: 'https://lp.test/1/v2' }) : o));
  await put('recipes/offers.json.gz', gz(v2));
  await until(() => everyWorker('https://lp.test/1/v2'), 'the replaced object on every worker');

  // The table's data time is the object's LastModified, not the download's:
  // an update just newer than the object applies, one older is stale.
  const post = (msg) =>
    request(`${base}/admin/update`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify(msg),
    });
  const since = await lastModified('recipes/offers.json.gz');
  const update = (timestamp, url) => ({
    type: 'offer', id: 1, action: 'updateOrCreate', timestamp, body: JSON.stringify(offer(1, { defaultLpUrl: url })),
  });
  assert.deepEqual(JSON.parse((await post(update(since - 1000, 'https://lp.test/1/old'))).body), { status: 'stale' });
  assert.deepEqual(JSON.parse((await post(update(since + 1, 'https://lp.test/1/point'))).body), { status: 'applied' });
  assert.ok(await everyWorker('https://lp.test/1/point'));

  // A download cut off is refused and the table stays; so are bytes that
  // are not gzip and a gzip stream cut short.
  const refusals = () => (srv.out.text.match(/offers: reload from s3:\/\/co-recipe-test\/recipes\/offers\.json\.gz failed/g) || []).length;
  const refused = async (body, what) => {
    const before = refusals();
    await put('recipes/offers.json.gz', body);
    await until(() => refusals() >= before + 2, what); // each worker's
    assert.ok(await everyWorker('https://lp.test/1/point'), `the old table and its update stay after ${what}`);
  };
  const lost = gz(v2.map((o) => (o.offerId === 1 ? offer(1, { defaultLpUrl: 'https://lp.test/1/lost', pad: crypto.randomBytes(1 << 15).toString('hex') }) : o)));
  // LastModified has whole seconds: the next object must be newer than the update.
  const nextSecond = () => new Promise((r) => setTimeout(r, 1100));
  await nextSecond();
  proxy.cut = /offers/;
  await refused(lost, 'a download cut off');
  assert.match(srv.out.text, /offers\.json\.gz failed, the previous table stays: (socket hang up|download cut off|aborted)/);
  proxy.cut = null;
  await until(() => everyWorker('https://lp.test/1/lost'), 'the same object once the download goes through');
  const lostAt = await lastModified('recipes/offers.json.gz');
  assert.deepEqual(JSON.parse((await post(update(lostAt + 1, 'https://lp.test/1/point'))).body), { status: 'applied' });
  await refused(Buffer.from('not a recipe file'), 'a file that is not gzip');
  const cut = gz(v2.map((o) => (o.offerId === 1 ? offer(1, { defaultLpUrl: 'https://lp.test/1/cut' }) : o)));
  await refused(cut.subarray(0, cut.length - 20), 'a gzip stream cut short');

  // A good object again: newer than the point update, so it replaces it.
  const v3 = s.offers.map((o) => (o.offerId === 1 ? offer(1, { defaultLpUrl: 'https://lp.test/1/v3' }) : o));
  await nextSecond();
  await put('recipes/offers.json.gz', gz(v3));
  await until(() => everyWorker('https://lp.test/1/v3'), 'the good object after the broken ones');
});
