'use strict';
// The same service without hotpath, as the seed does it minus Redis: each
// record is kept as its JSON text in a Map and parsed on every request (the
// seed did a Redis GET + JSON.parse), rule strings parsed per request, geo
// with the maxmind package (City + ISP readers), UA with ua-parser-js.
const fs = require('fs');
const zlib = require('zlib');
const maxmind = require('maxmind');
const UAParser = require('ua-parser-js');
const { dimensionMatches } = require('../../examples/traffic/decide');

function loadTable(path, keyField) {
  const raw = fs.readFileSync(path);
  const text = raw[0] === 0x1f && raw[1] === 0x8b ? zlib.gunzipSync(raw).toString('utf8') : raw.toString('utf8');
  const rows = JSON.parse(text);
  if (!Array.isArray(rows)) throw new Error(`${path}: not a JSON array`);
  const map = new Map();
  for (const row of rows) {
    if (row && row[keyField] !== undefined) map.set(Number(row[keyField]), JSON.stringify(row));
  }
  return map;
}

function parseField(v) {
  if (typeof v !== 'string') return v ?? null;
  try {
    return JSON.parse(v);
  } catch {
    return null;
  }
}

// {"geo":[{country, include}]}: a listed country with include false is
// blocked; with any include true, only those pass.
function geoOutcome(geoRules, country) {
  const list = geoRules && Array.isArray(geoRules.geo) ? geoRules.geo : [];
  if (list.length === 0) return 'none';
  const c = (country || '').toLowerCase();
  let allowList = false;
  let allowed = false;
  for (const r of list) {
    const same = typeof r.country === 'string' && r.country.toLowerCase() === c && c !== '';
    if (r.include) {
      allowList = true;
      if (same) allowed = true;
    } else if (same) {
      return 'fail';
    }
  }
  return allowList && !allowed ? 'fail' : 'pass';
}

// {redirectTo, rules:[{include, filterGroups:[{conditions:[{dimension, value}]}]}]}
function targetOutcome(targetRules, visitor) {
  const rules = targetRules && Array.isArray(targetRules.rules) ? targetRules.rules : [];
  if (!targetRules || typeof targetRules !== 'object') return { target: 'none', rule: -1 };
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    const groups = Array.isArray(r.filterGroups) ? r.filterGroups : [];
    const holds = groups.some((g) =>
      (g.conditions || []).every((c) => dimensionMatches(visitor, c.dimension, c.value)),
    );
    if (r.include ? !holds : holds) return { target: 'fail', rule: i };
  }
  return { target: 'pass', rule: -1 };
}

