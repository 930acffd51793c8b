/** The ES module entry of `pants-net/http`: the same classes as its CommonJS entry. */
export * from './index.js';
