// Types of `import maxmind from 'hotpath/maxmind'` (maxmind.mjs).
export * from './maxmind.js';
export { default } from './maxmind.js';
