'use strict';
// Recipes from an S3 bucket, as the seed keeps them: every interval each
// object's size is asked for (HeadObject, the seed's fileSizeOffersCheck);
// a changed object (size or ETag) is downloaded to a temp file and loaded
// off the loop by the recipes table. The table's data time is the object's
// LastModified, so point updates newer than the object stay and older ones
// go. A download cut off or a file that does not parse leaves the table as
// it was, and the next check tries again. @aws-sdk/client-s3 (Node 20+) is
// loaded only when S3_BUCKET_NAME is set.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { pipeline } = require('stream/promises');

/**
 * S3 settings from the environment, or null without S3_BUCKET_NAME:
 * S3_BUCKET_NAME, S3_OFFERS_RECIPE_PATH (offersRecipe.json.gz),
 * S3_CAMPAIGNS_RECIPE_PATH (campaignsRecipe.json.gz), S3_ENDPOINT (an
 * S3-compatible store; path-style addressing), the SDK's AWS_REGION and
 * credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, profiles, roles).
 */
function s3FromEnv(env) {
  if (!env.S3_BUCKET_NAME) return null;
  return {
    bucket: env.S3_BUCKET_NAME,
    offersKey: env.S3_OFFERS_RECIPE_PATH || 'offersRecipe.json.gz',
    campaignsKey: env.S3_CAMPAIGNS_RECIPE_PATH || 'campaignsRecipe.json.gz',
    endpoint: env.S3_ENDPOINT || '',
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
  };
}

/**
 * Loads each table from its object now, then checks them every
 * `intervalMs`. Rejects when a first load fails (no table to keep).
 * @param {{bucket: string, endpoint: string, region: string}} s3
 * @param {Array<{name: string, key: string, table: {load: Function}}>} objects
 * @param {{intervalMs: number, log: (msg: string) => void}} opts
 * @returns {Promise<{close(): void}>}
 */
async function followS3Recipes(s3, objects, { intervalMs, log }) {
  // Required here, so a deployment on local files needs no AWS SDK.
  const { S3Client, HeadObjectCommand, GetObjectCommand } = require('@aws-sdk/client-s3');
  const client = new S3Client({
    region: s3.region,
    ...(s3.endpoint ? { endpoint: s3.endpoint, forcePathStyle: true } : {}),
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'traffic-s3-'));
  const seen = new Map(); // key -> "size/etag" of the object the table holds

  async function fetchAndLoad({ name, key, table }) {
    const head = await client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }));
    const version = `${head.ContentLength}/${head.ETag}`;
    if (seen.get(key) === version) return false;
    const got = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key, IfMatch: head.ETag }));
    const file = path.join(dir, `${name}-${path.basename(key)}`);
    try {
      await pipeline(got.Body, fs.createWriteStream(file, { mode: 0o600 }));
      const size = fs.statSync(file).size;
      if (size !== got.ContentLength) throw new Error(`download cut off at ${size} of ${got.ContentLength} bytes`);
      await table.load(file, { timestamp: got.LastModified.getTime() });
    } finally {
      fs.rmSync(file, { force: true });
    }
    seen.set(key, version);
    return true;
  }

  await Promise.all(objects.map(fetchAndLoad));
  let running = false;
  const timer = setInterval(async () => {
    if (running) return; // a slow download is not started twice
    running = true;
    for (const o of objects) {
      try {
        if (await fetchAndLoad(o)) log(`${o.name}: reloaded from s3://${s3.bucket}/${o.key}`);
      } catch (err) {
        log(`${o.name}: reload from s3://${s3.bucket}/${o.key} failed, the previous table stays: ${err.message}`);
      }
    }
    running = false;
  }, intervalMs);
  return {
    close() {
      clearInterval(timer);
      client.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

module.exports = { s3FromEnv, followS3Recipes };
