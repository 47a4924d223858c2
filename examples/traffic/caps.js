'use strict';
// Offer caps (clicks per UTC day and month) counted in the limits store, so
// they hold across the cluster's workers and across restarts: SQLite by
// default, Redis when the service runs on Redis.
//
// Each window is its own GCRA key (`d:<offer>:<day>`, `m:<offer>:<month>`)
// with a burst of the cap and one refill per window length: the key takes
// exactly `cap` hits before the window ends, and the next window starts a
// fresh key. A click is counted in the day first, then in the month; a
// month that refuses leaves the day one click high, which cannot matter, as
// the month stays full for the rest of that day.
const DAY_MS = 86400000;
const MONTH_MS = 31 * DAY_MS;

class Caps {
  /** @param {import('../..').Limiter} limiter */
  constructor(limiter) {
    this.limiter = limiter;
  }

  /**
   * {reached, daily, monthly} for `offer` at `now` (clicks before this one).
   * With `count`, a click that is under both caps is counted, atomically
   * with the check; without, nothing is counted.
   */
  async check(offer, now, count) {
    const c = offer.caps;
    const d = new Date(now);
    const windows = [
      ['daily', `d:${offer.offerId}:${Math.floor(now / DAY_MS)}`, c.dailyClicks, DAY_MS],
      ['monthly', `m:${offer.offerId}:${d.getUTCFullYear() * 12 + d.getUTCMonth()}`, c.monthlyClicks, MONTH_MS],
    ];
    const out = { reached: false, daily: 0, monthly: 0 };
    for (const [name, key, cap, periodMs] of windows) {
      if (!(cap > 0)) continue;
      const cost = count && !out.reached ? 1 : 0;
      const r = await this.limiter.hit(key, { rate: 1, periodMs, burst: cap, cost });
      const left = r.remaining + (cost && r.allowed ? 1 : 0);
      out[name] = cap - left;
      if (cost ? !r.allowed : left < 1) out.reached = true;
    }
    return out;
  }
}

module.exports = { Caps };
