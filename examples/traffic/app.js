'use strict';
// One traffic worker: the HTTP routes over a backend (hotpath or pure JS).
//   GET  /ad?offer=<token>[&debugging=debugging]
//   GET  /getRecipeData?debugging=debugging&offerId=N | &campaignId=M
//   GET  /health
//   POST /admin/update   (authorization: Bearer <TRAFFIC_ADMIN_TOKEN>) a point
//                        update {type, id, action, timestamp, body}
// The debugging answers are off with cfg.debugging false.
const crypto = require('crypto');
const http = require('http');
const { decide, capped, landsBarringCaps } = require('./decide');
const { Caps } = require('./caps');
const { createDecoder, TokenError } = require('./token');

const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' };
const MAX_ADMIN_BODY = 1 << 20;
const BAD_TOKEN = JSON.stringify({ status: 'error', reason: 'invalid offer token' });

function send(res, status, body, headers = JSON_TYPE) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Whether the request carries `authorization: Bearer <token>`, compared in constant time. */
function bearer(req, token) {
  if (!token) return false;
  const given = crypto.createHash('sha256').update(String(req.headers.authorization || '')).digest();
  return crypto.timingSafeEqual(given, crypto.createHash('sha256').update(`Bearer ${token}`).digest());
}

/**
 * @param {object} cfg
 * @param {Buffer} cfg.key  the AES-256 key
 * @param {string} cfg.fallbackUrl
 * @param {object} backend  from backend-hotpath.js (or bench/traffic/backend-js.js)
 * @param {(msg: object) => Promise<string>} [broadcast]  spreads a point
 *        update to every worker; resolves with this worker's result
 */
function createApp(cfg, backend, broadcast) {
  const decode = createDecoder(cfg.key);
  const limiter = require('../..').openLimiter(cfg.capsStore, { prefix: 'traffic:caps' });
  const caps = new Caps(limiter);
  const applyEverywhere = broadcast || (async (msg) => backend.update(msg));

  async function ad(req, res, query) {
    let ids;
    try {
      ids = decode(query.get('offer'));
    } catch (err) {
      if (err instanceof TokenError) return send(res, 400, BAD_TOKEN);
      throw err;
    }
    const offer = backend.offer(ids.offerId);
    if (!offer) return send(res, 404, { status: 'error', reason: `offer ${ids.offerId} not found` });
    const campaign = backend.campaign(ids.campaignId);
    if (!campaign) return send(res, 404, { status: 'error', reason: `campaign ${ids.campaignId} not found` });
    const visitor = backend.visitor(req.headers, req.socket.remoteAddress);
    const rules = backend.rules(offer, campaign, visitor);
    const lid = crypto.randomUUID();
    const now = Date.now();
    const cap = capped(offer) ? await caps.check(offer, now, landsBarringCaps(offer, rules, now)) : null;
    const result = decide({ offer, campaign, visitor, rules, lid, now, cap, fallbackUrl: cfg.fallbackUrl });
    if (cfg.debugging && query.get('debugging') === 'debugging') {
      return send(res, 200, {
        offerId: ids.offerId,
        campaignId: ids.campaignId,
        lid,
        visitor,
        steps: result.steps,
        decidedBy: result.decidedBy,
        redirect: result.url,
      });
    }
    res.writeHead(302, { location: result.url, 'content-length': '0' });
    res.end();
  }

  function recipeData(res, query) {
    if (!cfg.debugging || query.get('debugging') !== 'debugging') {
      return send(res, 400, { status: 'error', reason: 'debugging only' });
    }
    const offerId = query.get('offerId');
    const campaignId = query.get('campaignId');
    if (!offerId && !campaignId) return send(res, 400, { status: 'error', reason: 'give offerId or campaignId' });
    const data = {
      offer: offerId ? backend.offerData(Number(offerId)) : null,
      campaign: campaignId ? backend.campaignData(Number(campaignId)) : null,
      ...backend.sizes(),
    };
    return send(res, 200, { status: 'success', data });
  }

  function adminUpdate(req, res) {
    if (!bearer(req, cfg.adminToken)) {
      req.resume();
      const reason = cfg.adminToken ? 'needs authorization: Bearer <TRAFFIC_ADMIN_TOKEN>' : 'off (no TRAFFIC_ADMIN_TOKEN)';
      return send(res, 403, { status: 'error', reason });
    }
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_ADMIN_BODY) {
        send(res, 413, { status: 'error', reason: 'body over 1 MiB' });
        req.destroy();
      } else {
        chunks.push(c);
      }
    });
    req.on('end', () => {
      if (res.headersSent) return;
      const text = Buffer.concat(chunks).toString('utf8');
      applyEverywhere(text).then(
        (result) => send(res, 200, { status: result }),
        (err) => send(res, 400, { status: 'error', reason: err.message }),
      );
    });
  }

  const server = http.createServer((req, res) => {
    const url = req.url;
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    try {
      if (req.method === 'GET' && path === '/ad') {
        // HP_EUNAVAILABLE: the caps store is down or slow; say so rather than guess.
        return ad(req, res, query).catch((err) => {
          if (!res.headersSent) send(res, err.code === 'HP_EUNAVAILABLE' ? 503 : 500, { status: 'error', reason: err.message });
        });
      }
      if (req.method === 'GET' && path === '/health') return send(res, 200, 'Ok', { 'content-type': 'text/plain' });
      if (req.method === 'GET' && path === '/getRecipeData') return recipeData(res, query);
      if (req.method === 'POST' && path === '/admin/update') return adminUpdate(req, res);
      return send(res, 404, { status: 'error', reason: 'not found' });
    } catch (err) {
      return send(res, 500, { status: 'error', reason: err.message });
    }
  });
  server.keepAliveTimeout = 65000;

  // Local visitors a demo link is opened by: curl, a desktop and a phone browser.
  const DEMO_AGENTS = [
    '',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  ];

  /** A /ad token whose offer and campaign send every local visitor to the offer's landing page. */
  function demoToken() {
    const { encrypt } = require('./token');
    const visitors = DEMO_AGENTS.map((ua) => backend.visitor(ua ? { 'user-agent': ua } : {}, '127.0.0.1'));
    const campaignIds = backend.campaignIds().slice(0, 200);
    const now = Date.now();
    const lands = (offer, campaign, visitor) => {
      const rules = backend.rules(offer, campaign, visitor);
      const fallbackUrl = cfg.fallbackUrl;
      const r = decide({ offer, campaign, visitor, rules, lid: 'x', now, cap: null, fallbackUrl });
      return r.decidedBy === 'default' || r.decidedBy === 'customLp';
    };
    for (const offerId of backend.offerIds()) {
      const offer = backend.offer(offerId);
      if (capped(offer)) continue;
      for (const campaignId of campaignIds) {
        const campaign = backend.campaign(campaignId);
        if (visitors.every((v) => lands(offer, campaign, v))) return encrypt(cfg.key, { offerId, campaignId });
      }
    }
    return null;
  }

  return {
    server,
    demoToken,
    close: () => {
      limiter.close();
      backend.close();
    },
  };
}

module.exports = { createApp };
