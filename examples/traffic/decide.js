'use strict';
// The /ad decision, shared by the hotpath and the pure-JS variants. Steps in
// order; the first that sends the visitor elsewhere decides:
//   1. dateWindow   offer.startEndDateSetting: outside [startDate, endDate]
//                   -> the fallback (campaign redirectTo, else FALLBACK_URL)
//   2. geoRules     offer geoRules blocks the visitor's country -> fallback
//   3. customLp     first offer customLpRules entry matching the visitor
//                   picks the landing page (does not redirect by itself)
//   4. caps         offer caps reached for today / this month -> capRedirectUrl
//   5. targetRules  campaign targetRules not matched -> its redirectTo
//   6. default      the landing page: custom LP, else defaultLpUrl, else offerUrl
// The redirect gets offer_id, campaign_id and lid appended.

function withParams(url, offerId, campaignId, lid) {
  const sep = url.includes('?') ? '&' : '?';
  return `${url}${sep}offer_id=${offerId}&campaign_id=${campaignId}&lid=${lid}`;
}

function lower(v) {
  return typeof v === 'string' ? v.toLowerCase() : '';
}

/** Whether `value` (a string or an array of strings) names the visitor's `dimension`. */
function dimensionMatches(visitor, dimension, value) {
  const have = lower(visitor[dimension]);
  if (!have) return false;
  if (Array.isArray(value)) return value.some((v) => lower(v) === have);
  return lower(value) === have;
}

function dateWindow(offer, now) {
  const s = offer.startEndDateSetting;
  if (!s || !s.startEndDate) return { step: 'dateWindow', result: 'none' };
  const start = s.startDate ? Date.parse(s.startDate) : -Infinity;
  const end = s.endDate ? Date.parse(s.endDate) : Infinity;
  const inside = now >= start && now <= end;
  return { step: 'dateWindow', result: inside ? 'pass' : 'fail', startDate: s.startDate, endDate: s.endDate };
}

function customLp(rules, visitor) {
  const list = rules && Array.isArray(rules.customLPRules) ? rules.customLPRules : [];
  for (const r of list) {
    if (r && typeof r.lpUrl === 'string' && dimensionMatches(visitor, r.dimension, r.value)) {
      return { step: 'customLp', result: 'pass', rule: r.id ?? null, lpUrl: r.lpUrl };
    }
  }
  return { step: 'customLp', result: list.length ? 'fail' : 'none' };
}

/** Whether the offer has caps to count. */
function capped(offer) {
  return Boolean(offer.caps && offer.caps.capEnabled);
}

/** Whether every step but the caps lets the visitor through to the landing page. */
function landsBarringCaps(offer, rules, now) {
  return dateWindow(offer, now).result !== 'fail' && rules.geo !== 'fail' && rules.target !== 'fail';
}

function caps(offer, cap) {
  const c = offer.caps;
  if (!capped(offer)) return { step: 'caps', result: 'none' };
  return {
    step: 'caps',
    result: cap.reached ? 'fail' : 'pass',
    daily: cap.daily,
    monthly: cap.monthly,
    dailyClicks: c.dailyClicks,
    monthlyClicks: c.monthlyClicks,
  };
}

/**
 * Runs every step and returns {url, steps}. `rules` is what the variant
 * computes its own way: {geo: 'none'|'pass'|'fail', target: 'none'|'pass'|'fail',
 * redirectTo, customLpRules}. `cap` is what caps.js answered for a capped
 * offer (it counted the click when landsBarringCaps said it would land).
 */
function decide({ offer, campaign, visitor, rules, lid, now, cap, fallbackUrl }) {
  const steps = [];
  const fallback = rules.redirectTo || fallbackUrl;
  let url = null;
  let decidedBy = 'default';

  const date = dateWindow(offer, now);
  steps.push(date);
  if (date.result === 'fail') {
    url = fallback;
    decidedBy = 'dateWindow';
  }

  const geo = { step: 'geoRules', result: rules.geo, country: visitor.country || null };
  steps.push(geo);
  if (url === null && rules.geo === 'fail') {
    url = fallback;
    decidedBy = 'geoRules';
  }

  const lp = customLp(rules.customLpRules, visitor);
  steps.push(lp);

  const capStep = caps(offer, cap);
  steps.push(capStep);
  if (url === null && capStep.result === 'fail') {
    url = offer.caps.capRedirectUrl || fallback;
    decidedBy = 'caps';
  }

  const target = {
    step: 'targetRules',
    result: rules.target,
    rule: rules.rule ?? -1,
    redirectTo: rules.redirectTo || null,
  };
  steps.push(target);
  if (url === null && rules.target === 'fail') {
    url = rules.redirectTo || fallbackUrl;
    decidedBy = 'targetRules';
  }

  const landing = lp.lpUrl || offer.defaultLpUrl || offer.offerUrl || fallbackUrl;
  steps.push({ step: 'default', result: url === null ? 'pass' : 'skipped', lpUrl: landing });
  if (url === null) {
    url = landing;
    if (lp.lpUrl) decidedBy = 'customLp';
  }
  return { decidedBy, url: withParams(url, offer.offerId, campaign.campaignId, lid), steps };
}

module.exports = { decide, capped, landsBarringCaps, dimensionMatches, withParams };