async function createBackend(cfg) {
  let offers = loadTable(cfg.offersPath, 'offerId');
  let campaigns = loadTable(cfg.campaignsPath, 'campaignId');
  const watch = (path, keyField, set, name) => {
    const onChange = (curr, prev) => {
      if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size) return;
      try {
        set(loadTable(path, keyField));
        cfg.log(`${name}: reloaded`);
      } catch (err) {
        cfg.log(`${name}: reload failed, the previous table stays: ${err.message}`);
      }
    };
    fs.watchFile(path, { interval: cfg.watchIntervalMs }, onChange);
    return () => fs.unwatchFile(path, onChange);
  };
  const unwatch = [
    watch(cfg.offersPath, 'offerId', (m) => (offers = m), 'offers'),
    watch(cfg.campaignsPath, 'campaignId', (m) => (campaigns = m), 'campaigns'),
  ];
  const stamps = new Map(); // 'offer:12' -> timestamp of the last point update

  function update(message) {
    const m = typeof message === 'string' ? JSON.parse(message) : message;
    const table = m.type === 'offer' ? offers : m.type === 'campaign' ? campaigns : null;
    if (!table) throw new Error(`no table takes updates of type '${m.type}'`);
    const id = Number(m.id);
    const ts = Number(m.timestamp ?? Date.now());
    if (!Number.isSafeInteger(id) || !Number.isSafeInteger(ts)) throw new Error("'id' and 'timestamp' must be integers");
    const stampKey = `${m.type}:${id}`;
    if ((stamps.get(stampKey) ?? -1) >= ts) return 'stale';
    stamps.set(stampKey, ts);
    if (m.action === 'delete') table.delete(id);
    else if (m.action === 'updateOrCreate') table.set(id, typeof m.body === 'string' ? m.body : JSON.stringify(m.body));
    else throw new Error("action must be 'updateOrCreate' or 'delete'");
    return 'applied';
  }

  let subscriber = null;
  if (cfg.redisUrl) {
    const Redis = require('ioredis');
    subscriber = new Redis(cfg.redisUrl, { maxRetriesPerRequest: null });
    subscriber.on('error', () => {});
    subscriber.subscribe(cfg.redisChannel).catch(() => {});
    subscriber.on('message', (_channel, msg) => {
      try {
        update(msg);
      } catch (err) {
        cfg.log(`redis update rejected: ${err.message}`);
      }
    });
  }

  // maxmind.open as a service would: an LRU of 10,000 decoded records each.
  const city = await maxmind.open(cfg.geoCity);
  const isp = cfg.geoIsp ? await maxmind.open(cfg.geoIsp) : null;
  const get = (map, id) => {
    const text = map.get(Number(id));
    return text === undefined ? null : JSON.parse(text);
  };

  // /getRecipeData shows rule fields parsed, as the hotpath variant stores them.
  const expand = (rec, fields) => {
    if (rec) for (const f of fields) if (typeof rec[f] === 'string') rec[f] = parseField(rec[f]) ?? rec[f];
    return rec;
  };

  return {
    name: 'js',
    offer: (id) => get(offers, id),
    campaign: (id) => get(campaigns, id),
    offerData: (id) => expand(get(offers, id), ['geoRules', 'customLpRules']),
    campaignData: (id) => expand(get(campaigns, id), ['targetRules']),
    sizes: () => ({ offerSize: offers.size, campaignSize: campaigns.size }),
    offerIds: () => [...offers.keys()],
    campaignIds: () => [...campaigns.keys()],

    visitor(headers, remoteAddress) {
      // The order events.clientIp uses: X-Push-IP, X-Forwarded-For (first), X-Real-IP, the socket.
      const xff = headers['x-forwarded-for'];
      const first = typeof xff === 'string' ? xff.split(',')[0].trim() : '';
      let ip = headers['x-push-ip'] || first || headers['x-real-ip'] || remoteAddress || '';
      if (ip.startsWith('::ffff:')) ip = ip.slice(7);
      let c = null;
      let i = null;
      try {
        c = city.get(ip);
        i = isp ? isp.get(ip) : null;
      } catch {
        c = i = null;
      }
      const u = headers['user-agent'] ? new UAParser(headers['user-agent']).getResult() : null;
      return {
        ip,
        country: (c && c.country && c.country.iso_code) || '',
        region: (c && c.subdivisions && c.subdivisions[0] && c.subdivisions[0].iso_code) || '',
        city: (c && c.city && c.city.names && c.city.names.en) || '',
        isp: (i && i.isp) || '',
        os: (u && u.os.name) || '',
        browser: (u && u.browser.name) || '',
        deviceType: u ? u.device.type || 'desktop' : '',
      };
    },

    rules(offer, campaign, visitor) {
      const target = parseField(campaign.targetRules);
      const t = targetOutcome(target, visitor);
      return {
        geo: geoOutcome(parseField(offer.geoRules), visitor.country),
        target: t.target,
        rule: t.rule,
        redirectTo: (target && target.redirectTo) || null,
        customLpRules: parseField(offer.customLpRules),
      };
    },

    update,
    close() {
      for (const u of unwatch) u();
      if (subscriber) subscriber.disconnect();
    },
  };
}

module.exports = { createBackend };
