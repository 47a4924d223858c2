'use strict';
// Recipes, geo and UA on hotpath: records live in native tables (rule fields
// parsed and compiled at load), reloads and point updates swap them
// atomically, and the rule decisions run natively without materialising
// the records.
const hotpath = require('../..');

const OFFER_JSON_FIELDS = ['geoRules', 'customLpRules'];
const CAMPAIGN_JSON_FIELDS = ['targetRules'];

/**
 * @param {{offersPath: string, campaignsPath: string, geoCity: string, geoIsp: string,
 *          watchIntervalMs: number, redisUrl?: string, redisChannel?: string,
 *          s3?: object | null, s3IntervalMs?: number,
 *          log: (msg: string) => void}} cfg
 */
async function createBackend(cfg) {
  const recipes = new hotpath.Recipes();
  const offers = recipes.define('offers', { key: 'offerId', jsonFields: OFFER_JSON_FIELDS, updateType: 'offer' });
  const campaigns = recipes.define('campaigns', {
    key: 'campaignId',
    jsonFields: CAMPAIGN_JSON_FIELDS,
    updateType: 'campaign',
  });
  const watches = cfg.s3 ? [await followS3(cfg, offers, campaigns)] : await followFiles(cfg, offers, campaigns);
  let subscription = null;
  if (cfg.redisUrl) {
    subscription = recipes.subscribe(cfg.redisUrl, cfg.redisChannel, (err) => {
      if (err) cfg.log(`redis update rejected: ${err.message}`);
    });
  }

  const geo = new hotpath.GeoReader(cfg.geoCity, { extraPaths: cfg.geoIsp ? [cfg.geoIsp] : [] });
  const ua = hotpath.ua;

  return {
    name: 'hotpath',
    offer: (id) => offers.get(id),
    campaign: (id) => campaigns.get(id),
    offerData: (id) => offers.get(id),
    campaignData: (id) => campaigns.get(id),
    sizes: () => ({ offerSize: offers.size, campaignSize: campaigns.size }),
    offerIds: () => offers.keys(),
    campaignIds: () => campaigns.keys(),

    /** {ip, country, region, city, isp, os, browser, deviceType} of a request. */
    visitor(headers, remoteAddress) {
      const ip = hotpath.events.clientIp(headers, remoteAddress) || '';
      let g = null;
      if (ip) {
        try {
          g = geo.lookup(ip);
        } catch {
          g = null; // a header can say anything: no geo
        }
      }
      const u = headers['user-agent'] ? ua.parse(headers['user-agent']) : null;
      return {
        ip,
        country: (g && g.countryCode) || '',
        region: (g && g.subdivisionCode) || '',
        city: (g && g.city) || '',
        isp: (g && g.isp) || '',
        os: (u && u.os) || '',
        browser: (u && u.browser) || '',
        deviceType: (u && u.deviceType) || '',
      };
    },

    /** Geo and target rules, evaluated natively; customLpRules from the parsed record. */
    rules(offer, campaign, visitor) {
      const o = offers.match(offer.offerId, visitor);
      const c = campaigns.match(campaign.campaignId, visitor);
      return {
        geo: o ? o.geo : 'none',
        target: c ? c.target : 'none',
        rule: c ? c.rule : -1,
        redirectTo: c ? c.redirectTo : null,
        customLpRules: offer.customLpRules,
      };
    },

    update: (message) => recipes.update(message),
    close() {
      for (const w of watches) w.close();
      if (subscription) subscription.close();
      recipes.close();
      geo.close();
    },
  };
}

// The recipe files on this host: loaded now, reloaded when they change.
async function followFiles(cfg, offers, campaigns) {
  await Promise.all([offers.load(cfg.offersPath), campaigns.load(cfg.campaignsPath)]);
  const report = (name) => (err, stats) => {
    if (err) cfg.log(`${name}: reload failed, the previous table stays: ${err.message}`);
    else if (stats) cfg.log(`${name}: reloaded ${stats.size} records in ${stats.lastLoadMs.toFixed(1)} ms`);
  };
  return [
    offers.watch(cfg.offersPath, { intervalMs: cfg.watchIntervalMs, loadNow: false }, report('offers')),
    campaigns.watch(cfg.campaignsPath, { intervalMs: cfg.watchIntervalMs, loadNow: false }, report('campaigns')),
  ];
}

// The recipe objects of an S3 bucket (S3_BUCKET_NAME), checked every s3IntervalMs.
function followS3(cfg, offers, campaigns) {
  const { followS3Recipes } = require('./s3-recipes');
  const objects = [
    { name: 'offers', key: cfg.s3.offersKey, table: offers },
    { name: 'campaigns', key: cfg.s3.campaignsKey, table: campaigns },
  ];
  return followS3Recipes(cfg.s3, objects, { intervalMs: cfg.s3IntervalMs, log: cfg.log });
}

module.exports = { createBackend };
