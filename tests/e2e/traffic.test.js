'use strict';
// examples/traffic over real HTTP on 127.0.0.1: every /ad rule step with
// fixture recipes written here, tokens, debugging output, point updates
// (admin endpoint and Redis pub/sub), and a reload that drops an offer. The
// rule tests run against the hotpath service and its pure-JS variant.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { startTraffic, request, writeRecipe } = require('../support/traffic');
const { startRedis, subscribers } = require('../support/redis');
const { encrypt, parseKey } = require('../../examples/traffic/token');

const KEY_HEX = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const KEY = parseKey(KEY_HEX);
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
    OFFERS_RECIPE_PATH: offersPath,
    CAMPAIGNS_RECIPE_PATH: campaignsPath,
    FALLBACK_URL: FALLBACK,
    WATCH_INTERVAL_MS: '100',
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

    const bad = async (query, reason) => {
      const r = await request(`${base}/ad${query}`);
      assert.equal(r.status, 400, query);
      assert.match(JSON.parse(r.body).reason, reason);
    };
    await bad('', /missing offer token/);
    await bad('?offer=', /missing offer token/);
    await bad('?offer=nothex:zz', /must be <32 hex digits IV>/);
    await bad(`?offer=${'a'.repeat(32)}:${'b'.repeat(31)}`, /must be <32 hex digits IV>/);
    await bad(`?offer=${encrypt(parseKey('11'.repeat(32)), { offerId: 1, campaignId: 100 })}`, /does not decrypt|does not hold JSON|must hold/);
    await bad(`?offer=${encrypt(KEY, { offerId: 'x' })}`, /must hold \{"offerId"/);
    await bad(`?offer=${encrypt(KEY, [1, 2])}`, /must hold/);
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
    const post = (msg) =>
      request(`${base}/admin/update`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(msg) });

    const body = JSON.stringify(offer(1, { defaultLpUrl: 'https://lp.test/1/v2' }));
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
  const srv = await startTraffic({ workers: 2, env: { ...s.env, REDIS_URL: redis.url, REDIS_CHANNEL: 'traffic-test' } });
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
});

test('hotpath: on the bundled sample data the printed /ad link redirects to a landing page', async (t) => {
  const srv = await startTraffic({ workers: 2 });
  t.after(() => srv.stop());
  const link = /traffic: try (http:\/\/\S+)/.exec(srv.out.text);
  assert.ok(link, srv.out.text);
  assert.ok(link[1].startsWith(`${srv.url}/ad?offer=`));
  const res = await request(link[1], { headers: { 'user-agent': WINDOWS } });
  assert.equal(res.status, 302);
  assert.match(res.headers.location, /^https:\/\/lp\.[a-z]+\.example\/.+[?&]offer_id=\d+&campaign_id=\d+&lid=/);
  const steps = JSON.parse((await request(`${link[1]}&debugging=debugging`)).body);
  assert.ok(['default', 'customLp'].includes(steps.decidedBy), JSON.stringify(steps));
});
