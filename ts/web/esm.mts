/** The ES module entry of `pants-net/web`: the same classes as its CommonJS entry. */
export * from './index.js';
